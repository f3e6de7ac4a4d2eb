// Classification labels: one label per line in a file named by an output's label_filename, read
// from inside the model folder only.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import { readLabels } from '../../src/config/model-config-file.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import { scanModelFolder, type ModelFolder } from '../../src/repository/repository-scanner.js';
import { makeRepository, removeRepository } from '../helpers/repository-files.js';

const repos: string[] = [];
after(async () => {
  await Promise.all(repos.map((r) => removeRepository(r)));
});

/** A classifier folder whose output names `labelFile`, with the given extra files. */
async function classifier(
  labelFile: string,
  files: Record<string, string>,
): Promise<{ folder: ModelFolder; config: ResolvedModelConfig }> {
  const configText = `max_batch_size: 4
output:
  - { name: probs, data_type: TYPE_FP32, dims: [3], label_filename: ${JSON.stringify(labelFile)} }
`;
  const repo = await makeRepository([
    { path: 'c/1/model.onnx', bytes: 'unused' },
    { path: 'c/config.yaml', bytes: configText },
    ...Object.entries(files).map(([p, bytes]) => ({ path: `c/${p}`, bytes })),
  ]);
  repos.push(repo);
  const folder = await scanModelFolder(repo, 'c');
  assert.ok(folder !== undefined);
  const parsed = modelConfigSchema.parse({
    max_batch_size: 4,
    output: [{ name: 'probs', data_type: 'TYPE_FP32', dims: [3], label_filename: labelFile }],
  });
  const graph = {
    inputs: [{ name: 'x', elementType: 'float32', datatype: 'FP32' as const, isTensor: true, shape: [-1, 4] }],
    outputs: [{ name: 'probs', elementType: 'float32', datatype: 'FP32' as const, isTensor: true, shape: [-1, 3] }],
  };
  const resolved = resolveModelConfig(folder, parsed, graph);
  assert.ok(resolved.ok);
  return { folder, config: resolved.value };
}

describe('readLabels', () => {
  it('reads one label per line, ignoring the final newline', async () => {
    const { folder, config } = await classifier('labels.txt', { 'labels.txt': 'cat\ndog\r\nbird\n' });
    const labels = await readLabels(folder, config);
    assert.ok(labels.ok);
    assert.deepEqual(labels.value.get('probs'), ['cat', 'dog', 'bird']);
  });

  it('reads labels from a subfolder of the model folder', async () => {
    const { folder, config } = await classifier('meta/classes.txt', { 'meta/classes.txt': 'a\nb\nc' });
    const labels = await readLabels(folder, config);
    assert.ok(labels.ok);
    assert.deepEqual(labels.value.get('probs'), ['a', 'b', 'c']);
  });

  it('reports a missing labels file with its path and the field', async () => {
    const { folder, config } = await classifier('labels.txt', {});
    const labels = await readLabels(folder, config);
    assert.ok(!labels.ok);
    assert.equal(labels.issues[0]?.file, path.join(folder.dir, 'labels.txt'));
    assert.equal(labels.issues[0]?.field, 'output[0].label_filename');
    assert.match(labels.issues[0]?.reason ?? '', /^cannot read labels: .*ENOENT/);
  });

  it('refuses a labels file outside the model folder', async () => {
    const { folder, config } = await classifier('../other/labels.txt', {});
    const labels = await readLabels(folder, config);
    assert.ok(!labels.ok);
    assert.deepEqual(labels.issues, [
      {
        file: path.join(folder.dir, 'config.yaml'),
        field: 'output[0].label_filename',
        reason: 'must name a file inside the model folder',
      },
    ]);
  });
});
