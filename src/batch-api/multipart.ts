// A small multipart/form-data parser (RFC 7578 over RFC 2046) for the one upload endpoint,
// POST /v1/files: no multipart package is installed, and the body arrives whole (fastify's body
// limit bounds it), so parts are found with Buffer.indexOf and returned as views, never copied.

import { badRequest } from './batch-api-error.js';

export interface MultipartPart {
  /** The form field name (Content-Disposition `name`). */
  readonly name: string;
  /** Set for file fields (Content-Disposition `filename` or `filename*`). */
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
  readonly data: Buffer;
}

export interface MultipartLimits {
  readonly maxParts: number;
  /** Bytes of one part's header block. */
  readonly maxHeaderBytes: number;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** Splits `type/subtype; a=b; c="d"` into the lower-cased type and its parameters. */
function parseHeaderValue(value: string): { value: string; params: Map<string, string> } {
  const semi = value.indexOf(';');
  const head = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  let m;
  while ((m = re.exec(value)) !== null) {
    const key = (m[1] ?? '').toLowerCase();
    let v = (m[2] ?? '').trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(key, v);
  }
  return { value: head, params };
}

/** The boundary of a multipart/form-data Content-Type, or a 400 naming what is expected. */
export function multipartBoundary(contentType: string | undefined): string {
  const expected = 'expected a multipart/form-data upload with the fields "purpose" and "file"';
  if (contentType === undefined) throw badRequest(`no Content-Type; ${expected}`);
  const { value, params } = parseHeaderValue(contentType);
  if (value !== 'multipart/form-data') throw badRequest(`Content-Type is '${value}'; ${expected}`);
  const boundary = params.get('boundary');
  // RFC 2046 §5.1.1: 1 to 70 characters.
  if (boundary === undefined || boundary.length === 0 || boundary.length > 70) {
    throw badRequest('multipart/form-data Content-Type needs a boundary of 1 to 70 characters');
  }
  return boundary;
}

/** RFC 5987 `filename*=UTF-8''%e2%82%ac.jsonl`. */
function extendedValue(v: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v);
  if (m === null || (m[1] ?? '').toLowerCase() !== 'utf-8') return undefined;
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch {
    return undefined;
  }
}

function parsePartHeaders(block: string, index: number): Omit<MultipartPart, 'data'> {
  let disposition: ReturnType<typeof parseHeaderValue> | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw badRequest(`multipart part ${index + 1} has a malformed header line`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = parseHeaderValue(value);
    else if (name === 'content-type') contentType = value;
  }
  if (disposition?.value !== 'form-data') {
    throw badRequest(`multipart part ${index + 1} has no "Content-Disposition: form-data" header`);
  }
  const name = disposition.params.get('name');
  if (name === undefined) throw badRequest(`multipart part ${index + 1} has no field name`);
  const star = disposition.params.get('filename*');
  const filename = (star === undefined ? undefined : extendedValue(star)) ?? disposition.params.get('filename');
  return { name, filename, contentType };
}

export function parseMultipart(body: Buffer, boundary: string, limits: MultipartLimits): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter opens the body or follows a preamble's CRLF.
  let at = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(between);
  if (at < 0) throw badRequest('multipart body does not contain its boundary');
  if (at > 0) at += 2;
  const parts: MultipartPart[] = [];
  for (;;) {
    let p = at + delimiter.length;
    if (body[p] === 0x2d && body[p + 1] === 0x2d) return parts; // "--": the closing delimiter
    while (body[p] === 0x20 || body[p] === 0x09) p++; // transport padding
    if (!body.subarray(p, p + 2).equals(CRLF)) throw badRequest('multipart boundary line is not followed by CRLF');
    const headerStart = p + 2;
    let contentStart: number;
    let headerBlock: string;
    if (body.subarray(headerStart, headerStart + 2).equals(CRLF)) {
      headerBlock = '';
      contentStart = headerStart + 2;
    } else {
      const end = body.indexOf(HEADER_END, headerStart);
      if (end < 0 || end - headerStart > limits.maxHeaderBytes) {
        throw badRequest(
          `multipart part ${parts.length + 1} has no end to its headers within ${limits.maxHeaderBytes} bytes`,
        );
      }
      headerBlock = body.toString('utf8', headerStart, end);
      contentStart = end + 4;
    }
    if (parts.length >= limits.maxParts) throw badRequest(`multipart body has more than ${limits.maxParts} parts`);
    const headers = parsePartHeaders(headerBlock, parts.length);
    const next = body.indexOf(between, contentStart);
    if (next < 0) throw badRequest('multipart body ends before its closing boundary');
    parts.push({ ...headers, data: body.subarray(contentStart, next) });
    at = next + 2;
  }
}
