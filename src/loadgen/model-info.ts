// What the load generator needs to know about the model, read from the server: the inputs
// (GET /v2/models/{m}, the v2 model metadata) and max_batch_size (GET /v2/models/{m}/config,
// Triton's configuration extension), which says whether the first dimension is the batch.

import { isDatatype, type Datatype } from '../tensor/datatype.js';
import { errorMessage, type HttpClient } from './http-client.js';

export interface InputMetadata {
  readonly name: string;
  readonly datatype: Datatype;
  /** As the metadata gives it: the batch dimension included, -1 for a dynamic dimension. */
  readonly shape: readonly number[];
}

export interface ModelInfo {
  readonly name: string;
  /** The version asked for, or undefined for the server's choice (the latest ready one). */
  readonly version: string | undefined;
  readonly inputs: readonly InputMetadata[];
  /**
   * 0 for a model without a batch dimension. Undefined when the server has no configuration
   * endpoint: then no dimension is taken for the batch and shapes are given in full.
   */
  readonly maxBatchSize: number | undefined;
}

/** `/v2/models/{m}` or `/v2/models/{m}/versions/{v}`, the prefix of every per-model endpoint. */
export function modelPath(model: string, version: string | undefined): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return version === undefined ? base : `${base}/versions/${encodeURIComponent(version)}`;
}

function describe(model: string, version: string | undefined): string {
  return version === undefined ? `model '${model}'` : `model '${model}' version ${version}`;
}

function parseInputs(json: unknown, what: string): InputMetadata[] {
  const inputs = typeof json === 'object' && json !== null && 'inputs' in json ? json.inputs : undefined;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new Error(`the metadata of ${what} lists no inputs`);
  return inputs.map((raw: unknown, i) => {
    const t = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const { name, datatype, shape } = t;
    if (typeof name !== 'string' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d)))
      throw new Error(`the metadata of ${what} has a malformed inputs[${i}]: ${JSON.stringify(raw)}`);
    if (!isDatatype(datatype))
      throw new Error(
        `input '${name}' of ${what} has datatype ${JSON.stringify(datatype)}, which is not a v2 datatype`,
      );
    return { name, datatype, shape: shape as number[] };
  });
}

export async function fetchModelInfo(
  client: HttpClient,
  model: string,
  version: string | undefined,
): Promise<ModelInfo> {
  const what = describe(model, version);
  const path = modelPath(model, version);
  const meta = await client.getJson(path);
  if (meta.status !== 200)
    throw new Error(`${what} is not available at ${client.baseUrl}: ${errorMessage(meta.status, meta.json)}`);
  const inputs = parseInputs(meta.json, what);
  const config = await client.getJson(`${path}/config`);
  let maxBatchSize: number | undefined;
  if (config.status === 200 && typeof config.json === 'object' && config.json !== null) {
    // Triton nests it under "config" in some versions; inferd answers with the config itself.
    const body = config.json as Record<string, unknown>;
    const inner = (typeof body.config === 'object' && body.config !== null ? body.config : body) as Record<
      string,
      unknown
    >;
    const mbs = inner.max_batch_size;
    if (typeof mbs === 'number' && Number.isInteger(mbs) && mbs >= 0) maxBatchSize = mbs;
  }
  return { name: model, version, inputs, maxBatchSize };
}
