// The example Kubernetes manifest for sharded batch runs is a valid Indexed Job (and merge Job)
// whose arguments `inferd batch run` accepts, with --shard-count equal to the Job's completions.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';

const MANIFEST = path.resolve(import.meta.dirname, '../../deploy/kubernetes/batch-job.yaml');

async function jobs(): Promise<Job[]> {
  const docs = parseAllDocuments(await readFile(MANIFEST, 'utf8'));
  return docs.map((d) => new Job(d.toJS() as ConstructorParameters<typeof Job>[0]));
}

describe('deploy/kubernetes/batch-job.yaml', () => {
  it('holds two Jobs that pass Kubernetes schema validation', async () => {
    const all = await jobs();
    assert.deepEqual(
      all.map((j) => j.metadata?.name),
      ['inferd-batch', 'inferd-batch-merge'],
    );
    for (const j of all) j.validate();
  });

  it('shards by completion index with --shard-count equal to completions', async () => {
    const [run] = await jobs();
    assert.equal(run?.spec?.completionMode, 'Indexed');
    const args = run?.spec?.template.spec?.containers[0]?.args ?? [];
    assert.deepEqual(args.slice(0, 2), ['batch', 'run']);
    assert.ok(args.includes(`--shard-count=${run?.spec?.completions}`));
    assert.ok(!args.some((a) => a.startsWith('--shard-index')), 'the index comes from JOB_COMPLETION_INDEX');
  });

  it('passes arguments that the command line parses', async () => {
    for (const job of await jobs()) {
      const container = job.spec?.template.spec?.containers[0];
      assert.deepEqual(container?.command, ['inferd']);
      const program = (await buildProgram()).exitOverride();
      const batch = program.commands.find((c) => c.name() === 'batch');
      for (const sub of batch?.commands ?? []) sub.exitOverride().action(() => undefined);
      await program.parseAsync(['node', 'inferd', ...(container?.args ?? [])]);
    }
  });
});
