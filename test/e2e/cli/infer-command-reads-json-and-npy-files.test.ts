// `inferd infer` builds one request from .json or .npy files, runs it in-process on a repository
// (-m) or against a running server (--url), prints v2 JSON and can save outputs as .npy files.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeNpy, encodeNpy } from '../../../src/tensor/npy.js';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { A16, simpleMulVersion } from '../repository/fixtures.js';
import { runCli } from './run-cli.js';

interface InferOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

interface InferResponse {
  model_name: string;
  model_version: string;
  outputs: InferOutput[];
}

const B = A16.map((a) => 2 * a + 1);

function outputsOf(stdout: string): Record<string, InferOutput> {
  const response = JSON.parse(stdout) as InferResponse;
  return Object.fromEntries(response.outputs.map((o) => [o.name, o]));
}

describe('inferd infer', { concurrency: true }, () => {
  let dir = '';
  let repo = '';
  let server: TestServer;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-infer-'));
    await writeFile(path.join(dir, 'a.json'), JSON.stringify([A16]));
    await writeFile(path.join(dir, 'b.json'), JSON.stringify([B]));
    await writeFile(path.join(dir, 'a.npy'), encodeNpy('INT32', [1, 16], Int32Array.from(A16)));
    await writeFile(path.join(dir, 'b.npy'), encodeNpy('INT32', [1, 16], Int32Array.from(B)));
    await writeFile(path.join(dir, 'flower.json'), JSON.stringify([[6.9, 3.1, 5.4, 2.1]]));
    // A server whose `simple` has a second version that multiplies.
    repo = await makeRepository([
      ...simpleModel().map((f) =>
        f.path.endsWith('config.yaml') ? { ...f, bytes: `${String(f.bytes)}version_policy: { all: {} }\n` } : f,
      ),
      simpleMulVersion('simple', 2),
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the sums and differences of JSON inputs', async () => {
    const result = await runCli([
      'infer',
      'simple',
      '-m',
      'examples/models',
      '--input',
      `INPUT0=${path.join(dir, 'a.json')}`,
      '--input',
      `INPUT1=${path.join(dir, 'b.json')}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const response = JSON.parse(result.stdout) as InferResponse;
    assert.equal(response.model_name, 'simple');
    assert.equal(response.model_version, '1');
    const out = outputsOf(result.stdout);
    assert.deepEqual(out.OUTPUT0, {
      name: 'OUTPUT0',
      datatype: 'INT32',
      shape: [1, 16],
      data: A16.map((a, i) => a + (B[i] ?? 0)),
    });
    assert.deepEqual(
      out.OUTPUT1?.data,
      A16.map((a, i) => a - (B[i] ?? 0)),
    );
  });

  it('reads .npy inputs and writes each output as a .npy file that decodes to the right values', async () => {
    const outDir = path.join(dir, 'out');
    const result = await runCli([
      'infer',
      'simple',
      '-m',
      'examples/models',
      '-i',
      `INPUT0=${path.join(dir, 'a.npy')}`,
      '-i',
      `INPUT1=${path.join(dir, 'b.npy')}`,
      '--output-dir',
      outDir,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(outDir)).sort(), ['OUTPUT0.npy', 'OUTPUT1.npy']);
    const sum = decodeNpy(await readFile(path.join(outDir, 'OUTPUT0.npy')));
    const diff = decodeNpy(await readFile(path.join(outDir, 'OUTPUT1.npy')));
    assert.equal(sum.datatype, 'INT32');
    assert.equal(diff.datatype, 'INT32');
    assert.deepEqual(sum.shape, [1, 16]);
    assert.deepEqual(
      Array.from(sum.data),
      A16.map((a, i) => a + (B[i] ?? 0)),
    );
    assert.deepEqual(
      Array.from(diff.data),
      A16.map((a, i) => a - (B[i] ?? 0)),
    );
    assert.deepEqual(outputsOf(result.stdout).OUTPUT0?.data, Array.from(sum.data));
  });

  it('returns only the requested output, classified with its labels', async () => {
    const result = await runCli([
      'infer',
      'iris',
      '-m',
      'examples/models',
      '--input',
      `input=${path.join(dir, 'flower.json')}`,
      '--output',
      'probabilities',
      '--classification',
      '2',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const out = outputsOf(result.stdout);
    assert.deepEqual(Object.keys(out), ['probabilities']);
    assert.equal(out.probabilities?.datatype, 'BYTES');
    assert.deepEqual(out.probabilities?.shape, [1, 2]);
    assert.match(String(out.probabilities?.data[0]), /^0\.\d{6}:2:virginica$/);
  });

  it('says how to get a server when none answers at --url', async () => {
    const result = await runCli(['infer', 'simple', '--request', 'nothing.json', '-u', 'http://127.0.0.1:9']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot reach a server at http:\/\/127\.0\.0\.1:9 \(.*\): start one with `inferd serve -m <repository>`/,
    );
  });

  it('sends the request to a running server with --url and --model-version', async () => {
    const result = await runCli([
      'infer',
      'simple',
      '--url',
      server.url,
      '--model-version',
      '2',
      '-i',
      `INPUT0=${path.join(dir, 'a.json')}`,
      '-i',
      `INPUT1=${path.join(dir, 'b.json')}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as InferResponse).model_version, '2');
    assert.deepEqual(
      outputsOf(result.stdout).OUTPUT0?.data,
      A16.map((a, i) => a * (B[i] ?? 0)),
    );
  });

  it('exits 1 naming the inputs when an input name is wrong', async () => {
    const result = await runCli(['infer', 'simple', '--url', server.url, '-i', `INPUT7=${path.join(dir, 'a.json')}`]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, "inferd: the model has no input 'INPUT7'; it has INPUT0, INPUT1\n");
  });

  it('exits 1 with the server error for an unknown model', async () => {
    const result = await runCli(['infer', 'nothing', '--url', server.url, '-i', `x=${path.join(dir, 'a.json')}`]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "inferd: Request for unknown model: 'nothing' is not found\n");
  });
});
