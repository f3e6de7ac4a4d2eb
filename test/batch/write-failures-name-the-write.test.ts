// A failure while writing results (the job's folder broken, a full disk) is reported as what it
// is, not as a failure to read the input.

import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workDir } from '../../src/batch/output-files.js';
import {
  EXAMPLES,
  loadModel,
  removeScratch,
  runJob,
  scratch,
  writeJsonLines,
  withInfer,
  type LoadedModel,
} from './batch-fixture.js';

describe('write failures', () => {
  let dir = '';
  let iris: LoadedModel;

  before(async () => {
    dir = await scratch();
    iris = await loadModel(EXAMPLES, 'iris');
  });
  after(async () => {
    await iris.close();
    await removeScratch(dir);
  });

  it('are not reported as failures to read the input', async () => {
    const input = path.join(dir, 'in.jsonl');
    await writeJsonLines(
      input,
      Array.from({ length: 12 }, (_, i) => ({ input: [5, 3, 1 + (i % 5), 0.2] })),
    );
    const out = path.join(dir, 'out.jsonl');
    const parts = path.join(workDir(out), 'parts');
    // The parts folder becomes a file before the first results are written.
    const broken = withInfer(iris, async (request, real) => {
      await rm(parts, { recursive: true, force: true });
      await writeFile(parts, '');
      return real(request);
    });
    await assert.rejects(runJob(broken, input, out, { batchSize: 1 }), (err: Error) => {
      assert.doesNotMatch(err.message, /reading .* failed/);
      assert.match(err.message, /ENOTDIR.*parts/);
      return true;
    });
  });
});
