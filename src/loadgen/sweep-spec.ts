// Parses the sweep specs of `inferd bench` (--concurrency, --request-rate) into the list of load
// levels to measure: one value, a list (1,8,64), a linear range (start:end[:step], perf_analyzer's
// --concurrency-range form) or a geometric one (start:end:xFACTOR), since latency curves are read
// on a logarithmic load axis.

export type SweepKind = 'concurrency' | 'request-rate';

/** More points than this is almost certainly a typo (1:10000), and would run for hours. */
export const MAX_SWEEP_POINTS = 100;

export class SweepSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepSpecError';
  }
}

const DECIMAL = /^\d+(?:\.\d+)?$/;

/** Slack for floating-point steps, so 0.1:0.3:0.1 includes 0.3. */
const EPSILON = 1e-9;

function describeKind(kind: SweepKind): string {
  return kind === 'concurrency' ? 'concurrency' : 'request rate';
}

/** One load level: an integer ≥ 1 for concurrency, a positive number of requests/s for a rate. */
function level(text: string, kind: SweepKind, spec: string): number {
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  const got = text === spec.trim() ? `'${text}'` : `'${text}' in '${spec}'`;
  if (kind === 'concurrency') {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new SweepSpecError(`concurrency must be an integer of at least 1, got ${got}`);
    return n;
  }
  if (!Number.isFinite(n) || n <= 0)
    throw new SweepSpecError(`request rate must be a positive number of requests/s, got ${got}`);
  return n;
}

function checkCount(count: number, spec: string): void {
  if (count > MAX_SWEEP_POINTS)
    throw new SweepSpecError(`'${spec}' gives ${count} load levels; at most ${MAX_SWEEP_POINTS} can be measured`);
}

function linear(start: number, end: number, step: number, kind: SweepKind, spec: string): number[] {
  const count = Math.floor((end - start) / step + EPSILON) + 1;
  checkCount(count, spec);
  const out: number[] = [];
  // Multiplying rather than accumulating keeps 0.1-steps from drifting.
  for (let i = 0; i < count; i++) out.push(kind === 'concurrency' ? start + i * step : round(start + i * step));
  return out;
}

function geometric(start: number, end: number, factor: number, kind: SweepKind, spec: string): number[] {
  const out: number[] = [];
  for (let v = start; v <= end * (1 + EPSILON); v *= factor) {
    // Concurrency must be whole: 1:10:x1.5 gives 1,2,3,5,8 (repeats after rounding dropped).
    const value = kind === 'concurrency' ? Math.round(v) : round(v);
    if (out[out.length - 1] !== value) out.push(value);
    checkCount(out.length, spec);
  }
  return out;
}

/** Trims binary-fraction noise (0.30000000000000004) from computed rates. */
function round(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * The load levels a spec names, in the order given (lists are not sorted: the order is the
 * user's). Throws SweepSpecError with a message naming the bad part.
 */
export function parseSweep(spec: string, kind: SweepKind): number[] {
  const text = spec.trim();
  if (text === '')
    throw new SweepSpecError(`expected a ${describeKind(kind)}, a list (1,8,64) or a range (1:64:x2), got ''`);
  if (text.includes(',')) {
    const values = text.split(',').map((part) => level(part.trim(), kind, spec));
    checkCount(values.length, spec);
    return values;
  }
  const parts = text.split(':');
  if (parts.length === 1) return [level(text, kind, spec)];
  if (parts.length > 3)
    throw new SweepSpecError(`a range is start:end, start:end:step or start:end:xFACTOR, got '${spec}'`);
  const start = level(parts[0] ?? '', kind, spec);
  const end = level(parts[1] ?? '', kind, spec);
  if (end < start) throw new SweepSpecError(`the range '${spec}' ends (${end}) before it starts (${start})`);
  const stepText = parts[2] ?? '1';
  if (stepText.startsWith('x') || stepText.startsWith('*')) {
    const body = stepText.slice(1);
    const factor = DECIMAL.test(body) ? Number(body) : Number.NaN;
    if (!(factor > 1))
      throw new SweepSpecError(
        `the factor in '${spec}' must be a number greater than 1 (x2 doubles each level), got '${stepText}'`,
      );
    return geometric(start, end, factor, kind, spec);
  }
  const step = DECIMAL.test(stepText) ? Number(stepText) : Number.NaN;
  if (!(step > 0) || (kind === 'concurrency' && !Number.isInteger(step)))
    throw new SweepSpecError(
      `the step in '${spec}' must be a positive ${kind === 'concurrency' ? 'integer' : 'number'}` +
        ` (or xFACTOR for a geometric range), got '${stepText}'`,
    );
  return linear(start, end, step, kind, spec);
}
