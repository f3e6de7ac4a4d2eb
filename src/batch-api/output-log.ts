// An append-only JSONL file of a running batch's results, fsynced before a result counts as done.
// It is also the batch's checkpoint: on restart the lines already written name the custom_ids
// that are done, so the rest run and every input line appears exactly once. A line torn by a
// crash (no final newline) is cut off on open and its request runs again.
// Appends are group-committed: lines that arrive while a write + fsync is under way share the next.

import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';

interface Pending {
  readonly text: string;
  resolve(): void;
  reject(err: Error): void;
}

export class OutputLog {
  private pending: Pending[] = [];
  /** The flush under way; cleared by the flush itself in the step that finds nothing pending. */
  private flushing: Promise<void> | undefined;

  private constructor(private readonly handle: FileHandle) {}

  /** Opens (creating) the log and returns it with the custom_ids of the complete lines in it. */
  static async open(file: string): Promise<{ log: OutputLog; customIds: string[] }> {
    let existing: Buffer;
    try {
      existing = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      existing = Buffer.alloc(0);
    }
    const end = existing.lastIndexOf(0x0a) + 1;
    if (end < existing.length) await truncate(file, end);
    const customIds: string[] = [];
    for (const line of existing.toString('utf8', 0, end).split('\n')) {
      if (line === '') continue;
      customIds.push((JSON.parse(line) as { custom_id: string }).custom_id);
    }
    return { log: new OutputLog(await open(file, 'a')), customIds };
  }

  /** Resolves once the line is on disk. */
  append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ text: `${line}\n`, resolve, reject });
      // flush() always awaits before it can finish, so it cannot clear `flushing` before this assignment.
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      try {
        await this.handle.write(group.map((p) => p.text).join(''));
        await this.handle.datasync();
        for (const p of group) p.resolve();
      } catch (err) {
        for (const p of group) p.reject(err as Error);
      }
    }
    // Same step as the empty check above: an append arriving later starts a new flush.
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }
}
