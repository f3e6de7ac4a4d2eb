// The experiments a server knows: read from the repository's experiment folders (re-read when a
// file changes) and defined through the admin API; each routes the name clients call to one of
// its variants. A broken definition never takes down the models it names: a file that stops
// parsing leaves the last good definition in force (its error reported), and a variant whose model
// cannot serve gets no traffic while another can.

import type { Logger } from '../observability/logger.js';
import type { Registry } from 'prom-client';
import { formatIssues, type ConfigIssue } from '../config/config-issues.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
import { listRepositoryFolders } from '../repository/repository-scanner.js';
import { assertValidModelName } from '../repository/model-name.js';
import { systemRetryTimer, type RetryTimer } from '../repository/repository-timer.js';
import {
  checkExperiment,
  definitionError,
  readExperimentFile,
  type ExperimentDefinition,
} from './experiment-definition.js';
import { Experiment, type ExperimentModels, type Variant } from './experiment.js';
import { ExperimentMetrics } from './experiment-metrics.js';
import { CanaryController, type AccuracySource } from './canary-controller.js';
import { pickByWeight, routingPoint } from './variant-picker.js';
import { routingKeyFrom } from './routing-headers.js';

/** A request's destination: the version that serves it, and the experiment's variant when one chose it. */
export interface Routed {
  readonly mv: ModelVersion;
  readonly experiment?: Experiment;
  readonly variant?: Variant;
}

export interface ExperimentsOptions {
  readonly models: ExperimentModels;
  /** The repository folder, where experiment folders are read. */
  readonly repositoryPath: string;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Re-reads the experiment files this often; 0 = only at start and on `reloadFiles`. */
  readonly pollMs?: number;
  readonly timer?: RetryTimer;
  readonly random?: () => number;
  /** Labelled rows per variant, for canary analysis's accuracy check (monitoring/predictions.ts). */
  readonly accuracy?: AccuracySource;
}

export class Experiments {
  readonly metrics: ExperimentMetrics;
  private readonly active = new Map<string, Experiment>();
  /** Files that failed with no earlier definition to keep: name → the issues. */
  private readonly broken = new Map<string, string>();
  private readonly random: () => number;
  private readonly timer: RetryTimer;
  private cancelPoll: (() => void) | undefined;
  private stopped = false;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: ExperimentsOptions) {
    this.metrics = new ExperimentMetrics(options.registry);
    this.random = options.random ?? Math.random;
    this.timer = options.timer ?? systemRetryTimer;
  }

  /** Reads the experiment files, then keeps re-reading them every `pollMs`. */
  async start(): Promise<void> {
    await this.reloadFiles();
    this.schedulePoll();
  }

  stop(): void {
    this.stopped = true;
    this.cancelPoll?.();
    for (const e of this.active.values()) e.stop();
  }

  private schedulePoll(): void {
    const ms = this.options.pollMs ?? 0;
    if (ms <= 0 || this.stopped) return;
    this.cancelPoll = this.timer.set(() => {
      this.schedulePoll();
      void this.reloadFiles();
    }, ms);
  }

  has(name: string): boolean {
    return this.active.has(name);
  }

  /** The routing key a call of `name` carries in its headers (gRPC: metadata), if it is an experiment. */
  routingHeaderKey(name: string, headers: Readonly<Record<string, unknown>>): string | undefined {
    const e = this.active.get(name);
    if (e === undefined) return undefined;
    const header = e.definition.sticky.header.toLowerCase();
    return routingKeyFrom(headers[header], header);
  }

  get(name: string): Experiment | undefined {
    return this.active.get(name);
  }

  /** Every experiment in force, by name. */
  list(): Experiment[] {
    return [...this.active.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Files that could not be read into a definition (and had none in force), with their issues. */
  brokenFiles(): ReadonlyMap<string, string> {
    return this.broken;
  }

  /**
   * The experiment in force under `name`, or undefined when the name is no experiment's; a name
   * whose file is broken (and had no good definition) is the 503 that names the problem.
   */
  private inForce(name: string): Experiment | undefined {
    const experiment = this.active.get(name);
    const broken = experiment === undefined ? this.broken.get(name) : undefined;
    if (broken !== undefined)
      throw new InferdError('INF_ERR_MODEL_UNAVAILABLE', `experiment '${name}' is not in force: ${broken}`);
    return experiment;
  }

  status(name: string): Record<string, unknown> {
    const e = this.inForce(name);
    if (e === undefined) throw new InferdError('INF_ERR_MODEL_NOT_FOUND', `no experiment '${name}'`);
    return e.toJSON(this.options.models);
  }

  /**
   * The version a call of `name` goes to: for an experiment, the variant its weights (and the
   * routing key, when given) choose among those that can serve; undefined when `name` is no
   * experiment. A version in the call is a 400: the variants choose the versions.
   */
  async route(name: string, versionText: string | undefined, key: string | undefined): Promise<Routed | undefined> {
    const experiment = this.inForce(name);
    if (experiment === undefined) return undefined;
    if (versionText !== undefined && versionText !== '')
      throw invalidArgument(
        `'${name}' is an experiment: its variants choose the model versions, so call it without a version`,
      );
    return this.pick(experiment, key);
  }

  /**
   * As `route`, without waiting: the variant must be loaded (the OpenAI edge resolves without
   * loading, as it does for models). Undefined when `name` is no experiment.
   */
  routeNow(name: string, key: string | undefined): Routed | undefined {
    const experiment = this.inForce(name);
    if (experiment === undefined) return undefined;
    const variant = this.choose(experiment, key);
    return { mv: this.options.models.resolve(variant.definition.model, variant.versionText), experiment, variant };
  }

  /** Routes again with a key found in the request's body (the `routing_key` parameter). */
  async reroute(routed: Routed, key: string): Promise<Routed> {
    if (routed.experiment === undefined) return routed;
    const again = await this.pick(routed.experiment, key);
    return again.variant === routed.variant ? routed : again;
  }

  private async pick(experiment: Experiment, key: string | undefined): Promise<Routed> {
    const variant = this.choose(experiment, key);
    const mv = await this.options.models.acquire(variant.definition.model, variant.versionText);
    return { mv, experiment, variant };
  }

  private choose(experiment: Experiment, key: string | undefined): Variant {
    const models = this.options.models;
    const weights = experiment.variants.map((v) => v.weight);
    const point = routingPoint(experiment.name, key, this.random);
    let i = pickByWeight(weights, point, (j) => {
      const v = experiment.variants[j];
      return v !== undefined && models.isReady(v.definition.model, v.versionText);
    });
    // None can serve now: the weights' own choice, whose acquire loads it (under a memory budget)
    // or answers why it cannot serve.
    if (i < 0) i = pickByWeight(weights, point);
    const variant = experiment.variants[i];
    if (variant === undefined)
      throw new InferdError('INF_ERR_MODEL_UNAVAILABLE', `experiment '${experiment.name}' has no variant with weight`);
    return variant;
  }

  /** Defines (or replaces) an experiment through the admin API. */
  async define(name: string, raw: unknown): Promise<Record<string, unknown>> {
    assertValidModelName(name);
    const current = this.active.get(name);
    if (current !== undefined && current.definition.source !== 'api')
      throw new InferdError(
        'INF_ERR_CONFLICT',
        `experiment '${name}' is defined by ${current.definition.source}: change that file, or remove it first`,
      );
    const folders = await this.folders();
    const fileDefined = folders.experiments.get(name);
    if (fileDefined !== undefined)
      throw new InferdError('INF_ERR_CONFLICT', `experiment '${name}' is defined by ${fileDefined}: change that file`);
    const checked = checkExperiment(name, 'api', raw, this.names(folders, name));
    if (!checked.ok) throw definitionError(checked.issues);
    this.install(checked.value, JSON.stringify(raw));
    this.options.logger.info({ experiment: name }, 'experiment defined through the API');
    return this.status(name);
  }

  /** Removes an experiment defined through the API. */
  remove(name: string): void {
    const e = this.active.get(name);
    if (e === undefined) throw new InferdError('INF_ERR_MODEL_NOT_FOUND', `no experiment '${name}'`);
    if (e.definition.source !== 'api')
      throw new InferdError(
        'INF_ERR_CONFLICT',
        `experiment '${name}' is defined by ${e.definition.source}: remove that folder to end it`,
      );
    e.stop();
    this.active.delete(name);
    this.options.logger.info({ experiment: name }, 'experiment removed through the API');
  }

  /** Re-reads every experiment file; an unchanged file keeps its experiment (and its counts). */
  reloadFiles(): Promise<void> {
    this.reading ??= this.readFiles().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** The repository's model and experiment folders; none when it cannot be read. */
  private async folders(): Promise<{ models: string[]; experiments: Map<string, string> }> {
    try {
      return await listRepositoryFolders(this.options.repositoryPath);
    } catch {
      return { models: [], experiments: new Map() };
    }
  }

  /** What a definition named `self` may route to, from one listing of the repository. */
  private names(
    folders: { models: readonly string[]; experiments: ReadonlyMap<string, string> },
    self: string,
  ): { isModel(n: string): boolean; isExperiment(n: string): boolean } {
    const modelSet = new Set(folders.models);
    return {
      isModel: (n) => modelSet.has(n),
      isExperiment: (n) => n !== self && (this.active.has(n) || folders.experiments.has(n)),
    };
  }

  private async readFiles(): Promise<void> {
    const folders = await this.folders();
    const files = folders.experiments;
    const logger = this.options.logger;
    for (const [name, file] of files) {
      const read = await readExperimentFile(file);
      const current = this.active.get(name);
      const fingerprint = read.ok ? JSON.stringify(read.raw) : '';
      if (read.ok && current?.fingerprint === fingerprint && current.definition.source === file) continue;
      const checked = read.ok ? checkExperiment(name, file, read.raw, this.names(folders, name)) : read;
      if (!checked.ok) this.refuse(name, checked.issues, current);
      else {
        if (current !== undefined && current.definition.source === 'api')
          logger.warn({ experiment: name, file }, 'an experiment file replaces the definition made through the API');
        this.broken.delete(name);
        this.install(checked.value, fingerprint);
        logger.info({ experiment: name, file }, current === undefined ? 'experiment in force' : 'experiment updated');
      }
    }
    // A removed folder ends its experiment; API definitions stay.
    for (const [name, e] of this.active)
      if (e.definition.source !== 'api' && !files.has(name)) {
        e.stop();
        this.active.delete(name);
        logger.info({ experiment: name }, 'experiment ended: its folder was removed');
      }
    for (const name of this.broken.keys()) if (!files.has(name)) this.broken.delete(name);
  }

  private refuse(name: string, issues: readonly ConfigIssue[], current: Experiment | undefined): void {
    const text = formatIssues(issues);
    if (current !== undefined && current.definition.source !== 'api') {
      if (current.fileError !== text)
        this.options.logger.error(
          { experiment: name, issues: text },
          'experiment file not reloaded; the last good definition stays in force',
        );
      current.fileError = text;
      return;
    }
    if (this.broken.get(name) !== text)
      this.options.logger.error({ experiment: name, issues: text }, 'experiment not in force: its file is invalid');
    this.broken.set(name, text);
  }

  private install(definition: ExperimentDefinition, fingerprint: string): void {
    this.active.get(definition.name)?.stop();
    const e = new Experiment(definition, fingerprint, this.metrics, this.random);
    this.active.set(definition.name, e);
    if (definition.canary !== undefined)
      e.companion = new CanaryController(e, definition.canary, {
        timer: this.timer,
        logger: this.options.logger,
        counted: (action) => this.metrics.canaryDecisions.inc({ experiment: definition.name, action }),
        ...(this.options.accuracy === undefined ? {} : { accuracy: this.options.accuracy }),
      });
  }
}
