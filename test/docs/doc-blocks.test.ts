// Every fenced block of README.md and docs/*.md is planned in test/docs/doc-examples.ts: run by
// `npm run test:docs`, parsed here, or skipped with a reason. A new block in neither list fails.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { allBlocks, keyOf, PLAN } from './doc-examples.js';

const LANGS: Record<string, readonly string[]> = {
  sh: ['sh', 'bash'],
  serve: ['sh', 'bash'],
  js: ['js'],
  yaml: ['yaml'],
};

describe('documentation code blocks', () => {
  it('each block is run, checked, or skipped with a reason, and the plan names no missing block', async () => {
    const blocks = await allBlocks();
    const problems: string[] = [];
    for (const block of blocks) {
      const entry = PLAN[keyOf(block)];
      const where = `${keyOf(block)} (line ${block.line}, \`\`\`${block.lang})`;
      if (entry === undefined) {
        problems.push(`${where}: not in PLAN of test/docs/doc-examples.ts; run it or skip it with a reason`);
        continue;
      }
      if (!block.body.startsWith(entry.starts)) {
        problems.push(`${where}: expected it to start with ${JSON.stringify(entry.starts)}; blocks moved?`);
      }
      const langs = LANGS[entry.plan.do];
      if (langs && !langs.includes(block.lang)) problems.push(`${where}: planned '${entry.plan.do}'`);
      if (entry.plan.do === 'skip' && entry.plan.why.trim() === '') problems.push(`${where}: skipped without reason`);
    }
    const keys = new Set(blocks.map(keyOf));
    for (const key of Object.keys(PLAN)) if (!keys.has(key)) problems.push(`${key}: in PLAN but not in the docs`);
    assert.deepEqual(problems, []);
  });

  it('the YAML blocks parse', async () => {
    for (const block of await allBlocks()) {
      if (PLAN[keyOf(block)]?.plan.do !== 'yaml') continue;
      assert.doesNotThrow(() => parse(block.body), `${keyOf(block)} (line ${block.line})`);
    }
  });
});
