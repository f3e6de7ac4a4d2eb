// The drift monitors of every loaded model version: each made on first use from the version's
// config (`monitoring.drift`) and folder (`reference.jsonl`), replaced when the version is (a
// reload gives it a new config), reported as JSON and exported as Prometheus series. A reference
// file with a mistake turns drift off for that version only; the model serves as before, and the
// reason is logged and reported.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { MODEL_CONFIG_DEFAULTS } from '../config/model-config-schema.js';
import type { ResolvedModelConfig, ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { isInferdError } from '../errors/inferd-error.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isIntegral, isWatchable, rowFeatures, type TensorLayout, type TensorSide } from './drift-features.js';
import {
  VersionDriftMonitor,
  type DriftMonitor,
  type DriftSettings,
  type SideReport,
  type WindowResult,
} from './drift-monitor.js';
import { MAX_REFERENCE_FILE_BYTES, parseReferenceLines, type ReferenceSample } from './drift-reference-file.js';

export type { DriftMonitor } from './drift-monitor.js';

/** The reference sample's file name in a model's folder. */
export const REFERENCE_FILE = 'reference.jsonl';

export interface VersionDriftReport {
  readonly version: number;
  readonly state: 'monitoring' | 'collecting_reference' | 'off';
  /** Why drift is off for this version. */
  readonly reason?: string;
  readonly window?: number;
  readonly alpha?: number;
  /** α divided by the features watched (Bonferroni): the p-value under which one feature alarms. */
  readonly alpha_per_feature?: number;
  readonly sample_rate?: number;
  readonly reference?: { readonly file?: string; readonly file_rows?: number };
  readonly windows?: number;
  readonly alarms?: number;
  /** Whether the last tested window of inputs or outputs drifted. */
  readonly drift?: boolean;
  /** Tensors not watched, and why. */
  readonly unwatched?: readonly { readonly tensor: string; readonly reason: string }[];
  readonly inputs?: SideReport;
  readonly outputs?: SideReport;
}

export interface DriftReport {
  readonly model: string;
  readonly versions: readonly VersionDriftReport[];
}

interface Entry {
  readonly config: ResolvedModelConfig;
  readonly version: number;
  readonly monitor: VersionDriftMonitor | undefined;
  readonly report: () => VersionDriftReport;
}

export interface DriftMonitorsOptions {
  readonly repository: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Decides which rows are observed under sample_rate; Math.random by default. */
  readonly random?: () => number;
  /** Runs a window's tests after the request that filled it; setImmediate by default. */
  readonly schedule?: (run: () => void) => void;
}

function rowSizeOf(tensor: ResolvedTensorConfig): number | undefined {
  let size = 1;
  for (const d of tensor.dims) {
    if (d < 0) return undefined;
    size *= d;
  }
  return size;
}

export class DriftMonitors {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: DriftMonitorsOptions) {}

  /** The monitor of a loaded version (created on first use from its config and folder); undefined when drift is off for it. */
  monitorFor(mv: { name: string; version: number; config: ResolvedModelConfig }): DriftMonitor | undefined {
    const key = `${mv.name}\u0000${mv.version}`;
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.config === mv.config) return entry.monitor;
    if (entry?.monitor !== undefined) this.clearSeries(mv.name, mv.version, entry.monitor);
    const created = this.create(mv);
    this.entries.set(key, created);
    return created.monitor;
  }

  /** JSON report for GET /v2/models/{m}[/versions/{v}]/drift; no versions when none was seen. */
  report(model: string, version?: number): DriftReport {
    const versions: VersionDriftReport[] = [];
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(`${model}\u0000`) || (version !== undefined && entry.version !== version)) continue;
      entry.monitor?.flush();
      versions.push(entry.report());
    }
    versions.sort((a, b) => a.version - b.version);
    return { model, versions };
  }

  /** Runs every pending window test now. */
  flush(): void {
    for (const entry of this.entries.values()) entry.monitor?.flush();
  }

  private create(mv: { name: string; version: number; config: ResolvedModelConfig }): Entry {
    const { name, version, config } = mv;
    const given = config.monitoring?.drift;
    const drift = { ...MODEL_CONFIG_DEFAULTS.drift, ...given };
    const file = path.join(this.options.repository, name, REFERENCE_FILE);
    const fileExists = existsSync(file);
    const off = (reason: string): Entry => ({
      config,
      version,
      monitor: undefined,
      report: () => ({ version, state: 'off', reason }),
    });
    const enabled = given?.enabled ?? (given !== undefined || fileExists);
    if (!enabled)
      return off(
        given === undefined
          ? `no ${REFERENCE_FILE} in the model folder and no monitoring.drift section in its config`
          : 'monitoring.drift.enabled is false',
      );
    const useFile = drift.reference === 'file';
    if (useFile && !fileExists)
      return this.failed(name, version, config, `${file}: not found (monitoring.drift.reference is 'file')`);

    const tensors: { t: ResolvedTensorConfig; side: TensorSide }[] = [
      ...config.inputs.map((t) => ({ t, side: 'input' as const })),
      ...config.outputs.map((t) => ({ t, side: 'output' as const })),
    ];
    let sample: ReferenceSample | undefined;
    if (useFile) {
      try {
        const size = statSync(file).size;
        if (size > MAX_REFERENCE_FILE_BYTES)
          throw new Error(`${file}: ${size} bytes, over the ${MAX_REFERENCE_FILE_BYTES}-byte limit`);
        sample = parseReferenceLines(readFileSync(file, 'utf8'), file, {
          expected: tensors
            .filter(({ t }) => isWatchable(t.datatype))
            .map(({ t }) => ({ name: t.name, rowSize: rowSizeOf(t) })),
          maxRows: drift.reference_rows,
        });
      } catch (err) {
        return this.failed(
          name,
          version,
          config,
          isInferdError(err) || err instanceof Error ? err.message : String(err),
        );
      }
    }

    const layouts: TensorLayout[] = [];
    const unwatched: { tensor: string; reason: string }[] = [];
    for (const { t, side } of tensors) {
      const inSample = sample?.tensors.find((s) => s.name === t.name);
      const rowSize = inSample?.rowSize ?? rowSizeOf(t);
      if (!isWatchable(t.datatype)) unwatched.push({ tensor: t.name, reason: `${t.datatype} holds no numbers` });
      else if (rowSize === undefined)
        unwatched.push({
          tensor: t.name,
          reason: `a dimension is dynamic and ${REFERENCE_FILE} does not fix its size`,
        });
      else if (rowSize === 0) unwatched.push({ tensor: t.name, reason: 'its rows are empty' });
      else layouts.push({ name: t.name, side, rowSize, integral: isIntegral(t.datatype) });
    }
    if (layouts.length === 0)
      return this.failed(
        name,
        version,
        config,
        'no tensor can be watched (' + unwatched.map((u) => `${u.tensor}: ${u.reason}`).join('; ') + ')',
      );

    const settings: DriftSettings = {
      window: drift.window,
      alpha: drift.alpha,
      sampleRate: drift.sample_rate,
      referenceRows: drift.reference_rows,
    };
    const labels = { model: name, version: String(version) };
    const metrics = this.options.metrics;
    const onWindow = (result: WindowResult): void => {
      for (const r of result.features) {
        const feature = { ...labels, feature: `${result.side}:${r.feature}` };
        metrics.driftScore.set({ ...feature, statistic: r.statistic }, r.value);
        metrics.driftScore.set({ ...feature, statistic: `${r.statistic}_p_value` }, r.p_value);
        if (r.psi !== undefined) metrics.driftScore.set({ ...feature, statistic: 'psi' }, r.psi);
      }
      metrics.driftWindows.inc(labels);
      if (result.drift) {
        metrics.driftAlarms.inc(labels);
        this.options.logger.warn(
          {
            model: name,
            version,
            side: result.side,
            window: result.index,
            drifted: result.features.filter((f) => f.drift).map((f) => f.feature),
          },
          'drift detected',
        );
      }
      const drifted =
        monitor !== undefined && [monitor.inputs.last, monitor.outputs.last].some((w) => w?.drift === true);
      metrics.driftAlarm.set(labels, drifted ? 1 : 0);
    };
    const monitor = new VersionDriftMonitor({
      layouts,
      ...(sample === undefined ? {} : { sample }),
      settings,
      ...(this.options.random === undefined ? {} : { random: this.options.random }),
      ...(this.options.schedule === undefined ? {} : { schedule: this.options.schedule }),
      onWindow,
    });
    this.options.logger.info(
      {
        model: name,
        version,
        features: layouts.reduce((n, l) => n + rowFeatures(l).names.length, 0),
        window: settings.window,
        reference: useFile ? file : 'first_requests',
      },
      'drift monitoring on',
    );
    return {
      config,
      version,
      monitor,
      report: () => {
        const inputs = monitor.inputs.report();
        const outputs = monitor.outputs.report();
        const states = [inputs.state, outputs.state].filter((s) => s !== 'off');
        const { windows, alarms } = monitor.counts();
        return {
          version,
          state: states.includes('collecting_reference') ? 'collecting_reference' : 'monitoring',
          window: settings.window,
          alpha: settings.alpha,
          alpha_per_feature: monitor.alphaPerFeature,
          sample_rate: settings.sampleRate,
          reference: sample === undefined ? {} : { file, file_rows: sample.fileRows },
          windows,
          alarms,
          drift: [inputs.last_window, outputs.last_window].some((w) => w?.drift === true),
          unwatched,
          inputs,
          outputs,
        };
      },
    };
  }

  private failed(name: string, version: number, config: ResolvedModelConfig, reason: string): Entry {
    this.options.logger.warn({ model: name, version, reason }, 'drift monitoring off: the model serves without it');
    return { config, version, monitor: undefined, report: () => ({ version, state: 'off', reason }) };
  }

  /** Removes a replaced monitor's series, so a reloaded version does not export stale scores. */
  private clearSeries(name: string, version: number, monitor: VersionDriftMonitor): void {
    const labels = { model: name, version: String(version) };
    for (const side of [monitor.inputs, monitor.outputs])
      for (const f of side.featureNames)
        for (const statistic of ['ks', 'ks_p_value', 'psi', 'chi2', 'chi2_p_value'])
          this.options.metrics.driftScore.remove({ ...labels, feature: `${side.name}:${f}`, statistic });
  }
}
