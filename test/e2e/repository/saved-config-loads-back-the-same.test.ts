// What GET /v2/models/{m}/config reports, saved as the model's config.json (or written as
// config.pbtxt by `inferd models convert`), loads back to the same resolved config, for every
// example model: the config a server shows is a config a user can keep.

import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configText } from '../../../src/cli/models-command.js';
import { CONFIG_FILES } from '../../../src/repository/repository-scanner.js';
import { ModelRepository } from '../../../src/repository/model-repository.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';
import type { ResolvedModelConfig } from '../../../src/config/resolved-model-config.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

/** The resolved config, less what says how it was written (completed from the graph or given). */
function comparable(c: ResolvedModelConfig): Partial<ResolvedModelConfig> {
  return { ...c, autoCompleted: undefined };
}

async function loadRepository(dir: string): Promise<ModelRepository> {
  const repository = new ModelRepository({
    path: dir,
    controlMode: 'none',
    loadModels: [],
    pollSeconds: 60,
    cpuCores: 2,
    metrics: new Metrics(),
    logger: createLogger('silent'),
  });
  await repository.start();
  return repository;
}

describe('a saved /config loads back to the same config', () => {
  let server: TestServer;
  const repos: string[] = [];
  const reloaded: ModelRepository[] = [];
  let models: string[] = [];

  before(async () => {
    server = await startTestServer({ modelRepository: EXAMPLES_DIR });
    models = (await server.repository.index(true)).map((r) => r.name);
  });
  after(async () => {
    await Promise.all(reloaded.map((r) => r.close()));
    await server.close();
    await Promise.all(repos.map((r) => removeRepository(r)));
  });

  for (const format of ['json', 'pbtxt'] as const) {
    it(`as config.${format}, for every example model`, async () => {
      assert.ok(models.length >= 10, `the examples load (${models.join(', ')})`);
      const dir = await makeRepository([]);
      repos.push(dir);
      for (const name of models) {
        const target = path.join(dir, name);
        await cp(path.join(EXAMPLES_DIR, name), target, { recursive: true });
        for (const f of CONFIG_FILES) await rm(path.join(target, f), { force: true });
        const text =
          format === 'json'
            ? await (await fetch(`${server.url}/v2/models/${name}/config`)).text()
            : configText(server.repository.resolve(name), 'pbtxt');
        await writeFile(path.join(target, `config.${format}`), text);
      }
      const again = await loadRepository(dir);
      reloaded.push(again);
      const rows = await again.index(false);
      for (const name of models) {
        const row = rows.find((r) => r.name === name);
        assert.equal(row?.state, 'READY', `${name}: ${row?.reason}`);
        assert.equal(row.reason, '', `${name} loads without warnings`);
        assert.deepEqual(
          comparable(again.resolve(name).config),
          comparable(server.repository.resolve(name).config),
          name,
        );
      }
    });
  }
});
