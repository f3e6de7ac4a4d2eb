// The inferd command line: a thin commander shell over the same modules the server uses.

import { Command } from 'commander';
import { VERSION } from '../version.js';

/**
 * Each command's module is imported only when the program needs it: `inferd serve` then loads
 * none of the batch, SQL or load-generator code (start-up time is scale-to-zero's latency).
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./serve-command.js')).serveCommand(),
  models: async () => (await import('./models-command.js')).modelsCommand(),
  infer: async () => (await import('./infer-command.js')).inferCommand(),
  bench: async () => (await import('./bench-command.js')).benchCommand(),
  batch: async () => (await import('./batch-command.js')).batchCommand(),
  sql: async () => (await import('./sql-command.js')).sqlCommand(),
  keys: async () => (await import('./keys-command.js')).keysCommand(),
  drift: async () => (await import('./drift-command.js')).driftCommand(),
};

/** Commands added with addCommand do not inherit the hint; give it to each, nested ones included. */
function withHelpHint(cmd: Command): Command {
  cmd.showHelpAfterError('(add --help for usage)');
  for (const sub of cmd.commands) withHelpHint(sub);
  return cmd;
}

/** The whole program, or, given a command's name, the program with that command alone. */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('inferd')
    .description(
      'Inference server and toolkit for ONNX models: KServe v2 / Open Inference Protocol over REST, gRPC and WebSocket streams, an OpenAI-compatible API for text generation and embeddings, batch inference over files and SQL, Prometheus metrics',
    )
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)');
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const name of names) {
    const make = COMMANDS[name];
    if (make !== undefined) program.addCommand(withHelpHint(await make()));
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `inferd models list | head`: a reader that stops early is not an error; the command ends as
  // usual (its remaining output goes nowhere). Commands that can stop early watch for it too.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  // argv[2] is the command; otherwise (--help, help, a typo) the whole program is built.
  await (await buildProgram(argv[2])).parseAsync(argv);
}
