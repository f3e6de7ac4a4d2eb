// Where a tensor model's session runs: `optimization.inline_execution: true` on the main thread,
// `false` in a worker thread, and `auto` (the default) on the main thread only when the server timed
// the model at load and one execution took at most --auto-inline-max-us; models that cannot be
// timed by one sample stay in worker threads. Every placement answers the same, and
// /v2/models/{m}/config says where each runs and why.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

interface Runtime {
  execution?: string;
  execution_reason?: string;
}

async function runtimeOf(server: TestServer, model: string): Promise<Runtime> {
  const res = await fetch(`${server.url}/v2/models/${model}/config`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { runtime: Runtime }).runtime;
}

const body = JSON.stringify({
  inputs: [
    { name: 'INPUT0', shape: [2, 16], datatype: 'INT32', data: Array.from({ length: 32 }, (_, i) => i - 7) },
    { name: 'INPUT1', shape: [2, 16], datatype: 'INT32', data: Array.from({ length: 32 }, (_, i) => 3 * i) },
  ],
});

async function answer(server: TestServer, model: string): Promise<unknown[]> {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', body });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { outputs: unknown[] }).outputs;
}

const LIMIT_US = 1_000_000;

describe('inline execution', () => {
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = await makeRepository([
      ...(await simpleVariant('simple')),
      ...(await simpleVariant('simple_inline', 'optimization: { inline_execution: true }\n')),
      ...(await simpleVariant('simple_worker', 'optimization: { inline_execution: false }\n')),
      ...(await simpleVariant('simple_two', 'instance_group: [{ count: 2, kind: KIND_CPU }]\n')),
      {
        path: 'identity_fp32/1/model.onnx',
        bytes: await readFile(path.join(EXAMPLES_DIR, 'identity_fp32/1/model.onnx')),
      },
    ]);
    // A limit no execution of `simple` reaches, however loaded the machine: where the model runs
    // must not depend on how fast it ran here. The limit's effect is tested below.
    server = await startTestServer({ modelRepository: dir, autoInlineMaxUs: LIMIT_US });
  });
  after(async () => {
    await server.close();
    await removeRepository(dir);
  });

  it('answers exactly as the worker-thread instance does, wherever the session runs', async () => {
    const [worker, inline, auto] = await Promise.all([
      answer(server, 'simple_worker'),
      answer(server, 'simple_inline'),
      answer(server, 'simple'),
    ]);
    assert.deepEqual(inline, worker);
    assert.deepEqual(auto, worker);
    assert.deepEqual((inline[0] as { data: number[] }).data.slice(0, 3), [-7, -3, 1]);
  });

  it('reports inline_execution as configured, and where the sessions run', async () => {
    const config = async (model: string) =>
      (
        (await (await fetch(`${server.url}/v2/models/${model}/config`)).json()) as {
          optimization: { inline_execution?: boolean };
        }
      ).optimization.inline_execution;
    assert.equal(await config('simple_inline'), true);
    assert.equal(await config('simple_worker'), false);
    assert.equal(await config('simple'), undefined, '`auto`, the default, is left out');
    const inline = await runtimeOf(server, 'simple_inline');
    assert.equal(inline.execution, 'inline');
    assert.equal(inline.execution_reason, 'inline_execution: true');
    const worker = await runtimeOf(server, 'simple_worker');
    assert.equal(worker.execution, 'worker_threads');
    assert.equal(worker.execution_reason, 'inline_execution: false');
  });

  it('runs a fixed-shape microsecond model inline under auto, having timed it', async () => {
    const runtime = await runtimeOf(server, 'simple');
    assert.equal(runtime.execution, 'inline');
    assert.match(
      runtime.execution_reason ?? '',
      new RegExp(`^auto: an execution takes [\\d.]+ µs, at most --auto-inline-max-us ${LIMIT_US}$`),
    );
  });

  it('keeps models that one sample cannot time in worker threads', async () => {
    const two = await runtimeOf(server, 'simple_two');
    assert.equal(two.execution, 'worker_threads');
    assert.match(two.execution_reason ?? '', /instance_group asks for 2 instances/);
    const identity = await runtimeOf(server, 'identity_fp32');
    assert.equal(identity.execution, 'worker_threads');
    assert.match(identity.execution_reason ?? '', /input 'INPUT0' has a variable shape/);
  });
});

describe('--auto-inline-max-us', () => {
  let dir: string;

  before(async () => {
    dir = await makeRepository(await simpleVariant('simple'));
  });
  after(async () => {
    await removeRepository(dir);
  });

  for (const [maxUs, reason] of [
    [0.001, /^auto: an execution takes [\d.]+ µs, more than --auto-inline-max-us 0\.001$/],
    [0, /^auto: automatic inline execution is off \(--auto-inline-max-us 0\)$/],
  ] as const) {
    it(`${maxUs} puts simple in a worker thread, where it serves`, async () => {
      const server = await startTestServer({ modelRepository: dir, autoInlineMaxUs: maxUs });
      try {
        const runtime = await runtimeOf(server, 'simple');
        assert.equal(runtime.execution, 'worker_threads');
        assert.match(runtime.execution_reason ?? '', reason);
        assert.deepEqual(((await answer(server, 'simple'))[0] as { data: number[] }).data.slice(0, 3), [-7, -3, 1]);
      } finally {
        await server.close();
      }
    });
  }
});
