// The compute-bound model the batch and GPU benchmarks share: 256 → 2048 → 2048 → 2048 → 10 with
// ReLU between (deterministic weights), about 33× the work per row of examples/models/mlp.

import { GraphBuilder } from '../../tools/onnx/onnx-builder.js';

export const COMPUTE_MLP_WIDTH = 256;

/** The ONNX bytes; `output` names the logits. */
export function computeBoundMlp(output = 'logits'): Uint8Array {
  const dims = [COMPUTE_MLP_WIDTH, 2048, 2048, 2048, 10];
  const b = new GraphBuilder('compute_mlp').input('input', 'FP32', [-1, COMPUTE_MLP_WIDTH]);
  let value = 'input';
  for (let l = 0; l + 1 < dims.length; l++) {
    const [n, m] = [dims[l] as number, dims[l + 1] as number];
    const scale = Math.sqrt(3 / n);
    const w = Float32Array.from({ length: n * m }, (_, i) => Math.sin(i * 12.9898 + l) * scale);
    const bias = new Float32Array(m);
    const last = l + 2 === dims.length;
    b.initializer(`W${l}`, 'FP32', [n, m], w)
      .initializer(`B${l}`, 'FP32', [m], bias)
      .node('MatMul', [value, `W${l}`], [`mm${l}`])
      .node('Add', [`mm${l}`, `B${l}`], [last ? output : `pre${l}`]);
    if (!last) b.node('Relu', [`pre${l}`], [`act${l}`]);
    value = `act${l}`;
  }
  return b.output(output, 'FP32', [-1, 10]).toBytes({ opset: 17, irVersion: 8 });
}
