// Shared fixtures for the sequence end-to-end tests: a server over a temporary repository of
// stateful test models (plus `simple`, stateless), and accumulator requests over REST.

import assert from 'node:assert/strict';
import { SequenceBatcher } from '../../../src/scheduler/sequence-batcher.js';
import type { ExampleFile } from '../../../tools/examples/example-models.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { assertStillServing, parseJson, postInfer, type JsonObject, type Reply } from '../rest/rest-wire.js';

export interface SequenceServer {
  readonly server: TestServer;
  close(): Promise<void>;
}

/** Starts the real server on a fresh repository holding `files` and the stateless `simple`. */
export async function startSequenceServer(files: readonly ExampleFile[]): Promise<SequenceServer> {
  const dir = await makeRepository([...files, ...(await simpleVariant('simple'))]);
  const server = await startTestServer({ modelRepository: dir, logLevel: 'warn' });
  return {
    server,
    async close() {
      await server.close();
      await removeRepository(dir);
    },
  };
}

export interface StepOptions {
  readonly start?: boolean;
  readonly end?: boolean;
  /** Extra request parameters, or replacements for the sequence ones. */
  readonly parameters?: Record<string, unknown>;
}

/** One accumulator request adding `value` to sequence `id`. */
export function accumulatorStep(
  server: TestServer,
  model: string,
  id: number | string,
  value: number,
  options: StepOptions = {},
): Promise<Reply> {
  return postInfer(server, model, {
    inputs: [{ name: 'INPUT', shape: [1, 1], datatype: 'INT32', data: [value] }],
    parameters: {
      sequence_id: id,
      ...(options.start === true ? { sequence_start: true } : {}),
      ...(options.end === true ? { sequence_end: true } : {}),
      ...options.parameters,
    },
  });
}

/** The outputs of a successful reply as name → first element. */
export function values(reply: Reply): Record<string, unknown> {
  assert.equal(reply.status, 200, reply.text);
  const outputs = parseJson(reply).outputs as JsonObject[];
  return Object.fromEntries(outputs.map((o) => [String(o.name), (o.data as unknown[])[0]]));
}

/** The sequence batcher serving a stateful model, to watch its slots and backlog. */
export function sequenceBatcherOf(server: TestServer, model: string): SequenceBatcher {
  const version = server.repository.resolve(model);
  assert.equal(version.kind, 'stateful', `model '${model}' is stateful`);
  const scheduler = version.scheduler;
  assert.ok(scheduler instanceof SequenceBatcher, `model '${model}' is served by a sequence batcher`);
  return scheduler;
}

export { assertStillServing };
