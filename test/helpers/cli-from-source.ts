// Runs the `inferd` command line from the TypeScript sources (what bin/inferd.js does over dist/),
// for tests that must not depend on a build.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = pathToFileURL(path.join(ROOT, 'src', 'cli', 'main.ts')).href;
const ENTRY = `import { main } from ${JSON.stringify(MAIN)};
main(process.argv).catch((err) => {
  process.stderr.write('inferd: ' + (err instanceof Error ? err.message : String(err)) + '\\n');
  process.exitCode = 1;
});`;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `inferd <args>` in the project root, with `input` on stdin; resolves whatever the exit code. */
export function inferdFromSource(args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, 'inferd', ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => undefined).end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
