// `inferd drift`: a model's drift report from a running server (`inferd drift iris --url …`), or
// the same statistics offline between two JSON-lines files (`--reference a.jsonl --current
// b.jsonl`), which lets a user try drift detection without a server. Both print a table and exit
// with status 1 when drift is flagged.

import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { LOCAL_SERVER_URL } from '../config/server-config.js';
import { rowFeatures } from '../monitoring/drift-features.js';
import { buildProfile, testFeature, type FeatureResult } from '../monitoring/drift-profile.js';
import { parseReferenceLines } from '../monitoring/drift-reference-file.js';
import type { DriftReport } from '../monitoring/drift-monitors.js';

interface DriftOptions {
  url: string;
  modelVersion?: string;
  reference?: string;
  current?: string;
  alpha: string;
  json?: boolean;
}

/** Reference rows kept, as the server keeps at most; the current file is read whole up to this. */
const MAX_REFERENCE_ROWS = 10_000;
const MAX_CURRENT_ROWS = 1_000_000;

function format(x: number | undefined, digits = 4): string {
  if (x === undefined) return '';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  return x !== 0 && Math.abs(x) < 1e-4 ? x.toExponential(2) : x.toFixed(digits);
}

/** A fixed-width table: a header, then one line per feature. */
export function driftTable(results: readonly FeatureResult[]): string {
  const rows = [
    ['feature', 'test', 'statistic', 'p-value', 'alarm below', 'PSI', 'PSI limit', 'rows', 'drift'],
    ...results.map((r) => [
      r.feature,
      r.statistic,
      format(r.value),
      format(r.p_value),
      format(r.threshold),
      format(r.psi),
      format(r.psi_threshold),
      String(r.rows),
      r.drift ? 'DRIFT' : 'ok',
    ]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The offline comparison of two files: every feature of the reference tested at α / features. */
export function compareFiles(
  referenceText: string,
  referenceFile: string,
  currentText: string,
  currentFile: string,
  alpha: number,
): FeatureResult[] {
  const reference = parseReferenceLines(referenceText, referenceFile, { maxRows: MAX_REFERENCE_ROWS });
  const current = parseReferenceLines(currentText, currentFile, {
    expected: reference.tensors.map((t) => ({ name: t.name, rowSize: t.rowSize })),
    maxRows: MAX_CURRENT_ROWS,
  });
  const features = reference.tensors.map((t) => ({
    tensor: t,
    features: rowFeatures({ name: t.name, side: 'input', rowSize: t.rowSize, integral: t.integral }),
  }));
  const k = features.reduce((n, f) => n + f.features.names.length, 0);
  const results: FeatureResult[] = [];
  for (const { tensor, features: rf } of features) {
    const width = rf.names.length;
    const columnsOf = (values: Float64Array, rows: number): Float64Array[] => {
      const columns = Array.from({ length: width }, () => new Float64Array(rows));
      const row = new Float64Array(width);
      for (let r = 0; r < rows; r++) {
        rf.extract(values, r * tensor.rowSize, row);
        for (let f = 0; f < width; f++) (columns[f] ?? row)[r] = row[f] ?? Number.NaN;
      }
      return columns;
    };
    const refColumns = columnsOf(tensor.values, reference.rows);
    const cur = current.tensors.find((t) => t.name === tensor.name);
    if (cur === undefined) throw new Error(`${currentFile}: has no '${tensor.name}', which ${referenceFile} has`);
    const curColumns = columnsOf(cur.values, current.rows);
    rf.names.forEach((name, f) => {
      const profile = buildProfile(name, refColumns[f] ?? new Float64Array(0), tensor.integral && !rf.summarised);
      results.push(testFeature(profile, curColumns[f] ?? new Float64Array(0), current.rows, alpha / k));
    });
  }
  return results;
}

async function fromServer(model: string, opts: DriftOptions): Promise<boolean> {
  const base = opts.url.replace(/\/+$/, '');
  const route =
    opts.modelVersion === undefined
      ? `/v2/models/${encodeURIComponent(model)}/drift`
      : `/v2/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(opts.modelVersion)}/drift`;
  const res = await fetch(base + route);
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // Not JSON: the text as it came.
    }
    throw new Error(`${base}${route}: ${res.status} ${message}`);
  }
  const report = JSON.parse(text) as DriftReport;
  if (opts.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  let drift = false;
  for (const v of report.versions) {
    drift ||= v.drift === true;
    if (opts.json === true) continue;
    const head = `${report.model} version ${v.version}: ${v.state}`;
    if (v.state === 'off') {
      process.stdout.write(`${head} (${v.reason ?? ''})\n`);
      continue;
    }
    process.stdout.write(
      `${head}, ${v.windows ?? 0} windows of ${v.window ?? 0} rows tested, ${v.alarms ?? 0} alarmed; last window ${v.drift === true ? 'DRIFTED' : 'ok'}\n`,
    );
    for (const side of [v.inputs, v.outputs]) {
      if (side === undefined || side.state === 'off') continue;
      const last = side.last_window;
      process.stdout.write(
        `\n${last?.side ?? 'side'}s (reference: ${side.reference.source}, ${side.reference.rows} rows; ${side.rows_observed} rows observed)\n`,
      );
      process.stdout.write(
        last === null
          ? `  ${side.state === 'collecting_reference' ? 'collecting the reference' : 'no window tested yet'}\n`
          : `${driftTable(last.features)}\n`,
      );
    }
  }
  return drift;
}

export function driftCommand(): Command {
  return new Command('drift')
    .description(
      "Show a model's drift report from a running server, or compare two JSON-lines files offline (--reference, --current) with the server's statistics; exits 1 when drift is flagged",
    )
    .argument('[model]', 'the model whose report the server gives (not with --reference)')
    .option('--url <url>', 'the server to ask', LOCAL_SERVER_URL)
    .option('--model-version <n>', 'one version of the model (default: every monitored version)')
    .option(
      '--reference <file>',
      'offline: the reference rows, one JSON object per line ({"input": [5.1, 3.5, 1.4, 0.2]})',
    )
    .option('--current <file>', 'offline: the rows to test against the reference, in the same form')
    .addOption(
      new Option('--alpha <rate>', 'offline: false-alarm rate for all features together (Bonferroni)').default('0.01'),
    )
    .option('--json', 'print the report as JSON instead of a table')
    .addHelpText(
      'after',
      '\nExamples:\n  inferd drift iris --url http://127.0.0.1:8000\n  inferd drift --reference reference.jsonl --current today.jsonl',
    )
    .action(async (model: string | undefined, opts: DriftOptions) => {
      let drift: boolean;
      if (opts.reference !== undefined || opts.current !== undefined) {
        if (opts.reference === undefined || opts.current === undefined)
          throw new Error('offline comparison needs both --reference and --current');
        if (model !== undefined) throw new Error('give a model name or --reference/--current, not both');
        const alpha = Number(opts.alpha);
        if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha must be between 0 and 1, got '${opts.alpha}'`);
        const results = compareFiles(
          await readFile(opts.reference, 'utf8'),
          opts.reference,
          await readFile(opts.current, 'utf8'),
          opts.current,
          alpha,
        );
        drift = results.some((r) => r.drift);
        process.stdout.write(
          opts.json === true
            ? `${JSON.stringify({ drift, features: results }, null, 2)}\n`
            : `${driftTable(results)}\n\n${drift ? 'DRIFT' : 'no drift'} at α = ${alpha} (${results.length} features, each tested at α/${results.length})\n`,
        );
      } else {
        if (model === undefined) throw new Error('give a model name (with --url), or --reference and --current files');
        drift = await fromServer(model, opts);
      }
      if (drift) process.exitCode = 1;
    });
}
