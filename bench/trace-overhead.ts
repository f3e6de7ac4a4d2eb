// What request tracing costs: (1) the tracer's own work per traced request (sample, queue stamp,
// end stamps, the JSON text, the file write every --log-frequency traces), in this process; and
// (2) REST requests to the example model `simple` at concurrency 1 through a real server, with
// tracing OFF and with every request traced (TIMESTAMPS, rate 1), in alternating rounds so that
// both see the same machine. Prints the comparison as ratios and writes
// bench/results/trace-overhead.json.
//
//   npm run bench:trace

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { RequestTracer } from '../src/monitoring/request-tracer.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server.js';
import { percentileOfMs } from './lib/latency-stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '400' },
    traces: { type: 'string', default: '200000' },
    'log-frequency': { type: 'string', default: '1000' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const TRACES = Number(values.traces);
const LOG_FREQUENCY = Number(values['log-frequency']);

const dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-trace-bench-'));
const INPUT = { name: 'INPUT0', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16) };
const TIMINGS = { queueNs: 20_000, computeInputNs: 5_000, computeInferNs: 30_000, computeOutputNs: 3_000 };

/** (1) µs per traced request of the tracer alone, files included. */
async function tracerAlone(): Promise<number> {
  const tracer = new RequestTracer({
    initial: {
      traceFile: path.join(dir, 'alone.json'),
      traceLevel: ['TIMESTAMPS'],
      traceRate: 1,
      traceCount: -1,
      logFrequency: LOG_FREQUENCY,
    },
    logger: createLogger('silent'),
  });
  const once = (i: number): void => {
    const trace = tracer.sample('simple', 1, `r${i}`, process.hrtime.bigint());
    trace?.queued([INPUT]);
    trace?.ended({ timings: TIMINGS, outputs: [INPUT] });
  };
  for (let i = 0; i < 10_000; i++) once(i);
  await tracer.flush();
  const start = process.hrtime.bigint();
  for (let i = 0; i < TRACES; i++) once(i);
  await tracer.close();
  return Number(process.hrtime.bigint() - start) / 1_000 / TRACES;
}

/** (2) p50 and mean client latency (ms) of `simple` with tracing off and on, alternating rounds. */
async function throughServer(): Promise<{ off: number[]; on: number[] }> {
  const server = await startServer(
    {
      modelRepository: path.resolve(import.meta.dirname, '../examples/models'),
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: null,
      metricsPort: null,
      logLevel: 'warn',
      cpuCores: 1,
    },
    { logDestination: new Writable({ write: (_c, _e, done) => done() }) },
  );
  const body = JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
    ],
  });
  const settings = (level: string): Promise<Response> =>
    fetch(`${server.url}/v2/trace/setting`, {
      method: 'POST',
      body: JSON.stringify({
        trace_file: path.join(dir, 'server.json'),
        trace_level: [level],
        trace_rate: '1',
        log_frequency: String(LOG_FREQUENCY),
      }),
    });
  const round = async (): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${server.url}/v2/models/simple/infer`, { method: 'POST', body });
      await res.arrayBuffer();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return ms;
  };
  const off: number[] = [];
  const on: number[] = [];
  await round(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    await settings('OFF');
    off.push(...(await round()));
    await settings('TIMESTAMPS');
    on.push(...(await round()));
  }
  await server.close();
  return { off, on };
}

const aloneUs = await tracerAlone();
const { off, on } = await throughServer();
rmSync(dir, { recursive: true, force: true });
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const result = {
  tracerUsPerTrace: aloneUs,
  offP50Ms: percentileOfMs(off, 50),
  onP50Ms: percentileOfMs(on, 50),
  offMeanMs: mean(off),
  onMeanMs: mean(on),
};
const rows = [
  ['', 'tracing OFF', 'every request traced', 'traced ÷ OFF'],
  ['p50 ms', result.offP50Ms.toFixed(3), result.onP50Ms.toFixed(3), (result.onP50Ms / result.offP50Ms).toFixed(3)],
  ['mean ms', result.offMeanMs.toFixed(3), result.onMeanMs.toFixed(3), (result.onMeanMs / result.offMeanMs).toFixed(3)],
];
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
console.log(`simple over REST, concurrency 1, ${ROUNDS} alternating rounds of ${REQUESTS} requests each way`);
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
console.log(
  `the tracer alone: ${aloneUs.toFixed(2)} µs per traced request (log_frequency ${LOG_FREQUENCY}), ` +
    `${((aloneUs / 1000 / result.offP50Ms) * 100).toFixed(2)}% of an untraced request's p50`,
);
const out = path.join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, 'trace-overhead.json'),
  JSON.stringify({ rounds: ROUNDS, requests: REQUESTS, traces: TRACES, logFrequency: LOG_FREQUENCY, result }, null, 2),
);
