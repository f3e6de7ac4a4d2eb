// The layering lint (npm run lint runs dependency-cruiser with tools/architecture/layering.mjs):
// docs/architecture.md's folder table names every src/ folder, and the rules built from such a
// table reject an import its row does not allow, a value import where only types are allowed,
// and an import cycle, type-only or not.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cruise, type IViolation } from 'dependency-cruiser';
// @ts-expect-error the layering rules are a plain ES module shared with dependency-cruiser's config
import { layeringRules, parseLayerTable, readLayerTable } from '../../tools/architecture/layering.mjs';

interface Layer {
  readonly name: string;
  readonly isFile: boolean;
}

const SRC = path.resolve(import.meta.dirname, '../../src');

describe('the folder table in docs/architecture.md', () => {
  it('has a row for every folder and top-level file of src/, and names nothing else', async () => {
    const layers = (readLayerTable as () => Layer[])();
    const onDisk: string[] = [];
    for (const e of await readdir(SRC, { withFileTypes: true })) {
      if (e.isFile()) onDisk.push(e.name.replace(/\.ts$/, ''));
      else if (e.name === 'protocols') {
        for (const p of await readdir(path.join(SRC, 'protocols'))) onDisk.push(`protocols/${p}`);
      } else onDisk.push(e.name);
    }
    assert.deepEqual(layers.map((l) => l.name).sort(), onDisk.sort());
  });
});

describe('layering rules built from a table', () => {
  const table = [
    '| folder | owns | imports |',
    '| --- | --- | --- |',
    '| `src/low/` | the bottom | — |',
    '| `src/mid/` | the middle | low (types) |',
    '| `src/high/` | the top | low, mid |',
  ].join('\n');
  let dir: string;
  let violations: IViolation[];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-layering-'));
    const files: Record<string, string> = {
      'src/low/value.ts': 'export const low = 1;\nexport type Low = number;\n',
      // Forbidden: low imports nothing of the project.
      'src/low/reaches-up.ts': "import { high } from '../high/top.js';\nexport const up = high;\n",
      // Allowed: mid may import low's types.
      'src/mid/types-only.ts': "import type { Low } from '../low/value.js';\nexport const t: Low = 2;\n",
      // Forbidden: mid may import only low's types, not its values.
      'src/mid/value-import.ts': "import { low } from '../low/value.js';\nexport const v = low;\n",
      'src/high/top.ts': "import { low } from '../low/value.js';\nexport const high = low + 1;\n",
      // A cycle of type-only imports inside one folder.
      'src/high/ping.ts': "import type { Pong } from './pong.js';\nexport interface Ping { pong?: Pong }\n",
      'src/high/pong.ts': "import type { Ping } from './ping.js';\nexport interface Pong { ping?: Ping }\n",
    };
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }),
    );
    const rules = (layeringRules as (layers: unknown, root: string) => object)(
      (parseLayerTable as (md: string) => unknown)(table),
      'src',
    );
    const previous = process.cwd();
    process.chdir(dir);
    try {
      const result = await cruise(
        ['src'],
        { ruleSet: rules, validate: true, tsPreCompilationDeps: true, tsConfig: { fileName: 'tsconfig.json' } },
        {},
        { tsConfig: { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } } as never },
      );
      const output = result.output;
      assert.ok(typeof output !== 'string');
      violations = output.summary.violations;
    } finally {
      process.chdir(previous);
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const found = (rule: string, from: string, to?: string): boolean =>
    violations.some((v) => v.rule.name === rule && v.from === from && (to === undefined || v.to === to));

  it('rejects an import the row does not allow', () => {
    assert.ok(found('not-in-allowed', 'src/low/reaches-up.ts', 'src/high/top.ts'), JSON.stringify(violations));
  });

  it('rejects a value import where the row allows only types, and accepts the type import', () => {
    assert.ok(found('not-in-allowed', 'src/mid/value-import.ts', 'src/low/value.ts'));
    assert.ok(!found('not-in-allowed', 'src/mid/types-only.ts'));
  });

  it('rejects an import cycle, even of type-only imports', () => {
    assert.ok(found('no-circular', 'src/high/ping.ts') || found('no-circular', 'src/high/pong.ts'));
  });

  it('accepts what the table allows: the three faults above are all it reports', () => {
    assert.ok(!found('not-in-allowed', 'src/high/top.ts'));
    assert.deepEqual(violations.map((v) => [v.rule.name, v.from]).sort(), [
      ['no-circular', 'src/high/ping.ts'],
      ['not-in-allowed', 'src/low/reaches-up.ts'],
      ['not-in-allowed', 'src/mid/value-import.ts'],
    ]);
  });
});
