// The --trace-* options are the settings a server starts with: requests are traced from the first
// one, what is taken is written when the server shuts down, and a trace file whose folder does not
// exist (or a level with no file) stops the start with a message naming the option.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer } from '../../helpers/test-server.js';

describe('--trace-* options', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-trace-start-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trace from the start and write the traces at shutdown', async () => {
    const file = path.join(dir, 'start.json');
    const server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['identity_fp32'],
      logLevel: 'warn',
      traceFile: file,
      traceLevel: ['TIMESTAMPS'],
      traceRate: 1,
      traceCount: 2,
    });
    try {
      const settings = (await (await fetch(`${server.url}/v2/trace/setting`)).json()) as Record<string, unknown>;
      assert.deepEqual(settings, {
        trace_file: file,
        trace_level: ['TIMESTAMPS'],
        trace_rate: '1',
        trace_count: '2',
        log_frequency: '0',
      });
      for (const id of ['first', 'second', 'third']) {
        const res = await fetch(`${server.url}/v2/models/identity_fp32/infer`, {
          method: 'POST',
          body: JSON.stringify({ id, inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 1], data: [1] }] }),
        });
        assert.equal(res.status, 200);
      }
    } finally {
      await server.close();
    }
    const traces = JSON.parse(readFileSync(file, 'utf8')) as { request_id: string; model_name: string }[];
    assert.deepEqual(
      traces.map((t) => [t.model_name, t.request_id]),
      [
        ['identity_fp32', 'first'],
        ['identity_fp32', 'second'],
      ],
    );
  });

  it('refuse a trace file in a folder that does not exist, and a level with no file', async () => {
    await assert.rejects(
      startTestServer({ modelRepository: EXAMPLES_DIR, traceFile: path.join(dir, 'missing', 'trace.json') }),
      /'--trace-file': the folder .*missing does not exist/,
    );
    await assert.rejects(
      startTestServer({ modelRepository: EXAMPLES_DIR, traceLevel: ['TIMESTAMPS'] }),
      /--trace-level TIMESTAMPS needs --trace-file/,
    );
  });
});
