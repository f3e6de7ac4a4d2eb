// The model repository: which models are loaded, in which state, and the lifecycle operations
// (load, reload, unload) under the control modes none, poll and explicit. A reload loads the new
// versions beside the old ones, swaps them in, then drains the old ones, so no request fails.
// A version whose instances keep crashing is taken out of service (UNAVAILABLE, with the reason)
// and loaded again after a backoff (1 s, 2 s, 4 s ... up to 60 s) until a load serves again.
// With a memory budget, models are registered without loading, loaded when a request asks for
// them, and unloaded least recently used first when a load needs their room (memory-budget.ts).

import { readdir, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { formatIssues, type ConfigIssue } from '../config/config-issues.js';
import { readModelConfig, type Loaded } from '../config/model-config-file.js';
import type { ParsedModelConfig } from '../config/model-config-schema.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
import { buildVersion, type VersionBuildContext } from '../model-kinds/version-factory.js';
import { versionInUse } from '../model-kinds/version-use.js';
import type { Logger } from '../observability/logger.js';
import type { MemoryBudgetMetrics } from '../observability/metrics.js';
import { DemandLoads } from './demand-loads.js';
import { MemoryBudget } from './memory-budget.js';
import { assertValidModelName, parseVersion } from './model-name.js';
import type { ModelState, RepositoryIndexEntry } from './model-state.js';
import {
  listLooseModelFiles,
  listModelNames,
  MODEL_FILE,
  scanModelFolder,
  type ModelFolder,
} from './repository-scanner.js';
import { systemRetryTimer, type RetryTimer } from './repository-timer.js';
import { selectVersions } from './version-policy.js';

export type { RetryTimer } from './repository-timer.js';

export type ControlMode = 'none' | 'poll' | 'explicit';

/** How the repository finds and loads models; the rest is what each version is built with. */
export interface RepositoryOptions extends VersionBuildContext {
  readonly path: string;
  readonly controlMode: ControlMode;
  /** Models to load at start in explicit mode ('*' = all). */
  readonly loadModels: readonly string[];
  readonly pollSeconds: number;
  readonly logger: Logger;
  /** The timer and clock of the load retries after a version failed (tests drive their own). */
  readonly retryTimer?: RetryTimer;
  /** Loads on demand within a byte budget, unloading idle models; undefined = every model stays loaded. */
  readonly memoryBudget?: MemoryBudgetOptions;
}

export interface MemoryBudgetOptions {
  readonly budgetBytes: number;
  /** Models never unloaded by the budget (loaded at start). */
  readonly pinned: readonly string[];
  /** Requests one model may have waiting for its on-demand load. */
  readonly maxWaiters: number;
  /** How long a request waits for an on-demand load, and a load for room. */
  readonly loadTimeoutMs: number;
  /** The process's resident bytes, read around each load (tests give their own). */
  readonly residentMemory?: () => number;
}

/** The reason an unloaded model that a request will load again shows. */
export const BUDGET_UNLOADED = 'unloaded: memory budget';

/** While a load waits for a model to fall idle, it looks again this often. */
const ROOM_RECHECK_MS = 25;

/** The first retry waits this long, each next one twice as long, up to the cap. */
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 60_000;

/** The wait before load attempt `failures` (1-based) after a version failed. */
export function retryDelayMs(failures: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS);
}

interface ModelEntry {
  readonly name: string;
  state: ModelState;
  reason: string;
  versions: ReadonlyMap<number, ModelVersion>;
  fingerprint: string | undefined;
  /** Operations on one model run one after another. */
  chain: Promise<void>;
  /** Operations queued or running on the chain. */
  ops: number;
  /** A poll-triggered load is waiting on the chain. */
  reloadQueued: boolean;
  /** Versions taken out of service because they could no longer run, with the reason. */
  failed: ReadonlyMap<number, string>;
  /** Failures (of a version, then of each retry load) since the model last served a while. */
  failures: number;
  /** When the last load swapped versions in (retry timer's clock). */
  loadedAt: number;
  /** The pending retry load: when it fires and what cancels it. */
  retry: { readonly at: number; readonly cancel: () => void } | undefined;
  /** Memory budget: a request for the model loads it when it is unloaded. */
  onDemand: boolean;
  /** Memory budget: versions just handed to a request that has not queued on them yet. */
  leases: number;
}

/** The memory budget and what serves it, when the budget is on. */
interface BudgetParts {
  readonly policy: MemoryBudget;
  readonly demand: DemandLoads;
  readonly metrics: MemoryBudgetMetrics;
  readonly options: MemoryBudgetOptions;
  /** Loads under the budget run one at a time, so each one's memory can be measured. */
  lock: Promise<void>;
}

export class ModelRepository {
  private readonly entries = new Map<string, ModelEntry>();
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** start() has scanned the folder and attempted every start-up load. */
  private started = false;
  private readonly retryTimer: RetryTimer;
  private readonly budget: BudgetParts | undefined;

  constructor(private readonly options: RepositoryOptions) {
    this.retryTimer = options.retryTimer ?? systemRetryTimer;
    const b = options.memoryBudget;
    if (b !== undefined) {
      const policy = new MemoryBudget(b.budgetBytes, new Set(b.pinned));
      this.budget = {
        policy,
        demand: new DemandLoads({ maxWaiters: b.maxWaiters, timeoutMs: b.loadTimeoutMs }, this.retryTimer),
        metrics: options.metrics.memoryBudget(() => ({
          budgetBytes: b.budgetBytes,
          residentBytes: policy.residentBytes(),
          residentModels: policy.residentModels(),
        })),
        options: b,
        lock: Promise.resolve(),
      };
    }
  }

  get controlMode(): ControlMode {
    return this.options.controlMode;
  }

  /** Loads the models the control mode calls for; failures are recorded, never thrown. */
  async start(): Promise<void> {
    const { controlMode, loadModels } = this.options;
    await assertRepositoryFolder(this.options.path);
    await this.warnAboutLayout();
    let names: string[];
    if (controlMode === 'explicit' && !loadModels.includes('*')) names = [...new Set(loadModels)];
    else names = await listModelNames(this.options.path);
    if (this.budget !== undefined) names = await this.registerOnDemand(names);
    await Promise.all(names.map((n) => this.enqueue(n, () => this.loadInternal(n)).catch(() => undefined)));
    this.started = true;
    if (controlMode === 'poll') this.schedulePoll();
  }

  /**
   * Says what a new user gets wrong most: a repository with no model folders, and model files put
   * at its root (the "point it at a file" habit), which are not served.
   */
  private async warnAboutLayout(): Promise<void> {
    const root = this.options.path;
    const loose = (await listLooseModelFiles(root)).map((f) => path.join(root, f));
    if (loose.length > 0)
      this.options.logger.warn(
        { files: loose },
        `model files at the repository root are not served: a model is a folder, <repository>/<model>/<version>/${MODEL_FILE} (e.g. ${path.join(root, path.basename(loose[0] ?? '', '.onnx'), '1', MODEL_FILE)})`,
      );
    if (this.options.controlMode !== 'explicit' && (await listModelNames(root)).length === 0)
      this.options.logger.warn(
        { repository: root },
        `the model repository ${root} holds no model folders, so nothing is served: lay models out as <repository>/<model>/<version>/${MODEL_FILE} (see examples/models)`,
      );
  }

  /** The next scan starts a poll interval after the previous one finished, so scans never overlap. */
  private schedulePoll(): void {
    if (this.closed) return;
    // Node clamps delays past 2^31-1 ms to 1 ms; cap instead of spinning.
    const ms = Math.min(this.options.pollSeconds * 1000, 2 ** 31 - 1);
    this.pollTimer = setTimeout(() => {
      this.poll()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'repository poll failed'))
        .finally(() => this.schedulePoll());
    }, ms);
    this.pollTimer.unref();
  }

  /**
   * The version to serve: the given one, or the highest ready version. Under the memory budget, a
   * model that is unloaded starts loading and this is a 503 with Retry-After; `acquire` waits instead.
   */
  resolve(name: string, versionText?: string): ModelVersion {
    if (this.budget === undefined) return this.find(name, versionText);
    const budget = this.budget;
    try {
      return this.handOut(this.find(name, versionText));
    } catch (err) {
      const e = this.entries.get(name);
      if (e === undefined || !this.unloadedOnDemand(e)) throw err;
      budget.metrics.misses.inc({ model: name });
      void budget.demand.start(name, () => this.loadOnDemand(name));
      throw new InferdError('INF_ERR_MODEL_UNAVAILABLE', `model '${name}' is loading on request; retry shortly`, {
        headers: { 'retry-after': '1' },
      });
    }
  }

  /**
   * As `resolve`, but a model unloaded by the memory budget is loaded and waited for (one load
   * shared by every request, bounded waiters, the load timeout; past either, a 503 with Retry-After).
   */
  async acquire(name: string, versionText?: string): Promise<ModelVersion> {
    if (this.budget === undefined) return this.find(name, versionText);
    const budget = this.budget;
    const e = this.entries.get(name);
    if (e === undefined || !this.unloadedOnDemand(e)) return this.handOut(this.find(name, versionText));
    budget.metrics.misses.inc({ model: name });
    await budget.demand.wait(name, () => this.loadOnDemand(name));
    return this.handOut(this.find(name, versionText), false);
  }

  /** Under the budget: a hit, the model most recently used, and leased until the request has queued. */
  private handOut(mv: ModelVersion, hit = true): ModelVersion {
    const budget = this.budget;
    if (budget === undefined) return mv;
    const e = this.entries.get(mv.name);
    if (e !== undefined) this.lease(e);
    budget.policy.touch(mv.name);
    if (hit) budget.metrics.hits.inc({ model: mv.name });
    return mv;
  }

  /**
   * Keeps the model from being unloaded until the current I/O callback and its promise jobs are
   * done: the edge queues its request on the version in that time, and from then on it is in use.
   */
  private lease(e: ModelEntry): void {
    e.leases++;
    setImmediate(() => {
      e.leases--;
    });
  }

  /**
   * Unloaded by the memory budget (or registered and not loaded yet, or loading): a request for
   * it waits for its load.
   */
  private unloadedOnDemand(e: ModelEntry): boolean {
    return e.onDemand && e.versions.size === 0 && e.failed.size === 0;
  }

  /** The load a request starts: none when the model was loaded meanwhile (by start-up, by a poll). */
  private loadOnDemand(name: string): Promise<void> {
    return this.enqueue(name, () => {
      const e = this.entries.get(name);
      return e !== undefined && e.versions.size > 0 ? Promise.resolve() : this.loadInternal(name);
    });
  }

  /** Lookup only: the version to serve, or the error a request for it gets. */
  private find(name: string, versionText?: string): ModelVersion {
    assertValidModelName(name);
    const entry = this.entries.get(name);
    if (entry === undefined) {
      // The server listens while the start-up loads run: a model not known yet may be on its way.
      if (!this.started)
        throw new InferdError(
          'INF_ERR_UNAVAILABLE',
          `the server is starting and model '${name}' is not loaded yet; retry shortly`,
        );
      throw unknownModel(name);
    }
    if (versionText !== undefined && versionText !== '') {
      const version = parseVersion(versionText);
      if (version === undefined)
        throw invalidArgument(
          `invalid version ${JSON.stringify(versionText)} for model '${name}': versions are positive integers`,
        );
      const mv = entry.versions.get(version);
      if (mv === undefined) {
        const failed = entry.failed.get(version);
        if (failed !== undefined && entry.versions.size > 0)
          throw this.notReady(entry, `version ${version} unavailable: ${failed}`);
        if (entry.versions.size === 0) throw this.notReady(entry);
        throw new InferdError(
          'INF_ERR_MODEL_NOT_FOUND',
          `Request for unknown model: '${name}' version ${version} is not found; serving version(s) ${[...entry.versions.keys()].join(', ')}`,
        );
      }
      return mv;
    }
    let best: ModelVersion | undefined;
    for (const mv of entry.versions.values()) if (best === undefined || mv.version > best.version) best = mv;
    if (best === undefined) throw this.notReady(entry);
    return best;
  }

  /** True when the model (and version, if given) can serve. */
  isReady(name: string, versionText?: string): boolean {
    try {
      this.find(name, versionText);
      return true;
    } catch {
      return false;
    }
  }

  /** Serving versions of every model, or of one. */
  servingVersions(name?: string): ModelVersion[] {
    const out: ModelVersion[] = [];
    for (const e of this.entries.values()) {
      if (name !== undefined && e.name !== name) continue;
      out.push(...[...e.versions.values()].sort((a, b) => a.version - b.version));
    }
    return out;
  }

  /** The repository index: every model folder, with a row per serving version. */
  async index(readyOnly: boolean): Promise<RepositoryIndexEntry[]> {
    let names: string[] = [];
    try {
      names = await listModelNames(this.options.path);
    } catch {
      // An unreadable repository still lists what is loaded.
    }
    const all = new Set([...names, ...this.entries.keys()]);
    const rows: RepositoryIndexEntry[] = [];
    for (const name of [...all].sort()) {
      const e = this.entries.get(name);
      if (e === undefined) {
        if (!readyOnly) rows.push({ name, version: '', state: 'UNAVAILABLE', reason: 'not loaded' });
        continue;
      }
      if (e.versions.size === 0) {
        if (readyOnly && e.state !== 'READY') continue;
        // Versions that failed keep their rows while they are retried.
        if (e.failed.size === 0) rows.push({ name, version: '', state: e.state, reason: e.reason });
        for (const v of [...e.failed.keys()].sort((a, b) => a - b))
          rows.push({ name, version: String(v), state: e.state, reason: e.reason });
        continue;
      }
      const versions = new Set([...e.versions.keys(), ...e.failed.keys()]);
      for (const v of [...versions].sort((a, b) => a - b)) {
        const failed = e.versions.has(v) ? undefined : e.failed.get(v);
        if (failed !== undefined) {
          if (!readyOnly) rows.push({ name, version: String(v), state: 'UNAVAILABLE', reason: failed });
        } else if (!readyOnly || e.state === 'READY')
          rows.push({ name, version: String(v), state: e.state, reason: e.reason });
      }
    }
    return rows;
  }

  /** Explicit load (or reload) of one model; rejects with the reason it could not be loaded. */
  async load(name: string): Promise<void> {
    this.assertExplicit('load');
    assertValidModelName(name);
    await this.enqueue(name, () => this.loadInternal(name));
  }

  async unload(name: string): Promise<void> {
    this.assertExplicit('unload');
    assertValidModelName(name);
    if (!this.entries.has(name)) throw unknownModel(name);
    await this.enqueue(name, () => this.unloadInternal(name, 'unloaded'));
  }

  /** Stops polling, drains every version and closes every instance. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    for (const e of this.entries.values()) this.cancelRetry(e);
    await Promise.all(
      [...this.entries.keys()].map((n) =>
        this.enqueue(n, () => this.unloadInternal(n, 'server shutting down')).catch(() => undefined),
      ),
    );
  }

  private assertExplicit(what: string): void {
    if (this.options.controlMode !== 'explicit') {
      throw new InferdError(
        'INF_ERR_UNSUPPORTED',
        `explicit model ${what} is not allowed in model control mode '${this.options.controlMode}'; start the server with --model-control-mode explicit`,
      );
    }
  }

  /** 503; while a retry load is pending, Retry-After says when it runs. */
  private notReady(entry: ModelEntry, why?: string): InferdError {
    const retry = entry.retry;
    const seconds = retry === undefined ? undefined : Math.max(1, Math.ceil((retry.at - this.retryTimer.now()) / 1000));
    return new InferdError(
      'INF_ERR_MODEL_UNAVAILABLE',
      why === undefined
        ? `model '${entry.name}' is not ready (${entry.state.toLowerCase()}${entry.reason === '' ? '' : `: ${entry.reason}`})`
        : `model '${entry.name}' is not ready (${why})`,
      seconds === undefined ? undefined : { headers: { 'retry-after': String(seconds) } },
    );
  }

  private entry(name: string): ModelEntry {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = {
        name,
        state: 'UNAVAILABLE',
        reason: '',
        versions: new Map(),
        fingerprint: undefined,
        chain: Promise.resolve(),
        ops: 0,
        reloadQueued: false,
        failed: new Map(),
        failures: 0,
        loadedAt: 0,
        retry: undefined,
        onDemand: false,
        leases: 0,
      };
      this.entries.set(name, e);
    }
    return e;
  }

  private enqueue(name: string, op: () => Promise<void>): Promise<void> {
    const e = this.entry(name);
    e.ops++;
    const run = e.chain.then(op).finally(() => {
      e.ops--;
    });
    e.chain = run.catch(() => undefined);
    return run;
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    let names: string[];
    try {
      names = await listModelNames(this.options.path);
    } catch (err) {
      this.options.logger.warn({ err }, 'cannot read model repository');
      return;
    }
    for (const name of names) {
      if (this.closed) return;
      const folder = await scanModelFolder(this.options.path, name);
      const e = this.entries.get(name);
      // Under the budget a new model is registered, and an unloaded one reads its files when it loads.
      if (this.budget !== undefined && folder !== undefined) {
        if (e === undefined) {
          await this.registerOnDemand([name]).then((pinned) =>
            pinned.forEach((n) => void this.enqueue(n, () => this.loadInternal(n)).catch(() => undefined)),
          );
          continue;
        }
        if (this.unloadedOnDemand(e)) continue;
      }
      // One pending load per model: a busy model (a long drain) is not queued again on every poll.
      if (folder !== undefined && (e === undefined || (e.fingerprint !== folder.fingerprint && !e.reloadQueued))) {
        const entry = this.entry(name);
        entry.reloadQueued = true;
        void this.enqueue(name, () => {
          entry.reloadQueued = false;
          return this.loadInternal(name);
        }).catch(() => undefined);
      }
    }
    if (this.closed) return;
    for (const [name, e] of this.entries) {
      if (!names.includes(name) && this.unloadedOnDemand(e) && e.ops === 0) {
        this.entries.delete(name);
        continue;
      }
      // Unloading clears the fingerprint: a removed model is unloaded once, not on every poll.
      if (!names.includes(name) && (e.fingerprint !== undefined || e.versions.size > 0))
        void this.enqueue(name, () => this.unloadInternal(name, 'removed from the repository')).catch(() => undefined);
    }
  }

  private async loadInternal(name: string): Promise<void> {
    if (this.closed) throw new InferdError('INF_ERR_UNAVAILABLE', 'the server is shutting down');
    const log = this.options.logger.child({ model: name });
    const e = this.entry(name);
    try {
      assertValidModelName(name);
    } catch (err) {
      this.markFailed(e, (err as Error).message);
      throw err;
    }
    const folder = await scanModelFolder(this.options.path, name);
    if (folder === undefined) {
      const reason = `no model folder '${name}' in repository ${this.options.path}`;
      // A name that was never served leaves nothing behind: clients cannot grow the model table.
      // (Only when nothing else is queued for it, so operations on one name never overlap.)
      if (e.versions.size === 0 && e.ops <= 1) this.entries.delete(name);
      throw new InferdError('INF_ERR_MODEL_NOT_FOUND', reason);
    }
    e.fingerprint = folder.fingerprint;
    if (e.versions.size === 0) {
      e.state = 'LOADING';
      e.reason = '';
    }
    let loaded: Loaded<Map<number, ModelVersion>>;
    try {
      loaded = this.budget === undefined ? await this.loadVersions(folder) : await this.loadMeasured(e, folder);
    } catch (err) {
      if (e.versions.size === 0 && e.onDemand) {
        if (err instanceof InferdError && err.code === 'INF_ERR_MODEL_LOAD') {
          // Larger than the budget can ever hold: failed, with the reason, until its files change.
          e.onDemand = false;
          this.markFailed(e, err.message);
        } else {
          // No room under the budget yet: unloaded as before, and a later request tries again.
          e.state = 'UNAVAILABLE';
          e.reason = BUDGET_UNLOADED;
        }
      }
      throw err;
    }
    if (!loaded.ok) {
      if (e.versions.size === 0) e.onDemand = false;
      const reason = formatIssues(loaded.issues);
      // With earlier versions still serving, the model keeps working: a warning, not an error.
      if (e.versions.size === 0) log.error({ issues: loaded.issues }, `model failed to load: ${reason}`);
      else
        log.warn({ issues: loaded.issues }, `model failed to reload, still serving the previous versions: ${reason}`);
      if (e.versions.size === 0) this.markFailed(e, reason);
      else e.reason = `reload failed, still serving the previous versions: ${reason}`;
      throw new InferdError('INF_ERR_MODEL_LOAD', `failed to load model '${name}': ${reason}`);
    }
    const old = e.versions;
    e.versions = loaded.value;
    e.state = 'READY';
    // Ignored config fields stay visible: in the index row's reason and a warning in the log.
    const warnings = loaded.warnings ?? [];
    e.reason = warnings.length === 0 ? '' : `ignored config fields: ${formatIssues(warnings)}`;
    if (warnings.length > 0) log.warn({ issues: warnings }, `model config: ${e.reason}`);
    e.failed = new Map();
    e.loadedAt = this.retryTimer.now();
    this.cancelRetry(e);
    log.info({ versions: [...loaded.value.keys()] }, 'model ready');
    for (const mv of loaded.value.values()) mv.onUnavailable((reason) => this.versionFailed(e, mv, reason));
    await this.retire(old.values());
  }

  private async loadVersions(scanned: ModelFolder): Promise<Loaded<Map<number, ModelVersion>>> {
    const parsed = await readModelConfig(scanned);
    if (!parsed.ok) return parsed;
    const modelFile = parsed.value.default_model_filename ?? MODEL_FILE;
    const folder =
      modelFile === MODEL_FILE
        ? scanned
        : ((await scanModelFolder(this.options.path, scanned.name, modelFile)) ?? scanned);
    if (folder.versions.length === 0) {
      return {
        ok: false,
        issues: [
          {
            file: folder.dir,
            field: '',
            reason: `no version folders containing ${modelFile} (expected ${folder.name}/1/${modelFile})`,
          },
        ],
      };
    }
    const choice = selectVersions(parsed.value.version_policy, folder.versions);
    if ('missing' in choice) {
      return {
        ok: false,
        issues: [
          {
            file: folder.dir,
            field: 'version_policy.specific.versions',
            reason: `version(s) ${choice.missing.join(', ')} not found; available: ${folder.versions.join(', ')}`,
          },
        ],
      };
    }
    const results = await Promise.all(choice.versions.map((v) => this.loadVersion(folder, parsed.value, v, modelFile)));
    const issues: ConfigIssue[] = results.flatMap((r) => (r.ok ? [] : r.issues));
    if (issues.length > 0) {
      await this.retire(results.flatMap((r) => (r.ok ? [r.value] : [])));
      return { ok: false, issues };
    }
    return {
      ok: true,
      value: new Map(results.flatMap((r) => (r.ok ? [[r.value.version, r.value] as const] : []))),
      ...(parsed.warnings === undefined ? {} : { warnings: parsed.warnings }),
    };
  }

  private loadVersion(
    folder: ModelFolder,
    parsed: ParsedModelConfig,
    version: number,
    modelFile: string,
  ): Promise<Loaded<ModelVersion>> {
    const versionDir = path.join(folder.dir, String(version));
    return buildVersion(
      { folder, parsed, version, versionDir, modelPath: path.join(versionDir, modelFile) },
      this.options,
    );
  }

  private async unloadInternal(name: string, reason: string): Promise<void> {
    const e = this.entries.get(name);
    if (e === undefined) return;
    this.budget?.policy.remove(name);
    e.onDemand = false;
    this.cancelRetry(e);
    e.failed = new Map();
    e.failures = 0;
    e.state = 'UNLOADING';
    e.reason = reason;
    // Out of service first (ready turns false, new requests get 503), then drain what is in flight.
    const old = e.versions;
    e.versions = new Map();
    await this.retire(old.values());
    e.state = 'UNAVAILABLE';
    e.reason = reason;
    e.fingerprint = undefined;
    this.options.logger.info({ model: name }, `model unloaded (${reason})`);
  }

  /** Drains versions taken out of service, then stops their instances. */
  private async retire(versions: Iterable<ModelVersion>): Promise<void> {
    await Promise.all([...versions].map((mv) => mv.close()));
  }

  /**
   * A serving version can no longer run (its instances kept crashing): out of service at once, so
   * readiness turns false and new requests get 503; what waits on it fails; a load is retried.
   */
  private versionFailed(e: ModelEntry, mv: ModelVersion, reason: string): void {
    if (this.closed || this.entries.get(e.name) !== e || e.versions.get(mv.version) !== mv) return;
    const versions = new Map(e.versions);
    versions.delete(mv.version);
    e.versions = versions;
    e.failed = new Map([...e.failed, [mv.version, reason]]);
    // A model that served a while before failing starts its backoff over.
    if (this.retryTimer.now() - e.loadedAt >= MAX_RETRY_MS) e.failures = 0;
    e.failures++;
    const delay = retryDelayMs(e.failures);
    if (versions.size === 0) {
      e.state = 'UNAVAILABLE';
      e.reason = `version ${mv.version} ${reason}; next load attempt in ${delay / 1000} s`;
      this.budget?.policy.remove(e.name);
    }
    this.options.metrics.versionFailures.inc({ model: e.name, version: String(mv.version) });
    this.options.logger.error(
      { model: e.name, version: mv.version, reason, retryInMs: delay },
      `model version unavailable: ${reason}`,
    );
    this.retire([mv]).catch((err: unknown) =>
      this.options.logger.warn({ err, model: e.name, version: mv.version }, 'closing a failed version failed'),
    );
    this.scheduleRetry(e, delay);
  }

  private scheduleRetry(e: ModelEntry, ms: number): void {
    if (this.closed) return;
    this.cancelRetry(e);
    const cancel = this.retryTimer.set(() => {
      e.retry = undefined;
      this.enqueue(e.name, () => this.retryLoad(e)).catch(() => undefined);
    }, ms);
    e.retry = { at: this.retryTimer.now() + ms, cancel };
  }

  private cancelRetry(e: ModelEntry): void {
    e.retry?.cancel();
    e.retry = undefined;
  }

  /** Loads the model again after a version failed; a failed attempt waits longer for the next. */
  private async retryLoad(e: ModelEntry): Promise<void> {
    // Unloaded, removed, or served again by a reload meanwhile: nothing left to retry.
    if (this.closed || this.entries.get(e.name) !== e || e.failed.size === 0) return;
    const log = this.options.logger.child({ model: e.name });
    log.info({ attempt: e.failures }, 'loading a failed model again');
    try {
      await this.loadInternal(e.name);
    } catch (err) {
      if (this.entries.get(e.name) !== e) return;
      e.failures++;
      const delay = retryDelayMs(e.failures);
      if (e.versions.size === 0) e.reason = `${e.reason}; next load attempt in ${delay / 1000} s`;
      log.warn({ err, retryInMs: delay }, 'loading the failed model again failed');
      this.scheduleRetry(e, delay);
    }
  }

  /**
   * Registers models for loading on request and returns those to load now: the pinned ones, and in
   * explicit mode the ones named at start.
   */
  private async registerOnDemand(names: readonly string[]): Promise<string[]> {
    const budget = this.budget;
    if (budget === undefined) return [...names];
    const { controlMode, loadModels } = this.options;
    let known = names;
    if (controlMode === 'explicit') {
      // Explicit mode serves what it is told to: the named models load now, pinned ones too.
      const pinned = budget.options.pinned.filter((n) => !names.includes(n));
      return [...names, ...(loadModels.includes('*') ? [] : pinned)];
    }
    known = names.filter((n) => !budget.policy.isPinned(n));
    for (const name of known) {
      if (this.entries.has(name)) continue;
      const e = this.entry(name);
      e.onDemand = true;
      e.state = 'UNAVAILABLE';
      e.reason = BUDGET_UNLOADED;
      const folder = await scanModelFolder(this.options.path, name);
      e.fingerprint = folder?.fingerprint;
    }
    return names.filter((n) => budget.policy.isPinned(n));
  }

  /**
   * Loads under the memory budget, one load at a time: makes room first (unloading idle models,
   * least recently used first, or waiting for one to fall idle), then loads and charges the model
   * what it measured: the process's resident bytes grew by that much, and never less than its files.
   */
  private async loadMeasured(e: ModelEntry, folder: ModelFolder): Promise<Loaded<Map<number, ModelVersion>>> {
    const budget = this.budget;
    if (budget === undefined) return this.loadVersions(folder);
    e.onDemand = true;
    const previous = budget.lock;
    let release: () => void = () => undefined;
    budget.lock = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    try {
      const started = performance.now();
      const files = await versionFilesBytes(folder, [Math.max(...folder.versions, 0)]);
      await this.makeRoom(e, budget.policy.estimate(e.name, folder.fingerprint, files));
      const rss = budget.options.residentMemory ?? (() => process.memoryUsage.rss());
      const before = rss();
      const loaded = await this.loadVersions(folder);
      if (!loaded.ok) return loaded;
      const grown = rss() - before;
      const measured = Math.max(grown, await versionFilesBytes(folder, [...loaded.value.keys()]));
      budget.policy.admit(e.name, folder.fingerprint, measured);
      this.lease(e);
      budget.metrics.loads.inc({ model: e.name });
      budget.metrics.loadSeconds.observe((performance.now() - started) / 1000);
      this.options.logger.info(
        { model: e.name, bytes: measured, residentBytes: budget.policy.residentBytes() },
        'model loaded under the memory budget',
      );
      // Measured larger than expected: unload more idle models now if there are (never waits).
      if (budget.policy.residentBytes() > budget.policy.budgetBytes) {
        const plan = budget.policy.planRoom(e.name, measured, this.victimCheck);
        if (plan.fits) await Promise.all(plan.victims.map((v) => this.evict(v)));
      }
      return loaded;
    } finally {
      release();
    }
  }

  /** What the budget may not take: a model in use, or one with an operation under way. */
  private readonly victimCheck = {
    inUse: (name: string): boolean => {
      const e = this.entries.get(name);
      if (e === undefined) return false;
      if (e.leases > 0 || (this.budget?.demand.waiters(name) ?? 0) > 0) return true;
      for (const mv of e.versions.values()) if (versionInUse(mv)) return true;
      return false;
    },
    busy: (name: string): boolean => (this.entries.get(name)?.ops ?? 0) > 0,
  };

  /** Unloads idle models until `needBytes` fit; waits (up to the load timeout) while none is idle. */
  private async makeRoom(e: ModelEntry, needBytes: number): Promise<void> {
    const budget = this.budget;
    if (budget === undefined) return;
    const deadline = this.retryTimer.now() + budget.options.loadTimeoutMs;
    for (;;) {
      const plan = budget.policy.planRoom(e.name, needBytes, this.victimCheck);
      if (plan.fits) {
        await Promise.all(plan.victims.map((v) => this.evict(v)));
        return;
      }
      if (plan.reason === 'larger-than-budget')
        throw new InferdError(
          'INF_ERR_MODEL_LOAD',
          `model '${e.name}' needs about ${needBytes} bytes, which with the pinned models is more than the memory budget of ${budget.policy.budgetBytes} bytes (--model-memory-budget)`,
        );
      if (this.retryTimer.now() >= deadline)
        throw new InferdError(
          'INF_ERR_MODEL_UNAVAILABLE',
          `no room to load model '${e.name}' within the memory budget of ${budget.policy.budgetBytes} bytes (--model-memory-budget): every loaded model is pinned or in use; retry shortly`,
          { headers: { 'retry-after': '1' } },
        );
      await new Promise<void>((resolve) => this.retryTimer.set(resolve, ROOM_RECHECK_MS));
    }
  }

  /** Takes an idle model out of service to free its memory; a request for it loads it again. */
  private evict(name: string): Promise<void> {
    const budget = this.budget;
    const e = this.entries.get(name);
    if (budget === undefined || e === undefined) return Promise.resolve();
    budget.policy.remove(name);
    // Out of service at once (the model was idle and its operation chain empty): a request from
    // now on finds it unloaded and loads it again, after this unload on the model's chain.
    const old = e.versions;
    e.versions = new Map();
    e.state = 'UNLOADING';
    e.reason = BUDGET_UNLOADED;
    e.onDemand = true;
    budget.metrics.evictions.inc({ model: name });
    this.options.logger.info({ model: name }, 'model unloaded to make room under the memory budget');
    return this.enqueue(name, async () => {
      await this.retire(old.values());
      if (e.versions.size === 0) e.state = 'UNAVAILABLE';
    });
  }

  private markFailed(e: ModelEntry, reason: string): void {
    e.state = 'UNAVAILABLE';
    e.reason = reason;
  }
}

/** Bytes of the files in the given version folders (the model and its external data). */
async function versionFilesBytes(folder: ModelFolder, versions: readonly number[]): Promise<number> {
  let sum = 0;
  for (const v of versions) {
    const dir = path.join(folder.dir, String(v));
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        const s = await stat(path.join(dir, n));
        if (s.isFile()) sum += s.size;
      } catch {
        // A file that went away is not charged.
      }
    }
  }
  return sum;
}

async function assertRepositoryFolder(dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new InferdError('INF_ERR_INVALID_CONFIG', `model repository '${dir}' does not exist`);
  }
  if (!isDir) throw new InferdError('INF_ERR_INVALID_CONFIG', `model repository '${dir}' is not a folder`);
}

/** Triton's wording, which its clients and examples match on. */
function unknownModel(name: string): InferdError {
  return new InferdError('INF_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${name}' is not found`);
}
