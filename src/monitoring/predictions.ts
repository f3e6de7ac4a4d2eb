// The recent predictions, kept so that a label arriving minutes or hours later can be joined to
// the prediction it judges, by the request id the server returned (x-request-id) or the client's
// own id. Bounded by count and by age: a Map keeps insertion order, so the oldest record is always
// at the front and eviction is O(1) per record. Only the rows of one output are kept, as float64.

import { InferdError } from '../errors/index.js';
import type { Metrics } from '../observability/metrics.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, type Tensor } from '../tensor/index.js';
import {
  addClassification,
  addCounters,
  addRegression,
  emptyCounters,
  summarize,
  type AccuracyCounters,
  type AccuracySummary,
} from './accuracy.js';

/** Rows wider than this are not kept (an embedding or an image is not a prediction a label judges). */
export const MAX_ROW_VALUES = 1024;

/** The version (and, under an experiment, the variant) that answered a request. */
export interface PredictionSource {
  readonly model: string;
  readonly version: number;
  readonly experiment?: string;
  readonly variant?: string;
}

export interface PredictionsOptions {
  /** Requests kept at most (0 = record nothing). */
  readonly maxEntries: number;
  /** A request is kept this long after it was answered. */
  readonly maxAgeMs: number;
  readonly metrics: Metrics;
  /** Milliseconds; Date.now unless a test drives it. */
  readonly now?: () => number;
}

/** What a joined label did. */
export interface FeedbackOutcome {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  readonly experiment?: string;
  readonly variant?: string;
  /** Rows labelled (the request's batch size). */
  readonly rows: number;
  /** Classification rows whose argmax was the label. */
  readonly correct: number;
}

/** What the store holds and has dropped, for the server's own accounting. */
export interface PredictionsStats {
  readonly entries: number;
  /** Requests not kept because their output had more than MAX_ROW_VALUES values per row or was not numeric. */
  readonly skipped: number;
  /** Requests dropped for age or count (labelled or not). */
  readonly evicted: number;
}

interface PredictionRecord {
  readonly ids: readonly string[];
  readonly source: PredictionSource;
  readonly at: number;
  readonly rows: Float64Array;
  readonly width: number;
  readonly batchSize: number;
  readonly outputName: string;
  readonly classes: readonly string[] | undefined;
  labelled: boolean;
}

/** A row's label read against the row: a class index, or the true values. */
type RowLabel = { readonly cls: number } | { readonly truth: readonly number[] };

function numericValues(t: Tensor): Float64Array | undefined {
  switch (t.datatype) {
    case 'BYTES':
      return undefined;
    case 'FP16':
      return Float64Array.from(t.data, float16BitsToFloat32);
    case 'BF16':
      return Float64Array.from(t.data, bfloat16BitsToFloat32);
    case 'INT64':
    case 'UINT64':
      return Float64Array.from(t.data, Number);
    default:
      return Float64Array.from(t.data);
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isLabelList(
  labels: readonly string[] | ReadonlyMap<string, readonly string[]> | undefined,
): labels is readonly string[] {
  return Array.isArray(labels);
}

const variantKey = (experiment: string, variant: string): string => `${experiment}\u0000${variant}`;
const versionKeyOf = (source: PredictionSource): string => `${source.model}\u0000${source.version}`;

export class Predictions {
  private readonly byId = new Map<string, PredictionRecord>();
  /** Records oldest first: the front is what goes first. */
  private readonly records = new Set<PredictionRecord>();
  /** Ids evicted lately (oldest first), with the source, so an expired id is told apart from an unknown one. */
  private readonly evictedIds = new Map<string, PredictionSource>();
  private readonly maxEvictedIds: number;
  /** By model, then version. */
  private readonly byVersion = new Map<string, Map<number, AccuracyCounters>>();
  private readonly byVariant = new Map<string, AccuracyCounters>();
  private readonly now: () => number;
  private skipped = 0;
  private evicted = 0;

  constructor(private readonly options: PredictionsOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0)
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `--feedback-max-predictions must be a whole number ≥ 0, got ${options.maxEntries}`,
      );
    if (!(options.maxAgeMs > 0))
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `--feedback-max-age must be positive, got ${options.maxAgeMs} ms`,
      );
    this.now = options.now ?? Date.now;
    options.metrics.beforeAccuracyScrape = () => this.publishRecorded();
    // Remembering as many evicted ids as live ones tells "expired" from "unknown" for one more
    // retention's worth of traffic; ids are short strings, so this at most doubles the id memory.
    this.maxEvictedIds = Math.max(1024, options.maxEntries * 2);
  }

  /** Whether `record` keeps predictions (--feedback-max-predictions 0 turns recording off). */
  get enabled(): boolean {
    return this.options.maxEntries > 0;
  }

  get stats(): PredictionsStats {
    return { entries: this.records.size, skipped: this.skipped, evicted: this.evicted };
  }

  /**
   * After a request is answered: keeps its prediction rows under its ids (the server's request id
   * and, when the client sent one, the client's id). The rows kept are those of the first output, or,
   * when `labels` is a map of class names by output name (a version's labels files), of the first
   * output that has labels. `labels` as a list: the class names of the first output.
   */
  record(
    ids: readonly string[],
    source: PredictionSource,
    outputs: readonly Tensor[],
    batchSize: number,
    labels?: readonly string[] | ReadonlyMap<string, readonly string[]>,
  ): void {
    if (!this.enabled || ids.length === 0) return;
    const now = this.now();
    this.expire(now);
    let output = outputs[0];
    let classes: readonly string[] | undefined;
    if (isLabelList(labels)) classes = labels;
    else if (labels !== undefined) {
      const labelled = outputs.find((o) => labels.has(o.name));
      if (labelled !== undefined) {
        output = labelled;
        classes = labels.get(labelled.name);
      }
    }
    if (output === undefined) return;
    const rows = numericValues(output);
    const rowCount = Math.max(1, batchSize);
    const width = rows === undefined ? 0 : rows.length / rowCount;
    if (rows === undefined || width > MAX_ROW_VALUES || !Number.isInteger(width) || width === 0) {
      this.skipped++;
      return;
    }
    const record: PredictionRecord = {
      ids: [...new Set(ids)],
      source,
      at: now,
      rows,
      width,
      batchSize: rowCount,
      outputName: output.name,
      classes,
      labelled: false,
    };
    for (const id of record.ids) {
      this.byId.set(id, record);
      this.evictedIds.delete(id);
    }
    this.records.add(record);
    while (this.records.size > this.options.maxEntries) this.evictOldest();
    for (const counters of this.countersOf(source)) counters.recorded += rowCount;
    // The gauges follow at the next scrape: a record costs a map entry, not a gauge update.
    this.unpublished.set(versionKeyOf(source), source);
  }

  /**
   * Joins one label to the prediction recorded under `id`. A request of batch size n takes an
   * array of n labels, one per row. Throws InferdError: 404 unknown id, 410 expired, 409 already
   * labelled, 400 a label of the wrong type or shape. `mayLabel` throws when the caller may not
   * label that model's predictions (an API key limited to other models).
   */
  feedback(id: string, label: unknown, mayLabel?: (source: PredictionSource) => void): FeedbackOutcome {
    this.expire(this.now());
    const record = this.byId.get(id);
    if (record === undefined) {
      const gone = this.evictedIds.get(id);
      if (gone !== undefined) {
        this.count(gone, 'expired');
        throw new InferdError(
          'INF_ERR_GONE',
          `the prediction of request '${id}' (model '${gone.model}' version ${gone.version}) is no longer kept: predictions are kept ${this.retention()}`,
        );
      }
      this.options.metrics.feedbackLabels.inc({ model: '', version: '', outcome: 'unknown' });
      throw new InferdError(
        'INF_ERR_NOT_FOUND',
        `no prediction is kept under id '${id}': send the x-request-id of the answer, or the "id" the request carried (predictions are kept ${this.retention()})`,
      );
    }
    const { source } = record;
    mayLabel?.(source);
    if (record.labelled) {
      this.count(source, 'duplicate');
      throw new InferdError(
        'INF_ERR_CONFLICT',
        `the prediction of request '${id}' (model '${source.model}' version ${source.version}) already has its label`,
      );
    }
    let rowLabels: RowLabel[];
    try {
      rowLabels = this.readLabels(record, label);
    } catch (err) {
      this.count(source, 'invalid');
      throw err;
    }
    record.labelled = true;
    let correct = 0;
    // The version's counters first: its correct rows are the ones reported.
    this.countersOf(source).forEach((counters, j) => {
      rowLabels.forEach((rowLabel, i) => {
        const row = record.rows.subarray(i * record.width, (i + 1) * record.width);
        if (!('cls' in rowLabel)) addRegression(counters, row, rowLabel.truth);
        else if (addClassification(counters, row, rowLabel.cls) && j === 0) correct++;
      });
    });
    this.count(source, 'accepted');
    this.publish(source);
    return {
      id,
      model: source.model,
      version: source.version,
      ...(source.experiment === undefined ? {} : { experiment: source.experiment }),
      ...(source.variant === undefined ? {} : { variant: source.variant }),
      rows: rowLabels.length,
      correct,
    };
  }

  /** Cumulative figures of a version (every version of the model when none is named), or of an experiment's variant. */
  accuracy(of: { model: string; version?: number } | { experiment: string; variant: string }): AccuracySummary {
    if ('experiment' in of)
      return summarize(this.byVariant.get(variantKey(of.experiment, of.variant)) ?? emptyCounters());
    const versions = this.byVersion.get(of.model);
    if (of.version !== undefined) return summarize(versions?.get(of.version) ?? emptyCounters());
    const total = emptyCounters();
    for (const counters of versions?.values() ?? []) addCounters(total, counters);
    return summarize(total);
  }

  private retention(): string {
    const seconds = this.options.maxAgeMs / 1000;
    return `for ${seconds} s (--feedback-max-age) and at most ${this.options.maxEntries} at a time (--feedback-max-predictions)`;
  }

  private readLabels(record: PredictionRecord, label: unknown): RowLabel[] {
    const where = `label for model '${record.source.model}' version ${record.source.version}`;
    if (record.batchSize === 1) {
      // One row: the label itself, or a list holding it.
      const one = Array.isArray(label) && label.length === 1 ? (label as unknown[])[0] : label;
      return [this.readRowLabel(record, one, where)];
    }
    if (!Array.isArray(label) || label.length !== record.batchSize)
      throw new InferdError(
        'INF_ERR_INVALID_ARGUMENT',
        `${where}: the request had a batch of ${record.batchSize} rows, so the label must be a list of ${record.batchSize} labels, one per row; got ${preview(label)}`,
      );
    return (label as unknown[]).map((l, i) => this.readRowLabel(record, l, `${where}, row ${i}`));
  }

  private readRowLabel(record: PredictionRecord, label: unknown, where: string): RowLabel {
    const { width, classes } = record;
    const classification = classes !== undefined || width > 1;
    const expected = classification
      ? `a class index 0..${width - 1}${classes === undefined ? '' : ` or a class name (${preview(classes.slice(0, 10))})`}${width > 1 ? `, or a list of ${width} numbers (regression)` : ''}`
      : 'a number (the true value)';
    if (typeof label === 'string') {
      if (classes === undefined)
        throw new InferdError(
          'INF_ERR_INVALID_ARGUMENT',
          `${where}: '${label}' is a class name, but output '${record.outputName}' has no labels file; send ${expected}`,
        );
      const cls = classes.indexOf(label);
      if (cls < 0 || cls >= width)
        throw new InferdError(
          'INF_ERR_INVALID_ARGUMENT',
          `${where}: '${label}' is not a class of output '${record.outputName}'; send ${expected}`,
        );
      return { cls };
    }
    if (typeof label === 'number' && Number.isFinite(label)) {
      if (!classification) return { truth: [label] };
      if (Number.isInteger(label) && label >= 0 && label < width) return { cls: label };
      throw new InferdError(
        'INF_ERR_INVALID_ARGUMENT',
        `${where}: ${preview(label)} is not a class index; send ${expected}`,
      );
    }
    if (
      Array.isArray(label) &&
      label.length === width &&
      label.every((v) => typeof v === 'number' && Number.isFinite(v))
    )
      return { truth: label as number[] };
    throw new InferdError(
      'INF_ERR_INVALID_ARGUMENT',
      `${where}: expected ${expected} for output '${record.outputName}' (${width} value${width === 1 ? '' : 's'} per row), got ${preview(label)}`,
    );
  }

  private versionCounters(source: PredictionSource): AccuracyCounters {
    let versions = this.byVersion.get(source.model);
    if (versions === undefined) this.byVersion.set(source.model, (versions = new Map<number, AccuracyCounters>()));
    let counters = versions.get(source.version);
    if (counters === undefined) versions.set(source.version, (counters = emptyCounters()));
    return counters;
  }

  private countersOf(source: PredictionSource): AccuracyCounters[] {
    const out = [this.versionCounters(source)];
    if (source.experiment !== undefined && source.variant !== undefined) {
      const key = variantKey(source.experiment, source.variant);
      let counters = this.byVariant.get(key);
      if (counters === undefined) this.byVariant.set(key, (counters = emptyCounters()));
      out.push(counters);
    }
    return out;
  }

  private count(source: PredictionSource, outcome: string): void {
    this.options.metrics.feedbackLabels.inc({ model: source.model, version: String(source.version), outcome });
  }

  /** Versions whose predictions were recorded since the last scrape, keyed by model and version. */
  private readonly unpublished = new Map<string, PredictionSource>();

  private publishRecorded(): void {
    for (const source of this.unpublished.values()) this.publish(source);
    this.unpublished.clear();
  }

  /** Sets the version's gauges from its counters. */
  private publish(source: PredictionSource): void {
    const s = summarize(this.versionCounters(source));
    const labels = { model: source.model, version: String(source.version) };
    const m = this.options.metrics;
    if (s.labelCoverage !== null) m.labelCoverage.set(labels, s.labelCoverage);
    if (s.classification.accuracy !== null) m.accuracy.set(labels, s.classification.accuracy);
    if (s.classification.logLoss !== null) m.logLoss.set(labels, s.classification.logLoss);
    if (s.regression.meanAbsoluteError !== null) m.meanAbsoluteError.set(labels, s.regression.meanAbsoluteError);
  }

  /** Drops the records older than the retention, oldest first. */
  private expire(now: number): void {
    for (const record of this.records) {
      if (now - record.at <= this.options.maxAgeMs) break;
      this.evictOldest();
    }
  }

  private evictOldest(): void {
    const first = this.records.values().next();
    if (first.done === true) return;
    const record = first.value;
    this.records.delete(record);
    this.evicted++;
    for (const id of record.ids) {
      if (this.byId.get(id) !== record) continue;
      this.byId.delete(id);
      this.evictedIds.set(id, record.source);
      if (this.evictedIds.size > this.maxEvictedIds) {
        const oldest = this.evictedIds.keys().next();
        if (oldest.done !== true) this.evictedIds.delete(oldest.value);
      }
    }
  }
}
