// sentence-transformers' own files decide how an export without an `embedding` section pools:
// the Pooling module's mode, a Normalize module, sentence_bert_config.json's max_seq_length; a
// folder without modules.json is not such an export, and a mode inferd cannot compute fails the
// load naming the file rather than serving other vectors.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MODEL_CONFIG_DEFAULTS } from '../../src/config/model-config-schema.js';
import { InferdError } from '../../src/errors/index.js';
import { readSentenceTransformersPooling } from '../../src/generation/sentence-transformers.js';
import { writeFiles } from '../helpers/repository-files.js';

const DEFAULTS = MODEL_CONFIG_DEFAULTS.embedding;
const folders: string[] = [];
after(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));

const module = (type: string, dir = '') => ({
  idx: 0,
  name: type,
  path: dir,
  type: `sentence_transformers.models.${type}`,
});

async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'inferd-st-'));
  folders.push(dir);
  await writeFiles(
    dir,
    Object.entries(files).map(([file, content]) => ({ path: file, bytes: JSON.stringify(content) })),
  );
  return dir;
}

const pooling = (mode: string) => ({ word_embedding_dimension: 8, pooling_mode_max_tokens: false, [mode]: true });

describe('sentence-transformers pooling files', () => {
  it('are not there: undefined, and the config defaults apply', async () => {
    assert.equal(await readSentenceTransformersPooling(await folder({}), DEFAULTS), undefined);
  });

  it('CLS pooling with a Normalize module and a max_seq_length', async () => {
    const dir = await folder({
      'modules.json': [module('Transformer'), module('Pooling', '1_Pooling'), module('Normalize', '2_Normalize')],
      '1_Pooling/config.json': pooling('pooling_mode_cls_token'),
      'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: false },
    });
    assert.deepEqual(await readSentenceTransformersPooling(dir, DEFAULTS), {
      pooling: 'cls',
      normalize: true,
      max_tokens: 256,
    });
  });

  it('mean and last-token pooling without Normalize are not unit length', async () => {
    for (const [mode, expected] of [
      ['pooling_mode_mean_tokens', 'mean'],
      ['pooling_mode_lasttoken', 'last'],
    ] as const) {
      const dir = await folder({
        'modules.json': [module('Transformer'), module('Pooling', 'pool')],
        'pool/config.json': pooling(mode),
      });
      assert.deepEqual(await readSentenceTransformersPooling(dir, DEFAULTS), {
        pooling: expected,
        normalize: false,
        max_tokens: DEFAULTS.max_tokens,
      });
    }
  });

  it('a mode inferd does not compute fails the load, naming the file and the mode', async () => {
    const dir = await folder({
      'modules.json': [module('Transformer'), module('Pooling', '1_Pooling')],
      '1_Pooling/config.json': pooling('pooling_mode_max_tokens'),
    });
    await assert.rejects(
      readSentenceTransformersPooling(dir, DEFAULTS),
      (err: unknown) =>
        err instanceof InferdError &&
        err.code === 'INF_ERR_MODEL_LOAD' &&
        err.message.includes(path.join(dir, '1_Pooling', 'config.json')) &&
        /asks for pooling_mode_max_tokens; inferd pools with exactly one of pooling_mode_cls_token/.test(err.message),
    );
  });

  it('a modules.json that is not a list of modules fails the load', async () => {
    const dir = await folder({ 'modules.json': { modules: [] } });
    await assert.rejects(
      readSentenceTransformersPooling(dir, DEFAULTS),
      /modules\.json must be a list of module objects/,
    );
  });
});
