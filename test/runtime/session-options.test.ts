// Session options: thread counts that never oversubscribe the cores, and the spin-waiting switch
// (the model's config wins over the process default; batch jobs default it off).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import { sessionOptionsFor } from '../../src/runtime/session-options.js';

function exec(
  optimization: Partial<ResolvedModelConfig['optimization']> = {},
  count = 1,
): Pick<ResolvedModelConfig, 'instanceGroups' | 'optimization'> {
  return {
    instanceGroups: [{ count, kind: 'KIND_CPU', gpus: [] }],
    optimization: {
      graphLevel: 'all',
      intraOpThreads: 0,
      interOpThreads: 1,
      executionProviders: ['cpu'],
      inlineExecution: false,
      ...optimization,
    },
  };
}

test('intra-op threads divide the cores between instances', () => {
  assert.equal(sessionOptionsFor(exec({}, 2), 8).intraOpNumThreads, 4);
  assert.equal(sessionOptionsFor(exec({ intraOpThreads: 3 }, 2), 8).intraOpNumThreads, 3);
});

test('spinning is left to onnxruntime unless the config or the process default says', () => {
  assert.equal(sessionOptionsFor(exec(), 2).allowSpinning, undefined);
  assert.equal(sessionOptionsFor(exec(), 2, { allowSpinning: false }).allowSpinning, false);
  assert.equal(sessionOptionsFor(exec({ allowSpinning: true }), 2, { allowSpinning: false }).allowSpinning, true);
  assert.equal(sessionOptionsFor(exec({ allowSpinning: false }), 2).allowSpinning, false);
});
