// `inferd models list|validate|schema`: inspect a repository without serving it. Each model is
// loaded as the server would load it, so what is printed is exactly what would be served.

import os from 'node:os';
import { Command } from 'commander';
import { modelConfigJsonSchema } from '../config/model-config-schema.js';
import { fullShape, type ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { modelConfigView } from '../protocols/common/model-views.js';
import { ModelRepository } from '../repository/model-repository.js';
import type { RepositoryIndexEntry } from '../repository/model-state.js';

async function withRepository<T>(
  repo: string,
  models: readonly string[],
  fn: (r: ModelRepository, rows: RepositoryIndexEntry[]) => T,
): Promise<T> {
  const repository = new ModelRepository({
    path: repo,
    controlMode: models.length > 0 ? 'explicit' : 'none',
    loadModels: models,
    // Not serve's poll interval: the none and explicit modes never poll.
    pollSeconds: 60,
    // One model at a time is loaded with few threads: this is inspection, not serving.
    cpuCores: Math.min(2, os.availableParallelism()),
    metrics: new Metrics(),
    logger: createLogger('silent'),
  });
  try {
    await repository.start();
    const rows = (await repository.index(false)).filter((r) => models.length === 0 || models.includes(r.name));
    return fn(repository, rows);
  } finally {
    await repository.close();
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/**
 * The repository from `-m` (as every other command takes it) or, as before, the first argument;
 * the remaining arguments are model names.
 */
function repositoryAndRest(command: Command, option: string | undefined, args: readonly string[]): [string, string[]] {
  if (option !== undefined) return [option, [...args]];
  const [first, ...rest] = args;
  if (first === undefined)
    command.error('error: give the model repository: -m <path> (or the path as the first argument)');
  return [first, rest];
}

export function modelsCommand(): Command {
  const cmd = new Command('models').description(
    'inspect a model repository: list models, validate configs, print the config schema',
  );

  const list = cmd.command('list');
  list
    .description('list each model with its state, versions, inputs and outputs')
    .argument('[repository]', 'model repository path (or -m)')
    .option('-m, --model-repository <path>', 'model repository path')
    .option('--json', 'print JSON instead of a table')
    .action(async (repoArg: string | undefined, opts: { json?: boolean; modelRepository?: string }) => {
      const [repo, extra] = repositoryAndRest(list, opts.modelRepository, repoArg === undefined ? [] : [repoArg]);
      if (extra.length > 0) list.error(`error: unexpected argument '${extra[0]}': the repository is -m`);
      await withRepository(repo, [], (repository, rows) => {
        const out = rows.map((r) => {
          const mv = r.state === 'READY' ? repository.resolve(r.name, r.version) : undefined;
          if (mv === undefined) return { ...r, inputs: '', outputs: '' };
          const io = (list: readonly ResolvedTensorConfig[]): string =>
            list.map((t) => `${t.name}:${t.datatype}[${fullShape(mv.config, t).join(',')}]`).join(' ');
          return { ...r, inputs: io(mv.config.inputs), outputs: io(mv.config.outputs) };
        });
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        const w = Math.max(5, ...out.map((r) => r.name.length));
        process.stdout.write(`${pad('MODEL', w)}  VERSION  STATE        INPUTS -> OUTPUTS / REASON\n`);
        for (const r of out) {
          const detail = r.state === 'READY' ? `${r.inputs} -> ${r.outputs}` : r.reason;
          process.stdout.write(`${pad(r.name, w)}  ${pad(r.version || '-', 7)}  ${pad(r.state, 11)}  ${detail}\n`);
        }
      });
    });

  const validate = cmd.command('validate');
  validate
    .description(
      'load each model as the server would and print its resolved config, or its exact error (exit 1 if any fails)',
    )
    .argument('[repository]', 'model repository path (or -m)')
    .argument('[models...]', 'only these models (default: all)')
    .option('-m, --model-repository <path>', 'model repository path')
    .action(async (repoArg: string | undefined, rest: string[], opts: { modelRepository?: string }) => {
      const [repo, models] = repositoryAndRest(validate, opts.modelRepository, [
        ...(repoArg === undefined ? [] : [repoArg]),
        ...rest,
      ]);
      const failed = await withRepository(repo, models, (repository, rows) => {
        let failures = 0;
        const result: Record<string, unknown> = {};
        for (const r of rows) {
          if (r.state === 'READY') {
            result[`${r.name}/${r.version}`] = modelConfigView(repository.resolve(r.name, r.version));
          } else {
            failures++;
            result[r.name] = { error: r.reason };
            process.stderr.write(`${r.name}: ${r.reason}\n`);
          }
        }
        for (const name of models) {
          if (rows.some((r) => r.name === name)) continue;
          failures++;
          const reason = `no model folder '${name}' in repository ${repo}`;
          result[name] = { error: reason };
          process.stderr.write(`${name}: ${reason}\n`);
        }
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return failures;
      });
      if (failed > 0) process.exitCode = 1;
    });

  cmd
    .command('schema')
    .description('print the JSON Schema of config.yaml / config.json')
    .action(() => {
      process.stdout.write(`${JSON.stringify(modelConfigJsonSchema(), null, 2)}\n`);
    });
  return cmd;
}
