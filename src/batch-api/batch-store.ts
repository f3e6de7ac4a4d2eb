// The batches' storage: `<dir>/batches/<id>.json` holds the batch object (rewritten atomically at
// every status change) and the ids its output and error files will get; while a batch runs, its
// results are appended to `<id>.output.jsonl` and `<id>.errors.jsonl` beside it, which are also
// its progress checkpoint (see output-log.ts).

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isTempName, writeFileAtomic } from './atomic-file.js';
import { notFound } from './batch-api-error.js';
import type { BatchObject } from './batch-types.js';
import { listFolder, newFileId } from './file-store.js';

export interface BatchRecord {
  batch: BatchObject;
  /** Milliseconds, for a stable newest-first order. */
  readonly createdMs: number;
  /** Chosen at creation so that finalizing twice (after a crash) names the same files. */
  readonly outputFileId: string;
  readonly errorFileId: string;
  /** Set (with the final counts) before finalizing moves any file; cleared with the final status. */
  finalizingTo?: 'completed' | 'cancelled' | 'expired';
}

export function newBatchId(): string {
  return `batch_${randomBytes(12).toString('hex')}`;
}

export class BatchStore {
  readonly dir: string;
  private readonly records = new Map<string, BatchRecord>();
  /** Saves of one batch run in call order, so an older state never lands over a newer one. */
  private readonly saving = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.dir = path.join(root, 'batches');
  }

  /** Loads the batches of an earlier run. The folder is created only when a batch is first saved. */
  async open(): Promise<void> {
    for (const name of await listFolder(this.dir)) {
      if (isTempName(name)) {
        await rm(path.join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as BatchRecord;
      this.records.set(record.batch.id, record);
    }
  }

  newRecord(batch: Omit<BatchObject, 'id' | 'created_at'>): BatchRecord {
    const createdMs = Date.now();
    return {
      batch: { ...batch, id: newBatchId(), created_at: Math.floor(createdMs / 1000) },
      createdMs,
      outputFileId: newFileId(),
      errorFileId: newFileId(),
    };
  }

  /** Writes the record (atomically) and keeps it as the current state. */
  save(record: BatchRecord): Promise<void> {
    const { id } = record.batch;
    const text = JSON.stringify(record);
    this.records.set(id, record);
    const previous = this.saving.get(id) ?? Promise.resolve();
    const write = previous
      .catch(() => undefined)
      .then(async () => {
        await mkdir(this.dir, { recursive: true });
        await writeFileAtomic(path.join(this.dir, `${id}.json`), text);
      });
    this.saving.set(id, write);
    void write
      .finally(() => {
        if (this.saving.get(id) === write) this.saving.delete(id);
      })
      .catch(() => undefined);
    return write;
  }

  get(id: string): BatchRecord {
    const record = this.records.get(id);
    if (record === undefined) throw notFound('batch', id, 'batch_id');
    return record;
  }

  /** Newest first. */
  list(): BatchRecord[] {
    return [...this.records.values()].sort((a, b) => b.createdMs - a.createdMs || b.batch.id.localeCompare(a.batch.id));
  }

  outputLogPath(id: string): string {
    return path.join(this.dir, `${id}.output.jsonl`);
  }

  errorLogPath(id: string): string {
    return path.join(this.dir, `${id}.errors.jsonl`);
  }
}
