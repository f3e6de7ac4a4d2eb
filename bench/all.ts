// Every benchmark at once: runs each benchmark in bench/ at a size that finishes in minutes in
// total (or at its own default size with --full), reads the JSON each writes under bench/results/,
// keeps their headline ratios keyed `bench/case/metric` in bench/results/all.json with the machine
// and a timestamp, compares them with a previous all.json (a move of more than 10% in the bad
// direction is flagged) and prints one summary table. Benchmarks that need a container runtime or
// run for minutes by design are skipped, with the reason, unless --with names them.
// Run: npm run bench:all (-- --help).

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHMARKS, type BenchmarkSpec } from './lib/all-benchmarks.js';
import {
  REGRESSION_THRESHOLD,
  baselineMetrics,
  baselineOf,
  compareMetrics,
  keyMetrics,
  metricKey,
  regressions,
  summaryLines,
  summaryTable,
  type AllResults,
  type BenchmarkRun,
  type Metric,
  type StoredMetric,
} from './lib/all-report.js';
import { describeMachine } from './lib/machine.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const RESULTS = path.join(REPO_ROOT, 'bench', 'results');

const USAGE = `usage: npm run bench:all -- [options]   (or node --import tsx bench/all.ts [options])
  --with <name>          also run a benchmark skipped by default (repeatable): ${BENCHMARKS.filter(
    (b) => b.skipReason !== undefined,
  )
    .map((b) => b.name)
    .join(', ')}
  --only <name>          run only these benchmarks (repeatable); all.json then holds their figures alone
  --full                 each benchmark at its own default size (the default: a quick size, minutes in total)
  --baseline <file>      a previous all.json to compare against (default: bench/results/all.json
                         from the last run, kept as bench/results/all.previous.json)
  --out <file>           the combined JSON (default bench/results/all.json)
  --threshold <f>        a relative move in the bad direction flagged as a regression (default ${REGRESSION_THRESHOLD})
  --fail-on-regression   exit with code 1 when a metric regressed or a benchmark failed (default: 0)
  --list                 print the benchmarks and their quick arguments, run nothing
Benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}.
Each benchmark's output goes to bench/results/all-logs/<name>.log.`;

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Runs one command with its output to a log file; resolves with its exit code. */
function runLogged(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  logFile: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      log.end(() => resolve(code ?? (signal === null ? 1 : 128)));
    });
  });
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

interface Outcome {
  readonly run: BenchmarkRun;
  readonly metrics: Metric[];
}

async function runBenchmark(spec: BenchmarkSpec, full: boolean, logDir: string): Promise<Outcome> {
  const resultsFile = path.join(RESULTS, spec.results);
  const logFile = path.join(logDir, `${spec.name}.log`);
  const args = ['--import', 'tsx', path.join('bench', spec.script), ...(full ? [] : spec.quickArgs)];
  progress(`${spec.name}: node ${args.join(' ')}`);
  const started = Date.now();
  const code = await runLogged(process.execPath, args, full ? {} : (spec.quickEnv ?? {}), logFile);
  const seconds = (Date.now() - started) / 1000;
  const failed = (reason: string): Outcome => {
    progress(
      `${spec.name}: FAILED (${reason}) after ${seconds.toFixed(0)} s; the end of ${path.relative(REPO_ROOT, logFile)}:`,
    );
    progress(tail(logFile, 15));
    return { run: { name: spec.name, status: 'failed', reason, seconds }, metrics: [] };
  };
  if (code !== 0) return failed(`exit code ${code}`);
  if (!existsSync(resultsFile) || statSync(resultsFile).mtimeMs < started) {
    return failed(`wrote no bench/results/${spec.results}`);
  }
  let metrics: Metric[];
  try {
    metrics = spec.extract(JSON.parse(await readFile(resultsFile, 'utf8')));
  } catch (err) {
    return failed(`bench/results/${spec.results}: ${err instanceof Error ? err.message : String(err)}`);
  }
  progress(`${spec.name}: ${metrics.length} metrics in ${seconds.toFixed(0)} s`);
  return { run: { name: spec.name, status: 'ok', seconds }, metrics };
}

function runStep(command: string, args: readonly string[], logFile: string, what: string): Promise<void> {
  return runLogged(command, args, {}, logFile).then((code) => {
    if (code !== 0) throw new Error(`${what} failed with exit code ${code}:\n${tail(logFile, 20)}`);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      with: { type: 'string', multiple: true, default: [] },
      only: { type: 'string', multiple: true, default: [] },
      full: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      out: { type: 'string', default: path.join(RESULTS, 'all.json') },
      threshold: { type: 'string', default: String(REGRESSION_THRESHOLD) },
      'fail-on-regression': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const known = new Set(BENCHMARKS.map((b) => b.name));
  for (const name of [...values.with, ...values.only]) {
    if (!known.has(name)) throw new Error(`unknown benchmark '${name}'; known: ${[...known].join(', ')}`);
  }
  if (values.list) {
    for (const b of BENCHMARKS) {
      const env = Object.entries(b.quickEnv ?? {}).map(([k, v]) => `${k}=${v} `);
      console.log(`${b.name}: ${env.join('')}node --import tsx bench/${b.script} ${b.quickArgs.join(' ')}`);
      if (b.skipReason !== undefined) console.log(`  skipped unless --with ${b.name}: ${b.skipReason}`);
    }
    return 0;
  }
  const threshold = Number(values.threshold);
  if (!(threshold > 0)) throw new Error(`--threshold must be a positive number, got '${values.threshold}'`);
  const outFile = path.resolve(values.out);

  // The baseline: named, or the last run's all.json (kept as all.previous.json before it is replaced).
  let baseline: Record<string, StoredMetric> | undefined;
  let baselineSource: string | undefined;
  let baselineQuick: unknown;
  if (values.baseline !== undefined) {
    baselineSource = path.resolve(values.baseline);
    const json: unknown = JSON.parse(await readFile(baselineSource, 'utf8'));
    baseline = baselineMetrics(json, values.baseline);
    baselineQuick = (json as { quick?: unknown }).quick;
  } else if (existsSync(outFile)) {
    const previous = path.join(path.dirname(outFile), `${path.basename(outFile, '.json')}.previous.json`);
    await copyFile(outFile, previous);
    baselineSource = previous;
    const json: unknown = JSON.parse(await readFile(previous, 'utf8'));
    baseline = baselineMetrics(json, path.relative(REPO_ROOT, previous));
    baselineQuick = (json as { quick?: unknown }).quick;
  }

  const logDir = path.join(RESULTS, 'all-logs');
  await mkdir(logDir, { recursive: true });
  progress('building dist/ (npm run build) for the benchmarks that start bin/inferd.js');
  await runStep('npm', ['run', 'build'], path.join(logDir, 'build.log'), 'npm run build');

  const started = Date.now();
  const runs: BenchmarkRun[] = [];
  const metrics: Metric[] = [];
  for (const spec of BENCHMARKS) {
    if (values.only.length > 0 && !values.only.includes(spec.name)) continue;
    const asked = values.with.includes(spec.name) || values.only.includes(spec.name);
    if (spec.skipReason !== undefined && !asked) {
      runs.push({ name: spec.name, status: 'skipped', reason: `${spec.skipReason} (--with ${spec.name} runs it)` });
      continue;
    }
    const outcome = await runBenchmark(spec, values.full, logDir);
    runs.push(outcome.run);
    metrics.push(...outcome.metrics);
  }

  const result: AllResults = {
    benchmark: 'all',
    generatedAt: new Date().toISOString(),
    machine: describeMachine(REPO_ROOT),
    quick: !values.full,
    benchmarks: runs,
    metrics: keyMetrics(metrics),
  };
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);

  const unmeasured = metrics.filter((x) => !Number.isFinite(x.value)).map(metricKey);
  const rows = compareMetrics(
    result.metrics,
    baseline === undefined ? undefined : baselineOf(baseline, runs),
    threshold,
  );
  const m = result.machine;
  console.log(
    `\n## All benchmarks${values.full ? '' : ' (quick sizes)'}: ${((Date.now() - started) / 60_000).toFixed(1)} min, ` +
      `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}\n`,
  );
  console.log(summaryTable(rows));
  console.log('');
  console.log(
    baselineSource === undefined
      ? 'baseline: none (the next run compares against this one)'
      : `baseline: ${path.relative(process.cwd(), baselineSource)}`,
  );
  if (baselineSource !== undefined && typeof baselineQuick === 'boolean' && baselineQuick !== result.quick) {
    console.log(
      `note: the baseline ran at ${baselineQuick ? 'quick' : 'full'} sizes and this run at ${result.quick ? 'quick' : 'full'} sizes; their figures differ by design`,
    );
  }
  for (const line of summaryLines(runs, rows, threshold)) console.log(line);
  for (const key of unmeasured) console.log(`no figure this run (a case measured nothing): ${key}`);
  console.log(`results: ${path.relative(process.cwd(), outFile)}`);

  const failed = runs.some((r) => r.status === 'failed');
  return values['fail-on-regression'] && (regressions(rows).length > 0 || failed) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
