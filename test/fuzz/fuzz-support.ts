// Shared pieces of the fuzz suite: the budget (FUZZ_RUNS, FUZZ_SEED), a case counter per target,
// the one outcome every decoder may have (a value, or an InferdError with a 4xx status), and
// mutators that turn a valid JSON value or byte string into a nearby invalid one.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { InferdError } from '../../src/errors/index.js';
import {
  ARRAY_TYPES,
  DATATYPES,
  ELEMENT_SIZE,
  type Datatype,
  type FixedData,
  type FixedDatatype,
  type TensorData,
} from '../../src/tensor/datatype.js';

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${text}'`);
  return n;
}

/** Cases per in-process property: small under `npm test`, large under `npm run fuzz`. */
export const FUZZ_RUNS = envInt('FUZZ_RUNS', 150);
/** The seed of every property; a failure prints it with the path of the failing case. */
export const FUZZ_SEED = envInt('FUZZ_SEED', 20261206);
/** Cases per property against the real server: each is a request, so a twentieth of the rest. */
export const SERVER_RUNS = Math.max(10, Math.ceil(FUZZ_RUNS / 20));

/** Longest a single in-process case may take before it counts as a hang. */
const CASE_LIMIT_MS = 2000;

/** Counts the cases each target ran, for the summary line of its file. */
export class CaseCounter {
  private readonly counts = new Map<string, number>();

  add(target: string, n = 1): void {
    this.counts.set(target, (this.counts.get(target) ?? 0) + n);
  }

  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** One diagnostic line per target and a total, shown by the test reporter. */
  report(t: TestContext, file: string): void {
    for (const [target, n] of this.counts) t.diagnostic(`fuzz ${file}: ${target}: ${n} cases`);
    t.diagnostic(`fuzz ${file}: total ${this.total} cases (FUZZ_RUNS=${FUZZ_RUNS}, FUZZ_SEED=${FUZZ_SEED})`);
  }
}

/** fast-check parameters of an in-process property. */
export function params(numRuns = FUZZ_RUNS): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns };
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message}\n${err.stack ?? ''}`;
  return String(err);
}

export interface OutcomeOptions {
  /**
   * Also accept INF_ERR_UNSUPPORTED (501): a well-formed input using a format feature inferd
   * deliberately does not implement (a big-endian or structured .npy dtype, say).
   */
  readonly unsupported?: boolean;
}

function checkError(err: unknown, options: OutcomeOptions): InferdError {
  if (!(err instanceof InferdError)) assert.fail(`threw something other than an InferdError: ${describeError(err)}`);
  const allowed =
    (err.httpStatus >= 400 && err.httpStatus < 500) ||
    (options.unsupported === true && err.code === 'INF_ERR_UNSUPPORTED');
  assert.ok(allowed, `threw an InferdError with status ${err.httpStatus} (${err.code}): ${err.message}`);
  return err;
}

/**
 * Runs `fn`, which must return a value or throw an InferdError whose HTTP status is 4xx, within
 * CASE_LIMIT_MS. Returns the value, or the error it threw.
 */
export function valueOr4xx<T>(fn: () => T, options: OutcomeOptions = {}): { value: T } | { error: InferdError } {
  const started = performance.now();
  let outcome: { value: T } | { error: InferdError };
  try {
    outcome = { value: fn() };
  } catch (err) {
    outcome = { error: checkError(err, options) };
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < CASE_LIMIT_MS, `one case took ${Math.round(elapsed)} ms`);
  return outcome;
}

/** The async form of valueOr4xx. */
export async function valueOr4xxAsync<T>(fn: () => Promise<T>): Promise<{ value: T } | { error: InferdError }> {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: checkError(err, {}) };
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** `[[[...0...]]]` nested `depth` deep, built without recursion. */
export function deepArray(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** `{"a":{"a":...}}` nested `depth` deep. */
export function deepObject(depth: number): unknown {
  let v: unknown = null;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** Numbers at and past the edges: integer limits, huge, tiny, negative zero, fractions. */
export const edgeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    -0.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    2 ** 64,
    1e308,
    -1e308,
    5e-324,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    65504,
    65520,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON values chosen to upset a decoder: deep nesting, long or odd strings, edge numbers. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: edgeNumber, weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 5000 }).map((n) => 'x'.repeat(n * 4)), weight: 1 },
  { arbitrary: fc.integer({ min: 60, max: 300 }).map(deepArray), weight: 1 },
  { arbitrary: fc.integer({ min: 60, max: 300 }).map(deepObject), weight: 1 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, '', '-1', '1e400', 'NaN'), weight: 2 },
);

// ---------------------------------------------------------------------------------------------
// JSON mutations

export type JsonEdit =
  | { readonly kind: 'drop'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number }
  | { readonly kind: 'replace'; readonly at: number; readonly value: unknown }
  | { readonly kind: 'add'; readonly at: number; readonly key: string; readonly value: unknown };

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileJson }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.constantFrom('name', 'datatype', 'shape', 'data', 'parameters', 'id', 'inputs', 'outputs', 'x', ''),
    value: hostileJson,
  }),
);

type Slot = { readonly parent: Record<string, unknown> | unknown[]; readonly key: string | number };

function slotsOf(root: unknown): Slot[] {
  const slots: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      v.forEach((child: unknown, i) => {
        slots.push({ parent: v, key: i });
        stack.push(child);
      });
    } else if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, child] of Object.entries(v)) {
        slots.push({ parent: v as Record<string, unknown>, key: k });
        stack.push(child);
      }
    }
  }
  return slots;
}

/** A copy of `value` with the edits applied, each at a slot chosen by its `at` (mod the slot count). */
export function applyJsonEdits(value: unknown, edits: readonly JsonEdit[]): unknown {
  const root = { root: structuredClone<unknown>(value) };
  for (const edit of edits) {
    const slots = slotsOf(root);
    const slot = slots[edit.at % slots.length];
    if (slot === undefined) continue;
    const { parent, key } = slot;
    const read = (): unknown => (Array.isArray(parent) ? parent[key as number] : parent[key as string]);
    const write = (v: unknown): void => {
      if (Array.isArray(parent)) parent[key as number] = v;
      else parent[key as string] = v;
    };
    switch (edit.kind) {
      case 'drop':
        if (parent === root) write(undefined);
        else if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(read()));
        else write([read(), read()]);
        break;
      case 'replace':
        write(edit.value);
        break;
      case 'add': {
        const target = read();
        if (typeof target === 'object' && target !== null && !Array.isArray(target))
          (target as Record<string, unknown>)[edit.key] = edit.value;
        else write({ [edit.key]: edit.value });
        break;
      }
    }
  }
  return root.root;
}

/** A valid JSON value and 0 to 4 edits of it. */
export function mutatedJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.array(jsonEdit, { minLength: 0, maxLength: 4 }))
    .map(([v, edits]) => applyJsonEdits(v, edits));
}

// ---------------------------------------------------------------------------------------------
// Byte mutations

export type ByteEdit =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly at: number; readonly byte: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'remove'; readonly at: number; readonly count: number };

export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

export function applyByteEdits(bytes: Uint8Array, edits: readonly ByteEdit[]): Buffer {
  let b = Buffer.from(bytes);
  for (const edit of edits) {
    const at = edit.at % (b.length + 1);
    switch (edit.kind) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'flip':
        if (at < b.length) b[at] = edit.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), edit.bytes, b.subarray(at)]);
        break;
      case 'remove':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + edit.count)]);
        break;
    }
  }
  return b;
}

/** A valid byte string and 1 to 4 edits of it. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
    .map(([v, edits]) => applyByteEdits(v, edits));
}

// ---------------------------------------------------------------------------------------------
// Tensors

/** A tensor of any datatype: a small shape and data of the right length (BOOL 0/1, 64-bit ints safe). */
export interface FuzzTensor {
  readonly datatype: Datatype;
  readonly shape: number[];
  readonly data: TensorData;
}

function fixedData(datatype: FixedDatatype, n: number, raw: Uint8Array): FixedData {
  const size = ELEMENT_SIZE[datatype];
  const bytes = new Uint8Array(n * size);
  for (let i = 0; i < bytes.length; i++) bytes[i] = raw[i % Math.max(1, raw.length)] ?? 0;
  if (datatype === 'BOOL') for (let i = 0; i < n; i++) bytes[i] = (bytes[i] ?? 0) & 1;
  const data = new ARRAY_TYPES[datatype](bytes.buffer, 0, n);
  // JSON carries 64-bit integers as numbers: keep them within 2^53 so they survive exactly.
  if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) data[i] = BigInt.asIntN(53, data[i] ?? 0n);
  if (data instanceof BigUint64Array) for (let i = 0; i < n; i++) data[i] = BigInt.asUintN(53, data[i] ?? 0n);
  return data;
}

export const fuzzTensor: fc.Arbitrary<FuzzTensor> = fc
  .record({
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    raw: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    strings: fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { minLength: 1, maxLength: 8 }),
  })
  .map(({ datatype, shape, raw, strings }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data =
      datatype === 'BYTES'
        ? Array.from({ length: n }, (_, i) => new TextEncoder().encode(strings[i % strings.length] ?? ''))
        : fixedData(datatype, n, raw);
    return { datatype, shape, data };
  });
