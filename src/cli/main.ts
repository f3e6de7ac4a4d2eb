// The inferd command line: a thin commander shell over the same modules the server uses.

import { Command } from 'commander';
import { VERSION } from '../version.js';
import { inferCommand } from './infer-command.js';
import { modelsCommand } from './models-command.js';
import { serveCommand } from './serve-command.js';

export function buildProgram(): Command {
  return new Command('inferd')
    .description('Inference server for ONNX models: KServe v2 / Open Inference Protocol over REST, Prometheus metrics')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .addCommand(serveCommand())
    .addCommand(modelsCommand())
    .addCommand(inferCommand());
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
