// GET /v2/models/{m}/drift and /versions/{v}/drift answer DriftMonitors' report, declare the
// statistics access group, and answer 404 for a model without a report and 400 for a bad version.

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { InferdError } from '../../../src/errors/index.js';
import { DriftMonitors } from '../../../src/monitoring/drift-monitors.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { makeErrorHandler } from '../../../src/protocols/common/error-handler.js';
import { registerDriftRoutes } from '../../../src/protocols/kserve-http/routes-drift.js';
import { routeAccessOf } from '../../../src/protocols/common/route-access.js';
import { normals, resolvedConfig, rowsTensor } from '../../monitoring/drift-fixtures.js';

describe('the drift routes', () => {
  it('answer the report, 404 without one and 400 for a bad version', async () => {
    const repository = mkdtempSync(path.join(tmpdir(), 'inferd-drift-routes-'));
    mkdirSync(path.join(repository, 'iris'));
    const draw = normals(21);
    const lines = Array.from({ length: 300 }, () => JSON.stringify({ input: [draw(), draw(), draw(), draw()] }));
    writeFileSync(path.join(repository, 'iris', 'reference.jsonl'), lines.join('\n'));
    const drift = new DriftMonitors({ repository, metrics: new Metrics(), logger: createLogger('silent') });
    const config = resolvedConfig(
      repository,
      'iris',
      { inputs: [['input', 'FP32', [4]]], outputs: [] },
      { monitoring: { drift: { window: 50 } } },
    );
    drift
      .monitorFor({ name: 'iris', version: 1, config })
      ?.observeInputs([rowsTensor('input', 50, 4, () => draw())], 50);

    const routes: { url: string; group: string | undefined }[] = [];
    const app = Fastify();
    app.addHook(
      'onRoute',
      (r) => void routes.push({ url: r.url, group: routeAccessOf('GET', r.url, undefined)?.group }),
    );
    app.setErrorHandler(
      makeErrorHandler({
        format: 'kserve',
        bodyTooLarge: () => new InferdError('INF_ERR_BODY_TOO_LARGE', 'too large'),
      }),
    );
    registerDriftRoutes(app, drift);
    await app.ready();
    assert.deepEqual(
      new Set(routes.filter((r) => r.url.endsWith('/drift')).map((r) => `${r.url} ${r.group}`)),
      new Set(['/v2/models/:model/drift statistics', '/v2/models/:model/versions/:version/drift statistics']),
    );

    const all = await app.inject({ method: 'GET', url: '/v2/models/iris/drift' });
    assert.equal(all.statusCode, 200);
    const body = all.json<{ model: string; versions: { version: number; windows: number; state: string }[] }>();
    assert.equal(body.model, 'iris');
    assert.deepEqual(
      body.versions.map((v) => [v.version, v.state, v.windows]),
      [[1, 'monitoring', 1]],
    );
    assert.equal((await app.inject({ method: 'GET', url: '/v2/models/iris/versions/1/drift' })).statusCode, 200);

    const none = await app.inject({ method: 'GET', url: '/v2/models/iris/versions/2/drift' });
    assert.equal(none.statusCode, 404);
    assert.match(none.json<{ error: string }>().error, /no drift report for model 'iris' version 2/);
    const bad = await app.inject({ method: 'GET', url: '/v2/models/iris/versions/x/drift' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: string }>().error, /version 'x' is not a positive integer/);
    await app.close();
  });
});
