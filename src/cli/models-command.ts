// `inferd models list|validate|convert|schema`: inspect a repository without serving it. Each
// model is loaded as the server would load it, so what is printed is exactly what would be served.

import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { modelConfigToPbtxt } from '../config/model-config-pbtxt.js';
import type { JsonObject } from '../config/protobuf-text-format.js';
import { modelConfigJsonSchema } from '../config/model-config-schema.js';
import { fullShape, type ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
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
          if (mv === undefined) return { ...r, task: '', inputs: '', outputs: '' };
          return { ...r, task: mv.config.task, ...servedInputsOutputs(mv) };
        });
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        const w = Math.max(5, ...out.map((r) => r.name.length));
        process.stdout.write(`${pad('MODEL', w)}  VERSION  STATE        TASK             INPUTS -> OUTPUTS / REASON\n`);
        for (const r of out) {
          const detail =
            r.state === 'READY' ? `${r.inputs} -> ${r.outputs}${r.reason === '' ? '' : ` (${r.reason})`}` : r.reason;
          process.stdout.write(
            `${pad(r.name, w)}  ${pad(r.version || '-', 7)}  ${pad(r.state, 11)}  ${pad(r.task || '-', 15)}  ${detail}\n`,
          );
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
            const view = modelConfigView(repository.resolve(r.name, r.version));
            result[`${r.name}/${r.version}`] = r.reason === '' ? view : { ...view, warnings: r.reason };
            if (r.reason !== '') process.stderr.write(`${r.name}: warning: ${r.reason}\n`);
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

  const convert = cmd.command('convert');
  convert
    .description("write a model's resolved config (as the server loads it) as config.pbtxt, config.yaml or config.json")
    .argument('<model>', 'the model to convert')
    .requiredOption('-m, --model-repository <path>', 'model repository path')
    .addOption(new Option('--to <format>', 'output format').choices(['pbtxt', 'yaml', 'json']).makeOptionMandatory())
    .option('-o, --output <file>', 'write here instead of standard output')
    .action(
      async (model: string, opts: { modelRepository: string; to: 'pbtxt' | 'yaml' | 'json'; output?: string }) => {
        const text = await withRepository(opts.modelRepository, [model], (repository, rows) => {
          const row = rows.find((r) => r.name === model);
          if (row?.state !== 'READY')
            return { error: row?.reason ?? `no model folder '${model}' in ${opts.modelRepository}` };
          return { text: configText(repository.resolve(model), opts.to) };
        });
        if ('error' in text) {
          process.stderr.write(`${model}: ${text.error}\n`);
          process.exitCode = 1;
          return;
        }
        if (opts.output === undefined) process.stdout.write(text.text);
        else await writeFile(opts.output, text.text);
      },
    );

  cmd
    .command('schema')
    .description('print the JSON Schema of config.yaml / config.json')
    .action(() => {
      process.stdout.write(`${JSON.stringify(modelConfigJsonSchema(), null, 2)}\n`);
    });
  return cmd;
}

/** The resolved config as a config file: /config's view without its read-only `runtime` block. */
export function configText(mv: ModelVersion, format: 'pbtxt' | 'yaml' | 'json'): string {
  const config = modelConfigView(mv);
  delete config['runtime'];
  if (format === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  if (format === 'yaml') return toYaml(config);
  // ModelConfig's parameters are {string_value} messages.
  const params = (config['parameters'] ?? {}) as Record<string, string | number | boolean>;
  const parameters = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { string_value: String(v) }]));
  return modelConfigToPbtxt(JSON.parse(JSON.stringify({ ...config, parameters })) as JsonObject);
}

/**
 * What a client sends and gets back: the tensors for tensor, embedding and rerank models (with the
 * OpenAI endpoint beside them), the endpoints for text generation, whose engine takes text.
 */
function servedInputsOutputs(mv: ModelVersion): { inputs: string; outputs: string } {
  const io = (list: readonly ResolvedTensorConfig[]): string =>
    list.map((t) => `${t.name}:${t.datatype}[${fullShape(mv.config, t).join(',')}]`).join(' ');
  if (mv.kind === 'text-generation') return { inputs: 'text (prompt or chat messages)', outputs: 'text' };
  const tensors = { inputs: io(mv.config.inputs), outputs: io(mv.config.outputs) };
  if (mv.kind === 'reranker')
    return { inputs: `text pairs via /v1/rerank, or ${tensors.inputs}`, outputs: `scores, or ${tensors.outputs}` };
  if (mv.kind !== 'embedding') return tensors;
  return { inputs: `text via /v1/embeddings, or ${tensors.inputs}`, outputs: `vectors, or ${tensors.outputs}` };
}
