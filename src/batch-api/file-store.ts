// The Files API's storage: each file is `<dir>/files/<id>.jsonl` (the bytes) beside
// `<dir>/files/<id>.json` (its metadata), both written atomically; the metadata is written last,
// so a file exists once its metadata does. Leftovers of a crash are removed on open.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isTempName, syncDirectory, writeFileAtomic } from './atomic-file.js';
import { notFound } from './batch-api-error.js';
import type { FileObject, FilePurpose } from './batch-types.js';

interface FileRecord {
  readonly file: FileObject;
  /** Milliseconds, for a stable newest-first order (created_at has only seconds). */
  readonly createdMs: number;
}

/** The names in a folder; none when it does not exist yet. */
export async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function newFileId(): string {
  return `file-${randomBytes(12).toString('hex')}`;
}

export class FileStore {
  private readonly dir: string;
  private readonly records = new Map<string, FileRecord>();

  constructor(root: string) {
    this.dir = path.join(root, 'files');
  }

  /**
   * Loads the files of an earlier run. The folder is created only when a file is first stored.
   * `reserved` names the files a batch was finalizing into: their content may lack metadata (a
   * crash between the move and the metadata write) and is kept for the finalization to adopt.
   */
  async open(reserved: ReadonlySet<string> = new Set()): Promise<void> {
    const names = await listFolder(this.dir);
    const contents = new Set(names.filter((n) => n.endsWith('.jsonl')).map((n) => n.slice(0, -'.jsonl'.length)));
    for (const name of names) {
      if (isTempName(name)) {
        await rm(path.join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (!contents.has(id)) continue;
      const record = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as FileRecord;
      this.records.set(id, record);
    }
    // Content whose metadata was never written: an upload cut short by a crash.
    for (const id of contents) {
      if (!this.records.has(id) && !reserved.has(id)) await rm(this.contentPath(id), { force: true });
    }
  }

  contentPath(id: string): string {
    return path.join(this.dir, `${id}.jsonl`);
  }

  private metaPath(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  async create(content: Uint8Array, filename: string, purpose: FilePurpose): Promise<FileObject> {
    const id = newFileId();
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.contentPath(id), content);
    return this.commit(id, content.byteLength, filename, purpose);
  }

  /**
   * Moves a finished file (a batch's output) into the store under `id`. Idempotent, so a
   * finalization interrupted by a crash can run again: an already moved file is kept.
   */
  async adopt(source: string, id: string, filename: string, purpose: FilePurpose): Promise<FileObject> {
    const existing = this.records.get(id);
    if (existing !== undefined) return existing.file;
    await mkdir(this.dir, { recursive: true });
    try {
      await rename(source, this.contentPath(id));
      await syncDirectory(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const { size } = await stat(this.contentPath(id));
    return this.commit(id, size, filename, purpose);
  }

  private async commit(id: string, bytes: number, filename: string, purpose: FilePurpose): Promise<FileObject> {
    const createdMs = Date.now();
    const file: FileObject = {
      id,
      object: 'file',
      bytes,
      created_at: Math.floor(createdMs / 1000),
      filename,
      purpose,
      status: 'processed',
      status_details: null,
    };
    await writeFileAtomic(this.metaPath(id), JSON.stringify({ file, createdMs } satisfies FileRecord));
    this.records.set(id, { file, createdMs });
    return file;
  }

  get(id: string, param = 'file_id'): FileObject {
    const record = this.records.get(id);
    if (record === undefined) throw notFound('file', id, param);
    return record.file;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** Files newest first (or oldest first), optionally of one purpose. */
  list(order: 'asc' | 'desc', purpose?: string): FileObject[] {
    const all = [...this.records.values()].filter((r) => purpose === undefined || r.file.purpose === purpose);
    all.sort((a, b) => a.createdMs - b.createdMs || a.file.id.localeCompare(b.file.id));
    if (order === 'desc') all.reverse();
    return all.map((r) => r.file);
  }

  async delete(id: string): Promise<void> {
    this.get(id);
    // Metadata first: once it is gone the file no longer exists, even if removing the bytes fails.
    await rm(this.metaPath(id), { force: true });
    this.records.delete(id);
    await rm(this.contentPath(id), { force: true });
  }
}
