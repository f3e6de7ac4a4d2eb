// --cost-per-cpu-hour and --cost-per-gpu-hour (serve and bench) take a number of 0 or more: a bad
// value exits before anything starts, naming the option and echoing the value; the server config
// refuses a negative price from the API too, naming the field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInProcess } from '../../helpers/parse-in-process.js';
import { resolveServerConfig } from '../../../src/config/server-config.js';
import { InferdError } from '../../../src/errors/index.js';

describe('cost price options', () => {
  for (const [command, flag, value] of [
    ['serve', '--cost-per-cpu-hour', '-0.5'],
    ['serve', '--cost-per-gpu-hour', 'two'],
    ['serve', '--cost-per-cpu-hour', ''],
    ['bench', '--cost-per-cpu-hour', 'NaN'],
    ['bench', '--cost-per-gpu-hour', '-1'],
  ] as const) {
    it(`refuses ${command} ${flag} '${value}'`, async () => {
      const args = command === 'serve' ? ['serve', '-m', 'examples/models'] : ['bench', 'simple'];
      const result = await parseInProcess([...args, flag, value]);
      assert.equal(result.exitCode, 1);
      assert.equal(
        result.stderr.split('\n')[0],
        `error: option '${flag} <n>' argument '${value}' is invalid. expected a number of 0 or more, got '${value}'`,
      );
    });
  }

  it('refuses a negative price in the server config, naming the field', () => {
    assert.throws(
      () => resolveServerConfig({ modelRepository: 'examples/models', costPerGpuHour: -2 }),
      (err: unknown) =>
        err instanceof InferdError && err.code === 'INF_ERR_INVALID_CONFIG' && /costPerGpuHour/.test(err.message),
    );
  });

  it('takes 0 and fractions, and leaves both unset by default', () => {
    const set = resolveServerConfig({ modelRepository: 'm', costPerCpuHour: 0, costPerGpuHour: 2.75 });
    assert.equal(set.costPerCpuHour, 0);
    assert.equal(set.costPerGpuHour, 2.75);
    const unset = resolveServerConfig({ modelRepository: 'm' });
    assert.equal(unset.costPerCpuHour, null);
    assert.equal(unset.costPerGpuHour, null);
  });
});
