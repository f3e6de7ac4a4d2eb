// `inferd keys create|hash|list|revoke`: manage the API key file that `inferd serve
// --api-keys-file` reads. Keys are generated here and printed once; the file holds only their
// SHA-256. Every edit keeps the file's other entries and comments, is checked with the server's own
// parser before it is written, and replaces the file atomically (a running server re-reads it).

import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isMap, isSeq, parseDocument, YAMLSeq, type Document } from 'yaml';
import { digestOf, generateKey, MAX_KEY_LENGTH, parseKeyFile, type ApiKey } from '../security/api-keys.js';
import type { KeyQuota } from '../security/quota.js';
import { SCOPE_GROUPS } from '../security/scopes.js';
import { byteSize, integer, positiveNumber, sizeText } from './parse-options.js';

const DAY_MS = 86_400_000;
/** How often `inferd serve` checks the key file (server.ts polls it at this interval). */
const SERVER_POLL_TEXT = 'within 2 s';
/** The shortest key `keys hash` accepts: the floor INFERD_API_KEYS applies too. */
const MIN_KEY_LENGTH = 16;

const FILE_HEADER =
  ' inferd API keys (inferd serve --api-keys-file). Each key is stored as its SHA-256;\n' +
  ' `inferd keys create` and `inferd keys revoke` edit this file.';

/**
 * An `--expires` value as the key file stores it (ISO 8601, UTC): a date or date-time, or a
 * number of days from `nowMs` (`30d`). A moment already past is refused.
 */
export function expiryFrom(text: string, nowMs: number): string {
  const value = text.trim();
  const days = /^(\d+)d$/i.exec(value);
  let ms: number;
  if (days !== null) {
    const n = Number(days[1]);
    if (n < 1 || n > 36_500) throw new InvalidArgumentError(`expected 1d..36500d, got '${text}'`);
    ms = nowMs + n * DAY_MS;
  } else {
    ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms))
      throw new InvalidArgumentError(
        `expected an ISO 8601 date (2027-06-30 or 2027-06-30T12:00:00Z) or a number of days (30d), got '${text}'`,
      );
  }
  // Whole seconds: the file is read by people.
  ms = Math.floor(ms / 1000) * 1000;
  const iso = new Date(ms).toISOString().replace('.000Z', 'Z');
  if (ms <= nowMs) throw new InvalidArgumentError(`${iso} is already past`);
  return iso;
}

function scopeList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The quota options, in the key file's snake_case; undefined when none is given. */
function quotaEntry(opts: CreateOptions): Record<string, number> | undefined {
  const quota: Record<string, number> = {};
  if (opts.requestsPerSecond !== undefined) quota['requests_per_second'] = opts.requestsPerSecond;
  if (opts.burst !== undefined) quota['burst'] = opts.burst;
  if (opts.concurrentRequests !== undefined) quota['concurrent_requests'] = opts.concurrentRequests;
  if (opts.tokensPerMinute !== undefined) quota['tokens_per_minute'] = opts.tokensPerMinute;
  if (opts.tensorBytesPerMinute !== undefined) quota['tensor_bytes_per_minute'] = opts.tensorBytesPerMinute;
  return Object.keys(quota).length === 0 ? undefined : quota;
}

function quotaText(q: KeyQuota | undefined): string {
  if (q === undefined) return '-';
  const parts: string[] = [];
  if (q.requestsPerSecond !== undefined) parts.push(`${q.requestsPerSecond} req/s`);
  if (q.burst !== undefined) parts.push(`burst ${q.burst}`);
  if (q.concurrentRequests !== undefined) parts.push(`${q.concurrentRequests} concurrent`);
  if (q.tokensPerMinute !== undefined) parts.push(`${q.tokensPerMinute} tokens/min`);
  if (q.tensorBytesPerMinute !== undefined) parts.push(`${sizeText(q.tensorBytesPerMinute)} tensor bytes/min`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read key file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function readExisting(file: string): Promise<string> {
  const text = await readOptional(file);
  if (text === undefined) throw new Error(`key file ${file} does not exist`);
  return text;
}

function isJsonFile(file: string): boolean {
  return file.toLowerCase().endsWith('.json');
}

/** The `keys:` list of a document that parseKeyFile accepted (added when the file has none). */
function keyList(doc: Document): YAMLSeq {
  const node = doc.get('keys', true);
  if (isSeq(node)) {
    // `keys: []` in a YAML file: written out as a block list from now on.
    if (node.items.length === 0) node.flow = false;
    return node;
  }
  const seq = new YAMLSeq();
  doc.set('keys', seq);
  return seq;
}

function render(doc: Document, file: string): string {
  if (isJsonFile(file)) return `${JSON.stringify(doc.toJS(), null, 2)}\n`;
  return doc.toString({ flowCollectionPadding: false });
}

/**
 * Writes `text` to `file` through a temporary file in the same folder and a rename, so a reader
 * (a server re-reading the file) sees the old contents or the new, never a part. A symlink is
 * followed (its target is replaced); an existing file keeps its mode and, where permitted, its
 * owner; a new one is created 0600.
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  let target = file;
  try {
    target = await realpath(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const before = await stat(target).catch(() => undefined);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(tmp, 'wx', 0o600);
  } catch (err) {
    throw new Error(`cannot write key file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    try {
      await handle.writeFile(text, 'utf8');
      // Explicitly: the umask applies to open's mode, not to chmod.
      await handle.chmod(before === undefined ? 0o600 : before.mode & 0o777);
      if (before !== undefined && (before.uid !== process.getuid?.() || before.gid !== process.getgid?.()))
        await handle.chown(before.uid, before.gid).catch(() => undefined);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write key file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads the key file (absent: an empty one when `create` is true), lets `edit` change its
 * document, checks the result with the server's parser, and writes it atomically.
 */
async function editKeyFile(
  file: string,
  create: boolean,
  edit: (doc: Document, keys: YAMLSeq) => void,
): Promise<ApiKey[]> {
  const text = create ? await readOptional(file) : await readExisting(file);
  // Refuse to edit a file the server would refuse, with the server's message.
  if (text !== undefined) parseKeyFile(text, file);
  const doc = parseDocument(text ?? '');
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'not YAML'}`);
  if (text === undefined && !isJsonFile(file)) doc.commentBefore = FILE_HEADER;
  edit(doc, keyList(doc));
  const updated = render(doc, file);
  const keys = parseKeyFile(updated, file);
  await writeAtomically(file, updated);
  return keys;
}

interface CreateOptions {
  id: string;
  scopes: string[];
  expires?: string;
  requestsPerSecond?: number;
  burst?: number;
  concurrentRequests?: number;
  tokensPerMinute?: number;
  tensorBytesPerMinute?: number;
  file?: string;
}

/** The key file entry of a new key: scopes and quota written inline, as the file's header shows. */
function entryNode(doc: Document, opts: CreateOptions, sha256: string): ReturnType<Document['createNode']> {
  const quota = quotaEntry(opts);
  const node = doc.createNode({
    id: opts.id,
    sha256,
    scopes: opts.scopes,
    ...(opts.expires === undefined ? {} : { expires: opts.expires }),
    ...(quota === undefined ? {} : { quota }),
  });
  if (isMap(node)) {
    for (const field of ['scopes', 'quota']) {
      const child = node.get(field, true);
      if (isSeq(child) || isMap(child)) child.flow = true;
    }
  }
  return node;
}

async function create(opts: CreateOptions): Promise<void> {
  const key = generateKey();
  const sha256 = digestOf(key).toString('hex');
  const summary = `key '${opts.id}' (scopes: ${opts.scopes.join(', ')}${opts.expires === undefined ? '' : `; expires ${opts.expires}`})`;
  const once = 'The key (on stdout) is shown only this once: inferd keeps only its SHA-256.';
  if (opts.file === undefined) {
    const doc = parseDocument('keys: []');
    keyList(doc).add(entryNode(doc, opts, sha256));
    const text = render(doc, 'entry.yaml');
    parseKeyFile(text, 'the new entry');
    const entry = text.replace(/^keys:\n/, '');
    process.stderr.write(`Created ${summary}. ${once} Add this entry under 'keys:' in the key file:\n\n${entry}\n`);
  } else {
    const file = opts.file;
    await editKeyFile(file, true, (doc, keys) => keys.add(entryNode(doc, opts, sha256)));
    process.stderr.write(
      `Created ${summary} in ${file}. ${once} A server reading this file picks it up ${SERVER_POLL_TEXT}.\n`,
    );
  }
  process.stdout.write(`${key}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The SHA-256 (hex) of a key brought from elsewhere, as the key file stores it. */
export function keyHash(input: string): string {
  const key = input.replace(/\r?\n$/, '');
  if (key === '') throw new Error('no key on stdin: pipe it in, e.g. printf \'%s\' "$KEY" | inferd keys hash');
  if (/\s/.test(key))
    throw new Error('the key holds whitespace; a key travels as Authorization: Bearer <key> and cannot');
  if (key.length > MAX_KEY_LENGTH) throw new Error(`the key is longer than ${MAX_KEY_LENGTH} characters`);
  if (key.length < MIN_KEY_LENGTH)
    throw new Error(`the key is shorter than ${MIN_KEY_LENGTH} characters; use 'inferd keys create' for a strong one`);
  return digestOf(key).toString('hex');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

interface KeyRow {
  readonly id: string;
  readonly scopes: readonly string[];
  readonly expires: string | null;
  readonly expired: boolean;
  readonly quota: KeyQuota | null;
}

function rowOf(key: ApiKey, nowMs: number): KeyRow {
  return {
    id: key.id,
    scopes: key.grant.scopes,
    expires: key.expiresAt === undefined ? null : new Date(key.expiresAt).toISOString().replace('.000Z', 'Z'),
    expired: key.expiresAt !== undefined && nowMs >= key.expiresAt,
    quota: key.quota ?? null,
  };
}

async function list(opts: { file: string; json?: boolean }): Promise<void> {
  const rows = parseKeyFile(await readExisting(opts.file), opts.file).map((k) => rowOf(k, Date.now()));
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const table = rows.map((r) => [
    r.id,
    r.scopes.join(','),
    r.expires === null ? 'never' : `${r.expires}${r.expired ? ' (expired)' : ''}`,
    quotaText(r.quota ?? undefined),
  ]);
  const header = ['ID', 'SCOPES', 'EXPIRES', 'QUOTA'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0))).join('  ');
  process.stdout.write(`${[header, ...table].map(line).join('\n')}\n`);
  if (rows.length === 0) process.stderr.write(`no keys in ${opts.file}\n`);
}

async function revoke(opts: { id: string; file: string }): Promise<void> {
  await editKeyFile(opts.file, false, (_doc, keys) => {
    const index = keys.items.findIndex((item) => isMap(item) && item.get('id') === opts.id);
    if (index < 0) throw new Error(`no key '${opts.id}' in ${opts.file} (inferd keys list --file ${opts.file})`);
    keys.items.splice(index, 1);
  });
  process.stderr.write(
    `Revoked key '${opts.id}' in ${opts.file}. A server reading this file refuses it ${SERVER_POLL_TEXT}.\n`,
  );
}

function expires(value: string): string {
  return expiryFrom(value, Date.now());
}

export function keysCommand(): Command {
  const cmd = new Command('keys').description(
    'create, list and revoke API keys in the key file of serve --api-keys-file (keys stored as SHA-256)',
  );
  cmd.addHelpText(
    'after',
    `
Examples:
  $ KEY=$(inferd keys create --id team-a --scopes 'infer:resnet-*,read' --expires 90d --file keys.yaml)
  $ inferd serve -m ./models --host 0.0.0.0 --api-keys-file keys.yaml
  $ curl -H "Authorization: Bearer $KEY" localhost:8000/v2/models/resnet-50
  $ inferd keys list --file keys.yaml
  $ inferd keys revoke --id team-a --file keys.yaml
  $ printf '%s' "$OWN_KEY" | inferd keys hash`,
  );

  cmd
    .command('create')
    .description(
      'generate a key, add its SHA-256 to the key file, and print the key (only the key, on stdout; shown once)',
    )
    .requiredOption('--id <id>', 'the name logs, metrics and audit lines use for the key (letters, digits, . _ -)')
    .requiredOption(
      '--scopes <list>',
      `comma list of ${Object.keys(SCOPE_GROUPS).join(', ')}, infer:<model-glob>`,
      scopeList,
    )
    .option('--expires <when>', 'ISO 8601 date or date-time (UTC unless it says), or days from now: 30d', expires)
    .option('--requests-per-second <n>', 'quota: sustained request rate', positiveNumber)
    .option('--burst <n>', 'quota: requests that may arrive at once (default: the rate)', integer(1))
    .option('--concurrent-requests <n>', 'quota: requests in flight at once', integer(1))
    .option('--tokens-per-minute <n>', 'quota: generated and prompt tokens on the OpenAI routes', positiveNumber)
    .option('--tensor-bytes-per-minute <size>', 'quota: v2 infer request bytes, e.g. 512MB', byteSize)
    .option(
      '--file <path>',
      'the key file to add to (created 0600 if absent; an existing one keeps its mode); without it, the entry is printed',
    )
    .addHelpText(
      'after',
      `
stdout holds only the key, so it can be captured; the note about it goes to stderr.

Examples:
  $ KEY=$(inferd keys create --id team-a --scopes infer,read --file keys.yaml)
  $ inferd keys create --id ci --scopes 'infer:resnet-*' --expires 2027-06-30 --file keys.yaml
  $ inferd keys create --id batch --scopes infer,admin:batch --requests-per-second 20 \\
      --concurrent-requests 4 --tensor-bytes-per-minute 1GB --file keys.yaml
  $ inferd keys create --id team-b --scopes read     (prints the entry to add by hand)`,
    )
    .action(create);

  cmd
    .command('hash')
    .description("read a key from stdin and print its SHA-256 (hex), for the key file's sha256 field")
    .addHelpText(
      'after',
      `
One trailing newline is ignored. For keys made elsewhere (a secret manager, another team's tooling).

Examples:
  $ printf '%s' "$KEY" | inferd keys hash
  $ inferd keys hash < key.txt`,
    )
    .action(async () => {
      if (process.stdin.isTTY) process.stderr.write('Paste the key, then press Enter and Ctrl-D.\n');
      process.stdout.write(`${keyHash(await readStdin())}\n`);
    });

  cmd
    .command('list')
    .description('list the keys of a key file: id, scopes, expiry, quota (never the hashes)')
    .requiredOption('--file <path>', 'the key file')
    .option('--json', 'print JSON instead of a table')
    .addHelpText(
      'after',
      `
Examples:
  $ inferd keys list --file keys.yaml
  $ inferd keys list --file keys.yaml --json`,
    )
    .action(list);

  cmd
    .command('revoke')
    .description('remove a key from the key file; a server reading the file refuses it within 2 s')
    .requiredOption('--id <id>', 'the id of the key to remove')
    .requiredOption('--file <path>', 'the key file')
    .addHelpText(
      'after',
      `
Examples:
  $ inferd keys revoke --id team-a --file keys.yaml`,
    )
    .action(revoke);
  return cmd;
}
