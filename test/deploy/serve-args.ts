// Parsing a container's arguments with the real `inferd serve` command line, running nothing.

import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

/** What `inferd serve` parses out of arguments (the fields these tests read). */
export interface ServeOptions {
  modelRepository: string;
  host: string;
  httpPort: number;
  grpcPort: number | 'off';
  metricsPort: number | 'off';
  shutdownGraceSecs: number;
  drainDelaySecs: number;
  cpuCores?: number;
  batchDir: string;
  apiKeysFile?: string;
  anonymousScopes?: string[];
}

function serveCommand(program: Command): Command {
  const serve = program.commands.find((c) => c.name() === 'serve');
  if (serve === undefined) throw new Error('no serve command');
  return serve;
}

/**
 * Parses `args` (starting with `serve`) with the real command line, running nothing, and returns
 * the options; throws the parser's error (unknown option, bad value) otherwise.
 */
export async function parseServe(args: readonly string[]): Promise<ServeOptions> {
  const program = (await buildProgram()).exitOverride();
  const serve = serveCommand(program);
  let parsed: ServeOptions | undefined;
  serve
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .action((opts: ServeOptions) => {
      parsed = opts;
    });
  await program.parseAsync(['node', 'inferd', ...args]);
  if (parsed === undefined) throw new Error(`not a serve command line: ${args.join(' ')}`);
  return parsed;
}

/** The value of `--flag=value` / `--flag value` in args, the last one winning as in commander. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  args.forEach((a, i) => {
    if (a.startsWith(`${flag}=`)) value = a.slice(flag.length + 1);
    else if (a === flag) value = args[i + 1];
  });
  return value;
}
