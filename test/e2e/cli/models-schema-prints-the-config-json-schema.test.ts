// `inferd models schema` prints the JSON Schema of config.yaml / config.json, generated from the
// same schema the loader validates with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './run-cli.js';

interface JsonSchema {
  $schema?: string;
  type?: string;
  properties?: Record<string, JsonSchema & { enum?: string[]; items?: JsonSchema }>;
  additionalProperties?: boolean;
  items?: JsonSchema;
}

describe('inferd models schema', () => {
  it('prints a strict JSON Schema of the model config', async () => {
    const result = await runCli(['models', 'schema']);
    assert.equal(result.code, 0, result.stderr);
    const schema = JSON.parse(result.stdout) as JsonSchema;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.type, 'object');
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), [
      'backend',
      'default_model_filename',
      'dynamic_batching',
      'embedding',
      'input',
      'instance_group',
      'max_batch_size',
      'model_warmup',
      'monitoring',
      'name',
      'optimization',
      'output',
      'parameters',
      'platform',
      'queue_policy',
      'rerank',
      'response_cache',
      'runtime',
      'sequence_batching',
      'task',
      'text_generation',
      'version_policy',
    ]);
    assert.equal(schema.properties?.max_batch_size?.type, 'integer');
    const tensor = schema.properties?.input?.items;
    assert.equal(tensor?.additionalProperties, false);
    const dataType = tensor?.properties?.data_type;
    assert.ok(dataType?.enum?.includes('TYPE_FP32'));
    assert.ok(dataType?.enum?.includes('TYPE_STRING'));
  });
});
