// `inferd bench` against a real server that accounts cost: the JSON results carry CPU-seconds per
// inference over the reported windows, priced at the server's --cost-per-cpu-hour, and the table
// shows them; the bench's own --cost-per-cpu-hour replaces the server's price.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BenchReport } from '../../../src/loadgen/bench-results.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { runCli } from '../cli/run-cli.js';

const TINY = ['--window-ms', '200', '--max-windows', '3'];
const SERVER_PRICE = 0.05;

describe('inferd bench: cost per inference', () => {
  let server: TestServer;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-cost-'));
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
      costPerCpuHour: SERVER_PRICE,
    });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function bench(name: string, extra: readonly string[] = []): Promise<{ report: BenchReport; stdout: string }> {
    const json = path.join(dir, `${name}.json`);
    const result = await runCli(['bench', 'simple', '-u', server.url, ...TINY, '--json', json, ...extra]);
    assert.equal(result.code, 0, result.stderr);
    return { report: JSON.parse(await readFile(json, 'utf8')) as BenchReport, stdout: result.stdout };
  }

  it("reports CPU-seconds per inference and prices them at the server's rate", async () => {
    const { report, stdout } = await bench('server-price');
    const cost = report.results[0]?.cost;
    assert.ok(cost !== null && cost !== undefined, 'a cost split');
    assert.ok(cost.inferences > 0);
    assert.ok(cost.cpuSecondsPerInference > 0, `cpu-s per inference ${cost.cpuSecondsPerInference}`);
    assert.equal(cost.gpuSecondsPerInference, 0);
    assert.equal(cost.cpuPerHour, SERVER_PRICE);
    const expected = ((cost.cpuSecondsPerInference * SERVER_PRICE) / 3600) * 1000;
    assert.ok(Math.abs((cost.costPer1kInferences ?? 0) - expected) < 1e-15);
    assert.match(stdout, /overhead +cpu\/inf +cost\/1k\n/);
    assert.match(stdout, /cost\/1k: per 1,000 inferences at 0\.05 per CPU-hour/);
  });

  it("applies the bench's --cost-per-cpu-hour in place of the server's", async () => {
    const { report } = await bench('bench-price', ['--cost-per-cpu-hour', '36']);
    const cost = report.results[0]?.cost;
    assert.ok(cost !== null && cost !== undefined);
    assert.equal(cost.cpuPerHour, 36);
    const expected = ((cost.cpuSecondsPerInference * 36) / 3600) * 1000;
    assert.ok(Math.abs((cost.costPer1kInferences ?? 0) - expected) < 1e-12);
  });
});
