// A model config's `text_generation.tool_call_parser` admits exactly the formats the OpenAI edge
// can read, and defaults to Hermes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_CONFIG_DEFAULTS, modelConfigSchema } from '../../../src/config/model-config-schema.js';
import { TOOL_CALL_FORMAT_NAMES, toolCallFormat } from '../../../src/protocols/openai/tool-calls.js';

test('every parser name the config admits is a format, and the default is hermes', () => {
  assert.equal(MODEL_CONFIG_DEFAULTS.text_generation.tool_call_parser, 'hermes');
  for (const name of TOOL_CALL_FORMAT_NAMES) {
    const parsed = modelConfigSchema.safeParse({
      task: 'text-generation',
      text_generation: { tool_call_parser: name },
    });
    assert.ok(parsed.success, `${name} is admitted`);
    assert.equal(toolCallFormat(name).name, name);
  }
  const unknown = modelConfigSchema.safeParse({
    task: 'text-generation',
    text_generation: { tool_call_parser: 'llama3_json' },
  });
  assert.equal(unknown.success, false, 'a name without a format is refused when the config is read');
});
