// API keys: the key file (YAML or JSON; each key stored as its SHA-256, never in clear), keys
// from the environment, verification in constant time, and reloading the file when it changes.
//
//   keys:
//     - id: team-a                      # named in logs, metrics and audit lines; never the key
//       sha256: 3c9a…                   # `inferd keys create` writes this entry
//       scopes: [infer:resnet-*, read]
//       expires: 2027-06-30T00:00:00Z   # optional
//       quota: { requests_per_second: 50, concurrent_requests: 8, tokens_per_minute: 100000 }

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InferdError } from '../errors/index.js';
import type { KeyQuota } from './quota.js';
import { parseScopes, type Grant } from './scopes.js';

export interface ApiKey {
  readonly id: string;
  /** SHA-256 of the key. */
  readonly digest: Buffer;
  readonly grant: Grant;
  /** Epoch ms; undefined = never. */
  readonly expiresAt: number | undefined;
  readonly quota: KeyQuota | undefined;
}

export const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Longest bearer token looked at; longer ones are refused before hashing. */
export const MAX_KEY_LENGTH = 512;

const positive = z.number().positive();
const quotaSchema = z
  .object({
    requests_per_second: positive.optional(),
    burst: z.number().int().positive().optional(),
    concurrent_requests: z.number().int().positive().optional(),
    tokens_per_minute: positive.optional(),
    tensor_bytes_per_minute: positive.optional(),
  })
  .strict();

const entrySchema = z
  .object({
    id: z
      .string()
      .regex(KEY_ID_PATTERN, 'an id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    sha256: z
      .string()
      .regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'the SHA-256 of the key as 64 hex digits (inferd keys hash prints it)'),
    scopes: z.array(z.string().min(1)).min(1, 'a key needs at least one scope'),
    expires: z.union([z.string(), z.date()]).optional(),
    quota: quotaSchema.optional(),
  })
  .strict();

const fileSchema = z.object({ keys: z.array(entrySchema) }).strict();

/** SHA-256 of a key, as stored in the key file. */
export function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A new random key: 32 bytes of entropy, URL-safe, with a prefix that secret scanners can find. */
export function generateKey(): string {
  return `inferd_${randomBytes(32).toString('base64url')}`;
}

function expiryOf(value: string | Date | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms))
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `${where}: expires: not a date; write ISO 8601, e.g. 2027-06-30T00:00:00Z`,
    );
  return ms;
}

function quotaOf(q: z.output<typeof quotaSchema> | undefined): KeyQuota | undefined {
  if (q === undefined) return undefined;
  return {
    ...(q.requests_per_second === undefined ? {} : { requestsPerSecond: q.requests_per_second }),
    ...(q.burst === undefined ? {} : { burst: q.burst }),
    ...(q.concurrent_requests === undefined ? {} : { concurrentRequests: q.concurrent_requests }),
    ...(q.tokens_per_minute === undefined ? {} : { tokensPerMinute: q.tokens_per_minute }),
    ...(q.tensor_bytes_per_minute === undefined ? {} : { tensorBytesPerMinute: q.tensor_bytes_per_minute }),
  };
}

/** Reads a key file's text (YAML or JSON) into keys, or throws one error listing every problem. */
export function parseKeyFile(text: string, file: string): ApiKey[] {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? { keys: [] };
  } catch (err) {
    throw new InferdError('INF_ERR_INVALID_CONFIG', `${file}: not YAML or JSON: ${(err as Error).message}`);
  }
  if (typeof raw === 'object' && raw !== null && 'keys' in raw && Array.isArray(raw.keys)) {
    const clear = (raw.keys as unknown[]).findIndex((k) => typeof k === 'object' && k !== null && 'key' in k);
    if (clear >= 0)
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `${file}: keys[${clear}]: holds a key in clear ('key:'); store its SHA-256 as 'sha256:' instead (inferd keys hash prints it)`,
      );
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${file}: ${i.path.join('.')}: ${i.message}`);
    throw new InferdError('INF_ERR_INVALID_CONFIG', issues.join('; '));
  }
  const seen = new Set<string>();
  const digests = new Set<string>();
  return parsed.data.keys.map((entry, i) => {
    const where = `${file}: keys[${i}] ('${entry.id}')`;
    if (seen.has(entry.id)) throw new InferdError('INF_ERR_INVALID_CONFIG', `${where}: the id is used twice`);
    seen.add(entry.id);
    const hex = entry.sha256.replace(/^sha256:/, '').toLowerCase();
    if (digests.has(hex))
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `${where}: the same key as an earlier entry; each key has one entry`,
      );
    digests.add(hex);
    return {
      id: entry.id,
      digest: Buffer.from(entry.sha256.replace(/^sha256:/, ''), 'hex'),
      grant: parseScopes(entry.scopes, where),
      expiresAt: expiryOf(entry.expires, where),
      quota: quotaOf(entry.quota),
    };
  });
}

/**
 * Keys given in the environment (INFERD_API_KEYS, comma-separated): each holds every scope, with
 * ids env-1, env-2, ... For a single shared key; a key file gives scopes, expiry and quotas.
 */
export function keysFromEnvironment(value: string | undefined): ApiKey[] {
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((key, i) => {
      if (key.length < 16)
        throw new InferdError(
          'INF_ERR_INVALID_CONFIG',
          `INFERD_API_KEYS: key ${i + 1} is shorter than 16 characters; use 'inferd keys create' for a strong one`,
        );
      return {
        id: `env-${i + 1}`,
        digest: digestOf(key),
        grant: parseScopes(['*'], 'INFERD_API_KEYS'),
        expiresAt: undefined,
        quota: undefined,
      };
    });
}

export type KeyCheck =
  | { readonly ok: true; readonly key: ApiKey }
  | { readonly ok: false; readonly reason: 'unknown' }
  | { readonly ok: false; readonly reason: 'expired'; readonly key: ApiKey };

/** What a key file watch reports. */
export interface KeyStoreEvents {
  reloaded(count: number): void;
  reloadFailed(err: unknown): void;
}

/**
 * The keys the server accepts: those of the key file (re-read when it changes) and of the
 * environment. `verify` hashes the presented key and looks the digest up. The lookup's time
 * depends only on the SHA-256 of what the caller sent, never on a stored key's characters, so it
 * tells a guesser nothing it could use (learning a stored digest would still leave the key unknown);
 * the match is then confirmed with timingSafeEqual. One hash and one lookup per request, however
 * many keys there are.
 */
export class KeyStore {
  private fileKeys: readonly ApiKey[];
  private byDigest: ReadonlyMap<string, ApiKey>;
  private fingerprint: string | undefined;

  private constructor(
    readonly file: string | undefined,
    private readonly envKeys: readonly ApiKey[],
    fileKeys: readonly ApiKey[],
    fingerprint: string | undefined,
  ) {
    this.fileKeys = fileKeys;
    this.byDigest = indexByDigest(fileKeys, envKeys);
    this.fingerprint = fingerprint;
  }

  /** Reads the key file (when one is given) now; a missing or invalid file fails start-up with its reason. */
  static async open(file: string | undefined, envKeys: readonly ApiKey[]): Promise<KeyStore> {
    if (file === undefined) return new KeyStore(undefined, envKeys, [], undefined);
    const { keys, fingerprint } = await readKeyFile(file);
    return new KeyStore(file, envKeys, keys, fingerprint);
  }

  get size(): number {
    return this.fileKeys.length + this.envKeys.length;
  }

  /** Ids of the keys, for start-up logs. */
  ids(): string[] {
    return [...this.fileKeys, ...this.envKeys].map((k) => k.id);
  }

  verify(presented: string, nowMs: number): KeyCheck {
    const digest = digestOf(presented);
    const found = this.byDigest.get(digest.toString('hex'));
    if (found === undefined || !timingSafeEqual(found.digest, digest)) return { ok: false, reason: 'unknown' };
    if (found.expiresAt !== undefined && nowMs >= found.expiresAt) return { ok: false, reason: 'expired', key: found };
    return { ok: true, key: found };
  }

  /**
   * Re-reads the key file when its size, modification time or inode changed (a Kubernetes Secret
   * update swaps a symlink, which changes all three). An unreadable or invalid file keeps the keys
   * in force and reports the failure. Resolves true when the keys were replaced.
   */
  async reloadIfChanged(events?: KeyStoreEvents): Promise<boolean> {
    if (this.file === undefined) return false;
    try {
      const now = await fileFingerprint(this.file);
      if (now === this.fingerprint) return false;
      const { keys, fingerprint } = await readKeyFile(this.file);
      this.fileKeys = keys;
      this.byDigest = indexByDigest(keys, this.envKeys);
      this.fingerprint = fingerprint;
      events?.reloaded(keys.length);
      return true;
    } catch (err) {
      events?.reloadFailed(err);
      return false;
    }
  }
}

/** Keys by the hex of their digest; a key given twice (file and environment) keeps the file's entry. */
function indexByDigest(fileKeys: readonly ApiKey[], envKeys: readonly ApiKey[]): Map<string, ApiKey> {
  const map = new Map<string, ApiKey>();
  for (const key of [...fileKeys, ...envKeys]) {
    const hex = key.digest.toString('hex');
    if (!map.has(hex)) map.set(hex, key);
  }
  return map;
}

async function fileFingerprint(file: string): Promise<string> {
  const s = await stat(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

async function readKeyFile(file: string): Promise<{ keys: ApiKey[]; fingerprint: string }> {
  let text: string;
  let fingerprint: string;
  try {
    fingerprint = await fileFingerprint(file);
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      code === 'ENOENT'
        ? `API key file ${file} does not exist (--api-keys-file)`
        : `cannot read API key file ${file}: ${(err as Error).message}`,
    );
  }
  return { keys: parseKeyFile(text, file), fingerprint };
}
