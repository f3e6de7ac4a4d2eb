// util/worker-rpc.ts and util/worker-serve.ts on their own, against a tiny worker
// (rpc-test-worker.ts): answers find their calls, buffers move, failures and events come back,
// and a worker that dies fails what it held and is replaced, a bounded number of times.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSiblingWorker } from '../../src/util/sibling-worker.js';
import { RpcClient, type RpcClientOptions } from '../../src/util/worker-rpc.js';
import type { TestProtocol } from './rpc-test-worker.js';

class DecodedError extends Error {}

function testClient(options: Partial<RpcClientOptions<TestProtocol>> = {}) {
  let spawned = 0;
  const generations: number[] = [];
  const inits: boolean[] = [];
  const crashes: number[] = [];
  const rpc = new RpcClient<TestProtocol>({
    spawn: () => startSiblingWorker(import.meta.url, 'rpc-test-worker', { workerData: { generation: ++spawned } }),
    init: async (send, restarted) => {
      inits.push(restarted);
      generations.push((await send('setup', { label: 'test' })).generation);
    },
    decodeError: (error, type) => new DecodedError(`${type}: ${String(error)}`),
    sendError: (cause, type) => new Error(`cannot send ${type}: ${cause.message}`),
    crashError: (exit) => new Error(`crashed with code ${exit.code}: ${exit.error?.message ?? 'no error'}`),
    stoppedError: (reason) => new Error(reason === undefined ? 'closed' : `stopped: ${reason.message}`),
    onCrash: (inFlight) => crashes.push(inFlight),
    ...options,
  });
  return { rpc, generations, inits, crashes };
}

describe('worker RPC', () => {
  const { rpc } = testClient();
  before(() => rpc.start());
  after(() => rpc.close('close', undefined));

  it('hands each answer to its own call, whatever order the answers come in', async () => {
    const settled: string[] = [];
    const a = rpc.call('wait', { key: 'a' }).then((v) => (settled.push(v), v));
    const b = rpc.call('wait', { key: 'b' }).then((v) => (settled.push(v), v));
    await rpc.call('release', { key: 'b', value: 'answer b' });
    await rpc.call('release', { key: 'a', value: 'answer a' });
    assert.equal(await a, 'answer a');
    assert.equal(await b, 'answer b');
    assert.deepEqual(settled, ['answer b', 'answer a']);
  });

  it('moves the buffers in a transfer list both ways', async () => {
    const input = Float64Array.of(1, 2, 3);
    const output = await rpc.call('double', input, [input.buffer]);
    assert.equal(input.byteLength, 0, 'the input buffer moved to the worker');
    assert.deepEqual(Array.from(output), [2, 4, 6]);
  });

  it("rejects a call with the owner's error for what the worker threw, and keeps serving", async () => {
    await assert.rejects(
      rpc.call('fail', { message: 'bad input' }),
      (err: Error) => err instanceof DecodedError && err.message === 'fail: bad input',
    );
    await assert.rejects(
      rpc.call('echo', () => 1),
      /^Error: cannot send echo: .*could not be cloned/,
    );
    assert.deepEqual(await rpc.call('echo', { still: 'here' }), { still: 'here' });
  });

  it('hands the events of a running call to its onEvent; one that throws fails the call', async () => {
    const seen: number[] = [];
    assert.equal(await rpc.call('count', { n: 3 }, undefined, (e) => seen.push(e)), 3);
    assert.deepEqual(seen, [1, 2, 3]);
    await assert.rejects(
      rpc.call('count', { n: 3 }, undefined, () => {
        throw new Error('the reader went away');
      }),
      /the reader went away/,
    );
    assert.equal(await rpc.call('count', { n: 0 }), 0);
  });

  it('delivers notifications in order with calls, and answers none', async () => {
    rpc.notify('note', { text: 'one' });
    rpc.notify('note', { text: 'two' });
    assert.deepEqual(await rpc.call('notes', undefined), ['one', 'two']);
  });

  it('runs sequential() work one piece after another', async () => {
    const settled: string[] = [];
    const first = rpc.call('inOrder', { key: 'first' }).then((v) => settled.push(v));
    const second = rpc.call('inOrder', { key: 'second' }).then((v) => settled.push(v));
    await rpc.call('release', { key: 'hold', value: '' });
    await Promise.all([first, second]);
    assert.deepEqual(settled, ['first', 'second']);
  });
});

describe('worker RPC when the worker dies', () => {
  it('rejects every call in flight, replaces the worker, re-initialises it and serves the next call', async () => {
    const { rpc, generations, inits, crashes } = testClient();
    await rpc.start();
    try {
      const held = rpc.call('wait', { key: 'never' });
      const crash = rpc.call('crash', { message: 'worker blew up' });
      await assert.rejects(held, /^Error: crashed with code 1: worker blew up$/);
      await assert.rejects(crash, /^Error: crashed with code 1: worker blew up$/);
      assert.deepEqual(crashes, [2]);
      assert.equal(await rpc.call('echo', 'next'), 'next');
      assert.deepEqual(inits, [false, true]);
      assert.deepEqual(generations, [1, 2], 'the next call ran on a fresh worker');
      assert.equal(rpc.restarts, 1);
      assert.equal(rpc.alive, true);
    } finally {
      await rpc.close('close', undefined);
    }
  });

  it('reports an exit without an error with its code', async () => {
    const { rpc } = testClient();
    await rpc.start();
    try {
      const held = rpc.call('wait', { key: 'never' });
      await rpc.worker?.terminate();
      await assert.rejects(held, /^Error: crashed with code 1: no error$/);
      assert.equal(await rpc.call('echo', 'after'), 'after');
    } finally {
      await rpc.close('close', undefined);
    }
  });

  it('stops replacing a worker that keeps dying, and then fails calls with the reason', async () => {
    const { rpc, generations } = testClient({ maxRestarts: 2 });
    await rpc.start();
    try {
      for (let i = 1; i <= 3; i++) await assert.rejects(rpc.call('crash', { message: `crash ${i}` }), /crashed/);
      assert.equal(rpc.restarts, 2);
      assert.equal(rpc.alive, false);
      assert.deepEqual(generations, [1, 2, 3]);
      await assert.rejects(rpc.call('echo', 'x'), /^Error: stopped: crashed with code 1: crash 3$/);
    } finally {
      await rpc.close('close', undefined);
    }
  });

  it('stops when a replacement cannot be initialised', async () => {
    const { rpc } = testClient({
      init: async (send, restarted) => {
        await send('setup', { label: 'test' });
        if (restarted) throw new Error('the model file is gone');
      },
    });
    await rpc.start();
    try {
      await assert.rejects(rpc.call('crash', { message: 'boom' }), /crashed/);
      await assert.rejects(rpc.call('echo', 'x'), /^Error: stopped: the model file is gone$/);
      assert.equal(rpc.alive, false);
      assert.equal(rpc.worker, undefined);
    } finally {
      await rpc.close('close', undefined);
    }
  });

  it('fails start() with the reason init gave, and ends the worker', async () => {
    const { rpc } = testClient({
      init: async (send) => {
        await send('fail', { message: 'no such model' });
      },
    });
    await assert.rejects(
      rpc.start(),
      (err: Error) => err instanceof DecodedError && err.message === 'fail: no such model',
    );
    assert.equal(rpc.alive, false);
    assert.equal(rpc.worker, undefined);
  });
});

describe('worker RPC close', () => {
  it('sends the close request, ends the worker, and fails calls in flight and after', async () => {
    const { rpc } = testClient();
    await rpc.start();
    const worker = rpc.worker;
    assert.ok(worker !== undefined);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const held = rpc.call('wait', { key: 'never' });
    await rpc.close('close', undefined);
    await assert.rejects(held, /^Error: closed$/);
    await assert.rejects(rpc.call('echo', 'x'), /^Error: closed$/);
    assert.equal(rpc.alive, false);
    await exited;
  });
});
