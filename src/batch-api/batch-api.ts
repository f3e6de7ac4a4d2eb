// The OpenAI-shaped batch API as one unit the composition root wires in: the file and batch
// stores under the batch folder, the runner, and the /v1 routes on the REST listener with
// OpenAI's error body.

import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';
import type { ModelRepository } from '../repository/model-repository.js';
import { makeErrorHandler, makeNotFoundHandler, type ErrorEdge } from '../protocols/common/error-handler.js';
import { fileTooLarge } from './batch-api-error.js';
import { BatchRunner } from './batch-runner.js';
import { BatchStore } from './batch-store.js';
import { FileStore } from './file-store.js';
import { LineExecutor, type OpenAILineRunner } from './line-executor.js';
import { registerBatchRoutes } from './routes-batches.js';
import { registerFileRoutes } from './routes-files.js';

export interface BatchApiOptions {
  /** Folder holding files and batches (created when first written). */
  readonly dir: string;
  readonly repository: ModelRepository;
  readonly logger: Logger;
  /** Largest input file accepted by POST /v1/files. */
  readonly maxFileBytes: number;
  /** Largest line (one request) accepted: the REST body limit. */
  readonly maxLineBytes: number;
  readonly maxTensorBytes: number;
  /** Lines of the running batch in flight at once. */
  readonly concurrency: number;
  /** Runs /v1 lines as the OpenAI-compatible edge would answer them. */
  readonly runOpenAI: OpenAILineRunner;
}

/** How the /v1 files and batches routes answer errors: OpenAI's body, uploads limited by --max-batch-file-size. */
export function batchApiErrors(maxFileBytes: number): ErrorEdge {
  return {
    format: 'openai',
    bodyTooLarge: () => fileTooLarge(`upload is over the limit of ${maxFileBytes} bytes (--max-batch-file-size)`),
  };
}

export class BatchApi {
  private constructor(
    private readonly options: BatchApiOptions,
    private readonly files: FileStore,
    private readonly store: BatchStore,
    private readonly runner: BatchRunner,
  ) {}

  /** Loads the files and batches an earlier run left in the folder. */
  static async open(options: BatchApiOptions): Promise<BatchApi> {
    const files = new FileStore(options.dir);
    const store = new BatchStore(options.dir);
    await store.open();
    // Output files of a batch interrupted while finalizing are kept for it to adopt on start.
    const reserved = new Set(
      store.list().flatMap((r) => (r.finalizingTo === undefined ? [] : [r.outputFileId, r.errorFileId])),
    );
    await files.open(reserved);
    const runner = new BatchRunner({
      store,
      files,
      executor: new LineExecutor(options.repository, options.maxTensorBytes, options.runOpenAI),
      logger: options.logger.child({ component: 'batch' }),
      concurrency: options.concurrency,
      maxLineBytes: options.maxLineBytes,
    });
    await runner.recover();
    return new BatchApi(options, files, store, runner);
  }

  /** Adds the /v1 files and batches routes (call before the app listens). */
  register(app: FastifyInstance): void {
    const { files, store, runner, options } = this;
    void app.register(
      (scope, _opts, done) => {
        scope.setErrorHandler(makeErrorHandler(batchApiErrors(options.maxFileBytes)));
        scope.setNotFoundHandler(makeNotFoundHandler('openai'));
        registerFileRoutes(scope, files, runner, options.maxFileBytes);
        registerBatchRoutes(scope, store, files, runner);
        done();
      },
      { prefix: '/v1' },
    );
  }

  /** Resumes the batches an earlier run left unfinished (call once the models are loaded). */
  start(): void {
    this.runner.start();
  }

  /** Stops taking lines; lines already executing finish and are recorded. */
  stop(): Promise<void> {
    return this.runner.stop();
  }
}
