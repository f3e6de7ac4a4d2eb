// Runs a whole `inferd bench` sweep against a server: reads the model, builds the request once,
// then for each load level starts the load loop, measures windows until stable and stops it.

import { VERSION } from '../version.js';
import { DEFINITIONS, type BenchReport, type PointResult } from './bench-results.js';
import { HttpClient } from './http-client.js';
import { buildInferBody, type BodyEncoding } from './infer-body.js';
import { buildInputs } from './input-tensors.js';
import { inferSender, startConcurrencyLoad, startRateLoad, type LoadLoop } from './load-loop.js';
import { measureWindows, STABLE_WINDOWS, WindowRecorder, type PointMeasurement } from './measurement-windows.js';
import { fetchModelInfo, modelPath } from './model-info.js';
import { seededRandom } from './random-data.js';
import { costSplit, fetchStats, serverSplit, type BenchPrices, type StatsSnapshot } from './server-stats.js';
import type { SweepKind } from './sweep-spec.js';

export interface BenchOptions {
  readonly url: string;
  readonly model: string;
  readonly modelVersion: string | undefined;
  readonly mode: SweepKind;
  /** Concurrencies, or request rates per second. */
  readonly levels: readonly number[];
  readonly maxOutstanding: number;
  readonly encoding: BodyEncoding;
  readonly batchSize: number;
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly files: ReadonlyMap<string, string>;
  readonly windowMs: number;
  readonly maxWindows: number;
  readonly stability: number;
  /** Prices to apply in place of the server's (cost per 1,000 inferences). */
  readonly prices?: BenchPrices;
  /** Called as each load level finishes, e.g. to show progress. */
  readonly onPoint?: (point: PointResult) => void;
}

/** Runs one load level: starts the loop, measures its windows, and stops it whatever happens. */
async function measureLevel(
  level: number,
  startLoop: (recorder: WindowRecorder) => LoadLoop,
  options: BenchOptions,
  snapshot: () => Promise<StatsSnapshot | undefined>,
): Promise<PointResult> {
  const recorder = new WindowRecorder();
  const loop = startLoop(recorder);
  let m: PointMeasurement<StatsSnapshot | undefined>;
  try {
    m = await measureWindows(recorder, options, snapshot);
  } finally {
    await loop.stop();
  }
  return {
    ...(options.mode === 'concurrency' ? { concurrency: level } : { requestRate: level }),
    stable: m.stable,
    windows: m.windows,
    reportedWindows: m.reportedWindows,
    seconds: m.seconds,
    requests: m.requests,
    errors: m.errors,
    firstError: m.firstError ?? null,
    throughput: m.throughput,
    latencyUs: m.latencyUs,
    server: serverSplit(m.snapshotBefore, m.snapshotAfter) ?? null,
    cost: costSplit(m.snapshotBefore, m.snapshotAfter, options.prices) ?? null,
    sends: options.mode === 'request-rate' ? { sent: m.sent, late: m.late, dropped: m.dropped } : null,
  };
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  // Metadata and statistics travel on their own connections, never queued behind the load.
  const control = new HttpClient(options.url, 2);
  const maxSockets = options.mode === 'concurrency' ? Math.max(...options.levels) : options.maxOutstanding;
  const load = new HttpClient(options.url, maxSockets);
  try {
    const info = await fetchModelInfo(control, options.model, options.modelVersion);
    const inputs = await buildInputs(info, options);
    const body = buildInferBody(inputs, options.encoding);
    const send = inferSender(load, `${modelPath(options.model, options.modelVersion)}/infer`, body);

    // One request first: a request the server refuses fails here with its reason, not as a
    // sweep of errors; it also opens the first connection.
    const first = await send();
    if (!first.ok) throw new Error(`the server refused the benchmark request: ${first.message}`);

    const random = seededRandom(2);
    const results: PointResult[] = [];
    for (const level of options.levels) {
      const loop = (recorder: WindowRecorder): LoadLoop =>
        options.mode === 'concurrency'
          ? startConcurrencyLoad(send, recorder, level)
          : startRateLoad(send, recorder, { rate: level, maxOutstanding: options.maxOutstanding, random });
      const point = await measureLevel(level, loop, options, () =>
        fetchStats(control, options.model, options.modelVersion),
      );
      results.push(point);
      options.onPoint?.(point);
    }
    return {
      tool: 'inferd bench',
      inferdVersion: VERSION,
      startedAt,
      url: control.baseUrl,
      model: options.model,
      modelVersion: options.modelVersion ?? null,
      mode: options.mode,
      encoding: options.encoding,
      batchSize: options.batchSize,
      windowMs: options.windowMs,
      maxWindows: options.maxWindows,
      stability: options.stability,
      stableWindows: STABLE_WINDOWS,
      maxOutstanding: options.mode === 'request-rate' ? options.maxOutstanding : null,
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, source: t.source })),
      definitions: DEFINITIONS,
      results,
    };
  } finally {
    control.close();
    load.close();
  }
}
