// Parses an `inferd` command line with the real program in this process, capturing stderr and the
// exit code commander would give instead of exiting: for tests of option checking.

import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

export async function parseInProcess(args: readonly string[]): Promise<{ exitCode: number; stderr: string }> {
  let stderr = '';
  const program = await buildProgram();
  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(['node', 'inferd', ...args]);
  } catch (err) {
    if (err instanceof CommanderError) return { exitCode: err.exitCode, stderr };
    throw err;
  }
  return { exitCode: 0, stderr };
}
