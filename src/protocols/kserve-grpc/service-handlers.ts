// The non-inference RPCs of GRPCInferenceService: health, server and model metadata, model
// configuration, statistics and the repository extension, answering as the REST routes do.

import type { Logger } from '../../observability/logger.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import { assertValidModelName } from '../../repository/model-name.js';
import { modelMetadataView } from '../common/model-views.js';
import { assertNoLoadOverrides, statisticsVersions } from '../common/repository-queries.js';
import { EXTENSIONS, type ServerState } from '../common/server-state.js';
import { unaryMethod, type MethodHandler, type ServiceHandlers } from './grpc-call.js';
import { grpcModelConfig } from './grpc-model-config.js';
import { callStatus } from './grpc-status.js';
import type { ModelRef, RepositoryIndexRequest, RepositoryModelRequest } from './wire-types.js';

export interface HandlerContext {
  readonly repository: ModelRepository;
  readonly server: ServerState;
  readonly logger: Logger;
  /** A fresh id for a call's log lines and internal-error messages. */
  nextRequestId(): string;
}

/** A unary handler from an async function; a failure goes through the error table. */
export function unary<Req, Res>(ctx: HandlerContext, fn: (request: Req) => Res | Promise<Res>): MethodHandler {
  return unaryMethod<Req, Res>((call, callback) => {
    const requestId = ctx.nextRequestId();
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(callStatus(err, requestId, ctx.logger)),
      );
  });
}

/** "" means "not given" in proto3 strings. */
function given(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

export function serviceHandlers(ctx: HandlerContext): ServiceHandlers {
  const { repository, server } = ctx;
  return {
    ServerLive: unary(ctx, () => ({ live: true })),
    ServerReady: unary(ctx, () => ({ ready: server.ready() })),
    ModelReady: unary(ctx, (req: ModelRef) => {
      const name = req.name ?? '';
      assertValidModelName(name);
      return { ready: repository.isReady(name, given(req.version)) };
    }),
    ServerMetadata: unary(ctx, () => ({ name: server.name, version: server.version, extensions: [...EXTENSIONS] })),
    // Metadata and config come from the loaded graph: under a memory budget they load the model.
    ModelMetadata: unary(ctx, async (req: ModelRef) => {
      const mv = await repository.acquire(req.name ?? '', given(req.version));
      return modelMetadataView(
        mv,
        repository.servingVersions(mv.name).map((v) => v.version),
      );
    }),
    ModelConfig: unary(ctx, async (req: ModelRef) => ({
      config: grpcModelConfig(await repository.acquire(req.name ?? '', given(req.version))),
    })),
    ModelStatistics: unary(ctx, (req: ModelRef) => ({
      model_stats: statisticsVersions(repository, given(req.name), given(req.version)).map((mv) => mv.stats.toJSON()),
    })),
    RepositoryIndex: unary(ctx, async (req: RepositoryIndexRequest) => ({
      models: await repository.index(req.ready === true),
    })),
    RepositoryModelLoad: unary(ctx, async (req: RepositoryModelRequest) => {
      assertNoLoadOverrides(Object.keys(req.parameters));
      await repository.load(req.model_name ?? '');
      return {};
    }),
    RepositoryModelUnload: unary(ctx, async (req: RepositoryModelRequest) => {
      await repository.unload(req.model_name ?? '');
      return {};
    }),
  };
}
