// The local cache of optimised models: onnxruntime writes the graph it optimised
// (SessionOptions.optimizedModelFilePath) once, and later loads of the same model with the same
// options open that file with graph optimisation off, skipping the work. A model unloaded by the
// memory budget comes back this way. Entries are keyed by the model file's content (SHA-256), the
// optimisation level, the execution providers and the onnxruntime version, so a changed model or
// option never meets a stale graph.

import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/** Where to open the model from, and what onnxruntime is asked to do with it. */
export interface ModelSource {
  /** The file the session opens: the cached optimised graph, or the model itself. */
  readonly path: string;
  /** The optimisation level to open it with ('disabled' for a cached graph: it is optimised already). */
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where onnxruntime writes the optimised graph (a cache miss), else undefined. */
  readonly optimizedModelFilePath?: string;
  /** After the session opened: moves the written graph into the cache (a miss), or nothing. */
  commit(): Promise<void>;
}

/** Bytes read at a time while hashing a model file. */
const HASH_CHUNK_BYTES = 1024 * 1024;

/**
 * SHA-256 of a file, read through one buffer of 1 MiB. Reading the whole model at once would leave
 * a buffer of its size behind until the reading thread collects garbage, and the worker thread
 * that opens the model runs almost no JavaScript afterwards: that buffer would stay resident as
 * long as the model is loaded.
 */
async function fileHash(file: string): Promise<ReturnType<typeof createHash>> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(HASH_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return hash;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

export async function optimizedModelSource(
  modelPath: string,
  cacheDir: string,
  level: ModelSource['graphOptimizationLevel'],
  providers: readonly string[],
): Promise<ModelSource> {
  const key = (await fileHash(modelPath))
    .update(JSON.stringify({ level, providers, ort: ort.env.versions.common }))
    .digest('hex');
  const cached = path.join(cacheDir, `${key}.onnx`);
  try {
    if ((await stat(cached)).isFile())
      return { path: cached, graphOptimizationLevel: 'disabled', commit: () => Promise.resolve() };
  } catch {
    // Not cached yet.
  }
  await mkdir(cacheDir, { recursive: true });
  // Written under a name of its own and renamed whole, so a concurrent load never reads half a file.
  const partial = path.join(cacheDir, `${key}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`);
  return {
    path: modelPath,
    graphOptimizationLevel: level,
    optimizedModelFilePath: partial,
    async commit() {
      try {
        await rename(partial, cached);
      } catch {
        await rm(partial, { force: true });
      }
    },
  };
}
