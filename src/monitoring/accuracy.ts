// What a joined label says about a prediction row, and the cumulative counters it adds to. The
// counters are plain sums (rows, correct rows, Σ log-loss, Σ |error|, Σ error²) so that a caller
// can take two snapshots and subtract them to get the figures of the window between.

/** Probabilities are clamped to [ε, 1 − ε] before the logarithm, as scikit-learn's log_loss does. */
const LOG_LOSS_EPSILON = 1e-15;
/** How far from 1 a row's sum may be and still be read as a probability distribution. */
const DISTRIBUTION_TOLERANCE = 1e-3;

/** Cumulative figures of classification rows: the label is a class, the prediction the row's argmax. */
export interface ClassificationCounters {
  /** Labelled rows. */
  n: number;
  /** Rows whose argmax is the label. */
  correct: number;
  /** Σ −ln p(label) over the rows. */
  logLossSum: number;
  /** Rows whose values were not a distribution and went through a softmax for the log-loss. */
  softmaxed: number;
}

/** Cumulative figures of regression rows: the label is the value (or vector) the row predicts. */
export interface RegressionCounters {
  /** Labelled rows. */
  n: number;
  /** Values compared (n × the row width). */
  values: number;
  absErrorSum: number;
  squaredErrorSum: number;
}

export interface AccuracyCounters {
  /** Prediction rows recorded (every row of every request kept). */
  recorded: number;
  /** Rows a label was joined to. */
  labelled: number;
  readonly classification: ClassificationCounters;
  readonly regression: RegressionCounters;
}

export function emptyCounters(): AccuracyCounters {
  return {
    recorded: 0,
    labelled: 0,
    classification: { n: 0, correct: 0, logLossSum: 0, softmaxed: 0 },
    regression: { n: 0, values: 0, absErrorSum: 0, squaredErrorSum: 0 },
  };
}

/** Adds `from` into `into` (a model's versions summed, say). */
export function addCounters(into: AccuracyCounters, from: AccuracyCounters): void {
  into.recorded += from.recorded;
  into.labelled += from.labelled;
  const c = into.classification;
  c.n += from.classification.n;
  c.correct += from.classification.correct;
  c.logLossSum += from.classification.logLossSum;
  c.softmaxed += from.classification.softmaxed;
  const r = into.regression;
  r.n += from.regression.n;
  r.values += from.regression.values;
  r.absErrorSum += from.regression.absErrorSum;
  r.squaredErrorSum += from.regression.squaredErrorSum;
}

/** The figures of a version or a variant: the counters, and the rates they give (null with no rows). */
export interface AccuracySummary {
  readonly recorded: number;
  readonly labelled: number;
  /** labelled ÷ recorded: without it the accuracy cannot be read. null before a row is recorded. */
  readonly labelCoverage: number | null;
  readonly classification: ClassificationCounters & {
    readonly accuracy: number | null;
    /** Mean −ln p(label). */
    readonly logLoss: number | null;
  };
  readonly regression: RegressionCounters & {
    readonly meanAbsoluteError: number | null;
    readonly rootMeanSquaredError: number | null;
  };
}

export function summarize(counters: AccuracyCounters): AccuracySummary {
  const c = counters.classification;
  const r = counters.regression;
  return {
    recorded: counters.recorded,
    labelled: counters.labelled,
    labelCoverage: counters.recorded === 0 ? null : counters.labelled / counters.recorded,
    classification: {
      ...c,
      accuracy: c.n === 0 ? null : c.correct / c.n,
      logLoss: c.n === 0 ? null : c.logLossSum / c.n,
    },
    regression: {
      ...r,
      meanAbsoluteError: r.values === 0 ? null : r.absErrorSum / r.values,
      rootMeanSquaredError: r.values === 0 ? null : Math.sqrt(r.squaredErrorSum / r.values),
    },
  };
}

/** Index of the largest value (the first of equals). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] ?? -Infinity) > (row[best] ?? -Infinity)) best = i;
  return best;
}

/** Whether a row reads as a probability distribution: every value in [0, 1], summing to 1 (±0.001). */
export function isDistribution(row: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i] ?? NaN;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= DISTRIBUTION_TOLERANCE;
}

/** ln of softmax(row)[k], computed stably (log-sum-exp around the maximum). */
function logSoftmaxAt(row: ArrayLike<number>, k: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i] ?? -Infinity);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] ?? -Infinity) - max);
  return (row[k] ?? -Infinity) - max - Math.log(sum);
}

/**
 * −ln p(class) for one row. A row that is a distribution is read as the probabilities; other rows
 * (logits, scores) go through a softmax first. p is clamped to [1e-15, 1 − 1e-15].
 */
export function rowLogLoss(
  row: ArrayLike<number>,
  cls: number,
): { readonly loss: number; readonly softmaxed: boolean } {
  const softmaxed = !isDistribution(row);
  const p = softmaxed ? Math.exp(logSoftmaxAt(row, cls)) : (row[cls] ?? 0);
  const clamped = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, p));
  return { loss: -Math.log(clamped), softmaxed };
}

/** Adds a classification row labelled `cls`; returns whether the prediction was right. */
export function addClassification(counters: AccuracyCounters, row: ArrayLike<number>, cls: number): boolean {
  const c = counters.classification;
  const correct = argmax(row) === cls;
  const { loss, softmaxed } = rowLogLoss(row, cls);
  c.n++;
  if (correct) c.correct++;
  c.logLossSum += loss;
  if (softmaxed) c.softmaxed++;
  counters.labelled++;
  return correct;
}

/** Adds a regression row whose true values are `truth` (as many as the row has). */
export function addRegression(counters: AccuracyCounters, row: ArrayLike<number>, truth: ArrayLike<number>): void {
  const r = counters.regression;
  for (let i = 0; i < row.length; i++) {
    const error = (row[i] ?? 0) - (truth[i] ?? 0);
    r.absErrorSum += Math.abs(error);
    r.squaredErrorSum += error * error;
  }
  r.values += row.length;
  r.n++;
  counters.labelled++;
}
