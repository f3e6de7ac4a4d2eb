#!/usr/bin/env node
// The inferd command line; the code lives in dist/, compiled from src/ by `npm run build` (and
// by `npm ci` / `npm install` in a checkout, through the `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('inferd: not built yet (no dist/cli/main.js): in a checkout, run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);

main(process.argv).catch((err) => {
  process.stderr.write(`inferd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
