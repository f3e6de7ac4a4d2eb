#!/usr/bin/env node
// The inferd command line; the code lives in dist/ (built by `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`inferd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
