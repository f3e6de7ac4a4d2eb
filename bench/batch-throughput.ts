// Batch inference throughput: `inferd batch run` over a generated Parquet file (features
// FLOAT[256]) for examples/models/mlp (256→1024→10, so cheap that reading the rows costs as much as
// scoring them) and for a compute-bound MLP (256→2048→2048→2048→10, ~33× the work per row), each
// against the limit, a raw onnxruntime-node loop over the same
// rows pre-loaded in memory in large batches, run with onnxruntime's thread spinning on and off
// (the limit is the better of the two; batch jobs run with spinning off); and peak RSS of the
// batch run at two file sizes, to show memory flat in file size (both files hold several Parquet
// row groups of 65,536 rows: DuckDB decodes a row group's column at a time, so memory follows the
// row group size, not the file's). Both sides execute the same batch size: the model's
// max_batch_size is raised to it.
//
// JSON lines against the script a user would write (bench/lib/naive-batch-script.ts: readline,
// JSON.parse, onnxruntime-node in batches of 1,024, JSON lines out): both over the same file of
// --jsonl-rows rows ({"id", "features": 64 floats}), the same small MLP (64→128→10), the same
// output columns, `inferd batch run` spawned as a user runs it (node bin/inferd.js); wall time
// from spawn to exit, peak RSS from the child's /proc/<pid>/status (VmHWM), and the ratio.
// Run: npm run bench:batch -- [--rows N] [--batch-size N] [--jsonl-rows N] [--only jsonl|parquet].

import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import * as ort from 'onnxruntime-node';
import { runBatchJob } from '../src/batch/batch-job.js';
import { resolveMapping } from '../src/batch/column-mapping.js';
import { resolveInput } from '../src/batch/input-files.js';
import { readBatches } from '../src/batch/row-reader.js';
import { openTableSource } from '../src/batch/table-source.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { ModelRepository } from '../src/repository/model-repository.js';
import ts from 'typescript';
import { GraphBuilder } from '../tools/onnx/onnx-builder.js';
import { computeBoundMlp as sharedComputeBoundMlp } from './lib/compute-bound-mlp.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { serverSessionOptions } from './lib/raw-session.js';
import { requireKind } from '../src/model-kinds/serving-kinds.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const WIDTH = 256;
const OUTPUT = 'logits';

/** 256 → 2048 → 2048 → 2048 → 10 with ReLU between: the compute-bound model (deterministic weights). */
function computeBoundMlp(): Uint8Array {
  return sharedComputeBoundMlp(OUTPUT);
}

const JSONL_WIDTH = 64;

/** 64 → 128 → 10 with a ReLU: the small MLP of the JSON-lines comparison (deterministic weights). */
function smallMlp(): Uint8Array {
  const dims = [JSONL_WIDTH, 128, 10];
  const b = new GraphBuilder('small_mlp').input('input', 'FP32', [-1, JSONL_WIDTH]);
  let value = 'input';
  for (let l = 0; l + 1 < dims.length; l++) {
    const [n, m] = [dims[l] as number, dims[l + 1] as number];
    const scale = Math.sqrt(3 / n);
    const w = Float32Array.from({ length: n * m }, (_, i) => Math.sin(i * 12.9898 + l) * scale);
    const last = l + 2 === dims.length;
    b.initializer(`W${l}`, 'FP32', [n, m], w)
      .initializer(`B${l}`, 'FP32', [m], new Float32Array(m))
      .node('MatMul', [value, `W${l}`], [`mm${l}`])
      .node('Add', [`mm${l}`, `B${l}`], [last ? OUTPUT : `pre${l}`]);
    if (!last) b.node('Relu', [`pre${l}`], [`act${l}`]);
    value = `act${l}`;
  }
  return b.output(OUTPUT, 'FP32', [-1, 10]).toBytes({ opset: 17, irVersion: 8 });
}

/** Writes `rows` JSON lines of {"id": i, "features": [64 floats]}. */
async function generateJsonl(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < rows; i += 1000) {
    let text = '';
    for (let r = i; r < Math.min(rows, i + 1000); r++) {
      const values = Array.from({ length: JSONL_WIDTH }, (_, j) => Math.fround(Math.sin(r * 0.001 + j)));
      text += `${JSON.stringify({ id: r, features: values })}\n`;
    }
    if (!out.write(text)) await new Promise((resolve) => out.once('drain', () => resolve(undefined)));
  }
  await new Promise((resolve) => out.end(() => resolve(undefined)));
}

interface SpawnResult {
  wallSeconds: number;
  maxRssMiB: number;
  stdout: string;
}

/** Runs a command to its end: wall time from spawn to exit, and peak RSS polled from /proc (VmHWM). */
function spawnMeasured(args: readonly string[]): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const p = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let hwm = 0;
    const poll = setInterval(() => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m !== null) hwm = Math.max(hwm, Number(m[1]) / 1024);
      } catch {
        // Exited, or not Linux.
      }
    }, 20);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearInterval(poll);
      const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}`));
      else resolve({ wallSeconds, maxRssMiB: hwm, stdout: out });
    });
  });
}

/** The naive script as plain JavaScript (a user's script has no TypeScript loader to start). */
async function naiveScript(dir: string): Promise<string> {
  const source = await readFile(path.join(import.meta.dirname, 'lib/naive-batch-script.ts'), 'utf8');
  const js = ts
    .transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
    .outputText.replace(`from 'onnxruntime-node'`, `from ${JSON.stringify(import.meta.resolve('onnxruntime-node'))}`);
  const file = path.join(dir, 'naive-batch-script.mjs');
  await writeFile(file, js);
  return file;
}

interface JsonlSide {
  rows: number;
  wallSeconds: number;
  rowsPerSecond: number;
  maxRssMiB: number;
}

/** inferd batch run and the naive script over one JSON-lines file, one after the other. */
interface JsonlComparison {
  inferd: JsonlSide;
  naive: JsonlSide;
  /** inferd's rows/s ÷ the naive script's (goal ≥ 1.0; bench:all reads it). */
  overNaiveRatio: number;
  /** inferd's peak RSS ÷ the naive script's (goal ≤ 1.5). */
  rssOverNaive: number;
}

async function jsonlComparison(dir: string, rows: number): Promise<JsonlComparison> {
  const repo = path.join(dir, 'jsonl-models');
  await mkdir(path.join(repo, 'small_mlp', '1'), { recursive: true });
  const model = path.join(repo, 'small_mlp', '1', 'model.onnx');
  await writeFile(model, smallMlp());
  await writeFile(path.join(repo, 'small_mlp', 'config.yaml'), 'max_batch_size: 1024\n');
  const input = path.join(dir, 'rows.jsonl');
  process.stderr.write(`jsonl: generating ${rows} rows of 64 floats...\n`);
  await generateJsonl(input, rows);
  const naiveFile = await naiveScript(dir);
  process.stderr.write('jsonl: the naive script...\n');
  const naiveOut = path.join(dir, 'naive-out.jsonl');
  const naive = await spawnMeasured([naiveFile, model, input, naiveOut, 'input', 'features', OUTPUT]);
  const naiveRows = (JSON.parse(naive.stdout.trim().split('\n').at(-1) ?? '{}') as { rows: number }).rows;
  process.stderr.write('jsonl: inferd batch run...\n');
  const out = path.join(dir, 'inferd-out.jsonl');
  const inferd = await spawnMeasured([
    'bin/inferd.js',
    'batch',
    'run',
    '-m',
    repo,
    '--model',
    'small_mlp',
    '-i',
    input,
    '-o',
    out,
    '--map',
    'input=features',
    '--id-column',
    'id',
    '--overwrite',
    '--quiet',
  ]);
  const summary = JSON.parse(await readFile(`${out}.summary.json`, 'utf8')) as { rows: number; errors: number };
  if (summary.errors !== 0) throw new Error(`inferd batch run failed ${summary.errors} rows`);
  // Same rows, same columns: compare the first lines.
  const firstLine = async (f: string): Promise<Record<string, unknown>> =>
    JSON.parse((await readFile(f, 'utf8')).slice(0, 4096).split('\n')[0] ?? '{}') as Record<string, unknown>;
  const [a, b] = [await firstLine(out), await firstLine(naiveOut)];
  if (JSON.stringify(Object.keys(a)) !== JSON.stringify(Object.keys(b)))
    throw new Error(`output columns differ: inferd ${Object.keys(a).join(',')}, script ${Object.keys(b).join(',')}`);
  const side = (r: number, s: SpawnResult): JsonlSide => ({
    rows: r,
    wallSeconds: s.wallSeconds,
    rowsPerSecond: r / s.wallSeconds,
    maxRssMiB: s.maxRssMiB,
  });
  const sides = { inferd: side(summary.rows, inferd), naive: side(naiveRows, naive) };
  return {
    ...sides,
    overNaiveRatio: sides.inferd.rowsPerSecond / sides.naive.rowsPerSecond,
    rssOverNaive: sides.inferd.maxRssMiB / sides.naive.maxRssMiB,
  };
}

interface RawResult {
  rowsPerSecond: number;
}

interface ChildResult {
  rows: number;
  wallSeconds: number;
  rowsPerSecond: number;
  maxRssMiB: number;
  /** CPU time of the whole process (every thread) per row, in microseconds. */
  cpuMicrosPerRow: number;
}

/**
 * This process's peak RSS. On Linux the kernel's high-water mark of the running image (VmHWM):
 * getrusage's maxRSS of a spawned child also counts the parent's memory at fork time, which here
 * holds the raw loop's pre-loaded rows.
 */
function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Child mode: one batch job in this process (as `inferd batch run` runs it), then its peak RSS. */
async function child(repo: string, model: string, input: string, output: string, batchSize: number): Promise<void> {
  const repository = new ModelRepository({
    path: repo,
    controlMode: 'explicit',
    loadModels: [model],
    pollSeconds: 60,
    cpuCores: os.availableParallelism(),
    metrics: new Metrics(),
    logger: createLogger('silent'),
    // Between executions the reader and writer need a core that spinning threads would keep busy.
    allowSpinning: false,
  });
  await repository.start();
  const mv = requireKind(repository.resolve(model), 'v2 infer');
  const s = await runBatchJob({
    model: mv,
    input: await resolveInput(input),
    output,
    outputFormat: 'parquet',
    mapping: { id: 'id', inputs: { input: ['features'] }, outputs: [OUTPUT] },
    batchSize,
    maxErrors: 0,
    checkpointRows: 100_000,
    overwrite: true,
    instances: mv.instances.length,
  });
  await repository.close();
  const result: ChildResult = {
    rows: s.rows,
    wallSeconds: s.wallSeconds,
    rowsPerSecond: s.rowsPerSecond,
    maxRssMiB: peakRssMiB(),
    cpuMicrosPerRow: (process.cpuUsage().user + process.cpuUsage().system) / Math.max(1, s.rows),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(repo: string, model: string, input: string, output: string, batchSize: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', repo, model, input, output, String(batchSize)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`batch child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ChildResult);
    });
  });
}

async function generate(file: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(
    `COPY (SELECT range AS id, [sin(range * 0.001 + j)::FLOAT for j in range(${WIDTH})]::FLOAT[${WIDTH}] AS features FROM range(${rows})) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 65536)`,
  );
  conn.closeSync();
  instance.closeSync();
}

/** The limit: every row pre-loaded, then session.run over batches back to back (spinning on, then off). */
async function rawLoop(
  repo: string,
  model: string,
  input: string,
  batchSize: number,
): Promise<{ spinning: RawResult; noSpinning: RawResult }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const source = await openTableSource(conn, await resolveInput(input));
  const config = {
    name: model,
    maxBatchSize: batchSize,
    inputs: [{ name: 'input', datatype: 'FP32' as const, dims: [WIDTH] }],
    outputs: [{ name: OUTPUT, datatype: 'FP32' as const, dims: [10] }],
  };
  const plan = resolveMapping(config as never, new Map(), source.columns, { inputs: { input: ['features'] } });
  const batches: Float32Array[] = [];
  for await (const b of readBatches(conn, source, plan, {
    start: 0,
    end: Number.MAX_SAFE_INTEGER,
    batchSize,
    batched: true,
  }))
    batches.push(b.inputs[0]?.data as Float32Array);
  conn.closeSync();
  instance.closeSync();
  const { modelPath, options } = await serverSessionOptions(repo, model, os.availableParallelism());
  const run = async (allowSpinning: boolean): Promise<RawResult> => {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: options.interOpNumThreads,
      graphOptimizationLevel: options.graphOptimizationLevel,
      executionProviders: ['cpu'],
      executionMode: 'sequential',
      ...(allowSpinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    });
    // Warm-up (the batch run's worker warms up on its first batches too).
    for (const data of batches.slice(0, 3))
      await session.run({ input: new ort.Tensor('float32', data, [data.length / WIDTH, WIDTH]) });
    let rows = 0;
    const start = process.hrtime.bigint();
    for (const data of batches) {
      const n = data.length / WIDTH;
      await session.run({ input: new ort.Tensor('float32', data, [n, WIDTH]) });
      rows += n;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await session.release();
    return { rowsPerSecond: rows / seconds };
  };
  const spinning = await run(true);
  const noSpinning = await run(false);
  return { spinning, noSpinning };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [repo, model, input, output, batch] = process.argv.slice(3);
    await child(repo ?? '', model ?? '', input ?? '', output ?? '', Number(batch));
    return;
  }
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      'batch-size': { type: 'string', default: '1024' },
      'jsonl-rows': { type: 'string', default: '200000' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench:batch -- [--rows N (default 1000000; the compute-bound model gets a tenth)] [--batch-size N (default 1024, also the model max_batch_size)] [--jsonl-rows N (default 200000)] [--only jsonl|parquet]\n',
    );
    return;
  }
  const rows = Number(values.rows);
  const batchSize = Number(values['batch-size']);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-batch-'));
  try {
    let jsonl: JsonlComparison | undefined;
    if (values.only !== 'parquet') {
      jsonl = await jsonlComparison(dir, Number(values['jsonl-rows']));
      const line = (what: string, s: JsonlSide): string[] => [
        what,
        String(s.rows),
        s.wallSeconds.toFixed(2),
        s.rowsPerSecond.toFixed(0),
        `${s.maxRssMiB.toFixed(0)} MiB`,
      ];
      const table = markdownTable(
        ['JSON lines → JSON lines, small MLP (64→128→10)', 'rows', 'wall s', 'rows/s', 'peak RSS'],
        [
          line('naive script (readline, JSON.parse, batches of 1,024)', jsonl.naive),
          line('inferd batch run', jsonl.inferd),
        ],
        1,
      );
      process.stdout.write(
        `\n${table}\n\ninferd ÷ naive script: ${jsonl.overNaiveRatio.toFixed(2)}× the throughput, ${jsonl.rssOverNaive.toFixed(2)}× the peak RSS\n`,
      );
    }
    if (values.only === 'jsonl') {
      await mkdir(path.join(REPO_ROOT, 'bench/results'), { recursive: true });
      await writeFile(
        path.join(REPO_ROOT, 'bench/results/batch-throughput.json'),
        `${JSON.stringify({ machine: describeMachine(REPO_ROOT), jsonl, date: new Date().toISOString() }, null, 2)}\n`,
      );
      return;
    }
    // The models with max_batch_size raised to the batch size, so both sides run the same batches.
    const repo = path.join(dir, 'models');
    const models = [
      { name: 'mlp', what: 'mlp (256→1024→10)', rows, source: 'examples' as const },
      {
        name: 'compute_mlp',
        what: 'compute-bound MLP (256→2048→2048→2048→10)',
        rows: Math.max(1, Math.floor(rows / 10)),
        source: 'built' as const,
      },
    ];
    for (const m of models) {
      await mkdir(path.join(repo, m.name, '1'), { recursive: true });
      const file = path.join(repo, m.name, '1', 'model.onnx');
      if (m.source === 'examples') await copyFile(path.join(REPO_ROOT, 'examples/models/mlp/1/model.onnx'), file);
      else await writeFile(file, computeBoundMlp());
      await writeFile(path.join(repo, m.name, 'config.yaml'), `max_batch_size: ${batchSize}\n`);
    }
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const tableRows: string[][] = [];
    const perModel: Record<string, unknown> = {};
    for (const m of models) {
      const big = path.join(dir, `${m.name}-big.parquet`);
      const small = path.join(dir, `${m.name}-small.parquet`);
      const smallRows = Math.max(1, Math.floor(m.rows / 4));
      process.stderr.write(`${m.name}: generating ${m.rows} and ${smallRows} rows of FLOAT[${WIDTH}]...\n`);
      await generate(big, m.rows);
      await generate(small, smallRows);
      const bigBytes = (await stat(big)).size;
      const smallBytes = (await stat(small)).size;
      process.stderr.write(`${m.name}: raw onnxruntime-node loop over pre-loaded batches...\n`);
      const raws = await rawLoop(repo, m.name, big, batchSize);
      // The limit is the better of the two raw configurations.
      const limit = Math.max(raws.spinning.rowsPerSecond, raws.noSpinning.rowsPerSecond);
      process.stderr.write(`${m.name}: inferd batch run (large file, then 1/4 of it)...\n`);
      const runBig = await runChild(repo, m.name, big, path.join(dir, `${m.name}-out-big.parquet`), batchSize);
      const runSmall = await runChild(repo, m.name, small, path.join(dir, `${m.name}-out-small.parquet`), batchSize);
      await rm(big, { force: true });
      await rm(small, { force: true });
      const pct = (r: number): string => `${((r / limit) * 100).toFixed(1)}%`;
      tableRows.push(
        [
          m.what,
          'raw session.run loop, pre-loaded, spinning threads',
          String(m.rows),
          mib(bigBytes),
          raws.spinning.rowsPerSecond.toFixed(0),
          pct(raws.spinning.rowsPerSecond),
          '-',
        ],
        [
          m.what,
          'raw session.run loop, pre-loaded, no spinning',
          String(m.rows),
          mib(bigBytes),
          raws.noSpinning.rowsPerSecond.toFixed(0),
          pct(raws.noSpinning.rowsPerSecond),
          '-',
        ],
        [
          m.what,
          'inferd batch run, Parquet → Parquet',
          String(runBig.rows),
          mib(bigBytes),
          runBig.rowsPerSecond.toFixed(0),
          pct(runBig.rowsPerSecond),
          `${runBig.maxRssMiB.toFixed(0)} MiB`,
        ],
        [
          m.what,
          'inferd batch run, file 1/4 the size',
          String(runSmall.rows),
          mib(smallBytes),
          runSmall.rowsPerSecond.toFixed(0),
          pct(runSmall.rowsPerSecond),
          `${runSmall.maxRssMiB.toFixed(0)} MiB`,
        ],
      );
      perModel[m.name] = {
        rows: m.rows,
        raw: raws,
        limit,
        batchRun: runBig,
        batchRunSmall: runSmall,
        ratio: runBig.rowsPerSecond / limit,
      };
    }
    const table = markdownTable(
      ['model', 'measurement', 'rows', 'input file', 'rows/s', 'vs limit', 'peak RSS'],
      tableRows,
      2,
    );
    process.stdout.write(`\nbatch ${batchSize}, ${os.availableParallelism()} cores\n\n${table}\n`);
    const results = {
      machine: describeMachine(REPO_ROOT),
      rows,
      batchSize,
      jsonl,
      models: perModel,
      date: new Date().toISOString(),
    };
    await mkdir(path.join(REPO_ROOT, 'bench/results'), { recursive: true });
    await writeFile(
      path.join(REPO_ROOT, 'bench/results/batch-throughput.json'),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
