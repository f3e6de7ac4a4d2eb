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

/**
 * Parses config.pbtxt into the JSON form. Where Triton's meaning of an absent field differs from
 * inferd's default, the result says Triton's explicitly: a `sequence_batching` with no strategy
 * is Triton's `direct` (inferd's YAML default is `oldest`). Throws TextFormatError.
 */
export function parseModelConfigPbtxt(text: string): JsonObject {
  const config = parseTextFormat(text, modelConfigMessage());
  const seq = config['sequence_batching'];
  if (seq !== undefined && typeof seq === 'object' && !Array.isArray(seq)) {
    if (seq['direct'] === undefined && seq['oldest'] === undefined)
      config['sequence_batching'] = { ...seq, direct: {} };
  }
  return config;
}

/** Writes a config in the JSON form as config.pbtxt; fields in the proto's order. */
export function modelConfigToPbtxt(config: JsonObject): string {
  return writeTextFormat(config, modelConfigMessage());
}
