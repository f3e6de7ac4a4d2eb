// config.pbtxt is read with a real protobuf text-format parser against Triton's ModelConfig
// descriptors: every form protoc accepts parses, and every mistake names its line and field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelConfigToPbtxt, parseModelConfigPbtxt } from '../../src/config/model-config-pbtxt.js';
import { TextFormatError } from '../../src/config/protobuf-text-format.js';

function errorOf(text: string): string {
  try {
    parseModelConfigPbtxt(text);
  } catch (err) {
    assert.ok(err instanceof TextFormatError);
    return err.message;
  }
  assert.fail(`parsed: ${text}`);
}

describe('config.pbtxt parsing', () => {
  it('reads lists, repeated entries, both brackets, optional colons, comments and enums by name', () => {
    const c = parseModelConfigPbtxt(`
      name: "simple"  # the model folder's name
      platform: "onnxruntime_onnx"
      max_batch_size: 8
      input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
              { name: "INPUT1", data_type: TYPE_INT32, dims: [ -1, 0x10 ] } ]
      output { name: "OUTPUT0"; data_type: TYPE_INT32; dims: 16 }
      instance_group [ { count: 2 kind: KIND_CPU } ]
      dynamic_batching <
        preferred_batch_size: 4
        preferred_batch_size: [ 8 ]
        default_queue_policy: { allow_timeout_override: t timeout_action: REJECT }
        priority_queue_policy { key: 2 value { max_queue_size: 3 } }
      >
    `);
    assert.deepEqual(c, {
      name: 'simple',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [-1, 16] },
      ],
      output: [{ name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] }],
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
      dynamic_batching: {
        preferred_batch_size: [4, 8],
        default_queue_policy: { allow_timeout_override: true, timeout_action: 'REJECT' },
        priority_queue_policy: { '2': { max_queue_size: 3 } },
        // Triton's meaning of the absent priority_levels, said explicitly.
        priority_levels: 0,
      },
    });
  });

  it('reads a map of scalars written as entries without a colon, as Triton writes metric_tags', () => {
    const c = parseModelConfigPbtxt(`
      name: "m"
      metric_tags { key: "team" value: "vision" }
      metric_tags: { key: "tier", value: "gold" }
    `);
    assert.deepEqual(c.metric_tags, { team: 'vision', tier: 'gold' });
  });

  it('decodes escapes in both quote kinds and joins adjacent strings', () => {
    const c = parseModelConfigPbtxt(`name: 'a\\'b' "\\x41\\101\\n" "\\u00e9"`);
    assert.equal(c['name'], "a'bAA\né");
  });

  it('reads numbers: negative, hex, octal, floats with exponents and suffixes, inf and nan', () => {
    const c = parseModelConfigPbtxt(`
      sequence_batching { control_input { name: "S" control { kind: CONTROL_SEQUENCE_START
        fp32_false_true: [ -1.5e-1, 2f ] } } }
      max_batch_size: 010
      model_metrics { metric_control { histogram_options { buckets: [ .5, inf, -Infinity ] } } }`);
    const seq = c['sequence_batching'] as { control_input: { control: { fp32_false_true: number[] }[] }[] };
    assert.deepEqual(seq.control_input[0]?.control[0]?.fp32_false_true, [-0.15, 2]);
    assert.equal(c['max_batch_size'], 8);
  });

  it('reads bools as true, false, True, False, t, f, 1 and 0', () => {
    for (const [text, want] of [
      ['True', true],
      ['f', false],
      ['1', true],
      ['False', false],
    ] as const) {
      const c = parseModelConfigPbtxt(`response_cache { enable: ${text} }`);
      assert.deepEqual(c['response_cache'], { enable: want });
    }
  });

  it('names the line, column and field of every mistake', () => {
    assert.equal(errorOf('name: "m"\n  max_batchsize: 8'), "line 2:3: unknown field 'max_batchsize' in ModelConfig");
    assert.match(
      errorOf('input { name: "a" data_type: TYPE_FLOAT }'),
      /line 1:30: 'TYPE_FLOAT' is not a value of DataType/,
    );
    assert.match(errorOf('max_batch_size: "8"'), /'max_batch_size' is an integer/);
    assert.match(errorOf('max_batch_size: 3000000000'), /out of range/);
    assert.match(errorOf('name: "a" name: "b"'), /'name' is given more than once/);
    assert.match(errorOf('dynamic_batching {} sequence_batching {}'), /takes one \(scheduling_choice\)/);
    assert.match(errorOf('name: "a'), /unterminated string/);
    assert.match(errorOf('input {'), /missing '}'/);
    assert.match(errorOf('max_batch_size 8'), /expected ':' after 'max_batch_size'/);
  });

  it("gives a sequence_batching without a strategy Triton's default, direct", () => {
    const c = parseModelConfigPbtxt('sequence_batching { max_sequence_idle_microseconds: 5000 }');
    assert.deepEqual(c['sequence_batching'], { max_sequence_idle_microseconds: 5000, direct: {} });
  });

  it("reads a file without inferd's queue_policy with Triton's queue defaults", () => {
    assert.deepEqual(parseModelConfigPbtxt('max_batch_size: 4')['queue_policy'], {
      priority_levels: 0,
      allow_timeout_override: false,
    });
  });

  it('writes what it reads', () => {
    const text = `name: "m"
max_batch_size: 4
input {
  name: "x"
  data_type: TYPE_FP32
  dims: [-1, 3]
}
dynamic_batching {
  preferred_batch_size: [2, 4]
  priority_queue_policy {
    key: 1
    value {
      max_queue_size: 3
    }
  }
}
parameters {
  key: "k"
  value {
    string_value: "v \\"q\\""
  }
}
queue_policy {
  max_queue_size: 8
}
`;
    assert.equal(modelConfigToPbtxt(parseModelConfigPbtxt(text)), text);
  });
});
