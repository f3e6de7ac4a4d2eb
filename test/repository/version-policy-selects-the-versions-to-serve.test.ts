// The version policy picks which version folders of a model are served: latest N, all, or a
// specific list (missing versions are reported, not silently skipped).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import { selectVersions } from '../../src/repository/version-policy.js';

describe('selectVersions', () => {
  it('serves only the highest version by default (latest 1)', () => {
    const policy = modelConfigSchema.parse({}).version_policy;
    assert.deepEqual(policy, { latest: { num_versions: 1 } });
    assert.deepEqual(selectVersions(policy, [1, 3, 2]), { versions: [3] });
  });

  it('serves the highest N versions for latest N, and every version when N exceeds them', () => {
    assert.deepEqual(selectVersions({ latest: { num_versions: 2 } }, [10, 2, 9, 1]), { versions: [9, 10] });
    assert.deepEqual(selectVersions({ latest: { num_versions: 5 } }, [2, 1]), { versions: [1, 2] });
  });

  it('serves every version, sorted numerically, for all', () => {
    assert.deepEqual(selectVersions({ all: {} }, [10, 9, 1]), { versions: [1, 9, 10] });
  });

  it('serves exactly the listed versions for specific, once each', () => {
    assert.deepEqual(selectVersions({ specific: { versions: [3, 1, 3] } }, [1, 2, 3]), { versions: [1, 3] });
  });

  it('reports the specific versions that do not exist', () => {
    assert.deepEqual(selectVersions({ specific: { versions: [1, 4, 5] } }, [1, 2, 3]), { missing: [4, 5] });
  });

  it('serves nothing when there are no version folders', () => {
    assert.deepEqual(selectVersions({ latest: { num_versions: 1 } }, []), { versions: [] });
    assert.deepEqual(selectVersions({ all: {} }, []), { versions: [] });
  });

  it('rejects a policy with zero versions or two kinds at once', () => {
    assert.equal(modelConfigSchema.safeParse({ version_policy: { latest: { num_versions: 0 } } }).success, false);
    assert.equal(modelConfigSchema.safeParse({ version_policy: { specific: { versions: [] } } }).success, false);
    assert.equal(
      modelConfigSchema.safeParse({ version_policy: { all: {}, latest: { num_versions: 1 } } }).success,
      false,
    );
  });
});
