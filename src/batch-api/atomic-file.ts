// Crash-safe file writes for the batch store: a file is written to a temporary name, fsynced,
// then renamed over the target, and the directory fsynced, so a reader (or a restarted server)
// sees either the old content or the new, never a torn file.

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Fsyncs a directory so a rename or a new entry in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (and file systems) cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(target));
}

/** Temporary files left by a crash between write and rename. */
export function isTempName(name: string): boolean {
  return name.endsWith('.tmp');
}
