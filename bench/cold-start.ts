// Cold start, the number scale-to-zero depends on: from spawning `inferd serve` to the first
// successful inference, per example model (each served alone), and to READY for the whole example
// repository. Compared in the same run with the floor a user's own script has: a fresh `node`
// that imports onnxruntime-node, creates the session and runs it once.
// Run: npm run bench:cold-start (node --import tsx bench/cold-start.ts --help).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const EXAMPLES = path.join(REPO_ROOT, 'examples', 'models');
const BIN = path.join(REPO_ROOT, 'bin', 'inferd.js');

const USAGE = `usage: node --import tsx bench/cold-start.ts [options]
  --repeats <n>  starts per case; the median is reported (default 5)
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

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
    options: { repeats: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const repeats = Number(values.repeats ?? 5);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer\n${USAGE}`);
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

await main();
