// Builds KServe v2 infer request bodies (JSON, and JSON header + binary tensor data) from sample
// tensors, and reads the outputs back from either kind of response for a correctness check.

import type { HttpReply } from './kserve-client.js';

export type SampleDatatype = 'INT32' | 'FP32';

export interface SampleTensor {
  readonly name: string;
  readonly datatype: SampleDatatype;
  readonly shape: readonly number[];
  readonly data: Int32Array | Float32Array;
}

export interface PreparedRequest {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Deterministic sample values, so runs are repeatable and outputs comparable. */
export function sampleTensor(name: string, datatype: SampleDatatype, shape: readonly number[]): SampleTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (datatype === 'INT32') {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 13) - 6;
    return { name, datatype, shape, data };
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 0.5;
  return { name, datatype, shape, data };
}

/** Plain JSON request: `data` as a flat array of numbers; JSON outputs. */
export function jsonRequest(inputs: readonly SampleTensor[]): PreparedRequest {
  const body = {
    inputs: inputs.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: Array.from(t.data) })),
  };
  return { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body), 'utf8') };
}

/** Binary tensor data extension: inputs after the JSON header, all outputs asked for as binary. */
export function binaryRequest(inputs: readonly SampleTensor[]): PreparedRequest {
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((t) => ({
        name: t.name,
        shape: t.shape,
        datatype: t.datatype,
        parameters: { binary_data_size: t.data.byteLength },
      })),
      parameters: { binary_data_output: true },
    }),
    'utf8',
  );
  // Typed arrays are little-endian on every platform Node supports for onnxruntime.
  const blobs = inputs.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, ...blobs]),
  };
}

interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
}

/** The outputs of a successful infer response, JSON or binary, as plain numbers by name. */
export function readOutputs(reply: HttpReply): Map<string, number[]> {
  if (reply.status !== 200) throw new Error(`infer failed: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
  const lengthHeader = reply.headers['inference-header-content-length'];
  const headerLength = typeof lengthHeader === 'string' ? Number(lengthHeader) : reply.body.length;
  const parsed = JSON.parse(reply.body.toString('utf8', 0, headerLength)) as { outputs?: ResponseOutput[] };
  const result = new Map<string, number[]>();
  let offset = headerLength;
  for (const o of parsed.outputs ?? []) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) {
      result.set(o.name, o.data ?? []);
      continue;
    }
    const bytes = reply.body.subarray(offset, offset + size);
    offset += size;
    const copy = new Uint8Array(bytes).buffer;
    if (o.datatype === 'INT32') result.set(o.name, Array.from(new Int32Array(copy)));
    else if (o.datatype === 'FP32') result.set(o.name, Array.from(new Float32Array(copy)));
    else throw new Error(`output '${o.name}' has datatype ${o.datatype}, which this benchmark does not read`);
  }
  return result;
}

/** Throws unless every expected output is present with the same values (floats to 1e-5 relative). */
export function checkOutputs(
  label: string,
  got: Map<string, number[]>,
  expected: Map<string, ArrayLike<number>>,
): void {
  for (const [name, want] of expected) {
    const have = got.get(name);
    if (have?.length !== want.length) throw new Error(`${label}: output '${name}' is missing or has the wrong size`);
    for (let i = 0; i < want.length; i++) {
      const a = have[i] ?? Number.NaN;
      const b = want[i] ?? Number.NaN;
      if (Math.abs(a - b) > 1e-5 * Math.max(1, Math.abs(b))) {
        throw new Error(`${label}: output '${name}'[${i}] is ${a}, expected ${b}`);
      }
    }
  }
}
