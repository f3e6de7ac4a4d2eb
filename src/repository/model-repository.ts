// The model repository: which models are loaded, in which state, and the lifecycle operations
// (load, reload, unload) under the control modes none, poll and explicit. A reload loads the new
// versions beside the old ones, swaps them in, then drains the old ones, so no request fails.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { formatIssues, type ConfigIssue } from '../config/config-issues.js';
import { readModelConfig, type Loaded } from '../config/model-config-file.js';
import type { ParsedModelConfig } from '../config/model-config-schema.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
import { buildVersion, type VersionBuildContext } from '../model-kinds/version-factory.js';
import type { Logger } from '../observability/logger.js';
import { assertValidModelName, parseVersion } from './model-name.js';
import type { ModelState, RepositoryIndexEntry } from './model-state.js';
import { listModelNames, MODEL_FILE, scanModelFolder, type ModelFolder } from './repository-scanner.js';
import { selectVersions } from './version-policy.js';

export type ControlMode = 'none' | 'poll' | 'explicit';

/** How the repository finds and loads models; the rest is what each version is built with. */
export interface RepositoryOptions extends VersionBuildContext {
  readonly path: string;
  readonly controlMode: ControlMode;
  /** Models to load at start in explicit mode ('*' = all). */
  readonly loadModels: readonly string[];
  readonly pollSeconds: number;
  readonly logger: Logger;
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
}

export class ModelRepository {
  private readonly entries = new Map<string, ModelEntry>();
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** start() has scanned the folder and attempted every start-up load. */
  private started = false;

  constructor(private readonly options: RepositoryOptions) {}

  get controlMode(): ControlMode {
    return this.options.controlMode;
  }

  /** Loads the models the control mode calls for; failures are recorded, never thrown. */
  async start(): Promise<void> {
    const { controlMode, loadModels } = this.options;
    await assertRepositoryFolder(this.options.path);
    let names: string[];
    if (controlMode === 'explicit' && !loadModels.includes('*')) names = [...new Set(loadModels)];
    else names = await listModelNames(this.options.path);
    await Promise.all(names.map((n) => this.enqueue(n, () => this.loadInternal(n)).catch(() => undefined)));
    this.started = true;
    if (controlMode === 'poll') this.schedulePoll();
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

  /** The version to serve: the given one, or the highest ready version. */
  resolve(name: string, versionText?: string): ModelVersion {
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
      this.resolve(name, versionText);
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
        if (!readyOnly || e.state === 'READY') rows.push({ name, version: '', state: e.state, reason: e.reason });
        continue;
      }
      for (const v of [...e.versions.keys()].sort((a, b) => a - b)) {
        if (!readyOnly || e.state === 'READY')
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

  private notReady(entry: ModelEntry): InferdError {
    return new InferdError(
      'INF_ERR_MODEL_UNAVAILABLE',
      `model '${entry.name}' is not ready (${entry.state.toLowerCase()}${entry.reason === '' ? '' : `: ${entry.reason}`})`,
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
    const loaded = await this.loadVersions(folder);
    if (!loaded.ok) {
      const reason = formatIssues(loaded.issues);
      log.error({ issues: loaded.issues }, `model failed to load: ${reason}`);
      if (e.versions.size === 0) this.markFailed(e, reason);
      else e.reason = `reload failed, still serving the previous versions: ${reason}`;
      throw new InferdError('INF_ERR_MODEL_LOAD', `failed to load model '${name}': ${reason}`);
    }
    const old = e.versions;
    e.versions = loaded.value;
    e.state = 'READY';
    e.reason = '';
    log.info({ versions: [...loaded.value.keys()] }, 'model ready');
    await this.retire(old.values());
  }

  private async loadVersions(folder: ModelFolder): Promise<Loaded<Map<number, ModelVersion>>> {
    const parsed = await readModelConfig(folder);
    if (!parsed.ok) return parsed;
    if (folder.versions.length === 0) {
      return {
        ok: false,
        issues: [
          {
            file: folder.dir,
            field: '',
            reason: `no version folders containing ${MODEL_FILE} (expected ${folder.name}/1/${MODEL_FILE})`,
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
    const results = await Promise.all(choice.versions.map((v) => this.loadVersion(folder, parsed.value, v)));
    const issues: ConfigIssue[] = results.flatMap((r) => (r.ok ? [] : r.issues));
    if (issues.length > 0) {
      await this.retire(results.flatMap((r) => (r.ok ? [r.value] : [])));
      return { ok: false, issues };
    }
    return { ok: true, value: new Map(results.flatMap((r) => (r.ok ? [[r.value.version, r.value] as const] : []))) };
  }

  private loadVersion(folder: ModelFolder, parsed: ParsedModelConfig, version: number): Promise<Loaded<ModelVersion>> {
    const versionDir = path.join(folder.dir, String(version));
    return buildVersion(
      { folder, parsed, version, versionDir, modelPath: path.join(versionDir, MODEL_FILE) },
      this.options,
    );
  }

  private async unloadInternal(name: string, reason: string): Promise<void> {
    const e = this.entries.get(name);
    if (e === undefined) return;
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

  private markFailed(e: ModelEntry, reason: string): void {
    e.state = 'UNAVAILABLE';
    e.reason = reason;
  }
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
