// Writes trace files: each a JSON array, replaced atomically (a temporary file in the same folder,
// then a rename), so a reader never sees half a file. Writes run one at a time, in the order asked.
// A file this writer already wrote is extended rather than replaced when asked to append (the one
// `trace_file` of log_frequency 0 receives each flush); one written before this process started is
// replaced, as Triton truncates it.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Logger } from '../observability/logger.js';

export class TraceFileWriter {
  private chain: Promise<void> = Promise.resolve();
  private readonly written = new Set<string>();
  private temporaries = 0;

  constructor(private readonly logger: Logger) {}

  /**
   * Queues writing `entries` (each one JSON value's text) as the array in `file`. Never rejects: a
   * failed write is logged with the file and the number of traces lost.
   */
  write(file: string, entries: readonly string[], append: boolean): Promise<void> {
    const run = async (): Promise<void> => {
      const previous = append && this.written.has(file) ? await readExisting(file) : undefined;
      const text = joinArray(previous, entries);
      const temporary = `${file}.${process.pid}.${++this.temporaries}.tmp`;
      try {
        await writeFile(temporary, text);
        await rename(temporary, file);
        this.written.add(file);
      } catch (err) {
        await rm(temporary, { force: true });
        this.logger.error({ err, file, traces: entries.length }, 'trace file not written; its traces are lost');
      }
    };
    this.chain = this.chain.then(run);
    return this.chain;
  }

  /** Resolves once every write asked for so far has ended. */
  idle(): Promise<void> {
    return this.chain;
  }
}

/** The array text of a file written before, without its closing bracket; undefined if it is gone. */
async function readExisting(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const trimmed = text.trimEnd();
  return trimmed.endsWith(']') ? trimmed.slice(0, -1).trimEnd() : undefined;
}

function joinArray(previous: string | undefined, entries: readonly string[]): string {
  const added = entries.join(',\n');
  if (previous === undefined || previous === '[') return `[\n${added}\n]\n`;
  return entries.length === 0 ? `${previous}\n]\n` : `${previous},\n${added}\n]\n`;
}
