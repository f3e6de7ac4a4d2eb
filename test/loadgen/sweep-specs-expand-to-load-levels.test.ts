// --concurrency and --request-rate specs expand to the load levels measured, and a bad spec is
// refused with a message that names the bad part.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SWEEP_POINTS, parseSweep, SweepSpecError } from '../../src/loadgen/sweep-spec.js';

describe('sweep specs', () => {
  const levels: [string, 'concurrency' | 'request-rate', number[]][] = [
    ['8', 'concurrency', [8]],
    ['1,8,64', 'concurrency', [1, 8, 64]],
    [' 4, 2 ,1 ', 'concurrency', [4, 2, 1]],
    ['1:4', 'concurrency', [1, 2, 3, 4]],
    ['2:10:4', 'concurrency', [2, 6, 10]],
    ['1:64:x2', 'concurrency', [1, 2, 4, 8, 16, 32, 64]],
    ['1:100:x2', 'concurrency', [1, 2, 4, 8, 16, 32, 64]],
    ['1:10:x1.5', 'concurrency', [1, 2, 3, 5, 8]],
    ['100:1000:x2', 'request-rate', [100, 200, 400, 800]],
    ['0.5', 'request-rate', [0.5]],
    ['0.1:0.3:0.1', 'request-rate', [0.1, 0.2, 0.3]],
    ['250,50.5', 'request-rate', [250, 50.5]],
  ];
  for (const [spec, kind, expected] of levels) {
    it(`expands ${kind} '${spec}' to ${expected.join(', ')}`, () => {
      assert.deepEqual(parseSweep(spec, kind), expected);
    });
  }

  const refusals: [string, 'concurrency' | 'request-rate', RegExp][] = [
    ['0', 'concurrency', /^concurrency must be an integer of at least 1, got '0'$/],
    ['1.5', 'concurrency', /concurrency must be an integer of at least 1, got '1.5'/],
    ['1,0,4', 'concurrency', /got '0' in '1,0,4'/],
    ['', 'concurrency', /expected a concurrency, a list \(1,8,64\) or a range \(1:64:x2\)/],
    ['abc', 'concurrency', /got 'abc'/],
    ['-4', 'concurrency', /got '-4'/],
    ['1:64:x1', 'concurrency', /the factor in '1:64:x1' must be a number greater than 1 .*got 'x1'/],
    ['1:64:x0.5', 'concurrency', /factor .* greater than 1/],
    ['64:1', 'concurrency', /the range '64:1' ends \(1\) before it starts \(64\)/],
    ['1:8:0', 'concurrency', /the step in '1:8:0' must be a positive integer/],
    ['1:8:1.5', 'concurrency', /the step in '1:8:1.5' must be a positive integer/],
    ['1:2:3:4', 'concurrency', /a range is start:end, start:end:step or start:end:xFACTOR/],
    ['1:100000', 'concurrency', new RegExp(`gives 100000 load levels; at most ${MAX_SWEEP_POINTS}`)],
    ['0', 'request-rate', /request rate must be a positive number of requests\/s, got '0'/],
    ['1e3', 'request-rate', /got '1e3'/],
  ];
  for (const [spec, kind, message] of refusals) {
    it(`refuses ${kind} '${spec}'`, () => {
      assert.throws(
        () => parseSweep(spec, kind),
        (err: unknown) => err instanceof SweepSpecError && message.test(err.message),
      );
    });
  }
});
