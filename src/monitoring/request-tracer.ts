// Request tracing as Triton's trace extension does it: global settings, a model's own settings over
// them, sampling one request in every `trace_rate` (the rate-th, 2·rate-th, ... request, counted
// per setting: a model with its own settings counts its requests apart), up to `trace_count`
// traces, and the traces written as JSON to `trace_file`: every `log_frequency` traces into
// `<trace_file>.<n>` (n from 0 for each file; a file used again goes on with its numbers rather
// than overwrite what it holds, where Triton starts again from 0), or with 0 all into
// `trace_file`, written when the settings change and at shutdown.
//
// The timestamps are the ones the request path already takes: its arrival (REQUEST_START), its
// queueing, and the scheduler's queue and compute phases (InferResult.timings), laid end to end
// from the arrival, on the same monotonic nanosecond clock (process.hrtime.bigint()).

import type { Logger } from '../observability/logger.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, type Tensor } from '../tensor/index.js';
import { TraceFileWriter } from './trace-file-writer.js';
import {
  missingTraceFile,
  parseTraceUpdate,
  traceSettingsJson,
  type TraceLevel,
  type TraceSettings,
  type TraceSettingsJson,
} from './trace-settings.js';
import { invalidArgument } from '../errors/index.js';

/** The phases the scheduler measured for a request (InferResult.timings), in nanoseconds. */
export interface TraceTimings {
  readonly queueNs: number;
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export interface RequestTracerOptions {
  /** The settings at start (the --trace-* options). */
  readonly initial: TraceSettings;
  readonly logger: Logger;
  /** The clock requests are stamped with (process.hrtime.bigint()). */
  readonly now?: () => bigint;
}

/** Counting for one setting: requests seen since it was set, and traces still to take (-1 = no end). */
interface Sampler {
  counter: number;
  remaining: number;
}

interface ModelScope extends Sampler {
  overrides: Partial<TraceSettings>;
}

/** Where a trace goes, fixed when it is sampled. */
interface Destination {
  readonly file: string;
  readonly logFrequency: number;
}

export class RequestTracer {
  private global: TraceSettings;
  private readonly globalSampler: Sampler;
  private readonly models = new Map<string, ModelScope>();
  private buffers = new Map<string, { entries: string[]; logFrequency: number }>();
  private readonly nextIndex = new Map<string, number>();
  private readonly writer: TraceFileWriter;
  private readonly now: () => bigint;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: RequestTracerOptions) {
    this.global = options.initial;
    this.globalSampler = { counter: 0, remaining: options.initial.traceCount };
    this.writer = new TraceFileWriter(options.logger);
    this.now = options.now ?? (() => process.hrtime.bigint());
  }

  /** The settings in force, globally or for `model`, as Triton answers them (trace_count: traces left). */
  settings(model?: string): TraceSettingsJson {
    const scope = model === undefined ? undefined : this.models.get(model);
    const effective = { ...this.global, ...scope?.overrides };
    return traceSettingsJson({ ...effective, traceCount: (scope ?? this.globalSampler).remaining });
  }

  /**
   * Applies a POST body, globally or to `model` (an empty body clears the model's own settings, as
   * in Triton), and answers the settings then in force. Nothing changes when a value is refused
   * (a 400 naming it). The traces taken under the old settings are written first.
   */
  async update(body: unknown, model?: string): Promise<TraceSettingsJson> {
    const update = parseTraceUpdate(body);
    if (model === undefined) {
      const next: { -readonly [K in keyof TraceSettings]: TraceSettings[K] } = { ...this.global };
      for (const [key, value] of entries(update)) assign(next, key, value ?? this.options.initial[key]);
      this.refuseMissingFile(next, 'the global trace settings');
      for (const [name, scope] of this.models)
        this.refuseMissingFile({ ...next, ...scope.overrides }, `model '${name}' (with its own settings)`);
      const flushed = this.flush();
      this.global = next;
      this.globalSampler.counter = 0;
      if (update.traceCount !== undefined) {
        this.globalSampler.remaining = next.traceCount;
        for (const scope of this.models.values())
          if (scope.overrides.traceCount === undefined) scope.remaining = next.traceCount;
      }
      await flushed;
      return this.settings();
    }
    const current = this.models.get(model);
    const overrides: Partial<TraceSettings> = entries(update).length === 0 ? {} : { ...current?.overrides };
    for (const [key, value] of entries(update)) {
      if (value === null) delete overrides[key];
      else assign(overrides, key, value);
    }
    const effective = { ...this.global, ...overrides };
    this.refuseMissingFile(effective, `model '${model}'`);
    const flushed = this.flush();
    if (Object.keys(overrides).length === 0) this.models.delete(model);
    else {
      const scope = current ?? { overrides, counter: 0, remaining: this.globalSampler.remaining };
      scope.overrides = overrides;
      scope.counter = 0;
      if (update.traceCount !== undefined) scope.remaining = overrides.traceCount ?? this.globalSampler.remaining;
      this.models.set(model, scope);
    }
    await flushed;
    return this.settings(model);
  }

  /**
   * Whether this request to `model` is traced: a trace to complete as the request goes on, or
   * undefined (tracing off, not this request's turn, or no traces left).
   */
  sample(model: string, version: number, requestId: string, arrivalNs: bigint): RequestTrace | undefined {
    if (this.closed) return undefined;
    // Every request passes here: no object is made until it is traced.
    const scope = this.models.get(model);
    const own = scope?.overrides;
    const levels = own?.traceLevel ?? this.global.traceLevel;
    const sampler = scope ?? this.globalSampler;
    if (levels.includes('OFF') || sampler.remaining === 0) return undefined;
    sampler.counter++;
    if (sampler.counter % (own?.traceRate ?? this.global.traceRate) !== 0) return undefined;
    if (sampler.remaining > 0) sampler.remaining--;
    const destination = {
      file: own?.traceFile ?? this.global.traceFile,
      logFrequency: own?.logFrequency ?? this.global.logFrequency,
    };
    return new RequestTrace({ id: this.nextId++, model, version, requestId, arrivalNs, levels }, this.now, (text) =>
      this.record(destination, text),
    );
  }

  /** Writes every trace taken so far (those of log_frequency > 0 into their next numbered file). */
  flush(): Promise<void> {
    const buffers = this.buffers;
    this.buffers = new Map();
    const writes: Promise<void>[] = [];
    for (const [file, buffer] of buffers) writes.push(this.writeOut(file, buffer.entries, buffer.logFrequency));
    return Promise.all(writes).then(() => this.writer.idle());
  }

  /** Stops tracing and writes what was taken (at shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private record(destination: Destination, text: string): void {
    let buffer = this.buffers.get(destination.file);
    if (buffer === undefined) {
      buffer = { entries: [], logFrequency: destination.logFrequency };
      this.buffers.set(destination.file, buffer);
    }
    buffer.entries.push(text);
    if (buffer.logFrequency > 0 && buffer.entries.length >= buffer.logFrequency) {
      this.buffers.delete(destination.file);
      void this.writeOut(destination.file, buffer.entries, buffer.logFrequency);
    }
  }

  private writeOut(file: string, traces: readonly string[], logFrequency: number): Promise<void> {
    if (logFrequency === 0) return this.writer.write(file, traces, true);
    const index = this.nextIndex.get(file) ?? 0;
    this.nextIndex.set(file, index + 1);
    return this.writer.write(`${file}.${index}`, traces, false);
  }

  private refuseMissingFile(settings: TraceSettings, scope: string): void {
    const problem = missingTraceFile(settings, scope);
    if (problem !== undefined) throw invalidArgument(problem);
  }
}

type Entry = { [K in keyof TraceSettings]: [K, TraceSettings[K] | null] }[keyof TraceSettings];

function entries(update: ReturnType<typeof parseTraceUpdate>): Entry[] {
  return Object.entries(update) as Entry[];
}

function assign<K extends keyof TraceSettings>(
  target: { -readonly [P in keyof TraceSettings]?: TraceSettings[P] },
  key: K,
  value: TraceSettings[K],
): void {
  target[key] = value;
}

interface TraceIdentity {
  readonly id: number;
  readonly model: string;
  readonly version: number;
  readonly requestId: string;
  readonly arrivalNs: bigint;
  readonly levels: readonly TraceLevel[];
}

/** One traced request, from its queueing to its end. */
export class RequestTrace {
  private queueStartNs: bigint | undefined;
  private readonly tensors: string[] = [];

  constructor(
    private readonly identity: TraceIdentity,
    private readonly now: () => bigint,
    private readonly done: (text: string) => void,
  ) {}

  /** The request is handed to the scheduler now, with these inputs. */
  queued(inputs: readonly Tensor[]): void {
    this.queueStartNs = this.now();
    if (this.identity.levels.includes('TENSORS'))
      for (const t of inputs) this.tensors.push(tensorEntry(this.identity.id, 'TENSOR_QUEUE_INPUT', t));
  }

  /** The request was answered with these phases and outputs, or failed (no result). */
  ended(result?: { readonly timings: TraceTimings; readonly outputs: readonly Tensor[] }): void {
    const { id, model, version, requestId, arrivalNs, levels } = this.identity;
    const endNs = this.now();
    if (result !== undefined && levels.includes('TENSORS'))
      for (const t of result.outputs) this.tensors.push(tensorEntry(id, 'TENSOR_BACKEND_OUTPUT', t));
    const stamps: [string, bigint][] = [['REQUEST_START', arrivalNs]];
    stamps.push(['QUEUE_START', this.queueStartNs ?? arrivalNs]);
    if (result !== undefined) {
      const t = result.timings;
      const computeStart = arrivalNs + BigInt(Math.round(t.queueNs));
      const inputEnd = computeStart + BigInt(Math.round(t.computeInputNs));
      const outputStart = inputEnd + BigInt(Math.round(t.computeInferNs));
      stamps.push(
        ['COMPUTE_START', computeStart],
        ['COMPUTE_INPUT_END', inputEnd],
        ['COMPUTE_OUTPUT_START', outputStart],
        ['COMPUTE_END', outputStart + BigInt(Math.round(t.computeOutputNs))],
      );
    }
    stamps.push(['REQUEST_END', endNs]);
    // Phases measured in the worker and stamps read on the main thread can differ by a rounding;
    // a later event is never written before an earlier one.
    let previous = 0n;
    const timestamps = stamps.map(([name, ns]) => {
      previous = ns > previous ? ns : previous;
      return `{"name":"${name}","ns":${previous}}`;
    });
    let text = `{"id":${id},"model_name":${JSON.stringify(model)},"model_version":${version},"request_id":${JSON.stringify(requestId)}`;
    if (levels.includes('TIMESTAMPS')) text += `,"timestamps":[${timestamps.join(',')}]`;
    if (this.tensors.length > 0) text += `,"tensors":[${this.tensors.join(',')}]`;
    this.done(`${text}}`);
  }
}

/** Triton's TENSORS entry: the values as one comma-separated string, the shape likewise. */
function tensorEntry(id: number, activity: string, t: Tensor): string {
  let data: string;
  switch (t.datatype) {
    case 'BYTES':
      data = t.data.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')).join(',');
      break;
    case 'FP16':
      data = Array.from(t.data, float16BitsToFloat32).join(',');
      break;
    case 'BF16':
      data = Array.from(t.data, bfloat16BitsToFloat32).join(',');
      break;
    case 'BOOL':
      data = Array.from(t.data, (v) => (v === 0 ? 'false' : 'true')).join(',');
      break;
    default:
      data = Array.from(t.data as ArrayLike<number | bigint>, String).join(',');
  }
  return JSON.stringify({ id, activity, tensor: { name: t.name, data, shape: t.shape.join(','), dtype: t.datatype } });
}
