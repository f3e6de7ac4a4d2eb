// Rows per second of predict() in SQL over a Parquet file, against the limit: onnxruntime-node's
// session.run over the same rows, pre-loaded, in large batches. Run: npm run bench:sql (--help).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import * as ort from 'onnxruntime-node';
import { SqlEngine } from '../src/sql/sql-engine.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { serverSessionOptions } from './lib/raw-session.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MODELS = path.join(REPO_ROOT, 'examples', 'models');
const WIDTH = 256;

const USAGE = `usage: node --import tsx bench/sql-throughput.ts [options]
  --rows <n>        rows in the generated Parquet file (default 200000; features FLOAT[${WIDTH}])
  --repeats <n>     timed runs of each case; the best is reported (default 3)
  --raw-batch <n>   rows per session.run for the raw limit (default 2048, DuckDB's chunk size)
  --cpu-cores <n>   cores for the model instances and the raw session (default: all)
  --out <file>      JSON results (default bench/results/sql-throughput.json)`;

interface CaseResult {
  readonly label: string;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly executions?: number;
}

async function best(repeats: number, run: () => Promise<void>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return fastest;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000' },
      repeats: { type: 'string', default: '3' },
      'raw-batch': { type: 'string', default: '2048' },
      'cpu-cores': { type: 'string', default: String(os.availableParallelism()) },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'sql-throughput.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rows = Number(values.rows);
  const repeats = Number(values.repeats);
  const rawBatch = Number(values['raw-batch']);
  const cpuCores = Number(values['cpu-cores']);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-sql-'));
  const parquet = path.join(dir, 'x.parquet');

  // The data: random features, written once by DuckDB, read back whole for the raw loop.
  const duck = await DuckDBInstance.create(':memory:');
  const db = await duck.connect();
  await db.run(
    `COPY (SELECT i AS id, list_transform(range(${WIDTH}), k -> (random() * 2 - 1)::FLOAT)::FLOAT[${WIDTH}] AS features
           FROM range(${rows}) t(i)) TO '${parquet}' (FORMAT parquet)`,
  );
  const features = new Float32Array(rows * WIDTH);
  const reader = await db.streamAndReadAll(`SELECT features FROM '${parquet}'`);
  reader.getRowsJS().forEach((r, i) => features.set(r[0] as number[], i * WIDTH));
  db.closeSync();
  duck.closeSync();
  console.log(`${rows} rows of FLOAT[${WIDTH}] in ${parquet}`);

  // Every case runs once per round, rounds one after another, so a machine whose load changes
  // during the run weighs on every case alike; each case's best round is reported.
  const engine = await SqlEngine.open({ modelRepository: MODELS, cpuCores });
  // The limit: the same model file with the options the server would use, large batches, no copies.
  const { modelPath, options } = await serverSessionOptions(MODELS, 'mlp', cpuCores);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: options.interOpNumThreads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionMode: 'sequential',
  });
  const results: CaseResult[] = [];
  try {
    await engine.query(`SELECT predict('mlp', features) FROM '${parquet}' LIMIT 1`);
    // The same rows already in DuckDB's memory, as the raw loop has them: predict() without the
    // Parquet decoding, which on a small machine takes as much CPU as the model.
    await engine.query(`CREATE TABLE features AS SELECT id, features FROM '${parquet}'`);
    const mv = (): number => engine.repository.resolve('mlp').stats.executionCount;
    const select = `SELECT predict('mlp', features) FROM '${parquet}'`;
    const raw = (batch: number) => async (): Promise<void> => {
      for (let start = 0; start < rows; start += batch) {
        const n = Math.min(batch, rows - start);
        const input = new ort.Tensor('float32', features.subarray(start * WIDTH, (start + n) * WIDTH), [n, WIDTH]);
        await session.run({ input });
      }
    };
    const cases: { label: string; run: (count: (n: number) => void) => Promise<void>; rawBatch?: number }[] = [
      {
        label: "SELECT predict('mlp', features): rows to JS (engine.query)",
        run: (count) => engine.run(select, { columns: () => undefined, rows: (r) => count(r.length) }),
      },
      {
        label: "SELECT predict('mlp', features): CSV text (inferd sql)",
        run: (count) => engine.print(select, { format: 'csv', write: (t) => count(t.split('\n').length - 1) }),
      },
      {
        label: "SELECT sum(list_sum(predict('mlp', features)))",
        run: () =>
          engine.run(`SELECT sum(list_sum(predict('mlp', features))) FROM '${parquet}'`, {
            columns: () => undefined,
            rows: () => undefined,
          }),
      },
      {
        label: "SELECT sum(list_sum(predict('mlp', features))) FROM an in-memory table",
        run: () =>
          engine.run(`SELECT sum(list_sum(predict('mlp', features))) FROM features`, {
            columns: () => undefined,
            rows: () => undefined,
          }),
      },
      {
        label: "COPY (SELECT id, predict('mlp', features)) TO parquet",
        run: () =>
          engine.run(
            `COPY (SELECT id, predict('mlp', features) AS s FROM '${parquet}') TO '${path.join(dir, 'out.parquet')}'`,
            { columns: () => undefined, rows: () => undefined },
          ),
      },
      { label: `raw session.run, ${rawBatch}-row batches`, run: raw(rawBatch), rawBatch },
      { label: 'raw session.run, 64-row batches', run: raw(64), rawBatch: 64 },
    ];
    const fastest = cases.map(() => Infinity);
    const executions = cases.map(() => 0);
    for (let round = 0; round < repeats; round++) {
      for (const [i, c] of cases.entries()) {
        const before = mv();
        let got = 0;
        const seconds = await best(1, () => c.run((n) => (got += n)));
        if (c.label.includes('rows to JS') && got !== rows) throw new Error(`expected ${rows} rows, got ${got}`);
        if (c.label.includes('CSV') && got !== rows + 1) throw new Error(`expected ${rows + 1} CSV lines, got ${got}`);
        fastest[i] = Math.min(fastest[i] ?? Infinity, seconds);
        executions[i] = c.rawBatch === undefined ? mv() - before : Math.ceil(rows / c.rawBatch);
      }
    }
    cases.forEach((c, i) => {
      const seconds = fastest[i] ?? NaN;
      results.push({ label: c.label, seconds, rowsPerSecond: rows / seconds, executions: executions[i] ?? 0 });
    });
  } finally {
    await engine.close();
    await session.release();
  }
  await rm(dir, { recursive: true, force: true });

  const limit = results.find((r) => r.label.startsWith(`raw session.run, ${rawBatch}`))?.rowsPerSecond ?? NaN;
  const table = markdownTable(
    ['path', 'seconds', 'rows/s', 'vs raw', 'executions'],
    results.map((r) => [
      r.label,
      r.seconds.toFixed(2),
      Math.round(r.rowsPerSecond).toLocaleString('en-US'),
      (r.rowsPerSecond / limit).toFixed(2),
      String(Math.round(r.executions ?? 0)),
    ]),
    1,
  );
  const machine = describeMachine(REPO_ROOT);
  console.log(`\n${machine.cpuModel}, ${machine.cores} cores, load average ${os.loadavg()[0]?.toFixed(1)}`);
  console.log(table);
  await mkdir(path.dirname(values.out), { recursive: true });
  await writeFile(
    values.out,
    `${JSON.stringify({ rows, width: WIDTH, cpuCores, rawBatch, machine, loadAverage: os.loadavg(), results }, null, 2)}\n`,
  );
  console.log(`results: ${values.out}`);
}

await main();
