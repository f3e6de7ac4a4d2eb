// The README's examples work as pasted: its shell blocks run against a real server (port
// rewritten, scratch files in a temporary folder) and print what the README says they print.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { freePort } from '../../../bench/lib/inferd-process.js';

const run = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** The body of every ```sh block between two headings of the README. */
async function shellBlocks(fromHeading: string, toHeading: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(fromHeading);
  const end = readme.indexOf(toHeading, start + 1);
  assert.ok(start >= 0 && end > start, `README sections '${fromHeading}'..'${toHeading}' exist`);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').join('\n');
}

describe('README examples', () => {
  let server: TestServer;
  let scratch: string;

  before(async () => {
    server = await startTestServer({ modelRepository: EXAMPLES_DIR });
    scratch = await mkdtemp(path.join(os.tmpdir(), 'inferd-readme-'));
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the "Batch inference" examples (batch run, sql) print what the README says', async () => {
    const script = (await shellBlocks('## Batch inference', '## Text generation'))
      .replaceAll('/tmp/', `${scratch}/`)
      .replaceAll('node bin/inferd.js', `node ${path.join(ROOT, 'bin/inferd.js')}`);
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 120_000 });
    assert.match(stdout, /\{"row":0,"id":"f1","probabilities_label":"setosa"\}/);
    assert.match(stdout, /\{"row":1,"id":"f2","probabilities_label":"virginica"\}/);
    assert.match(stdout, /^id,species\nf1,setosa\nf2,virginica$/m);
    const copied = await readFile(path.join(scratch, 'p.parquet'));
    assert.equal(copied.subarray(0, 4).toString('latin1'), 'PAR1');
  });

  it('the streaming and text-generation examples answer against the bundled models', async () => {
    const script = [
      await shellBlocks('## Streams and stateful models', '## Batch inference'),
      await shellBlocks('## Text generation and the OpenAI API', '## Model repository'),
    ]
      .join('\n')
      .replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`)
      .replace('vad-stream.mjs', `vad-stream.mjs --url ws://127.0.0.1:${server.httpPort}`);
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 120_000 });
    assert.match(stdout, /speech/i, 'the VAD client reports speech segments');
    assert.match(stdout, /"object":"chat\.completion"/);
    assert.match(stdout, /"finish_reason":"(stop|length)"/);
  });

  it('the "Security" session: a key made, a server started with it, 401 / 200 / 403 as commented', async () => {
    const port = await freePort();
    const script = (await shellBlocks('## Security', '## Deploy'))
      .replaceAll('localhost:8000', `127.0.0.1:${port}`)
      .replaceAll('--http-port 8000', `--http-port ${port}`)
      .replaceAll('/tmp/', `${scratch}/`)
      .replaceAll('node bin/inferd.js', `node ${path.join(ROOT, 'bin/inferd.js')}`);
    // If a line fails, the server started in the background must not outlive the test.
    const { stdout } = await run('sh', ['-e', '-c', `trap 'kill $! 2>/dev/null || true' EXIT\n${script}`], {
      cwd: ROOT,
      timeout: 120_000,
    });
    const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
    assert.match(lines[0] ?? '', /"error":"GET \/v2\/models\/:model needs an API key with scope 'read'/);
    assert.match(lines[1] ?? '', /^\{"name":"simple","versions":\["1"\]/);
    assert.match(lines[2] ?? '', /API key 'team-a' lacks the scope 'admin:repository'/);
    const key = (await readFile(path.join(scratch, 'team-a.key'), 'utf8')).trim();
    const keyFile = await readFile(path.join(scratch, 'inferd-keys.yaml'), 'utf8');
    assert.ok(!keyFile.includes(key), 'the key file holds the hash, not the key');
  });

  it('the "Try it" curl session answers as documented', async () => {
    const script = (await shellBlocks('## Try it', '## The REST API'))
      .replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`)
      .replaceAll('/tmp/', `${scratch}/`)
      .replace(/^node bin\/inferd\.js/m, `node ${path.join(ROOT, 'bin/inferd.js')}`);
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 60_000 });

    assert.match(stdout, /HTTP\/1\.1 200 OK/);
    assert.match(stdout, /"extensions":\["classification"/);
    assert.match(
      stdout,
      /"id":"my-request","outputs":\[\{"name":"OUTPUT0","datatype":"INT32","shape":\[1,16\],"data":\[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\]/,
    );
    assert.match(stdout, /"data":\["0\.\d{6}:0:setosa","0\.\d{6}:1:versicolor","0\.\d{6}:2:virginica"/);
    assert.match(stdout, /"data":\["hello","wörld"\]/);
    // The binary round trip prints the header length, then the sums and differences.
    assert.match(stdout, /inference-header-content-length: \d+/i);
    assert.match(stdout, /^\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9\s+10\s+11\s+12\s+13\s+14\s+15\s+16$/m);
    assert.match(stdout, /^\s+-1\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9\s+10\s+11\s+12\s+13\s+14$/m);
    assert.match(stdout, /"max_batch_size":8/);
    assert.match(stdout, /"inference_stats":\{"success":\{"count":\d+/);
    assert.match(stdout, /\{"name":"simple","version":"1","state":"READY","reason":""\}/);
    assert.match(stdout, /nv_inference_request_success\{model="simple",version="1"\} \d+/);
    assert.match(stdout, /\{"error":"input 'INPUT0': expected 16 elements for shape \[1,16\] but got 3"\}/);
    assert.match(stdout, /"data": \["0\.\d{6}:0:setosa"\]/, 'the in-process CLI example classifies the flower');
  });
});
