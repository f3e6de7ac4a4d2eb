// Dynamic batching's data work: which requests may share one execution (same inputs, datatypes,
// non-batch dimensions and outputs), joining their inputs along the batch dimension, and giving
// each request exactly its own rows of every output.

import { InferdError } from '../errors/index.js';
import { allocData, bytesElements, copyElements, fixedElements, makeTensor, type Tensor } from '../tensor/tensor.js';
import type { InferRequest } from '../core/infer-request.js';

/** Requests with equal keys can be batched: everything but the batch dimension agrees. */
export function batchKey(request: InferRequest): string {
  const inputs = [...request.inputs]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`);
  return `${inputs.join('|')}>${[...request.outputNames].sort().join('|')}`;
}

/** One tensor per input name holding every request's rows, in request order. */
export function mergeInputs(requests: readonly InferRequest[]): Tensor[] {
  const first = requests[0];
  if (first === undefined) return [];
  if (requests.length === 1) return [...first.inputs];
  return first.inputs.map((template) => {
    const parts = requests.map((r) => {
      const t = r.inputs.find((i) => i.name === template.name);
      if (t === undefined) throw new InferdError('INF_ERR_INTERNAL', `batched request lacks input '${template.name}'`);
      return t;
    });
    const rows = parts.reduce((n, t) => n + (t.shape[0] ?? 0), 0);
    const shape = [rows, ...template.shape.slice(1)];
    if (template.datatype === 'BYTES') {
      return { name: template.name, datatype: 'BYTES', shape, data: parts.flatMap(bytesElements) };
    }
    const total = parts.reduce((n, t) => n + t.data.length, 0);
    const merged = allocData(template.datatype, total);
    let offset = 0;
    for (const t of parts) {
      // Each part has the template's datatype (equal batch keys mean equal datatypes).
      const d = fixedElements(t);
      copyElements(merged, offset, d);
      offset += d.length;
    }
    return makeTensor(template.name, template.datatype, shape, merged);
  });
}

/**
 * Splits each output along its first dimension into consecutive slices of `rows[i]` rows. The
 * slices of fixed-width outputs are views of the merged output (no copy).
 */
export function splitOutputs(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rows.map(() => []);
  for (const out of outputs) {
    if (out.shape[0] !== total) {
      throw new InferdError(
        'INF_ERR_RUNTIME',
        `output '${out.name}' has shape [${out.shape.join(',')}]; a batched model must return the batch of ${total} first`,
      );
    }
    const rowElements = out.shape.slice(1).reduce((a, b) => a * b, 1);
    let start = 0;
    rows.forEach((n, i) => {
      const shape = [n, ...out.shape.slice(1)];
      const from = start * rowElements;
      const to = (start + n) * rowElements;
      const data = out.datatype === 'BYTES' ? out.data.slice(from, to) : out.data.subarray(from, to);
      perRequest[i]?.push(makeTensor(out.name, out.datatype, shape, data));
      start += n;
    });
  }
  return perRequest;
}
