// `inferd batch run` killed with SIGKILL after its first checkpoint resumes when run again with the
// same arguments: the output then holds every input row exactly once, with the values of a run
// that was never interrupted. Stopped with Ctrl-C, it first commits the rows it finished and
// prints the command that resumes it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { workDir } from '../../../src/batch/output-files.js';
import { query, removeScratch, scratch } from '../../batch/batch-fixture.js';
import { BIN, ROOT, runCli } from './run-cli.js';

const ROWS = 12_000;

async function waitForFirstPart(output: string, child: ReturnType<typeof spawn>): Promise<void> {
  const file = path.join(workDir(output), 'checkpoint.json');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    assert.equal(child.exitCode, null, 'the job finished before it could be killed; give it more rows');
    try {
      const cp = JSON.parse(await readFile(file, 'utf8')) as { parts: unknown[] };
      if (cp.parts.length > 0) return;
    } catch {
      // Not written yet, or being renamed into place.
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no checkpoint within 60 s');
}

describe('batch run after SIGKILL', () => {
  let dir = '';
  let input = '';

  before(async () => {
    dir = await scratch();
    input = path.join(dir, 'features.parquet');
    await query(
      `COPY (SELECT range AS id, [sin(range * 0.37 + j)::FLOAT for j in range(256)]::FLOAT[256] AS input FROM range(${ROWS})) TO '${input}' (FORMAT parquet)`,
    );
  });
  after(() => removeScratch(dir));

  const args = (out: string): string[] => [
    'batch',
    'run',
    '-m',
    'examples/models',
    '--model',
    'mlp',
    '-i',
    input,
    '-o',
    out,
    '--id-column',
    'id',
    '--keep',
    'logits',
    '--keep',
    'logits:argmax',
    '--batch-size',
    '32',
    '--checkpoint-rows',
    '500',
    '--cpu-cores',
    '1',
    '--quiet',
  ];

  it('resumes where it stopped and writes every row exactly once with clean-run values', async () => {
    const clean = path.join(dir, 'clean.parquet');
    const cleanRun = await runCli(args(clean), { timeoutMs: 120_000 });
    assert.equal(cleanRun.code, 0, cleanRun.stderr);

    const out = path.join(dir, 'killed.parquet');
    const child = spawn(process.execPath, [BIN, ...args(out)], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await waitForFirstPart(out, child);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const cp = JSON.parse(await readFile(path.join(workDir(out), 'checkpoint.json'), 'utf8')) as { nextRow: number };
    assert.ok(cp.nextRow > 0 && cp.nextRow < ROWS, `killed mid-job (checkpoint at row ${cp.nextRow})`);

    const resumed = await runCli(
      args(out).filter((a) => a !== '--quiet'),
      { timeoutMs: 120_000 },
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resumed at row ${cp.nextRow}`));

    const [check] = await query(`
      WITH a AS (SELECT * FROM read_parquet('${out}')), b AS (SELECT * FROM read_parquet('${clean}'))
      SELECT (SELECT count(*) FROM a)::INTEGER AS n, (SELECT count(DISTINCT row) FROM a)::INTEGER AS distinct_rows,
        (SELECT count(*) FROM a FULL OUTER JOIN b USING (row)
          WHERE a.logits IS DISTINCT FROM b.logits OR a.id IS DISTINCT FROM b.id
             OR a.logits_argmax IS DISTINCT FROM b.logits_argmax)::INTEGER AS differing`);
    assert.deepEqual(check, { n: ROWS, distinct_rows: ROWS, differing: 0 });

    const again = await runCli(args(out).filter((a) => a !== '--quiet'));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /is already complete \(12000 rows, 0 errors\); nothing to do/);
  });

  it('on Ctrl-C commits the rows it finished, prints the command that resumes, and resumes with it', async () => {
    const out = path.join(dir, 'interrupted.parquet');
    const child = spawn(process.execPath, [BIN, ...args(out)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForFirstPart(out, child);
    const before = JSON.parse(await readFile(path.join(workDir(out), 'checkpoint.json'), 'utf8')) as {
      nextRow: number;
    };
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const cp = JSON.parse(await readFile(path.join(workDir(out), 'checkpoint.json'), 'utf8')) as { nextRow: number };
    assert.ok(cp.nextRow >= before.nextRow && cp.nextRow < ROWS, `stopped mid-job (checkpoint at row ${cp.nextRow})`);
    assert.match(stderr, /SIGINT: finishing the rows in flight and committing them/);
    assert.match(stderr, new RegExp(`stopped after ${cp.nextRow} of ${ROWS} rows; the finished rows are committed`));
    const command = /Resume with the same command:\n {2}(.+)\n/.exec(stderr)?.[1];
    assert.equal(command, ['inferd', ...args(out)].join(' '));

    const resumed = await runCli(
      args(out).filter((a) => a !== '--quiet'),
      { timeoutMs: 120_000 },
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resumed at row ${cp.nextRow}`));
    const [check] = await query(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT row)::INTEGER AS distinct_rows FROM read_parquet('${out}')`,
    );
    assert.deepEqual(check, { n: ROWS, distinct_rows: ROWS });
  });
});
