// The inferd command line: a thin commander shell over the same modules the server uses.

import { Command } from 'commander';
import { VERSION } from '../version.js';
import { batchCommand } from './batch-command.js';
import { benchCommand } from './bench-command.js';
import { inferCommand } from './infer-command.js';
import { modelsCommand } from './models-command.js';
import { serveCommand } from './serve-command.js';
import { sqlCommand } from './sql-command.js';

/** Commands added with addCommand do not inherit the hint; give it to each, nested ones included. */
function withHelpHint(cmd: Command): Command {
  cmd.showHelpAfterError('(add --help for usage)');
  for (const sub of cmd.commands) withHelpHint(sub);
  return cmd;
}

export function buildProgram(): Command {
  return new Command('inferd')
    .description('Inference server for ONNX models: KServe v2 / Open Inference Protocol over REST, Prometheus metrics')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .addCommand(withHelpHint(serveCommand()))
    .addCommand(withHelpHint(modelsCommand()))
    .addCommand(withHelpHint(inferCommand()))
    .addCommand(withHelpHint(benchCommand()))
    .addCommand(withHelpHint(batchCommand()))
    .addCommand(withHelpHint(sqlCommand()));
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
