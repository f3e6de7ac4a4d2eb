// docs/streaming.md works as pasted: its voice-activity command runs examples/clients/vad-stream.mjs
// against a real server and prints what the page shows, its Node snippet prints its replies in
// order, and the client scores a WAV recording and refuses a WAV it cannot read.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encodeWav } from '../../../tools/audio/wav-file.js';
import { SCRIPT, scriptedAudio } from '../../examples/silero-vad-fixture.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CLIENT = path.join(ROOT, 'examples/clients/vad-stream.mjs');

/** The fenced blocks of one language between a heading and the next heading of its level or above. */
async function docBlocks(heading: string, language: string): Promise<string[]> {
  const doc = await readFile(path.join(ROOT, 'docs/streaming.md'), 'utf8');
  const start = doc.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/streaming.md has '${heading}'`);
  const level = heading.split(' ')[0] ?? '#';
  const next = doc.slice(start + heading.length + 2).search(new RegExp(`^#{1,${level.length}} `, 'm'));
  const section = doc.slice(start, next < 0 ? undefined : start + heading.length + 2 + next);
  return [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');
}

/** Speech segments as the client prints them: [from, to] in seconds. */
function segmentsIn(stdout: string): [number, number][] {
  return [...stdout.matchAll(/^speech (\d+\.\d\d) s - (\d+\.\d\d) s$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('docs/streaming.md and the VAD client', () => {
  let server: TestServer;
  let scratch: string;
  const local = (text: string) => text.replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`);

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['silero_vad', 'simple'],
    });
    scratch = await mkdtemp(path.join(os.tmpdir(), 'inferd-vad-'));
  });
  after(async () => {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the voice-activity command prints the segments the page shows', async () => {
    const [command] = await docBlocks('### Try it: voice activity', 'sh');
    const [shown] = await docBlocks('### Try it: voice activity', 'text');
    assert.ok(command !== undefined && shown !== undefined);
    const { stdout } = await run('sh', ['-e', '-c', local(command)], { cwd: ROOT, timeout: 60_000 });
    assert.equal(stdout, shown);
    assert.equal(segmentsIn(stdout).length, 2);
  });

  it('the Node snippet prints its replies in request order', async () => {
    const [snippet] = await docBlocks('### From your own code', 'js');
    assert.ok(snippet !== undefined);
    // Evaluated from the project root, where `ws` resolves, as a file pasted there would be.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', local(snippet)], {
      cwd: ROOT,
      timeout: 30_000,
    });
    assert.equal(stdout, 'request-0 [ 0, 2, 4, 6 ]\nrequest-1 [ 1, 3, 5, 7 ]\nrequest-2 [ 2, 4, 6, 8 ]\n');
  });

  it('finds the speech parts of a WAV recording', async () => {
    const wav = path.join(scratch, 'scripted.wav');
    await writeFile(wav, encodeWav(scriptedAudio()));
    const { stdout } = await run(process.execPath, [CLIENT, wav, '--url', `ws://127.0.0.1:${server.httpPort}`], {
      timeout: 60_000,
    });
    let t = 0;
    const expected = SCRIPT.flatMap((part) => {
      const span = [t, t + part.seconds] as const;
      t += part.seconds;
      return part.speech ? [span] : [];
    });
    const found = segmentsIn(stdout);
    assert.equal(found.length, expected.length, stdout);
    found.forEach(([from, to], i) => {
      const [start, end] = expected[i] ?? [NaN, NaN];
      // The model answers a change within a few frames; the client waits 256 ms of quiet to end.
      assert.ok(from >= start - 0.05 && from <= start + 0.3, `segment ${i} starts at ${from}, speech at ${start}`);
      assert.ok(to >= end - 0.05 && to <= end + 0.6, `segment ${i} ends at ${to}, speech until ${end}`);
    });
  });

  it('refuses a WAV file in another format with a clear message', async () => {
    const wav = path.join(scratch, 'cd-rate.wav');
    await writeFile(wav, encodeWav(new Float32Array(44_100), 44_100));
    await assert.rejects(
      run(process.execPath, [CLIENT, wav, '--url', `ws://127.0.0.1:${server.httpPort}`], { timeout: 30_000 }),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr ?? '', /need 16-bit PCM mono at 16000 Hz, got format 1, 1 channel\(s\), 44100 Hz/);
        return true;
      },
    );
  });
});
