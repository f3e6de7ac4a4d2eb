// Cold start, the number scale-to-zero depends on: from spawning `inferd serve` to the first
// successful inference, per example model (each served alone), and to READY for the whole example
// repository. Compared in the same run with the floor a user's own script has: a fresh `node`
// that imports onnxruntime-node, creates the session and runs it once.
// With --warmup it measures what model_warmup buys instead: time to READY and the first request's
// latency, with and without a warmup in the config, on the mlp example and a deeper generated MLP.
// Run: npm run bench:cold-start (node --import tsx bench/cold-start.ts --help).

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { GraphBuilder } from '../tools/onnx/onnx-builder.js';
import { Prng } from '../tools/train/prng.js';
import { freePort } from './lib/inferd-process.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const EXAMPLES = path.join(REPO_ROOT, 'examples', 'models');
const BIN = path.join(REPO_ROOT, 'bin', 'inferd.js');

const USAGE = `usage: node --import tsx bench/cold-start.ts [options]
  --repeats <n>  starts per case; the median is reported (default 5)
  --warmup       measure model_warmup instead: time to READY and first-request latency with
                 and without it (default out: bench/results/warmup.json)
  --out <file>   JSON results (default bench/results/cold-start.json)`;

const SIMPLE_BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});
const MLP_BODY = JSON.stringify({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 256], data: Array.from({ length: 256 }, () => 0.5) }],
});

interface Case {
  readonly name: string;
  /** Models to load (explicit mode), or undefined for the whole repository. */
  readonly models?: readonly string[];
  /** The request that must succeed, or undefined to wait for /ready. */
  readonly probe?: { readonly path: string; readonly body: string };
  /** The same model run by a bare onnxruntime-node script, for the floor. */
  readonly raw?: { readonly file: string; readonly feeds: string };
}

const CASES: readonly Case[] = [
  {
    name: 'simple',
    models: ['simple'],
    probe: { path: '/v2/models/simple/infer', body: SIMPLE_BODY },
    raw: {
      file: 'simple/1/model.onnx',
      feeds: `{ INPUT0: new ort.Tensor('int32', new Int32Array(16), [1, 16]), INPUT1: new ort.Tensor('int32', new Int32Array(16), [1, 16]) }`,
    },
  },
  {
    name: 'mlp',
    models: ['mlp'],
    probe: { path: '/v2/models/mlp/infer', body: MLP_BODY },
    raw: {
      file: 'mlp/1/model.onnx',
      feeds: `{ input: new ort.Tensor('float32', new Float32Array(256), [1, 256]) }`,
    },
  },
  {
    name: 'kjv-tiny',
    models: ['kjv-tiny'],
    probe: {
      path: '/v1/completions',
      body: JSON.stringify({ model: 'kjv-tiny', prompt: 'In the beginning', max_tokens: 1 }),
    },
  },
  { name: 'whole example repository (READY)' },
];

async function succeeds(url: string, body: string | undefined): Promise<boolean> {
  try {
    const res = await fetch(url, body === undefined ? {} : { method: 'POST', body });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Milliseconds from spawn to the first 200 of the probe (or of /ready). */
async function inferdColdStart(c: Case): Promise<number> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const args = [BIN, 'serve', '-m', EXAMPLES, '--host', '127.0.0.1', '--http-port', String(httpPort)];
  args.push('--grpc-port', String(grpcPort), '--metrics-port', 'off', '--log-level', 'warn');
  if (c.models !== undefined) {
    args.push('--model-control-mode', 'explicit');
    for (const m of c.models) args.push('--load-model', m);
  }
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const url = `http://127.0.0.1:${httpPort}${c.probe?.path ?? '/ready'}`;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`inferd exited with ${child.exitCode}`);
      if (await succeeds(url, c.probe?.body)) return performance.now() - start;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await stop(child);
  }
}

/** Milliseconds for a fresh node to import onnxruntime-node, create the session and run once. */
async function rawColdStart(raw: NonNullable<Case['raw']>): Promise<number> {
  const script = `import * as ort from 'onnxruntime-node';
const s = await ort.InferenceSession.create(${JSON.stringify(path.join(EXAMPLES, raw.file))});
await s.run(${raw.feeds});`;
  const start = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the raw script exited with ${code}`);
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string' },
      out: { type: 'string' },
      warmup: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const repeats = Number(values.repeats ?? 5);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer\n${USAGE}`);
  if (values.warmup === true) {
    await warmupComparison(
      repeats,
      path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'warmup.json')),
    );
    return;
  }
  const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'cold-start.json'));

  const results: { case: string; inferdMs: number; rawMs: number | null; ratio: number | null }[] = [];
  for (const c of CASES) {
    const inferd: number[] = [];
    const raw: number[] = [];
    // Interleaved, so a slower stretch of the machine hits both alike.
    for (let i = 0; i < repeats; i++) {
      inferd.push(await inferdColdStart(c));
      if (c.raw !== undefined) raw.push(await rawColdStart(c.raw));
    }
    const inferdMs = median(inferd);
    const rawMs = raw.length > 0 ? median(raw) : null;
    results.push({ case: c.name, inferdMs, rawMs, ratio: rawMs === null ? null : inferdMs / rawMs });
    process.stderr.write(`${c.name}: ${inferdMs.toFixed(0)} ms\n`);
  }

  const rows = results.map((r) => [
    r.case,
    r.inferdMs.toFixed(0),
    r.rawMs === null ? '–' : r.rawMs.toFixed(0),
    r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`,
  ]);
  process.stdout.write(
    `Cold start: spawn to first successful inference (median of ${repeats})\n\n` +
      `${markdownTable(['case', 'inferd serve (ms)', 'bare onnxruntime-node script (ms)', 'inferd ÷ script'], rows, 1)}\n`,
  );
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify({ machine: describeMachine(REPO_ROOT), repeats, results }, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), out)}\n`);
}

// --- model_warmup: time to READY and first-request latency, with and without ---

/** Rows of the timed requests: the batch a dynamic batcher forms under load. */
const WARM_BATCH = 32;
/** Requests after the first, whose median is the steady latency. */
const STEADY_REQUESTS = 30;

interface WarmupModel {
  readonly name: string;
  readonly width: number;
  /** Writes <dir>/<name>/1/model.onnx. */
  write(dir: string): Promise<void>;
}

/** An fp32 MLP of `layers` square MatMul + Add + Relu layers, `width` wide, seeded weights. */
function deepMlp(width: number, layers: number): Uint8Array {
  const prng = new Prng(0x3a3);
  let g = new GraphBuilder('deep_mlp').input('input', 'FP32', [-1, width]);
  let last = 'input';
  for (let l = 0; l < layers; l++) {
    g = g
      .initializer(`W${l}`, 'FP32', [width, width], Float32Array.from(prng.scaledUniform(width * width, 1 / width)))
      .initializer(`B${l}`, 'FP32', [width], Float32Array.from(prng.scaledUniform(width, 1 / width)))
      .node('MatMul', [last, `W${l}`], [`mm${l}`])
      .node('Add', [`mm${l}`, `B${l}`], [`pre${l}`])
      .node('Relu', [`pre${l}`], [`h${l}`]);
    last = `h${l}`;
  }
  return g
    .node('Identity', [last], ['output'])
    .output('output', 'FP32', [-1, width])
    .toBytes({ opset: 17, irVersion: 8 });
}

const WARMUP_MODELS: readonly WarmupModel[] = [
  {
    name: 'mlp',
    width: 256,
    write: async (dir) => {
      await mkdir(path.join(dir, 'mlp', '1'), { recursive: true });
      await copyFile(path.join(EXAMPLES, 'mlp', '1', 'model.onnx'), path.join(dir, 'mlp', '1', 'model.onnx'));
    },
  },
  {
    name: 'deep_mlp',
    width: 1024,
    write: async (dir) => {
      await mkdir(path.join(dir, 'deep_mlp', '1'), { recursive: true });
      await writeFile(path.join(dir, 'deep_mlp', '1', 'model.onnx'), deepMlp(1024, 8));
    },
  },
];

/** The model's config: one instance, batches up to 64, and with `warm` a sample of 1 and one of 32 rows. */
function warmupConfig(m: WarmupModel, warm: boolean): string {
  const sample = (name: string, batch: number) =>
    `  - name: ${name}\n    batch_size: ${batch}\n    inputs:\n      input: { data_type: TYPE_FP32, dims: [${m.width}], random_data: true }\n`;
  return (
    `max_batch_size: 64\ninstance_group: [{ count: 1, kind: KIND_CPU }]\n` +
    (warm ? `model_warmup:\n${sample('one', 1)}${sample('batch', WARM_BATCH)}` : '')
  );
}

interface WarmupTiming {
  readonly readyMs: number;
  readonly firstMs: number;
  readonly steadyMs: number;
  /** The model's own share: compute_infer of the first execution, and the mean of the next ones. */
  readonly firstComputeMs: number;
  readonly steadyComputeMs: number;
}

/** compute_infer of the model's statistics so far: executions and their total milliseconds. */
async function computeInfer(base: string): Promise<{ count: number; ms: number }> {
  const res = await fetch(`${base}/stats`);
  const stats = (await res.json()) as {
    model_stats: { inference_stats: { compute_infer: { count: number; ns: number } } }[];
  };
  const c = stats.model_stats[0]?.inference_stats.compute_infer ?? { count: 0, ns: 0 };
  return { count: Number(c.count), ms: Number(c.ns) / 1e6 };
}

async function timedPost(url: string, body: string): Promise<number> {
  const start = performance.now();
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return performance.now() - start;
}

/** Spawns inferd on a repository of the one model; times READY, the first request and the next ones. */
async function warmupStart(repo: string, m: WarmupModel): Promise<WarmupTiming> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const args = [BIN, 'serve', '-m', repo, '--host', '127.0.0.1', '--http-port', String(httpPort)];
  args.push('--grpc-port', String(grpcPort), '--metrics-port', 'off', '--log-level', 'warn');
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const base = `http://127.0.0.1:${httpPort}/v2/models/${m.name}`;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`inferd exited with ${child.exitCode}`);
      if (await succeeds(`${base}/ready`, undefined)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = performance.now() - start;
    const body = JSON.stringify({
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [WARM_BATCH, m.width],
          data: Array.from({ length: WARM_BATCH * m.width }, (_, i) => (i % 7) / 7),
        },
      ],
    });
    const firstMs = await timedPost(`${base}/infer`, body);
    const first = await computeInfer(base);
    const steady: number[] = [];
    for (let i = 0; i < STEADY_REQUESTS; i++) steady.push(await timedPost(`${base}/infer`, body));
    const all = await computeInfer(base);
    return {
      readyMs,
      firstMs,
      steadyMs: median(steady),
      firstComputeMs: first.ms,
      steadyComputeMs: (all.ms - first.ms) / Math.max(1, all.count - first.count),
    };
  } finally {
    await stop(child);
  }
}

async function warmupComparison(repeats: number, out: string): Promise<void> {
  const results: {
    model: string;
    warmup: boolean;
    readyMs: number;
    firstMs: number;
    steadyMs: number;
    firstComputeMs: number;
    steadyComputeMs: number;
  }[] = [];
  for (const m of WARMUP_MODELS) {
    const repos = new Map<boolean, string>();
    for (const warm of [false, true]) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-warmup-bench-'));
      await m.write(dir);
      await writeFile(path.join(dir, m.name, 'config.yaml'), warmupConfig(m, warm));
      repos.set(warm, dir);
    }
    const timings = new Map<boolean, WarmupTiming[]>([
      [false, []],
      [true, []],
    ]);
    try {
      // Interleaved, so a slower stretch of the machine hits both alike.
      for (let i = 0; i < repeats; i++)
        for (const warm of [false, true]) timings.get(warm)?.push(await warmupStart(repos.get(warm) ?? '', m));
    } finally {
      for (const dir of repos.values()) await rm(dir, { recursive: true, force: true });
    }
    for (const warm of [false, true]) {
      const t = timings.get(warm) ?? [];
      const row = {
        model: m.name,
        warmup: warm,
        readyMs: median(t.map((x) => x.readyMs)),
        firstMs: median(t.map((x) => x.firstMs)),
        steadyMs: median(t.map((x) => x.steadyMs)),
        firstComputeMs: median(t.map((x) => x.firstComputeMs)),
        steadyComputeMs: median(t.map((x) => x.steadyComputeMs)),
      };
      results.push(row);
      process.stderr.write(
        `${m.name} warmup=${warm}: ready ${row.readyMs.toFixed(0)} ms, first ${row.firstMs.toFixed(2)} ms\n`,
      );
    }
  }
  const rows = results.map((r) => {
    const without = results.find((x) => x.model === r.model && !x.warmup);
    return [
      r.model,
      r.warmup ? 'yes' : 'no',
      r.readyMs.toFixed(0),
      r.firstMs.toFixed(2),
      r.steadyMs.toFixed(2),
      r.firstComputeMs.toFixed(2),
      r.steadyComputeMs.toFixed(2),
      r.warmup && without !== undefined ? `${(without.firstMs / r.firstMs).toFixed(2)}×` : '–',
      r.warmup && without !== undefined ? `${(without.firstComputeMs / r.firstComputeMs).toFixed(2)}×` : '–',
    ];
  });
  process.stdout.write(
    `model_warmup: spawn to READY, then the first and the steady (median of ${STEADY_REQUESTS}) latency of a ` +
      `${WARM_BATCH}-row request, and the model's compute_infer for each (median of ${repeats} starts)\n\n` +
      `${markdownTable(
        [
          'model',
          'warmup',
          'to READY (ms)',
          'first request (ms)',
          'steady request (ms)',
          'first compute (ms)',
          'steady compute (ms)',
          'first request: without ÷ with',
          'first compute: without ÷ with',
        ],
        rows,
        2,
      )}\n`,
  );
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify({ machine: describeMachine(REPO_ROOT), repeats, batch: WARM_BATCH, results }, null, 2)}\n`,
  );
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), out)}\n`);
}

await main();
