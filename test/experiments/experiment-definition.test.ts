import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { extractBlocks, ROOT } from '../docs/doc-examples.js';
import { formatIssues } from '../../src/config/config-issues.js';
import { checkExperiment } from '../../src/experiments/experiment-definition.js';
import { hashToUnit, pickByWeight, routingPoint } from '../../src/experiments/variant-picker.js';

const names = {
  isModel: (n: string) => ['iris', 'iris_v2', 'simple'].includes(n),
  isExperiment: (n: string) => n === 'other_experiment',
};

function issues(raw: unknown, experiment = 'exp'): string {
  const checked = checkExperiment(experiment, 'repo/exp/experiment.yaml', raw, names);
  assert.equal(checked.ok, false, 'expected the definition to be refused');
  return checked.ok ? '' : formatIssues(checked.issues);
}

describe('experiment definitions', () => {
  it('fills defaults and names variants after their model and version', () => {
    const checked = checkExperiment(
      'exp',
      'api',
      {
        variants: [
          { model: 'iris', weight: 9 },
          { model: 'iris_v2', version: 2, weight: 1 },
        ],
      },
      names,
    );
    assert.ok(checked.ok);
    assert.deepEqual(
      checked.value.variants.map((v) => v.name),
      ['iris', 'iris_v2:2'],
    );
    assert.equal(checked.value.sticky.header, 'x-routing-key');
    assert.equal(checked.value.maxShadowInFlight, 16);
  });

  it('names the file, field and reason of each problem', () => {
    assert.match(
      issues({ variants: [{ model: 'nope', weight: 1 }] }),
      /experiment\.yaml: variants\[0\]\.model: no model 'nope' in the repository/,
    );
    assert.match(issues({ variants: [{ model: 'iris', weight: 0 }] }), /variants: the weights sum to 0/);
    assert.match(issues({ variants: [{ model: 'iris', weight: -1 }] }), /variants\[0\]\.weight/);
    assert.match(
      issues({ variants: [{ model: 'exp', weight: 1 }] }),
      /variants\[0\]\.model: the experiment routes to itself \(a cycle\)/,
    );
    assert.match(
      issues({ variants: [{ model: 'other_experiment', weight: 1 }] }),
      /is an experiment: variants name models, so experiments cannot nest/,
    );
    assert.match(
      issues({
        variants: [
          { model: 'iris', weight: 1 },
          { model: 'iris', weight: 1 },
        ],
      }),
      /variants\[1\]\.name: the name 'iris' is used twice/,
    );
    assert.match(
      issues({ variants: [{ model: 'iris', weight: 1 }], shadows: [{ model: 'simple', fraction: 2 }] }),
      /shadows\[0\]\.fraction/,
    );
    assert.match(issues({ variants: [{ model: 'iris', weight: 1 }], colour: 'red' }), /unknown field\(s\) 'colour'/);
    assert.match(issues({ variants: [{ model: 'iris', weight: 1 }] }, 'iris'), /'iris' is already a model's name/);
    assert.match(
      issues({
        variants: [
          { model: 'iris', weight: 1 },
          { model: 'iris_v2', weight: 0 },
        ],
        canary: { stable: 'iris', canary: 'iris_v3' },
      }),
      /canary\.canary: no variant named 'iris_v3' \(variants: iris, iris_v2\)/,
    );
    assert.match(
      issues({ variants: [{ model: 'iris', weight: 1 }], canary: { stable: 'iris', canary: 'iris' } }),
      /stable and canary must be two different variants/,
    );
  });
});

describe('the documented experiments', () => {
  it('are valid definitions', async () => {
    const file = path.join(ROOT, 'docs/monitoring.md');
    const blocks = extractBlocks('docs/monitoring.md', await readFile(file, 'utf8')).filter((b) => b.lang === 'yaml');
    assert.equal(blocks.length, 2);
    for (const block of blocks) {
      const checked = checkExperiment('ranker_rollout', `docs/monitoring.md:${block.line}`, parseYaml(block.body), {
        isModel: (n) => n === 'ranker' || n === 'ranker_small',
        isExperiment: () => false,
      });
      assert.ok(checked.ok, checked.ok ? '' : formatIssues(checked.issues));
    }
  });
});

describe('variant picking', () => {
  it('falls into the share of the cumulative weights, skipping variants that cannot serve', () => {
    assert.equal(pickByWeight([1, 3], 0.2), 0);
    assert.equal(pickByWeight([1, 3], 0.25), 1);
    assert.equal(pickByWeight([1, 3], 0.99), 1);
    assert.equal(
      pickByWeight([1, 3], 0.1, (i) => i === 1),
      1,
    );
    assert.equal(
      pickByWeight([1, 3], 0.5, () => false),
      -1,
    );
    assert.equal(pickByWeight([0, 0], 0.5), -1);
  });

  it('hashes a key to the same point every time, spread evenly over [0, 1)', () => {
    assert.equal(routingPoint('exp', 'alice'), routingPoint('exp', 'alice'));
    assert.notEqual(routingPoint('exp', 'alice'), routingPoint('other', 'alice'));
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(hashToUnit(`user-${i}`) * 10)]!++;
    // Each decile expects 10,000 (σ ≈ 95): within 5σ.
    for (const b of buckets) assert.ok(Math.abs(b - 10_000) < 475, String(buckets));
  });
});
