// `npm run test:docs`: runs every example of README.md and docs/*.md that PLAN (doc-examples.ts)
// marks as run, in reading order, in a scratch copy of the checkout (its files plus links to
// node_modules and dist), against servers on free ports (localhost:8000/8001/8002 rewritten,
// /tmp/ moved to a scratch folder). Then the copy must still pass the format check and lint, and
// hold no new file outside the ignored folders: an example may not break the build.
// About two minutes; not part of `npm test` (CI runs it after).

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import * as httpClient from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { allBlocks, keyOf, PLAN, ROOT, type DocBlock } from './doc-examples.js';
import { freePort } from '../../bench/lib/inferd-process.js';

const run = promisify(execFile);

interface Ports {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

interface Server {
  readonly ports: Ports;
  readonly child: ChildProcess;
  output: string;
}

/**
 * Waits for the server's "inferd is serving" log line (it is logged once every model is loaded),
 * then asks GET /v2/health/ready once, over TLS where the doc's server uses it (certificates not
 * checked), and expects 200.
 */
async function waitReady(server: Server, tls: boolean, clientCert?: string, timeoutMs = 120_000): Promise<void> {
  const { child } = server;
  await new Promise<void>((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onData = (): void => {
      if (server.output.includes('inferd is serving')) finish();
    };
    const onExit = (): void => finish(new Error(`server exited: ${server.output}`));
    const timer = setTimeout(
      () => finish(new Error(`server not ready after ${timeoutMs} ms: ${server.output}`)),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
  const cert =
    clientCert === undefined ? {} : { cert: readFileSync(`${clientCert}.pem`), key: readFileSync(`${clientCert}.key`) };
  const status = await new Promise<number>((resolve) => {
    const url = `${tls ? 'https' : 'http'}://127.0.0.1:${server.ports.http}/v2/health/ready`;
    const get = tls ? https.get : httpClient.get;
    const req = get(url, { rejectUnauthorized: false, ...cert }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
  assert.equal(status, 200, `the server said it is serving, but /v2/health/ready answered ${status}: ${server.output}`);
}

/** Stops a server started by startServer, with its shell and npm. */
async function stop(server: Server): Promise<void> {
  const { child } = server;
  // A child killed by a signal has signalCode set and exitCode still null.
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  await exited;
}

/** The block as it runs here: ports, /tmp/ and `npm ci &&` (never re-run here) rewritten. */
function rewrite(body: string, ports: Ports, tmp: string): string {
  return (
    body
      .replaceAll('localhost:8000', `localhost:${ports.http}`)
      .replaceAll('localhost:8001', `localhost:${ports.grpc}`)
      .replaceAll('localhost:8002', `localhost:${ports.metrics}`)
      .replaceAll('/tmp/', `${tmp}/`)
      .replaceAll('npm ci && ', '')
      .replace(/(node examples\/clients\/vad-stream\.mjs)(?! --url)/, `$1 --url ws://localhost:${ports.http}`)
      // `inferd bench` measures the server on :8000 unless given --url.
      .replaceAll(/(inferd(?:\.js)? bench \S+)(?![^\n]*--url)/g, `$1 --url http://localhost:${ports.http}`)
  );
}

async function copyCheckout(scratch: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  for (const file of new Set(stdout.split('\0').filter(Boolean))) {
    await cp(path.join(ROOT, file), path.join(scratch, file), { recursive: false }).catch((error: unknown) => {
      // A file deleted in the work tree but still in the index is not copied.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }
  await symlink(await realpath(path.join(ROOT, 'node_modules')), path.join(scratch, 'node_modules'));
  await symlink(await realpath(path.join(ROOT, 'dist')), path.join(scratch, 'dist'));
}

describe('documented examples, in a scratch copy of the checkout', () => {
  let scratch: string;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const servers: Server[] = [];
  const blocks: DocBlock[] = [];

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'inferd-docs-'));
    tmp = path.join(scratch, '..', `${path.basename(scratch)}-tmp`);
    await mkdir(tmp);
    await copyCheckout(scratch);
    // `inferd` as the docs write it: the checkout's bin, as `npm install` would put it on PATH.
    const bin = path.join(tmp, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'inferd'), `#!/bin/sh\nexec node ${path.join(scratch, 'bin/inferd.js')} "$@"\n`);
    await chmod(path.join(bin, 'inferd'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
    blocks.push(...(await allBlocks(scratch)));
  });
  after(async () => {
    for (const s of servers) await stop(s);
    await rm(scratch, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  });

  async function startServer(command: string, tls: boolean, clientCert?: string): Promise<Server> {
    const ports = { http: await freePort(), grpc: await freePort(), metrics: await freePort() };
    const flags = `--http-port ${ports.http} --grpc-port ${ports.grpc} --metrics-port ${ports.metrics}`;
    const npm = /^npm start\s*$/m.test(command);
    const script = `${command.trimEnd()}${npm ? ' --' : ''} ${flags}\n`;
    // Its own process group, so that the shell, npm and node all stop together.
    const child = spawn('sh', ['-e', '-c', script], { cwd: scratch, env, detached: true, stdio: 'pipe' });
    const server: Server = { ports, child, output: '' };
    child.stdout.on('data', (d: Buffer) => (server.output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (server.output += d.toString()));
    servers.push(server);
    await waitReady(server, tls, clientCert?.replace('/tmp/', `${tmp}/`));
    return server;
  }

  it('every runnable example runs, in order, and exits 0', { timeout: 15 * 60_000 }, async (t) => {
    let main: Server | undefined;
    let local: Server | undefined;
    let file = '';
    for (const block of blocks) {
      const entry = PLAN[keyOf(block)];
      assert.ok(entry, `${keyOf(block)} is planned (doc-blocks.test.ts)`);
      const plan = entry.plan;
      if (plan.do === 'skip' || plan.do === 'yaml') continue;
      if (block.file !== file) {
        // A server a doc starts serves the rest of that doc only.
        if (local) await stop(local);
        local = undefined;
        file = block.file;
      }
      const where = `${keyOf(block)} (line ${block.line})`;
      if (plan.do === 'serve') {
        if (local) await stop(local);
        const started = await startServer(
          rewrite(block.body, { http: 0, grpc: 0, metrics: 0 }, tmp),
          plan.tls ?? false,
          plan.clientCert,
        );
        if (main === undefined) main = started;
        else local = started;
        t.diagnostic(`${where}: server on ${started.ports.http}`);
        continue;
      }
      const server = local ?? main;
      assert.ok(server, `${where}: a server runs`);
      let ports = server.ports;
      if (block.body.includes('--http-port 8000')) {
        // The block starts a server of its own on :8000: a free port for it instead.
        ports = { ...ports, http: await freePort() };
      }
      const body = rewrite(block.body, ports, tmp).replaceAll('--http-port 8000', `--http-port ${ports.http}`);
      let output = '';
      const started = Date.now();
      try {
        if (plan.do === 'js') {
          const target = path.join(
            scratch,
            plan.saveAs ?? `.tmp/${path.basename(block.file, '.md')}-${block.index}.mjs`,
          );
          await mkdir(path.dirname(target), { recursive: true });
          await writeFile(target, body);
          ({ stdout: output } = await run('node', [path.relative(scratch, target)], {
            cwd: scratch,
            env,
            timeout: 120_000,
          }));
        } else {
          ({ stdout: output } = await run('sh', ['-e', '-c', body], {
            cwd: scratch,
            env,
            timeout: 300_000,
            maxBuffer: 64 << 20,
          }));
        }
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        assert.fail(`${where} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${body}`);
      }
      // curl -s exits 0 on a 404 too: an answer naming a missing model or route fails the example.
      if (!plan.showsNotFound) {
        assert.doesNotMatch(output, /not found|unknown model|no model named/i, `${where} printed:\n${output}`);
      }
      for (const pattern of plan.expect ?? []) assert.match(output, pattern, `${where} printed:\n${output}`);
      t.diagnostic(`${where}: ${Date.now() - started} ms`);
    }
    if (local) await stop(local);
    if (main) await stop(main);
  });

  it('afterwards the copy holds no new file outside the ignored folders', async () => {
    const { stdout } = await run('git', ['ls-files', '--others', '--exclude-standard'], { cwd: ROOT });
    const before = new Set(stdout.split('\n').filter(Boolean));
    const gitDir = (await run('git', ['rev-parse', '--absolute-git-dir'], { cwd: ROOT })).stdout.trim();
    // The checkout's index against the copy's files: what the examples left behind, .gitignore applied.
    const after = await run(
      'git',
      [`--git-dir=${gitDir}`, `--work-tree=${scratch}`, 'ls-files', '--others', '--exclude-standard'],
      {
        cwd: scratch,
      },
    );
    // node_modules and dist are the links copyCheckout made.
    const links = new Set(['node_modules', 'dist']);
    const added = after.stdout.split('\n').filter((f) => f && !before.has(f) && !links.has(f));
    assert.deepEqual(added, [], 'examples write into ignored folders (.tmp/) or /tmp only');
  });

  it('afterwards the copy passes the format check and lint', { timeout: 10 * 60_000 }, async () => {
    for (const script of ['format:check', 'lint']) {
      try {
        await run('npm', ['run', script], { cwd: scratch, env, timeout: 600_000, maxBuffer: 64 << 20 });
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        assert.fail(`npm run ${script} fails after the examples ran:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      }
    }
  });
});
