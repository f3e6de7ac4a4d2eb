// Validation of a batch's input file (the `validating` step): JSONL, one request per line, each
// with a unique `custom_id`, `method` "POST", a `url` that fits the batch's endpoint and a `body`
// object. The file is read in chunks; what is kept per line is where it lies in the file, so the
// runner reads one line at a time and a 200 MB file is never held whole.

import { createReadStream } from 'node:fs';
import { urlMismatch } from './batch-endpoints.js';
import { MAX_LINES_PER_BATCH, MAX_LISTED_LINE_ERRORS, type BatchError } from './batch-types.js';
import { MAX_JSON_DEPTH, jsonTextDepthExceeds } from '../util/bounded-json.js';

export interface InputLine {
  readonly customId: string;
  /** 1-based line number in the input file. */
  readonly lineNo: number;
  readonly offset: number;
  readonly length: number;
}

export interface InputScan {
  readonly lines: InputLine[];
  /** The first MAX_LISTED_LINE_ERRORS problems, and one more entry counting the rest. */
  readonly errors: BatchError[];
}

export interface ScanLimits {
  /** Largest line accepted (the REST body limit: a line may not carry more than a request could). */
  readonly maxLineBytes: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The problem with one line, or undefined when it is a valid request. */
function checkLine(text: string, endpoint: string, seen: Set<string>): Omit<BatchError, 'line'> | undefined {
  if (jsonTextDepthExceeds(text))
    return {
      code: 'invalid_json_line',
      message: `the line nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the most accepted`,
      param: null,
    };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { code: 'invalid_json_line', message: `not valid JSON: ${(err as Error).message}`, param: null };
  }
  if (!isObject(parsed)) return { code: 'invalid_json_line', message: 'a line must be a JSON object', param: null };
  const { custom_id: customId, method, url, body } = parsed;
  if (typeof customId !== 'string' || customId === '') {
    return {
      code: 'missing_required_parameter',
      message: '"custom_id" must be a non-empty string',
      param: 'custom_id',
    };
  }
  if (seen.has(customId)) {
    return {
      code: 'duplicate_custom_id',
      message: `custom_id ${JSON.stringify(customId)} appears on an earlier line; each must be unique`,
      param: 'custom_id',
    };
  }
  seen.add(customId);
  if (method !== 'POST') {
    return {
      code: 'invalid_method',
      message: `"method" must be "POST", got ${JSON.stringify(method)}`,
      param: 'method',
    };
  }
  if (typeof url !== 'string')
    return { code: 'missing_required_parameter', message: '"url" must be a string', param: 'url' };
  const mismatch = urlMismatch(endpoint, url);
  if (mismatch !== undefined) return { code: 'mismatched_url', message: mismatch, param: 'url' };
  if (!isObject(body)) {
    return { code: 'invalid_body', message: '"body" must be a JSON object (the REST infer request)', param: 'body' };
  }
  return undefined;
}

export async function scanInputFile(file: string, endpoint: string, limits: ScanLimits): Promise<InputScan> {
  const lines: InputLine[] = [];
  const errors: BatchError[] = [];
  let errorCount = 0;
  const seen = new Set<string>();
  const report = (lineNo: number | null, e: Omit<BatchError, 'line'>): void => {
    if (errorCount++ < MAX_LISTED_LINE_ERRORS) errors.push({ ...e, line: lineNo });
  };
  let lineNo = 0;
  let requests = 0;
  /** `bytes` is undefined for a line over the limit, which is only measured. */
  const onLine = (bytes: Buffer | undefined, length: number, offset: number): void => {
    lineNo++;
    // Blank lines (a trailing newline, or spacing) are no requests.
    if (bytes?.every((b) => b === 0x20 || b === 0x09 || b === 0x0d) === true) return;
    requests++;
    if (requests > MAX_LINES_PER_BATCH) return;
    if (bytes === undefined) {
      report(lineNo, {
        code: 'line_too_large',
        message: `line is ${length} bytes, over the request body limit of ${limits.maxLineBytes} bytes`,
        param: null,
      });
      return;
    }
    const problem = checkLine(bytes.toString('utf8'), endpoint, seen);
    if (problem !== undefined) report(lineNo, problem);
    else {
      const { custom_id: customId } = JSON.parse(bytes.toString('utf8')) as { custom_id: string };
      lines.push({ customId, lineNo, offset, length });
    }
  };

  let carry: Buffer[] = [];
  let carryBytes = 0;
  let lineStart = 0;
  let position = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let from = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, from)) >= 0) {
      const piece = chunk.subarray(from, nl);
      const length = carryBytes + piece.length;
      if (length > limits.maxLineBytes) onLine(undefined, length, lineStart);
      else onLine(carry.length === 0 ? piece : Buffer.concat([...carry, piece]), length, lineStart);
      carry = [];
      carryBytes = 0;
      from = nl + 1;
      lineStart = position + from;
    }
    // An over-long line is only measured, not kept.
    if (carryBytes <= limits.maxLineBytes) carry.push(Buffer.from(chunk.subarray(from)));
    carryBytes += chunk.length - from;
    position += chunk.length;
  }
  if (carryBytes > 0) {
    onLine(carryBytes > limits.maxLineBytes ? undefined : Buffer.concat(carry), carryBytes, lineStart);
  }

  if (requests === 0)
    report(null, { code: 'empty_file', message: 'the input file holds no requests', param: 'input_file_id' });
  if (requests > MAX_LINES_PER_BATCH) {
    report(null, {
      code: 'too_many_requests',
      message: `the input file holds ${requests} requests; a batch may hold at most ${MAX_LINES_PER_BATCH}`,
      param: 'input_file_id',
    });
  }
  if (errorCount > MAX_LISTED_LINE_ERRORS) {
    errors.push({
      code: 'more_errors',
      message: `${errorCount - MAX_LISTED_LINE_ERRORS} more errors are not listed`,
      param: null,
      line: null,
    });
  }
  return { lines, errors };
}
