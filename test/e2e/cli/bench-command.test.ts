// `inferd bench` runs the real command line against a real server: it sweeps the levels asked
// for, writes JSON results with throughput, ordered percentiles and the server's split, draws the
// chart, and refuses bad specs, unknown models and unreachable servers with a clear message.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BenchReport } from '../../../src/loadgen/bench-results.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { runCli } from './run-cli.js';

const TINY = ['--window-ms', '200', '--max-windows', '3'];

function assertOrderedPercentiles(report: BenchReport): void {
  for (const r of report.results) {
    const l = r.latencyUs;
    assert.ok(l.p50 > 0, `p50 ${l.p50}`);
    assert.ok(l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
  }
}

describe('inferd bench', { concurrency: true }, () => {
  let server: TestServer;
  let dir = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-'));
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      logLevel: 'warn',
    });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sweeps concurrency and writes JSON results and a chart', async () => {
    const json = path.join(dir, 'concurrency.json');
    const chart = path.join(dir, 'concurrency.svg');
    const result = await runCli([
      'bench',
      'simple',
      '-u',
      server.url,
      '--concurrency',
      '1,2',
      ...TINY,
      '--json',
      json,
      '--chart',
      chart,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(await readFile(json, 'utf8')) as BenchReport;
    assert.equal(report.mode, 'concurrency');
    assert.equal(report.encoding, 'json');
    assert.deepEqual(
      report.inputs.map((i) => [i.name, i.datatype, i.shape]),
      [
        ['INPUT0', 'INT32', [1, 16]],
        ['INPUT1', 'INT32', [1, 16]],
      ],
    );
    assert.deepEqual(
      report.results.map((r) => r.concurrency),
      [1, 2],
    );
    for (const r of report.results) {
      assert.ok(r.throughput > 0, `throughput ${r.throughput}`);
      assert.equal(r.errors, 0);
      assert.ok(r.windows.length >= 1 && r.windows.length <= 3);
      assert.ok(r.server !== null, 'server split');
      assert.ok(r.server.requests > 0);
      assert.ok(r.server.computeInferUs > 0);
      for (const v of [r.server.queueUs, r.server.computeInputUs, r.server.computeOutputUs, r.server.overheadUs])
        assert.ok(v >= 0);
    }
    assertOrderedPercentiles(report);
    // The table: a header, then one row per level.
    assert.match(result.stdout, /concurrency +infer\/s +p50 µs/);
    assert.match(result.stdout, /\n +1 +[\d,.]+ /);
    assert.match(result.stdout, /\n +2 +[\d,.]+ /);
    const svg = await readFile(chart, 'utf8');
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
    assert.equal([...svg.matchAll(/class="point p50"/g)].length, 2);
    assert.equal([...svg.matchAll(/class="point p99"/g)].length, 2);
  });

  it('sends at a request rate with binary tensors', async () => {
    const json = path.join(dir, 'rate.json');
    const result = await runCli([
      'bench',
      'simple',
      '-u',
      server.url,
      '--request-rate',
      '100,200',
      '--binary',
      '--batch-size',
      '2',
      ...TINY,
      '--json',
      json,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(await readFile(json, 'utf8')) as BenchReport;
    assert.equal(report.mode, 'request-rate');
    assert.equal(report.encoding, 'binary');
    assert.equal(report.batchSize, 2);
    assert.deepEqual(
      report.results.map((r) => r.requestRate),
      [100, 200],
    );
    for (const r of report.results) {
      assert.ok(r.throughput > 0);
      assert.ok(r.sends !== null && r.sends.sent > 0);
      assert.ok(r.server !== null && r.server.requests > 0);
    }
    assertOrderedPercentiles(report);
    assert.match(result.stdout, /rate\/s +infer\/s .* late +dropped/);
  });

  for (const [spec, message] of [
    ['1:64:x1', "the factor in '1:64:x1' must be a number greater than 1"],
    ['0', "concurrency must be an integer of at least 1, got '0'"],
  ]) {
    it(`refuses --concurrency ${spec} with a clear message`, async () => {
      const result = await runCli(['bench', 'simple', '-u', server.url, '--concurrency', spec!]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.ok(
        result.stderr.startsWith(`error: option '-c, --concurrency <spec>' argument '${spec}' is invalid. ${message}`),
        result.stderr,
      );
    });
  }

  it('names a model the server does not have', async () => {
    const result = await runCli(['bench', 'nosuch', '-u', server.url, ...TINY]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^inferd: model 'nosuch' is not available at ${server.url}: `));
  });

  it('says when the server cannot be reached', async () => {
    const result = await runCli(['bench', 'simple', '-u', 'http://127.0.0.1:1', ...TINY]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^inferd: cannot reach the server at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  });

  it('documents every option with examples', async () => {
    const result = await runCli(['bench', '--help']);
    assert.equal(result.code, 0);
    const text = result.stdout.replace(/\s+/g, ' ');
    for (const option of [
      'Usage: inferd bench [options] <model>',
      '--url <url>',
      '--concurrency <spec>',
      '--request-rate <spec>',
      '--binary',
      '--input <name=file>',
      '--shape <name=dims>',
      '--batch-size <n>',
      '--window-ms <ms>',
      '--max-windows <n>',
      '--stability <fraction>',
      '--json <file>',
      '--chart <file>',
      '--model-version <n>',
      'Examples:',
    ])
      assert.ok(text.includes(option), `help lacks ${option}:\n${result.stdout}`);
  });
});
