// The worker thread of worker-rpc.test.ts: a few request types that exercise what the RPC module
// carries (results, transfers, failures, events, notifications) and a way to crash.

import { workerData } from 'node:worker_threads';
import type { Method } from '../../src/util/worker-rpc.js';
import { emit, Reply, sequential, serve } from '../../src/util/worker-serve.js';

export type TestProtocol = {
  readonly setup: Method<{ readonly label: string }, { readonly label: string; readonly generation: number }>;
  readonly echo: Method<unknown, unknown>;
  /** Answers once `release` names the same key: answers come back in the order the test picks. */
  readonly wait: Method<{ readonly key: string }, string>;
  readonly release: Method<{ readonly key: string; readonly value: string }, void>;
  /** Doubles each element into a new array, transferred back. */
  readonly double: Method<Float64Array, Float64Array>;
  readonly fail: Method<{ readonly message: string }, never>;
  /** Emits 1..n, then answers n. */
  readonly count: Method<{ readonly n: number }, number, number>;
  readonly note: Method<{ readonly text: string }, void>;
  readonly notes: Method<undefined, string[]>;
  /** Throws an uncaught error outside any handler: the worker thread dies. */
  readonly crash: Method<{ readonly message: string }, never>;
  readonly close: Method<undefined, string>;
  /** Run one after another (sequential()). */
  readonly inOrder: Method<{ readonly key: string }, string>;
};

const { generation } = workerData as { generation: number };
let label = '';
const waiting = new Map<string, (value: string) => void>();
const notes: string[] = [];
const inOrder = sequential();

serve<TestProtocol>({
  setup: (body) => {
    label = body.label;
    return { label, generation };
  },
  echo: (body) => body,
  wait: ({ key }) => new Promise<string>((resolve) => waiting.set(key, resolve)),
  release: ({ key, value }) => {
    waiting.get(key)?.(value);
    waiting.delete(key);
  },
  double: (input) => {
    const out = input.map((v) => v * 2);
    return new Reply(out, [out.buffer]);
  },
  fail: ({ message }) => {
    throw new Error(message);
  },
  count: ({ n }, id) => {
    for (let i = 1; i <= n; i++) emit(id, i);
    return n;
  },
  note: ({ text }) => {
    notes.push(text);
  },
  notes: () => notes,
  crash: ({ message }) => {
    setImmediate(() => {
      throw new Error(message);
    });
    return new Promise<never>(() => undefined);
  },
  close: () => `closed ${label}`,
  // 'first' holds the queue until the test releases 'hold'; 'second' waits its turn behind it.
  inOrder: ({ key }) =>
    inOrder(async () => {
      if (key === 'first') await new Promise<void>((resolve) => waiting.set('hold', () => resolve()));
      return key;
    }),
});
