// `inferd keys`: the command line run as a child process from the sources (under tsx), on key files
// in a temporary folder. What it writes must be what the server's own parser reads.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expiryFrom, keyHash } from '../../src/cli/keys-command.js';
import { digestOf, parseKeyFile } from '../../src/security/api-keys.js';
import { inferdFromSource } from '../helpers/cli-from-source.js';

const inferd = inferdFromSource;

const KEY_LINE = /^inferd_[A-Za-z0-9_-]{43}\n$/;
const DAY_MS = 86_400_000;
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

describe('inferd keys', { concurrency: true }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-keys-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));
  const file = (name: string): string => path.join(dir, name);

  it('create writes a 0600 file the server parses, holding the SHA-256 of the printed key', async () => {
    const keys = file('created.yaml');
    const started = Date.now();
    const r = await inferd([
      'keys',
      'create',
      '--id',
      'team-a',
      '--scopes',
      'infer:resnet-*, read',
      '--expires',
      '30d',
      '--requests-per-second',
      '50',
      '--concurrent-requests',
      '8',
      '--tokens-per-minute',
      '100000',
      '--tensor-bytes-per-minute',
      '64MB',
      '--file',
      keys,
    ]);
    const finished = Date.now();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, KEY_LINE, 'stdout holds the key alone');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    for (const part of ["'team-a'", 'infer:resnet-*, read', 'shown only this once', 'within 2 s'])
      assert.ok(r.stderr.includes(part), `the note lacks ${part}: ${r.stderr}`);

    assert.equal((await stat(keys)).mode & 0o777, 0o600);
    const [entry, ...rest] = parseKeyFile(await readFile(keys, 'utf8'), keys);
    assert.equal(rest.length, 0);
    assert.ok(entry !== undefined);
    assert.equal(entry.id, 'team-a');
    assert.deepEqual(entry.digest, digestOf(r.stdout.trim()));
    assert.deepEqual(entry.grant.scopes, ['infer:resnet-*', 'read']);
    assert.deepEqual(entry.quota, {
      requestsPerSecond: 50,
      concurrentRequests: 8,
      tokensPerMinute: 100_000,
      tensorBytesPerMinute: 64 * 1024 * 1024,
    });
    // 30 days from when the command ran (whole seconds).
    assert.ok(entry.expiresAt !== undefined);
    assert.ok(entry.expiresAt >= Math.floor((started + 30 * DAY_MS) / 1000) * 1000, String(entry.expiresAt));
    assert.ok(entry.expiresAt <= finished + 30 * DAY_MS, String(entry.expiresAt));
  });

  it('a second key keeps the first entry and the comments', async () => {
    const keys = file('commented.yaml');
    const original = `# our keys\nkeys:\n  # the ops team\n  - id: ops\n    sha256: ${HASH_A}\n    scopes: ["*"] # all of it\n`;
    await writeFile(keys, original, { mode: 0o600 });
    const r = await inferd(['keys', 'create', '--id', 'ci', '--scopes', 'infer', '--file', keys]);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(keys, 'utf8');
    assert.ok(text.startsWith(original), text);
    const parsed = parseKeyFile(text, keys);
    assert.deepEqual(
      parsed.map((k) => k.id),
      ['ops', 'ci'],
    );
    assert.deepEqual(parsed[1]?.digest, digestOf(r.stdout.trim()));
  });

  it('refuses a duplicate id with the parser’s message, printing no key and leaving the file as it was', async () => {
    const keys = file('duplicate.yaml');
    const original = `keys:\n  - id: ops\n    sha256: ${HASH_A}\n    scopes: [read]\n`;
    await writeFile(keys, original, { mode: 0o600 });
    const before = await stat(keys);
    const r = await inferd(['keys', 'create', '--id', 'ops', '--scopes', 'read', '--file', keys]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `inferd: ${keys}: keys[1] ('ops'): the id is used twice\n`);
    assert.equal(await readFile(keys, 'utf8'), original);
    const after = await stat(keys);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  it('refuses an unknown scope and creates no file', async () => {
    const keys = file('bad-scope.yaml');
    const r = await inferd(['keys', 'create', '--id', 'x', '--scopes', 'read,reed', '--file', keys]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^inferd: .*keys\[0\] \('x'\): unknown scope 'reed'; the scopes are /);
    assert.equal(existsSync(keys), false);
  });

  it('without --file prints the entry on stderr and the key on stdout', async () => {
    const r = await inferd(['keys', 'create', '--id', 'solo', '--scopes', 'health']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, KEY_LINE);
    const entry = r.stderr.slice(r.stderr.indexOf('\n') + 1);
    const [key] = parseKeyFile(`keys:\n${entry}`, 'stderr');
    assert.equal(key?.id, 'solo');
    assert.deepEqual(key.digest, digestOf(r.stdout.trim()));
  });

  it('hash prints the SHA-256 of the key on stdin, one trailing newline ignored', async () => {
    const key = 'team-secret-0123456789';
    const r = await inferd(['keys', 'hash'], `${key}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${createHash('sha256').update(key).digest('hex')}\n`);
    assert.equal(r.stderr, '');
    const empty = await inferd(['keys', 'hash'], '');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^inferd: no key on stdin/);
  });

  it('list shows ids, scopes, expiry and quotas, and never a hash', async () => {
    const keys = file('listed.yaml');
    await writeFile(
      keys,
      `keys:\n` +
        `  - { id: old, sha256: ${HASH_A}, scopes: [read], expires: 2020-01-01T00:00:00Z }\n` +
        `  - { id: batch, sha256: ${HASH_B}, scopes: [infer, admin:batch], quota: { requests_per_second: 20, concurrent_requests: 4 } }\n`,
      { mode: 0o600 },
    );
    const r = await inferd(['keys', 'list', '--file', keys]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+SCOPES\s+EXPIRES\s+QUOTA$/);
    assert.match(lines[1] ?? '', /^old\s+read\s+2020-01-01T00:00:00Z \(expired\)\s+-$/);
    assert.match(lines[2] ?? '', /^batch\s+infer,admin:batch\s+never\s+20 req\/s, 4 concurrent$/);
    assert.ok(!r.stdout.includes('aaaa') && !r.stdout.includes('bbbb'), r.stdout);

    const json = await inferd(['keys', 'list', '--file', keys, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!json.stdout.includes('aaaa') && !json.stdout.includes('sha256'), json.stdout);
    const rows = JSON.parse(json.stdout) as { id: string; expired: boolean }[];
    assert.deepEqual(
      rows.map((x) => [x.id, x.expired]),
      [
        ['old', true],
        ['batch', false],
      ],
    );
  });

  it('revoke removes exactly that entry, and names an id that is not there', async () => {
    const keys = file('revoked.yaml');
    const entries = ['a', 'b', 'c'].map((id) => `  - id: ${id}\n    sha256: ${id.repeat(64)}\n    scopes: [read]\n`);
    await writeFile(keys, `keys:\n${entries.join('')}`, { mode: 0o600 });
    const r = await inferd(['keys', 'revoke', '--id', 'b', '--file', keys]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const text = await readFile(keys, 'utf8');
    assert.equal(text, `keys:\n${entries[0] ?? ''}${entries[2] ?? ''}`);
    assert.equal((await stat(keys)).mode & 0o777, 0o600);

    const again = await inferd(['keys', 'revoke', '--id', 'b', '--file', keys]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^inferd: no key 'b' in /);
    assert.equal(await readFile(keys, 'utf8'), text);
  });

  it('documents each subcommand with examples', async () => {
    const r = await inferd(['keys', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const part of ['create', 'hash', 'list', 'revoke', 'Examples:', 'KEY=$(inferd keys create'])
      assert.ok(r.stdout.includes(part), `keys --help lacks ${part}:\n${r.stdout}`);
  });
});

describe('inferd keys, in process', () => {
  it('reads --expires as days from a reference time, or as an ISO 8601 date', () => {
    const now = Date.parse('2026-03-01T12:34:56.789Z');
    assert.equal(expiryFrom('30d', now), '2026-03-31T12:34:56Z');
    assert.equal(expiryFrom('2027-06-30', now), '2027-06-30T00:00:00Z');
    assert.equal(expiryFrom('2027-06-30T08:00:00+02:00', now), '2027-06-30T06:00:00Z');
    assert.throws(() => expiryFrom('2026-02-01', now), /2026-02-01T00:00:00Z is already past/);
    assert.throws(() => expiryFrom('0d', now), /expected 1d\.\.36500d/);
    assert.throws(() => expiryFrom('next week', now), /expected an ISO 8601 date/);
    // What the file then holds is a date the parser reads back.
    const [key] = parseKeyFile(
      `keys: [{ id: k, sha256: ${HASH_A}, scopes: [read], expires: ${expiryFrom('30d', now)} }]`,
      'f',
    );
    assert.equal(key?.expiresAt, Date.parse('2026-03-31T12:34:56Z'));
  });

  it('refuses keys a server could never be sent', () => {
    assert.throws(() => keyHash('two words are here, too'), /whitespace/);
    assert.throws(() => keyHash('short'), /shorter than 16/);
    assert.equal(keyHash('k'.repeat(20) + '\r\n'), createHash('sha256').update('k'.repeat(20)).digest('hex'));
  });
});
