// Writes a real API key file (keys stored as SHA-256) and returns the keys in clear for the tests.

import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { digestOf, generateKey } from '../../src/security/api-keys.js';

export interface TestKey {
  readonly id: string;
  readonly scopes: readonly string[];
  readonly expires?: string;
  readonly quota?: Record<string, number>;
}

/** Writes `file` with one entry per key and returns id → key. */
export function writeKeyFile(file: string, keys: readonly TestKey[]): Record<string, string> {
  const clear: Record<string, string> = {};
  const entries = keys.map((k) => {
    const key = generateKey();
    clear[k.id] = key;
    return {
      id: k.id,
      sha256: digestOf(key).toString('hex'),
      scopes: [...k.scopes],
      ...(k.expires === undefined ? {} : { expires: k.expires }),
      ...(k.quota === undefined ? {} : { quota: k.quota }),
    };
  });
  writeFileSync(file, stringify({ keys: entries }), { mode: 0o600 });
  return clear;
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
