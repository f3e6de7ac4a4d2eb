// The job's durable state beside its output: job.json (what the job is), checkpoint.json (which
// input rows are done, in which part files) and the part files themselves (rows as Parquet, written
// by a RowsSink; errors as JSON lines). Every file is written
// to a temporary name, fsynced and renamed, and the checkpoint is renamed last, so after a crash
// (even SIGKILL) the checkpoint names only complete parts and a rerun resumes at its next row.
// Part files the checkpoint does not name are leftovers of the interrupted commit and are removed.

import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface PartRecord {
  readonly rows: string;
  readonly errors: string;
  readonly firstRow: number;
  readonly endRow: number;
  readonly ok: number;
  readonly failed: number;
}

export interface Checkpoint {
  /** First input row (of this job's range) not yet done. */
  readonly nextRow: number;
  readonly ok: number;
  readonly failed: number;
  readonly parts: readonly PartRecord[];
  /** Seconds spent in earlier runs of the job. */
  readonly elapsedSeconds: number;
  readonly complete: boolean;
}

/** Writes a file durably: temporary name, fsync, rename, fsync of the folder. */
export async function writeFileDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await syncFolder(path.dirname(file));
}

export async function syncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on folders; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

/** Appends text to a file through a buffer, flushing in large writes. */
class BufferedFile {
  private chunks: string[] = [];
  private size = 0;
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(file: string): Promise<BufferedFile> {
    return new BufferedFile(file, await open(file, 'w'));
  }

  async write(text: string): Promise<void> {
    if (text.length === 0) return;
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= 4 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const text = this.chunks.join('');
    this.chunks = [];
    this.size = 0;
    await this.fh.write(text);
  }

  /** Flushes, fsyncs and closes. */
  async seal(): Promise<void> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
  }

  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Where a part's output rows accumulate until the part is written. */
export interface RowsSink {
  /** Writes the rows held since the last part to `file` and starts over. */
  writePart(file: string): Promise<void>;
  /** Drops the rows held (an interrupted commit). */
  abandon(): void;
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class PartStore {
  private errorsFile: BufferedFile | undefined;
  private partFirstRow: number;
  private partOk = 0;
  private partFailed = 0;

  private constructor(
    readonly dir: string,
    private checkpoint: Checkpoint,
    private readonly rows: RowsSink,
  ) {
    this.partFirstRow = checkpoint.nextRow;
  }

  get state(): Checkpoint {
    return this.checkpoint;
  }

  /** Rows written to the open part since the last commit (ok + failed). */
  get pendingRows(): number {
    return this.partOk + this.partFailed;
  }

  static jobFile(dir: string): string {
    return path.join(dir, 'job.json');
  }

  /** Reads the job's identity and checkpoint, or undefined for a new job. */
  static async read(dir: string): Promise<{ job: unknown; checkpoint: Checkpoint } | undefined> {
    let jobText: string;
    try {
      jobText = await readFile(PartStore.jobFile(dir), 'utf8');
    } catch {
      return undefined;
    }
    const job: unknown = JSON.parse(jobText);
    let checkpoint: Checkpoint;
    try {
      checkpoint = JSON.parse(await readFile(path.join(dir, 'checkpoint.json'), 'utf8')) as Checkpoint;
    } catch {
      checkpoint = { nextRow: -1, ok: 0, failed: 0, parts: [], elapsedSeconds: 0, complete: false };
    }
    return { job, checkpoint };
  }

  /** Starts a new job: clears the folder, writes job.json and an empty checkpoint at firstRow. */
  static async create(dir: string, job: unknown, firstRow: number, rows: RowsSink): Promise<PartStore> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.join(dir, 'parts'), { recursive: true });
    await writeFileDurably(PartStore.jobFile(dir), `${JSON.stringify(job, null, 2)}\n`);
    const checkpoint: Checkpoint = {
      nextRow: firstRow,
      ok: 0,
      failed: 0,
      parts: [],
      elapsedSeconds: 0,
      complete: false,
    };
    const store = new PartStore(dir, checkpoint, rows);
    await store.writeCheckpoint(checkpoint);
    return store;
  }

  /** Reopens an interrupted job: removes part files the checkpoint does not name. */
  static async resume(dir: string, checkpoint: Checkpoint, rows: RowsSink): Promise<PartStore> {
    const partsDir = path.join(dir, 'parts');
    await mkdir(partsDir, { recursive: true });
    const named = new Set(checkpoint.parts.flatMap((p) => [p.rows, p.errors]));
    for (const name of await readdir(partsDir)) {
      if (!named.has(name)) await rm(path.join(partsDir, name), { force: true });
    }
    return new PartStore(dir, checkpoint, rows);
  }

  partPath(name: string): string {
    return path.join(this.dir, 'parts', name);
  }

  private seq(): string {
    return String(this.checkpoint.parts.length + 1).padStart(6, '0');
  }

  /** Records rows handed to the sink (ok) and error lines (failed) as part of the open part. */
  async append(errorsText: string, ok: number, failed: number): Promise<void> {
    this.errorsFile ??= await BufferedFile.create(this.partPath(`errors-${this.seq()}.jsonl.tmp`));
    await this.errorsFile.write(errorsText);
    this.partOk += ok;
    this.partFailed += failed;
  }

  /** Makes everything appended so far durable and records rows up to nextRow as done. */
  async commit(nextRow: number, elapsedSeconds: number): Promise<void> {
    const parts = [...this.checkpoint.parts];
    if (this.errorsFile !== undefined) {
      const errorsFile = this.errorsFile;
      this.errorsFile = undefined;
      const rows = `rows-${this.seq()}.parquet`;
      const rowsTmp = this.partPath(`${rows}.tmp`);
      await this.rows.writePart(rowsTmp);
      await fsyncFile(rowsTmp);
      await errorsFile.seal();
      const errors = path.basename(errorsFile.file, '.tmp');
      await rename(rowsTmp, this.partPath(rows));
      await rename(errorsFile.file, this.partPath(errors));
      await syncFolder(path.join(this.dir, 'parts'));
      parts.push({
        rows,
        errors,
        firstRow: this.partFirstRow,
        endRow: nextRow,
        ok: this.partOk,
        failed: this.partFailed,
      });
    }
    await this.writeCheckpoint({
      nextRow,
      ok: this.checkpoint.ok + this.partOk,
      failed: this.checkpoint.failed + this.partFailed,
      parts,
      elapsedSeconds,
      complete: false,
    });
    this.partFirstRow = nextRow;
    this.partOk = 0;
    this.partFailed = 0;
  }

  async markComplete(): Promise<void> {
    await this.writeCheckpoint({ ...this.checkpoint, complete: true, parts: [] });
    await rm(path.join(this.dir, 'parts'), { recursive: true, force: true });
  }

  /** Closes open part files without committing them (they are removed on resume). */
  async abandon(): Promise<void> {
    this.rows.abandon();
    await this.errorsFile?.abandon();
  }

  private async writeCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await writeFileDurably(path.join(this.dir, 'checkpoint.json'), `${JSON.stringify(checkpoint)}\n`);
    this.checkpoint = checkpoint;
  }
}
