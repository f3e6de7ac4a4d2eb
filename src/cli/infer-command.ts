// `inferd infer <model>`: one request from .npy or .json files, against a running server
// (--url) or in-process on a repository (--model-repository). Outputs print as v2 JSON and can
// be saved as .npy files.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { LOCAL_SERVER_URL } from '../config/server-config.js';
import { startServer } from '../server.js';
import { decodeBinaryTensorData } from '../tensor/binary-codec.js';
import { isDatatype, type Datatype } from '../tensor/datatype.js';
import { encodeJsonTensorData } from '../tensor/json-codec.js';
import { decodeNpy, encodeNpy } from '../tensor/npy.js';
import { collect, integer } from './parse-options.js';
import { nestedShape } from '../tensor/nested-shape.js';

interface InferOptions {
  input: string[];
  request?: string;
  url: string;
  modelRepository?: string;
  modelVersion?: string;
  output: string[];
  classification?: number;
  outputDir?: string;
}

interface MetadataTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
}

async function buildRequest(
  opts: InferOptions,
  inputsMeta: MetadataTensor[],
): Promise<{ header: Record<string, unknown>; blobs: Uint8Array[] }> {
  if (opts.request !== undefined) {
    const header = JSON.parse(await readFile(opts.request, 'utf8')) as Record<string, unknown>;
    return { header, blobs: [] };
  }
  if (opts.input.length === 0)
    throw new Error('give --input NAME=FILE for each input (or --request FILE with a whole v2 request)');
  const inputs: unknown[] = [];
  const blobs: Uint8Array[] = [];
  for (const spec of opts.input) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--input expects NAME=FILE, got '${spec}'`);
    const name = spec.slice(0, eq);
    const file = spec.slice(eq + 1);
    const meta = inputsMeta.find((m) => m.name === name);
    if (meta === undefined)
      throw new Error(`the model has no input '${name}'; it has ${inputsMeta.map((m) => m.name).join(', ')}`);
    if (file.endsWith('.npy')) {
      const npy = decodeNpy(await readFile(file), file);
      const bytes =
        npy.datatype === 'BYTES' ? null : new Uint8Array(npy.data.buffer, npy.data.byteOffset, npy.data.byteLength);
      if (bytes === null) {
        inputs.push({
          name,
          datatype: npy.datatype,
          shape: npy.shape,
          data: encodeJsonTensorData(npy.datatype, npy.data),
        });
      } else {
        inputs.push({
          name,
          datatype: npy.datatype,
          shape: npy.shape,
          parameters: { binary_data_size: bytes.byteLength },
        });
        blobs.push(bytes);
      }
    } else {
      const data: unknown = JSON.parse(await readFile(file, 'utf8'));
      inputs.push({ name, datatype: meta.datatype, shape: nestedShape(data, file), data });
    }
  }
  const outputs = opts.output.map((name) => ({
    name,
    parameters: opts.classification === undefined ? { binary_data: true } : { classification: opts.classification },
  }));
  return {
    header: { inputs, ...(outputs.length > 0 ? { outputs } : { parameters: { binary_data_output: true } }) },
    blobs,
  };
}

async function inferAgainst(baseUrl: string, model: string, opts: InferOptions): Promise<void> {
  const modelPath = `${baseUrl}/v2/models/${encodeURIComponent(model)}${opts.modelVersion === undefined ? '' : `/versions/${encodeURIComponent(opts.modelVersion)}`}`;
  let metaRes: Response;
  try {
    metaRes = await fetch(modelPath);
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    throw new Error(
      `cannot reach a server at ${baseUrl}${cause}: start one with \`inferd serve -m <repository>\`, point --url at yours, or pass -m <repository> to run the model in this process`,
      { cause: err },
    );
  }
  const meta = (await metaRes.json()) as { error?: string; inputs?: MetadataTensor[] };
  if (!metaRes.ok) throw new Error(meta.error ?? `model metadata request failed with ${metaRes.status}`);
  const { header, blobs } = await buildRequest(opts, meta.inputs ?? []);
  const json = Buffer.from(JSON.stringify(header));
  const headers: Record<string, string> = {
    'content-type': blobs.length > 0 ? 'application/octet-stream' : 'application/json',
  };
  if (blobs.length > 0) headers['inference-header-content-length'] = String(json.length);
  const res = await fetch(`${modelPath}/infer`, { method: 'POST', headers, body: Buffer.concat([json, ...blobs]) });
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length') ?? body.length);
  const response = JSON.parse(body.toString('utf8', 0, headerLength)) as {
    error?: string;
    outputs?: {
      name: string;
      datatype: string;
      shape: number[];
      data?: unknown[];
      parameters?: Record<string, unknown>;
    }[];
  };
  if (!res.ok) throw new Error(response.error ?? `inference failed with ${res.status}`);
  let offset = headerLength;
  for (const out of response.outputs ?? []) {
    const size = out.parameters?.binary_data_size;
    if (typeof size !== 'number' || !isDatatype(out.datatype)) continue;
    const data = decodeBinaryTensorData(out.name, out.datatype, out.shape, body.subarray(offset, offset + size), {
      copy: true,
    });
    offset += size;
    if (opts.outputDir !== undefined) {
      await mkdir(opts.outputDir, { recursive: true });
      const file = path.join(opts.outputDir, `${out.name}.npy`);
      await writeFile(file, encodeNpy(out.datatype, out.shape, data));
    }
    delete out.parameters;
    out.data = encodeJsonTensorData(out.datatype, data);
  }
  process.stdout.write(`${readableJson(response)}\n`);
}

export function inferCommand(): Command {
  return new Command('infer')
    .description('send one inference request built from .npy or .json files and print the outputs')
    .argument('<model>', 'model name')
    .option(
      '-i, --input <name=file>',
      'input tensor from a .npy file (exact dtype and shape) or a .json nested array (repeatable)',
      collect,
      [],
    )
    .option('--request <file>', 'a whole KServe v2 JSON request body instead of --input')
    .option('-u, --url <url>', 'server to send the request to', LOCAL_SERVER_URL)
    .option('-m, --model-repository <path>', 'run in-process on this repository instead of a server')
    .option('--model-version <n>', 'model version (default: the latest ready)')
    .option('-o, --output <name>', 'only this output (repeatable)', collect, [])
    .option('--classification <k>', 'return the top-k classes of each requested output', integer(1, 1000))
    .option('--output-dir <dir>', 'also write each output as <dir>/<name>.npy')
    .addHelpText(
      'after',
      `
Examples:
  $ inferd infer simple --input INPUT0=a.npy --input INPUT1=b.npy
  $ inferd infer iris -m examples/models --input input=flower.json --output probabilities --classification 2`,
    )
    .action(async (model: string, opts: InferOptions) => {
      if (opts.modelRepository === undefined) {
        await inferAgainst(opts.url.replace(/\/+$/, ''), model, opts);
        return;
      }
      // In-process: unlike serve's defaults, a private REST port only (loopback, any free port),
      // so it never collides with a running server.
      const server = await startServer({
        modelRepository: opts.modelRepository,
        host: '127.0.0.1',
        httpPort: 0,
        metricsPort: null,
        grpcPort: null,
        modelControlMode: 'explicit',
        loadModels: [model],
        logLevel: 'silent',
      });
      try {
        await inferAgainst(server.url, model, opts);
      } finally {
        await server.close();
      }
    });
}

/**
 * JSON indented for reading, with each array of plain values (a tensor's data, a shape) on one
 * line: a 1,000-element output is one line, not a thousand.
 */
export function readableJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + readableJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${readableJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
