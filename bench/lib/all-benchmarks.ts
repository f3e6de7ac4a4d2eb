// The benchmarks `npm run bench:all` knows: how each is run at a size that finishes in seconds to a
// minute on a small machine (its own options, its default behaviour untouched), which JSON it
// writes under bench/results/, and how that JSON's headline ratios become metrics. The goals are
// the ones the issue "Every path at the limit" states.

import type { Goal, Metric } from './all-report.js';

export interface BenchmarkSpec {
  /** The name in metric keys and for --with/--only. */
  readonly name: string;
  /** The script under bench/. */
  readonly script: string;
  /** Arguments for the quick size used by default. */
  readonly quickArgs: readonly string[];
  /** Environment for the quick size. */
  readonly quickEnv?: Readonly<Record<string, string>>;
  /** The JSON it writes, relative to bench/results/. */
  readonly results: string;
  /** Set when the benchmark is left out unless `--with <name>` asks for it: why. */
  readonly skipReason?: string;
  readonly extract: (json: unknown) => Metric[];
}

// --- reading unknown JSON ---

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

const AT_LEAST = (value: number): Goal => ({ op: '>=', value });
const AT_MOST = (value: number): Goal => ({ op: '<=', value });

function ratio(bench: string, c: string, metric: string, value: number, goal?: Goal): Metric {
  return { bench, case: c, metric, value, unit: '×', better: 'higher', ...(goal === undefined ? {} : { goal }) };
}

function lowerRatio(bench: string, c: string, metric: string, value: number, goal?: Goal): Metric {
  return { bench, case: c, metric, value, unit: '×', better: 'lower', ...(goal === undefined ? {} : { goal }) };
}

// --- one extractor per benchmark ---

/** REST overhead: server overhead per request (goal ≤ 50 µs) and p50 against raw session.run. */
export function restOverheadMetrics(json: unknown): Metric[] {
  const b = 'rest-overhead';
  const out: Metric[] = [];
  for (const m of list(obj(json)['models'])) {
    const model = str(m['model']);
    const cases = list(m['cases']);
    const raw = cases.find((c) => c['path'] === 'raw');
    for (const c of cases) {
      const p = str(c['path']);
      if (p === 'raw') continue;
      out.push({
        bench: b,
        case: `${model} ${p}`,
        metric: 'server overhead µs',
        value: num(obj(c['server'])['overheadUs']),
        unit: 'µs',
        better: 'lower',
        goal: AT_MOST(50),
      });
      if (raw !== undefined) out.push(lowerRatio(b, `${model} ${p}`, 'p50 ÷ raw', num(c['p50Us']) / num(raw['p50Us'])));
    }
    const high = obj(m['highConcurrency']);
    if ('defaultOverWorkerRatio' in high) {
      const c = `${model} c${num(high['connections'])} binary`;
      out.push(ratio(b, c, 'req/s default ÷ worker threads', num(high['defaultOverWorkerRatio']), AT_LEAST(1)));
    }
  }
  return out;
}

/** Numeric fields named `*ratio` (any case) at every depth of a JSON value, with their paths. */
function ratioFields(v: unknown, at: string, depth: number): { path: string; key: string; value: number }[] {
  if (depth < 0 || typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const here = at === '' ? k : `${at}.${k}`;
    if (typeof x === 'number') return /ratio$/i.test(k) ? [{ path: at, key: k, value: x }] : [];
    return ratioFields(x, here, depth - 1);
  });
}

/**
 * Batch files: rows/s of `inferd batch run` against the raw limit per model (goal ≥ 0.9 where the
 * model dominates), and every other ratio the benchmark records (`*Ratio` fields, per model or
 * elsewhere in the file; one naming the naive script gets the ≥ 1.0 goal).
 */
export function batchMetrics(json: unknown): Metric[] {
  const b = 'batch-throughput';
  const out: Metric[] = [];
  for (const f of ratioFields(json, '', 4)) {
    if (f.path.startsWith('models.') || f.path === 'models') continue;
    out.push(ratio(b, f.path === '' ? 'file' : f.path, f.key, f.value, /naive/i.test(f.key) ? AT_LEAST(1) : undefined));
  }
  for (const [model, v] of Object.entries(obj(obj(json)['models']))) {
    const m = obj(v);
    out.push(
      ratio(b, model, 'rows/s ÷ raw limit', num(m['ratio']), model === 'compute_mlp' ? AT_LEAST(0.9) : undefined),
    );
    for (const [k, x] of Object.entries(m)) {
      if (k === 'ratio' || !/ratio$/i.test(k) || typeof x !== 'number') continue;
      out.push(ratio(b, model, k, x, /naive/i.test(k) ? AT_LEAST(1) : undefined));
    }
  }
  return out;
}

/**
 * gRPC against REST on the same server (goal ≥ 1.0), the node:http2 transport against grpc-js (with
 * the grpc-js client and with the lean one), against a bare grpc-js server, and streaming. With
 * several rounds, each ratio is the median of the ratios measured within a round.
 */
export function grpcMetrics(json: unknown): Metric[] {
  const b = 'grpc-vs-rest';
  const results = list(obj(json)['results']);
  const of = (model: string, p: string, c: number): Json[] =>
    results.filter((r) => r['model'] === model && r['path'] === p && r['concurrency'] === c);
  const middle = (values: number[]): number => {
    const sorted = values.sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  };
  const tp = (r: Json): number => num(r['throughput']);
  /** The median over rounds of a ÷ b (a round with one side missing, or no round field, pairs by order). */
  const ratioOf = (model: string, a: string, bPath: string, c: number): number | undefined => {
    const xs = of(model, a, c);
    const ys = of(model, bPath, c);
    if (xs.length === 0 || ys.length === 0) return undefined;
    const pairs = xs.flatMap((x, i) => {
      const y = ys.find((r) => r['round'] !== undefined && r['round'] === x['round']) ?? ys[Math.min(i, ys.length - 1)];
      return y === undefined ? [] : [tp(x) / tp(y)];
    });
    return pairs.length === 0 ? undefined : middle(pairs);
  };
  const out: Metric[] = [];
  const models = [...new Set(results.map((r) => str(r['model'])))];
  const levels = [...new Set(results.map((r) => num(r['concurrency'])))].sort((x, y) => x - y);
  for (const model of models) {
    for (const c of levels) {
      if (of(model, 'grpc-unary', c).length === 0) continue;
      const push = (name: string, metric: string, value: number | undefined, goal?: Metric['goal']): void => {
        if (value !== undefined) out.push(ratio(b, name, metric, value, goal));
      };
      const unaryCase = `${model} unary c${c}`;
      push(unaryCase, 'gRPC ÷ REST inf/s', ratioOf(model, 'grpc-unary', 'rest-binary', c), AT_LEAST(1));
      push(unaryCase, 'http2 ÷ grpc-js transport inf/s', ratioOf(model, 'grpc-unary', 'grpc-unary-grpc-js', c));
      push(unaryCase, 'lean client: gRPC ÷ REST inf/s', ratioOf(model, 'lean-unary', 'rest-binary', c));
      push(unaryCase, 'gRPC ÷ bare grpc-js inf/s', ratioOf(model, 'grpc-unary', 'grpc-bare', c));
      push(`${model} stream c${c}`, 'stream ÷ unary inf/s', ratioOf(model, 'grpc-stream', 'grpc-unary', c));
    }
  }
  return out;
}

/** SQL predict() against raw session.run in large batches (goal ≥ 0.8). */
export function sqlMetrics(json: unknown): Metric[] {
  const j = obj(json);
  const results = list(j['results']);
  const rawBatch = num(j['rawBatch']);
  const limit = results.find((r) => str(r['label']).startsWith(`raw session.run, ${rawBatch}-row`));
  if (limit === undefined) return [];
  const short = (label: string): string => {
    if (label.includes('rows to JS')) return 'predict rows to JS';
    if (label.includes('CSV')) return 'predict CSV text';
    if (label.includes('in-memory') && label.includes('sum(')) return 'sum of predict, in-memory table';
    if (label.includes('sum(')) return 'sum of predict';
    if (label.startsWith('COPY')) return 'COPY to Parquet';
    return label;
  };
  return results
    .filter((r) => !str(r['label']).startsWith('raw session.run'))
    .map((r) =>
      ratio(
        'sql-throughput',
        short(str(r['label'])),
        'rows/s ÷ raw',
        num(r['rowsPerSecond']) / num(limit['rowsPerSecond']),
        AT_LEAST(0.8),
      ),
    );
}

/**
 * OpenAI over HTTP against the same engine in process (goal ≥ 0.9): per concurrency, streamed
 * (case `c8`) and whole (`c8 whole`), the median of the per-round ratios of tokens per second and
 * of the server process's tokens per CPU-second; older files without `ratios` give the ratio of
 * each path's best round.
 */
export function openaiMetrics(json: unknown): Metric[] {
  const b = 'openai-serve';
  const caseOf = (r: Json): string => `c${num(r['concurrency'])}${r['mode'] === 'whole' ? ' whole' : ''}`;
  const ratios = obj(json)['ratios'];
  if (ratios !== undefined) {
    return list(ratios).flatMap((r) => [
      ratio(b, caseOf(r), 'HTTP ÷ engine tok/s', num(r['wallRatio']), AT_LEAST(0.9)),
      ratio(b, caseOf(r), 'HTTP ÷ engine tok/CPU-s', num(r['cpuRatio'])),
    ]);
  }
  const results = list(obj(json)['results']);
  const levels = [...new Set(results.map((r) => num(r['concurrency'])))].sort((x, y) => x - y);
  return levels.flatMap((c) => {
    const at = (p: string): Json | undefined => results.find((r) => r['concurrency'] === c && r['path'] === p);
    const e = at('engine');
    const h = at('http');
    if (e === undefined || h === undefined) return [];
    return [
      ratio(b, `c${c}`, 'HTTP ÷ engine tok/s', num(h['tokensPerSecond']) / num(e['tokensPerSecond']), AT_LEAST(0.9)),
    ];
  });
}

/** Constrained against free text: the `wallRatio`/`cpuRatio` per concurrency. */
function constrainedMetrics(bench: string, what: string, goal: Goal | undefined) {
  return (json: unknown): Metric[] =>
    list(obj(json)['results']).flatMap((r) => {
      const c = `c${num(r['concurrency'])}`;
      return [
        ratio(bench, c, `${what} ÷ free tok/s`, num(r['wallRatio']), goal),
        ratio(bench, c, `${what} ÷ free tok/CPU-s`, num(r['cpuRatio']), goal),
      ];
    });
}

export const structuredMetrics = constrainedMetrics('structured', 'JSON', AT_LEAST(0.9));
export const toolCallMetrics = constrainedMetrics('tool-calls', 'call', undefined);

/** The engine against the raw greedy loop, per case and concurrency. */
export function generationMetrics(json: unknown): Metric[] {
  const results = list(obj(json)['results']);
  const raw = results.find((r) => str(r['label']).startsWith('raw'));
  if (raw === undefined) return [];
  return results
    .filter((r) => r !== raw)
    .map((r) =>
      ratio(
        'generation',
        `${str(r['label'])} c${num(r['concurrency'])}`,
        'tok/s ÷ raw loop',
        num(r['tokensPerSecond']) / num(raw['tokensPerSecond']),
      ),
    );
}

/** Speculative decoding against none, per workload, concurrency and mode (tokens per CPU-second). */
export function speculativeMetrics(json: unknown): Metric[] {
  const results = list(obj(json)['results']);
  const off = (w: unknown, c: unknown): Json | undefined =>
    results.find((r) => r['workload'] === w && r['concurrency'] === c && r['mode'] === 'off');
  return results.flatMap((r) => {
    const o = off(r['workload'], r['concurrency']);
    if (r['mode'] === 'off' || o === undefined) return [];
    return [
      ratio(
        'speculative',
        `${str(r['workload'])} c${num(r['concurrency'])} ${str(r['mode'])}`,
        'tok/CPU-s ÷ off',
        num(r['tokensPerCpuSecond']) / num(o['tokensPerCpuSecond']),
      ),
    ];
  });
}

export function rerankMetrics(json: unknown): Metric[] {
  return list(obj(json)['results']).map((r) =>
    ratio('rerank', `${num(r['batch'])} docs per request`, 'docs/s ÷ session.run', num(r['ratio'])),
  );
}

export function traceMetrics(json: unknown): Metric[] {
  const r = obj(obj(json)['result']);
  return [
    lowerRatio('trace-overhead', 'simple c1', 'traced ÷ off p50', num(r['onP50Ms']) / num(r['offP50Ms'])),
    {
      bench: 'trace-overhead',
      case: 'tracer alone',
      metric: 'µs per trace',
      value: num(r['tracerUsPerTrace']),
      unit: 'µs',
      better: 'lower',
    },
  ];
}

export function driftMetrics(json: unknown): Metric[] {
  return Object.entries(obj(obj(json)['results'])).map(([input, v]) => ({
    bench: 'drift-overhead',
    case: `${input} (${num(obj(v)['features'])} features)`,
    metric: 'µs per row observed',
    value: num(obj(v)['observeUs']),
    unit: 'µs',
    better: 'lower' as const,
  }));
}

/** The CPU the server charges a model against the process's own CPU time (1.0: all of it). */
export function costMetrics(json: unknown): Metric[] {
  return list(obj(json)['rows']).map((r) =>
    ratio('cost-per-inference', str(r['model']), 'charged ÷ process CPU', num(r['charged ÷ naive'])),
  );
}

/**
 * GPU: each GPU provider's throughput ÷ the CPU's, per model, batch and path (raw session.run,
 * REST). No rows when no GPU provider opened (the results file says why). WebGPU measured over
 * Mesa's lavapipe (a software Vulkan: the machine has no GPU device) is marked: it is not a GPU.
 */
export function gpuMetrics(json: unknown): Metric[] {
  const j = obj(json);
  const software = j['softwareVulkan'] === true;
  return list(j['rows'])
    .filter((r) => r['provider'] !== 'cpu')
    .map((r) => {
      const provider = str(r['provider']);
      const mark = software && provider === 'webgpu' ? ' (lavapipe)' : '';
      return ratio(
        'gpu',
        `${str(r['model'])} b${str(r['batch'])} ${str(r['path'])} ${provider}${mark}`,
        'GPU ÷ CPU rows/s',
        num(r['vsCpu']),
      );
    });
}

export function coldStartMetrics(json: unknown): Metric[] {
  return list(obj(json)['results']).flatMap((r) =>
    r['ratio'] === null || r['ratio'] === undefined
      ? [
          {
            bench: 'cold-start',
            case: str(r['case']),
            metric: 'spawn to first inference ms',
            value: num(r['inferdMs']),
            unit: 'ms',
            better: 'lower' as const,
          },
        ]
      : [lowerRatio('cold-start', str(r['case']), 'inferd ÷ bare script ms', num(r['ratio']))],
  );
}

export function authMetrics(json: unknown): Metric[] {
  return list(obj(json)['http']).flatMap((r) => {
    const vs = obj(r['vsNone']);
    if (!('throughputRatio' in vs)) return [];
    return [
      ratio(
        'auth-overhead',
        `${str(r['case'])} c${num(r['concurrency'])}`,
        'req/s ÷ no keys',
        num(vs['throughputRatio']),
      ),
    ];
  });
}

export function experimentMetrics(json: unknown): Metric[] {
  return list(obj(json)['results'])
    .filter((r) => r['case'] !== 'plain')
    .map((r) => ratio('experiment-overhead', str(r['case']), 'req/s ÷ plain', num(r['throughputRatio'])));
}

/** Hostile clients: the server's peak RSS over its base, and the probe's p99, per case. */
export function floodMetrics(json: unknown): Metric[] {
  // The case names hold the sizes; the kind of client keys the metric, so sizes may change.
  const kind = (name: string): string =>
    /JSON infer upload/.test(name)
      ? 'JSON infer uploads'
      : /batch file upload/.test(name)
        ? 'batch file uploads'
        : /WebSocket/.test(name)
          ? 'WebSocket streams never reading'
          : /REST/.test(name)
            ? 'REST pipelining never reading'
            : name;
  return list(obj(json)['results']).flatMap((r) => {
    const c = kind(str(r['name']));
    return [
      lowerRatio('flood', c, 'peak ÷ base RSS', num(r['peakMiB']) / num(r['baseMiB'])),
      {
        bench: 'flood',
        case: c,
        metric: 'probe p99 ms',
        value: num(obj(r['probe'])['p99Ms']),
        unit: 'ms',
        better: 'lower' as const,
      },
    ];
  });
}

function variantText(v: unknown): string {
  const x = obj(v);
  return `${num(x['delayUs'])} µs${x['adaptive'] === true ? ' adaptive' : ''}`;
}

export function dynamicBatchingMetrics(json: unknown): Metric[] {
  const b = 'dynamic-batching';
  const goals = obj(obj(json)['goals']);
  const t = obj(goals['throughput']);
  return [
    ...list(t['byDelay']).map((g) =>
      ratio(
        b,
        `mlp c${num(t['concurrency'])} ${variantText(g['variant'])}`,
        'inf/s ÷ no batching',
        num(g['throughputRatio']),
      ),
    ),
    ...list(obj(goals['computeBound'])['byDelay']).map((g) =>
      ratio(b, `wide MLP ${variantText(g['variant'])}`, 'rows/s ÷ raw limit', num(g['fraction'])),
    ),
    ...list(obj(goals['httpCeiling'])['rows']).map((g) =>
      ratio(b, str(g['label']), 'inf/s ÷ HTTP ceiling', num(g['fraction'])),
    ),
  ];
}

export function densityMetrics(json: unknown): Metric[] {
  const j = obj(json);
  const all = num(obj(obj(j['noBudget'])['rss'])['rss']);
  return list(j['budgetRuns']).flatMap((r) => [
    {
      bench: 'density',
      case: str(r['malloc']),
      metric: 'hit rate',
      value: num(r['hitRate']) * 100,
      unit: '%',
      better: 'higher' as const,
    },
    lowerRatio('density', str(r['malloc']), 'RSS ÷ every model loaded', num(obj(r['rss'])['rss']) / all),
  ]);
}

export function soakMetrics(json: unknown): Metric[] {
  const v = obj(obj(json)['verdict']);
  return [
    lowerRatio('soak', 'mix', 'p99 last ÷ first window', num(v['p99Drift'])),
    { bench: 'soak', case: 'mix', metric: 'RSS growth', value: num(v['rssGrowthPct']), unit: '%', better: 'lower' },
  ];
}

export function rolloutMetrics(json: unknown): Metric[] {
  return [lowerRatio('rollout', 'rolling restart', 'p99 rollout ÷ steady', num(obj(json)['p99RolloutOverSteady']))];
}

const CONTAINERS = 'needs a container runtime and HAProxy';

/** Every benchmark in bench/, in the order bench:all runs them. */
export const BENCHMARKS: readonly BenchmarkSpec[] = [
  {
    name: 'rest-overhead',
    script: 'rest-overhead.ts',
    quickArgs: ['--warmup-ms', '300', '--window-ms', '500', '--max-windows', '4'],
    results: 'rest-overhead.json',
    extract: restOverheadMetrics,
  },
  {
    name: 'grpc-vs-rest',
    script: 'grpc-vs-rest.ts',
    quickArgs: ['--rounds', '2', '--warmup-ms', '300', '--window-ms', '600', '--windows', '2'],
    results: 'grpc-vs-rest.json',
    extract: grpcMetrics,
  },
  {
    name: 'batch-throughput',
    script: 'batch-throughput.ts',
    quickArgs: ['--rows', '30000'],
    results: 'batch-throughput.json',
    extract: batchMetrics,
  },
  {
    name: 'sql-throughput',
    script: 'sql-throughput.ts',
    quickArgs: ['--rows', '30000', '--repeats', '2'],
    results: 'sql-throughput.json',
    extract: sqlMetrics,
  },
  {
    name: 'openai-serve',
    script: 'openai-serve.ts',
    quickArgs: ['--output-tokens', '32', '--repeats', '2'],
    results: 'openai-serve.json',
    extract: openaiMetrics,
  },
  {
    name: 'structured',
    script: 'structured.ts',
    quickArgs: ['--output-tokens', '32', '--requests', '8', '--repeats', '2'],
    results: 'structured.json',
    extract: structuredMetrics,
  },
  {
    name: 'tool-calls',
    script: 'tool-calls.ts',
    quickArgs: ['--requests', '8', '--repeats', '2'],
    results: 'tool-calls.json',
    extract: toolCallMetrics,
  },
  {
    name: 'generation',
    script: 'generation.ts',
    quickArgs: ['--output-tokens', '32', '--repeats', '1'],
    results: 'generation.json',
    extract: generationMetrics,
  },
  {
    name: 'speculative',
    script: 'speculative.ts',
    quickArgs: ['--output-tokens', '32', '--repeats', '1', '--concurrency', '1,8'],
    results: 'speculative.json',
    extract: speculativeMetrics,
  },
  {
    name: 'dynamic-batching',
    script: 'dynamic-batching.ts',
    quickArgs: [
      '--concurrency',
      '1,64',
      '--delays',
      '0,2000',
      '--wide-delays',
      '2000',
      '--adaptive',
      '',
      '--server-warmup-ms',
      '300',
      '--warmup-ms',
      '200',
      '--window-ms',
      '500',
      '--windows',
      '2',
      '--max-windows',
      '3',
    ],
    results: 'dynamic-batching.json',
    extract: dynamicBatchingMetrics,
  },
  {
    name: 'rerank',
    script: 'rerank.ts',
    quickArgs: [],
    quickEnv: { RERANK_SECONDS: '1' },
    results: 'rerank.json',
    extract: rerankMetrics,
  },
  {
    name: 'trace-overhead',
    script: 'trace-overhead.ts',
    quickArgs: ['--rounds', '2', '--requests', '200', '--traces', '20000'],
    results: 'trace-overhead.json',
    extract: traceMetrics,
  },
  {
    name: 'drift-overhead',
    script: 'drift-overhead.ts',
    quickArgs: [],
    results: 'drift-overhead.json',
    extract: driftMetrics,
  },
  {
    name: 'auth-overhead',
    script: 'auth-overhead.ts',
    quickArgs: ['--rounds', '1', '--window-ms', '500', '--warmup-ms', '200', '--micro-ms', '200'],
    results: 'auth-overhead.json',
    extract: authMetrics,
  },
  {
    name: 'experiment-overhead',
    script: 'experiment-overhead.ts',
    quickArgs: ['--rounds', '1', '--window-ms', '500', '--warmup-ms', '200', '--micro-ms', '200'],
    results: 'experiment-overhead.json',
    extract: experimentMetrics,
  },
  {
    name: 'cost-per-inference',
    script: 'cost-per-inference.ts',
    quickArgs: ['--requests', '500'],
    results: 'cost-per-inference.json',
    extract: costMetrics,
  },
  {
    name: 'cold-start',
    script: 'cold-start.ts',
    quickArgs: ['--repeats', '1'],
    results: 'cold-start.json',
    extract: coldStartMetrics,
  },
  {
    name: 'flood',
    script: 'flood.ts',
    quickArgs: [
      '--uploaders',
      '20',
      '--json-mb',
      '8',
      '--upload-mb',
      '8',
      '--readers',
      '2',
      '--pipelined',
      '10',
      '--hold',
      '2',
    ],
    results: 'flood.json',
    extract: floodMetrics,
  },
  {
    name: 'gpu',
    script: 'gpu.ts',
    // Without a GPU provider it only probes and writes why; with one, a round of short windows.
    quickArgs: ['--window-ms', '300', '--rounds', '1'],
    results: 'gpu.json',
    extract: gpuMetrics,
  },
  {
    name: 'density',
    script: 'density.ts',
    quickArgs: ['--models', '12', '--budget', '60', '--requests', '150', '--malloc', 'both'],
    results: 'density.json',
    skipReason: 'generates and loads 50 models of 20 MB: minutes on a small machine',
    extract: densityMetrics,
  },
  {
    name: 'soak',
    script: 'soak.ts',
    quickArgs: ['--duration', '60', '--warmup', '5', '--interval', '10'],
    results: 'soak.json',
    skipReason: 'a soak runs for minutes by design',
    extract: soakMetrics,
  },
  {
    name: 'rollout',
    script: 'rollout/rollout.ts',
    quickArgs: [],
    results: 'rollout.json',
    skipReason: CONTAINERS,
    extract: rolloutMetrics,
  },
];
