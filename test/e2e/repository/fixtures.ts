// Shared fixtures for the repository, CLI and observability tests: extra tiny ONNX models (a slow
// one, a second `simple` version, one that fails at run time), one broken model per kind of
// config mistake, small HTTP client calls and a Prometheus text reader.

import path from 'node:path';
import { identityBf16Model, simpleModel, type ExampleFile } from '../../../tools/examples/example-models.js';
import { GraphBuilder, attr } from '../../../tools/onnx/onnx-builder.js';

const MODEL_OPTIONS = { opset: 17, irVersion: 8 } as const;

/** `simple`'s config (INT32 [16] inputs and outputs, batching up to 8). */
export const SIMPLE_CONFIG = `max_batch_size: 8
input:
  - { name: INPUT0, data_type: TYPE_INT32, dims: [16] }
  - { name: INPUT1, data_type: TYPE_INT32, dims: [16] }
output:
  - { name: OUTPUT0, data_type: TYPE_INT32, dims: [16] }
  - { name: OUTPUT1, data_type: TYPE_INT32, dims: [16] }
`;

/**
 * A version of `simple` that computes something else: OUTPUT0 = INPUT0 * INPUT1 and
 * OUTPUT1 = INPUT0 - INPUT1, so a response tells which version served it.
 */
export function simpleMulVersion(name: string, version: number): ExampleFile {
  const onnx = new GraphBuilder(`${name}_v${version}`)
    .input('INPUT0', 'INT32', [-1, 16])
    .input('INPUT1', 'INT32', [-1, 16])
    .node('Mul', ['INPUT0', 'INPUT1'], ['OUTPUT0'])
    .node('Sub', ['INPUT0', 'INPUT1'], ['OUTPUT1'])
    .output('OUTPUT0', 'INT32', [-1, 16])
    .output('OUTPUT1', 'INT32', [-1, 16])
    .toBytes(MODEL_OPTIONS);
  return { path: `${name}/${version}/model.onnx`, bytes: onnx };
}

/** Columns of the square matrices the slow model multiplies. */
const SLOW_WIDTH = 512;

/**
 * A model that takes time from a tiny request: OUTPUT0 [1,1] = gain × mean(X · W · W ...), where
 * X is INPUT0 [1,1] expanded to [rows, 512] and W is a 512×512 matrix of 1/512, so the output is
 * gain × the input (within float rounding). `layers` × `rows` sets the run time.
 */
export function slowModel(
  name: string,
  options: { layers?: number; rows?: number; gain?: number } = {},
): ExampleFile[] {
  const layers = options.layers ?? 32;
  const rows = options.rows ?? 512;
  const g = new GraphBuilder(name)
    .input('INPUT0', 'FP32', [1, 1])
    .initializer('shape', 'INT64', [2], [BigInt(rows), BigInt(SLOW_WIDTH)])
    .initializer('w_shape', 'INT64', [2], [BigInt(SLOW_WIDTH), BigInt(SLOW_WIDTH)])
    .initializer('gain', 'FP32', [1, 1], [options.gain ?? 1])
    .node('ConstantOfShape', ['w_shape'], ['W'], { value: attr.tensor('FP32', [1], [1 / SLOW_WIDTH]) })
    .node('Expand', ['INPUT0', 'shape'], ['x0']);
  for (let i = 0; i < layers; i++) g.node('MatMul', [`x${i}`, 'W'], [`x${i + 1}`]);
  g.node('ReduceMean', [`x${layers}`], ['mean'], { keepdims: 1 })
    .node('Mul', ['mean', 'gain'], ['OUTPUT0'])
    .output('OUTPUT0', 'FP32', [1, 1]);
  return [{ path: `${name}/1/model.onnx`, bytes: g.toBytes(MODEL_OPTIONS) }];
}

/**
 * A model whose two inputs have independent dynamic sizes and are added element-wise: requests
 * with different lengths pass validation and then fail inside onnxruntime (a 500).
 */
export function brokenAddModel(name: string): ExampleFile[] {
  const onnx = new GraphBuilder(name)
    .input('A', 'FP32', ['a'])
    .input('B', 'FP32', ['b'])
    .node('Add', ['A', 'B'], ['SUM'])
    .output('SUM', 'FP32', [-1])
    .toBytes(MODEL_OPTIONS);
  return [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    { path: `${name}/config.yaml`, bytes: 'max_batch_size: 0\n' },
  ];
}

/** Renames the top folder of every file (a recipe's model) to `name`. */
export function renamed(files: readonly ExampleFile[], name: string): ExampleFile[] {
  return files.map((f) => ({ path: `${name}/${f.path.split('/').slice(1).join('/')}`, bytes: f.bytes }));
}

/** Puts a recipe's version 1 under other version numbers. */
export function asVersions(files: readonly ExampleFile[], versions: readonly number[]): ExampleFile[] {
  const out: ExampleFile[] = [];
  for (const f of files) {
    const parts = f.path.split('/');
    if (parts[1] === '1' && parts.length === 3) {
      for (const v of versions) out.push({ path: `${parts[0]}/${v}/${parts[2]}`, bytes: f.bytes });
    } else out.push(f);
  }
  return out;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export async function request(url: string, init?: { method?: string; body?: unknown }): Promise<HttpResult> {
  const res = await fetch(url, {
    method: init?.method ?? (init?.body === undefined ? 'GET' : 'POST'),
    ...(init?.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** POSTs JSON and parses the JSON reply (status kept). */
export async function postJson<T = unknown>(url: string, body: unknown = {}): Promise<{ status: number; body: T }> {
  const r = await request(url, { method: 'POST', body });
  return { status: r.status, body: (r.text === '' ? undefined : JSON.parse(r.text)) as T };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const r = await request(url);
  return { status: r.status, body: (r.text === '' ? undefined : JSON.parse(r.text)) as T };
}

export interface IndexRow {
  name: string;
  version: string;
  state: string;
  reason: string;
}

export async function repositoryIndex(baseUrl: string, body: unknown = {}): Promise<IndexRow[]> {
  const r = await postJson<IndexRow[]>(`${baseUrl}/v2/repository/index`, body);
  if (r.status !== 200) throw new Error(`repository index failed with ${r.status}`);
  return r.body;
}

export interface InferOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface InferReply {
  status: number;
  body: { model_name?: string; model_version?: string; outputs?: InferOutput[]; error?: string };
}

/** Sends `simple`-shaped inputs (INT32 [1,16]) to a model (and optionally a version). */
export async function inferSimple(
  baseUrl: string,
  model: string,
  a: readonly number[],
  b: readonly number[],
  version?: number,
): Promise<InferReply> {
  const path = version === undefined ? model : `${model}/versions/${version}`;
  return postJson(`${baseUrl}/v2/models/${path}/infer`, {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, a.length], data: a },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, b.length], data: b },
    ],
  });
}

/** Sends one value to a slow model. */
export async function inferSlow(baseUrl: string, model: string, value: number): Promise<InferReply> {
  return postJson(`${baseUrl}/v2/models/${model}/infer`, {
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], data: [value] }],
  });
}

export function output(reply: InferReply, name: string): InferOutput {
  const o = reply.body.outputs?.find((x) => x.name === name);
  if (o === undefined) throw new Error(`no output ${name} in ${JSON.stringify(reply.body)}`);
  return o;
}

/** 0..15 and 16 ones: the inputs Triton's `simple` example sends. */
export const A16 = Array.from({ length: 16 }, (_, i) => i);
export const B16 = Array.from({ length: 16 }, () => 1);

/** Polls `check` until it returns true or the time runs out. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A model folder that must fail to load, and what its reason must say. */
export interface BrokenCase {
  readonly name: string;
  readonly files: readonly ExampleFile[];
  /** The file the reason names, relative to the repository. */
  readonly file: string;
  /** The field the reason names ('' for the whole file). */
  readonly field: string;
  readonly reason: RegExp;
}

/** One broken model per kind of config or model mistake, each beside a working `simple`. */
export function brokenCases(): BrokenCase[] {
  const onnx = simpleModel()[0]?.bytes ?? '';
  const withConfig = (name: string, config: string, file = 'config.yaml'): ExampleFile[] => [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    { path: `${name}/${file}`, bytes: config },
  ];
  // Bytes that are not a protobuf ModelProto (fixed, so failures reproduce).
  const junk = Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) % 256);
  return [
    {
      name: 'unknown_field',
      files: withConfig('unknown_field', `${SIMPLE_CONFIG}max_batch: 8\n`),
      file: 'unknown_field/config.yaml',
      field: '',
      reason: /^unknown field\(s\) 'max_batch'$/,
    },
    {
      name: 'wrong_type',
      files: withConfig('wrong_type', SIMPLE_CONFIG.replace('max_batch_size: 8', 'max_batch_size: eight')),
      file: 'wrong_type/config.yaml',
      field: 'max_batch_size',
      reason: /expected number, received string/,
    },
    {
      name: 'bad_dims',
      files: withConfig(
        'bad_dims',
        SIMPLE_CONFIG.replace('INPUT0, data_type: TYPE_INT32, dims: [16]', 'INPUT0, data_type: TYPE_INT32, dims: [-2]'),
      ),
      file: 'bad_dims/config.yaml',
      field: 'input[0].dims[0]',
      reason: /^dimensions are -1 \(dynamic\) or a non-negative size$/,
    },
    {
      name: 'name_mismatch',
      files: withConfig('name_mismatch', `name: simple\n${SIMPLE_CONFIG}`),
      file: 'name_mismatch/config.yaml',
      field: 'name',
      reason: /^'simple' differs from the folder name 'name_mismatch'$/,
    },
    {
      name: 'wrong_datatype',
      files: withConfig(
        'wrong_datatype',
        SIMPLE_CONFIG.replace('INPUT1, data_type: TYPE_INT32', 'INPUT1, data_type: TYPE_FP32'),
      ),
      file: 'wrong_datatype/config.yaml',
      field: 'input[1].data_type',
      reason: /^is TYPE_FP32, but the model's input 'INPUT1' is INT32$/,
    },
    {
      name: 'missing_input',
      files: withConfig('missing_input', SIMPLE_CONFIG.replace('name: INPUT1,', 'name: INPUT9,')),
      file: 'missing_input/config.yaml',
      field: 'input[1].name',
      reason: /^the model has no input 'INPUT9'; it has 'INPUT0', 'INPUT1'/,
    },
    {
      name: 'yaml_error',
      files: withConfig('yaml_error', 'max_batch_size: [8\ninput: {\n'),
      file: 'yaml_error/config.yaml',
      field: '',
      reason: /^cannot parse: .*line 2, column 1/s,
    },
    {
      name: 'two_configs',
      files: [...withConfig('two_configs', SIMPLE_CONFIG), { path: 'two_configs/config.json', bytes: '{}' }],
      file: 'two_configs/config.json',
      field: '',
      reason: /^more than one config file \(config\.json, config\.yaml\); keep one$/,
    },
    {
      name: 'corrupt',
      files: [{ path: 'corrupt/1/model.onnx', bytes: junk }],
      file: 'corrupt/1/model.onnx',
      field: '',
      reason: /^cannot load the model: .*Protobuf parsing failed/,
    },
    {
      name: 'bf16',
      files: renamed(identityBf16Model(), 'bf16'),
      file: 'bf16/1/model.onnx',
      field: '',
      reason: /^cannot load the model: .*BF16/,
    },
  ];
}

/** The reason text a broken case must produce: "<repo>/<file>: <field>: <reason>". */
export function reasonMatches(repo: string, c: BrokenCase, reason: string): boolean {
  const prefix = `${path.join(repo, c.file)}: ${c.field === '' ? '' : `${c.field}: `}`;
  return reason.startsWith(prefix) && c.reason.test(reason.slice(prefix.length));
}

/**
 * The value of one Prometheus sample in exposition text, matched by name and exact label set;
 * undefined when absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter((p) => p !== '')
      .sort()
      .join(',');
    if (have === want) return Number(m[3]);
  }
  return undefined;
}

export async function scrape(baseUrl: string): Promise<string> {
  const r = await request(`${baseUrl}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return r.text;
}

/**
 * Requests of a model version that reached its scheduler so far: pending plus succeeded. Unlike
 * the pending gauge alone it only grows, so waiting on it cannot miss a short window.
 */
export async function arrivedRequests(baseUrl: string, labels: { model: string; version: string }): Promise<number> {
  const text = await scrape(baseUrl);
  return (
    (metricValue(text, 'nv_inference_pending_request_count', labels) ?? 0) +
    (metricValue(text, 'nv_inference_request_success', labels) ?? 0)
  );
}
