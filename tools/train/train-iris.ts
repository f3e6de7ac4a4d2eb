// Trains the example Iris classifier and exports it as ONNX, with feature standardisation baked
// into the graph so the model takes raw measurements in cm. Run it to see the accuracy report:
//   node --import tsx tools/train/train-iris.ts

import { pathToFileURL } from 'node:url';
import { GraphBuilder } from '../onnx/onnx-builder.js';
import { IRIS_CLASSES, splitIris, standardisation, type IrisSplit, type Standardisation } from './iris-data.js';
import { accuracy, trainSoftmaxMlp, type MlpParameters } from './softmax-mlp.js';

/**
 * Every choice that affects the exported bytes; after changing one, regenerate the example
 * repository so the committed model matches again.
 */
export const IRIS_RECIPE = Object.freeze({
  splitSeed: 20240601,
  testFraction: 0.2,
  initSeed: 7,
  hidden: 16,
  epochs: 300,
  learningRate: 0.01,
});

export interface IrisTraining {
  readonly split: IrisSplit;
  readonly standardisation: Standardisation;
  readonly parameters: MlpParameters;
  readonly finalLoss: number;
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
}

export function trainIris(): IrisTraining {
  const split = splitIris(IRIS_RECIPE.splitSeed, IRIS_RECIPE.testFraction);
  const stats = standardisation(split.train);
  const scale = (features: readonly number[]): number[] =>
    features.map((v, f) => (v - (stats.mean[f] ?? 0)) / (stats.std[f] ?? 1));
  const xTrain = split.train.map((s) => scale(s.features));
  const yTrain = split.train.map((s) => s.label);
  const xTest = split.test.map((s) => scale(s.features));
  const yTest = split.test.map((s) => s.label);
  const { parameters, finalLoss } = trainSoftmaxMlp(xTrain, yTrain, IRIS_CLASSES.length, {
    hidden: IRIS_RECIPE.hidden,
    epochs: IRIS_RECIPE.epochs,
    learningRate: IRIS_RECIPE.learningRate,
    seed: IRIS_RECIPE.initSeed,
  });
  return {
    split,
    standardisation: stats,
    parameters,
    finalLoss,
    trainAccuracy: accuracy(parameters, xTrain, yTrain),
    testAccuracy: accuracy(parameters, xTest, yTest),
  };
}

/**
 * The inference graph: (input - mean) / std, then MatMul+Add+Relu, MatMul+Add and Softmax over
 * the class axis. Parameters are rounded to float32, the model's element type.
 */
export function irisOnnx(training: IrisTraining): Uint8Array {
  const { parameters: p, standardisation: stats } = training;
  const features = p.inputs;
  return new GraphBuilder('iris')
    .input('input', 'FP32', [-1, features])
    .initializer('mean', 'FP32', [features], Float32Array.from(stats.mean))
    .initializer('std', 'FP32', [features], Float32Array.from(stats.std))
    .initializer('W1', 'FP32', [features, p.hidden], Float32Array.from(p.w1))
    .initializer('B1', 'FP32', [p.hidden], Float32Array.from(p.b1))
    .initializer('W2', 'FP32', [p.hidden, p.classes], Float32Array.from(p.w2))
    .initializer('B2', 'FP32', [p.classes], Float32Array.from(p.b2))
    .node('Sub', ['input', 'mean'], ['centred'])
    .node('Div', ['centred', 'std'], ['standardised'])
    .node('MatMul', ['standardised', 'W1'], ['hidden_mm'])
    .node('Add', ['hidden_mm', 'B1'], ['hidden_pre'])
    .node('Relu', ['hidden_pre'], ['hidden'])
    .node('MatMul', ['hidden', 'W2'], ['logits_mm'])
    .node('Add', ['logits_mm', 'B2'], ['logits'])
    .node('Softmax', ['logits'], ['probabilities'], { axis: -1 })
    .output('probabilities', 'FP32', [-1, p.classes])
    .toBytes({ opset: 17, irVersion: 8 });
}

function report(training: IrisTraining): string {
  const { split } = training;
  return [
    `train: ${split.train.length} samples, accuracy ${training.trainAccuracy.toFixed(4)}`,
    `test:  ${split.test.length} samples, accuracy ${training.testAccuracy.toFixed(4)}`,
    `final training loss: ${training.finalLoss.toFixed(4)}`,
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(report(trainIris()));
}
