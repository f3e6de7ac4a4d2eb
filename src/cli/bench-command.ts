// `inferd bench <model>`: a load generator in the manner of Triton's perf_analyzer. Sweeps
// concurrency or request rate against a running server, prints throughput, latency percentiles
// and the server's time split, and can write JSON results and an SVG latency/throughput chart.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOCAL_SERVER_URL, SERVER_DEFAULTS } from '../config/server-config.js';
import { levelOf, type PointResult } from '../loadgen/bench-results.js';
import { parseShapeSpec } from '../loadgen/input-tensors.js';
import { latencyChartSvg } from '../loadgen/latency-chart.js';
import { formatReport } from '../loadgen/report-table.js';
import { runBench } from '../loadgen/run-bench.js';
import { parseSweep, SweepSpecError, type SweepKind } from '../loadgen/sweep-spec.js';
import { fraction, integer, nonNegativeNumber } from './parse-options.js';

/** Load levels when neither --concurrency nor --request-rate is given: one request at a time. */
const DEFAULT_CONCURRENCY = [1];

interface BenchCliOptions {
  url: string;
  modelVersion?: string;
  concurrency: number[];
  requestRate?: number[];
  maxOutstanding: number;
  binary?: boolean;
  input?: [string, string][];
  shape?: [string, number[]][];
  batchSize: number;
  windowMs: number;
  maxWindows: number;
  stability: number;
  json?: string;
  chart?: string;
  costPerCpuHour?: number;
  costPerGpuHour?: number;
}

function sweep(kind: SweepKind) {
  return (value: string): number[] => {
    try {
      return parseSweep(value, kind);
    } catch (err) {
      if (err instanceof SweepSpecError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

function inputSpec(value: string, previous: [string, string][] = []): [string, string][] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected NAME=FILE, got '${value}'`);
  return [...previous, [value.slice(0, eq), value.slice(eq + 1)]];
}

function shapeSpec(value: string, previous: [string, number[]][] = []): [string, number[]][] {
  try {
    const { name, dims } = parseShapeSpec(value);
    return [...previous, [name, dims]];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

async function writeOutput(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, content);
}

function progressLine(kind: SweepKind, p: PointResult): string {
  const level = kind === 'concurrency' ? `concurrency ${levelOf(p)}` : `request rate ${levelOf(p)}/s`;
  const p50 = Number.isFinite(p.latencyUs.p50) ? `${Math.round(p.latencyUs.p50)} µs` : '-';
  const windows = `${p.windows.length} window${p.windows.length === 1 ? '' : 's'}${p.stable ? '' : ', not stable'}`;
  return `${level}: ${p.throughput.toFixed(1)} infer/s, p50 ${p50}, ${p.errors} errors (${windows})\n`;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'measure throughput and latency of a model on a running server, sweeping concurrency or request rate ' +
        '(in the manner of Triton perf_analyzer)',
    )
    .argument('<model>', 'model name')
    .option('-u, --url <url>', 'server to load', LOCAL_SERVER_URL)
    .option('--model-version <n>', 'model version (default: the latest ready)')
    .addOption(
      new Option(
        '-c, --concurrency <spec>',
        'closed loop: keep N requests outstanding, one kept-alive connection each; a value, a list (1,8,64) ' +
          'or a range start:end[:step] or start:end:xFACTOR',
      )
        .default(DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY.join(','))
        .argParser(sweep('concurrency'))
        .conflicts('requestRate'),
    )
    .addOption(
      new Option(
        '-r, --request-rate <spec>',
        'open loop: Poisson arrivals at this many requests/s, whatever the replies do; same forms as --concurrency',
      ).argParser(sweep('request-rate')),
    )
    .option(
      '--max-outstanding <n>',
      'request-rate mode: most requests in flight; arrivals beyond it are dropped and counted',
      integer(1, 10_000),
      256,
    )
    .option('--binary', 'send inputs and receive outputs as binary tensor data (Inference-Header-Content-Length)')
    .option(
      '-i, --input <name=file>',
      'input data from a .npy or .json file instead of random values: one whole request tensor, or one ' +
        'item without the batch dimension, repeated --batch-size times (repeatable)',
      inputSpec,
    )
    .option(
      '--shape <name=dims>',
      "sizes of an input's dimensions after the batch dimension, needed where they are dynamic, e.g. INPUT0=16 (repeatable)",
      shapeSpec,
    )
    .option('-b, --batch-size <n>', 'rows per request along the batch dimension', integer(1, 1_000_000), 1)
    .option('--window-ms <ms>', 'length of one measurement window', integer(10, 3_600_000), 2000)
    .option('--max-windows <n>', 'windows per load level before giving up on stability', integer(1, 1000), 10)
    .option(
      '--stability <fraction>',
      'the last 3 windows must each be within this fraction of their mean, on throughput and p50',
      fraction,
      0.1,
    )
    .option('--json <file>', 'write every result, window by window, as JSON')
    .option('--chart <file>', 'write an SVG chart of p50 and p99 latency against throughput')
    .option(
      '--cost-per-cpu-hour <n>',
      "price of one CPU core for an hour: report cost per 1,000 inferences at it (default: the server's --cost-per-cpu-hour)",
      nonNegativeNumber,
    )
    .option(
      '--cost-per-gpu-hour <n>',
      "price of one GPU for an hour, in the same currency (default: the server's --cost-per-gpu-hour)",
      nonNegativeNumber,
    )
    .addHelpText(
      'after',
      `
Inputs get seeded random values of each input's datatype and shape; the batch dimension is
--batch-size, other dynamic dimensions come from --shape. Each load level runs until the last 3
windows agree (or --max-windows); the server split, and the CPU-seconds per inference an inferd
server charges the model, come from GET /v2/models/<model>/stats.

Examples:
  $ inferd bench simple
  $ inferd bench simple --concurrency 1:64:x2 --binary --json simple.json --chart simple.svg
  $ inferd bench simple --request-rate 100:1000:x2 --window-ms 1000
  $ inferd bench identity_fp32 --shape INPUT0=1024 --batch-size 8 --concurrency 1,8,32
  $ inferd bench simple -u http://10.0.0.5:${SERVER_DEFAULTS.httpPort} --input INPUT0=a.npy --input INPUT1=b.npy`,
    )
    .action(async (model: string, opts: BenchCliOptions) => {
      const mode: SweepKind = opts.requestRate === undefined ? 'concurrency' : 'request-rate';
      const report = await runBench({
        url: opts.url,
        model,
        modelVersion: opts.modelVersion,
        mode,
        levels: opts.requestRate ?? opts.concurrency,
        maxOutstanding: opts.maxOutstanding,
        encoding: opts.binary === true ? 'binary' : 'json',
        batchSize: opts.batchSize,
        shapes: new Map(opts.shape ?? []),
        files: new Map(opts.input ?? []),
        windowMs: opts.windowMs,
        maxWindows: opts.maxWindows,
        stability: opts.stability,
        prices: {
          ...(opts.costPerCpuHour === undefined ? {} : { cpuPerHour: opts.costPerCpuHour }),
          ...(opts.costPerGpuHour === undefined ? {} : { gpuPerHour: opts.costPerGpuHour }),
        },
        onPoint: (p) => process.stderr.write(progressLine(mode, p)),
      });
      process.stdout.write(`\n${formatReport(report)}`);
      if (opts.json !== undefined) await writeOutput(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      if (opts.chart !== undefined) await writeOutput(opts.chart, latencyChartSvg(report));
    });
}
