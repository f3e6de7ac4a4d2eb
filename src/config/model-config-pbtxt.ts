// Triton's config.pbtxt: ModelConfig in protobuf text format, read against the descriptors of
// proto/model_config.proto (Triton's fields, plus inferd's own numbered from 1001) into the JSON
// form that config.yaml / config.json use, and written back from it (`inferd models convert`).

import path from 'node:path';
import protobuf from 'protobufjs';
import { parseTextFormat, writeTextFormat, type JsonObject } from './protobuf-text-format.js';

/** proto/ at the package root, from src/config/ and from dist/config/. */
const MODEL_CONFIG_PROTO = path.resolve(import.meta.dirname, '../../proto/model_config.proto');

let modelConfigType: protobuf.Type | undefined;

function modelConfigMessage(): protobuf.Type {
  if (modelConfigType === undefined) {
    const root = new protobuf.Root().loadSync(MODEL_CONFIG_PROTO, { keepCase: true });
    root.resolveAll();
    modelConfigType = root.lookupType('inference.ModelConfig');
  }
  return modelConfigType;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses config.pbtxt into the JSON form. Where Triton's meaning of an absent field differs from
 * inferd's default, the result says Triton's explicitly: a `sequence_batching` with no strategy
 * is Triton's `direct` (inferd's default is `oldest`); and unless the file has inferd's own
 * `queue_policy` (as `inferd models convert` writes), priorities are off without
 * `priority_levels` and a request's timeout overrides nothing without `allow_timeout_override`,
 * as in Triton. Throws TextFormatError.
 */
export function parseModelConfigPbtxt(text: string): JsonObject {
  const config = parseTextFormat(text, modelConfigMessage());
  // An absent repeated field is empty: a scalar tensor or state has no dims.
  const seq = config['sequence_batching'];
  const tensors = [config['input'], config['output'], isObject(seq) ? seq['state'] : undefined];
  for (const list of tensors) {
    if (Array.isArray(list)) for (const t of list) if (isObject(t)) t['dims'] ??= [];
  }
  if (isObject(seq) && seq['direct'] === undefined && seq['oldest'] === undefined)
    config['sequence_batching'] = { ...seq, direct: {} };
  if (config['queue_policy'] === undefined) {
    const batching = config['dynamic_batching'];
    if (isObject(batching)) {
      batching['priority_levels'] ??= 0;
      const queue = isObject(batching['default_queue_policy']) ? batching['default_queue_policy'] : {};
      queue['allow_timeout_override'] ??= false;
      batching['default_queue_policy'] = queue;
    } else config['queue_policy'] = { priority_levels: 0, allow_timeout_override: false };
  }
  return config;
}

/** Writes a config in the JSON form as config.pbtxt; fields in the proto's order. */
export function modelConfigToPbtxt(config: JsonObject): string {
  return writeTextFormat(config, modelConfigMessage());
}
