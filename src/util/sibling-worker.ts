// Starts a worker thread whose entry module sits beside the calling module: `<name>.js` when built,
// `<name>.ts` when running from TypeScript sources under tsx (tests). Node 20 does not carry the
// tsx loader into worker threads, so a .ts entry is loaded through tsx's API from a small eval
// script; built code never takes that path.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `callerUrl` is the caller's import.meta.url; `name` the entry's file name without extension. */
export function startSiblingWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const here = fileURLToPath(callerUrl);
  const file = path.join(path.dirname(here), `${name}${path.extname(here)}`);
  if (!file.endsWith('.ts')) return new Worker(file, options);
  const url = JSON.stringify(pathToFileURL(file).href);
  return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${url}, ${JSON.stringify(callerUrl)}))`, {
    ...options,
    eval: true,
  });
}
