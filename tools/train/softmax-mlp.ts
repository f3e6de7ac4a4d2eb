// A one-hidden-layer ReLU classifier with a softmax output, trained full-batch with Adam on
// softmax cross-entropy. Plain float64 loops: small enough for Iris, and exactly reproducible.

import { Prng } from './prng.js';

/** Row-major weights, as MatMul reads them: w1 is [inputs, hidden] and w2 is [hidden, classes]. */
export interface MlpParameters {
  readonly inputs: number;
  readonly hidden: number;
  readonly classes: number;
  readonly w1: Float64Array;
  readonly b1: Float64Array;
  readonly w2: Float64Array;
  readonly b2: Float64Array;
}

export interface TrainOptions {
  readonly hidden: number;
  readonly epochs: number;
  readonly learningRate: number;
  readonly seed: number;
}

export interface TrainResult {
  readonly parameters: MlpParameters;
  /** Mean cross-entropy on the training data after the last update. */
  readonly finalLoss: number;
}

interface Activations {
  readonly hiddenPre: Float64Array; // [n, hidden], before ReLU
  readonly hiddenOut: Float64Array; // [n, hidden], after ReLU
  readonly probabilities: Float64Array; // [n, classes]
}

function forward(p: MlpParameters, x: readonly (readonly number[])[]): Activations {
  const n = x.length;
  const { inputs, hidden, classes } = p;
  const hiddenPre = new Float64Array(n * hidden);
  const hiddenOut = new Float64Array(n * hidden);
  const probabilities = new Float64Array(n * classes);
  const logits = new Float64Array(classes);
  for (let r = 0; r < n; r++) {
    const row = x[r] ?? [];
    for (let j = 0; j < hidden; j++) {
      let z = p.b1[j] ?? 0;
      for (let i = 0; i < inputs; i++) z += (row[i] ?? 0) * (p.w1[i * hidden + j] ?? 0);
      hiddenPre[r * hidden + j] = z;
      hiddenOut[r * hidden + j] = z > 0 ? z : 0;
    }
    let max = -Infinity;
    for (let k = 0; k < classes; k++) {
      let z = p.b2[k] ?? 0;
      for (let j = 0; j < hidden; j++) z += (hiddenOut[r * hidden + j] ?? 0) * (p.w2[j * classes + k] ?? 0);
      logits[k] = z;
      if (z > max) max = z;
    }
    // Subtracting the row maximum keeps exp() from overflowing; softmax is unchanged by it.
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp((logits[k] ?? 0) - max);
      probabilities[r * classes + k] = e;
      sum += e;
    }
    for (let k = 0; k < classes; k++) probabilities[r * classes + k] = (probabilities[r * classes + k] ?? 0) / sum;
  }
  return { hiddenPre, hiddenOut, probabilities };
}

/** Class probabilities for each row of `x`. */
export function predict(p: MlpParameters, x: readonly (readonly number[])[]): number[][] {
  const { probabilities } = forward(p, x);
  return x.map((_, r) => Array.from(probabilities.subarray(r * p.classes, (r + 1) * p.classes)));
}

/** The index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

/** Fraction of rows whose most probable class is the label. */
export function accuracy(p: MlpParameters, x: readonly (readonly number[])[], y: readonly number[]): number {
  const predictions = predict(p, x);
  let correct = 0;
  predictions.forEach((probs, r) => {
    if (argmax(probs) === y[r]) correct++;
  });
  return correct / x.length;
}

function initialParameters(inputs: number, hidden: number, classes: number, seed: number): MlpParameters {
  const prng = new Prng(seed);
  // He initialisation (variance 2/fan_in) suits the ReLU layer; Glorot (2/(fan_in+fan_out)) the
  // softmax layer. Biases start at zero.
  return {
    inputs,
    hidden,
    classes,
    w1: prng.scaledUniform(inputs * hidden, 2 / inputs),
    b1: new Float64Array(hidden),
    w2: prng.scaledUniform(hidden * classes, 2 / (hidden + classes)),
    b2: new Float64Array(classes),
  };
}

/** Adam (Kingma & Ba, 2015) with the usual defaults, over a fixed list of parameter arrays. */
class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  // Running powers of the betas, by repeated multiplication: exact and reproducible, unlike pow().
  private beta1Power = 1;
  private beta2Power = 1;

  constructor(
    private readonly params: readonly Float64Array[],
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  step(grads: readonly Float64Array[]): void {
    this.beta1Power *= this.beta1;
    this.beta2Power *= this.beta2;
    const c1 = 1 - this.beta1Power;
    const c2 = 1 - this.beta2Power;
    this.params.forEach((param, a) => {
      const grad = grads[a];
      const m = this.m[a];
      const v = this.v[a];
      if (grad === undefined || m === undefined || v === undefined) throw new Error('gradient shape mismatch');
      for (let i = 0; i < param.length; i++) {
        const g = grad[i] ?? 0;
        const mi = this.beta1 * (m[i] ?? 0) + (1 - this.beta1) * g;
        const vi = this.beta2 * (v[i] ?? 0) + (1 - this.beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = (param[i] ?? 0) - (this.learningRate * (mi / c1)) / (Math.sqrt(vi / c2) + this.epsilon);
      }
    });
  }
}

/**
 * Trains on standardised rows `x` with integer labels `y`. Full-batch updates make the result a
 * pure function of the data and options.
 */
export function trainSoftmaxMlp(
  x: readonly (readonly number[])[],
  y: readonly number[],
  classes: number,
  options: TrainOptions,
): TrainResult {
  const n = x.length;
  const inputs = x[0]?.length ?? 0;
  const { hidden } = options;
  const p = initialParameters(inputs, hidden, classes, options.seed);
  const adam = new Adam([p.w1, p.b1, p.w2, p.b2], options.learningRate);
  const gw1 = new Float64Array(p.w1.length);
  const gb1 = new Float64Array(p.b1.length);
  const gw2 = new Float64Array(p.w2.length);
  const gb2 = new Float64Array(p.b2.length);
  const dHidden = new Float64Array(hidden);

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const { hiddenPre, hiddenOut, probabilities } = forward(p, x);
    gw1.fill(0);
    gb1.fill(0);
    gw2.fill(0);
    gb2.fill(0);
    for (let r = 0; r < n; r++) {
      const row = x[r] ?? [];
      dHidden.fill(0);
      for (let k = 0; k < classes; k++) {
        // d(mean cross-entropy)/d(logit) = (probability - one-hot) / n.
        const dLogit = ((probabilities[r * classes + k] ?? 0) - (y[r] === k ? 1 : 0)) / n;
        gb2[k] = (gb2[k] ?? 0) + dLogit;
        for (let j = 0; j < hidden; j++) {
          gw2[j * classes + k] = (gw2[j * classes + k] ?? 0) + (hiddenOut[r * hidden + j] ?? 0) * dLogit;
          dHidden[j] = (dHidden[j] ?? 0) + (p.w2[j * classes + k] ?? 0) * dLogit;
        }
      }
      for (let j = 0; j < hidden; j++) {
        if ((hiddenPre[r * hidden + j] ?? 0) <= 0) continue; // ReLU passes no gradient here
        const d = dHidden[j] ?? 0;
        gb1[j] = (gb1[j] ?? 0) + d;
        for (let i = 0; i < inputs; i++) gw1[i * hidden + j] = (gw1[i * hidden + j] ?? 0) + (row[i] ?? 0) * d;
      }
    }
    adam.step([gw1, gb1, gw2, gb2]);
  }

  const { probabilities } = forward(p, x);
  let loss = 0;
  for (let r = 0; r < n; r++) loss -= Math.log(probabilities[r * classes + (y[r] ?? 0)] ?? 0);
  return { parameters: p, finalLoss: loss / n };
}
