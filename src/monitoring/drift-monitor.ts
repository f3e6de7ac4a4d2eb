// One model version's drift monitor. On the request path it only copies each sampled row's feature
// values into preallocated column buffers (a summarised tensor's few statistics are computed as it
// copies); when a tumbling window of W rows fills, the buffers are swapped and the tests run later,
// in a setImmediate, so they never delay the request that filled it. Inputs and outputs are two
// windows (a failed request has inputs and no outputs); both test at α / k, k being every feature
// of the version, so the version's false-alarm rate per window is at most α.

import type { Tensor } from '../tensor/tensor.js';
import { rowFeatures, numericView, type RowFeatures, type TensorLayout, type TensorSide } from './drift-features.js';
import {
  buildProfile,
  profileRows,
  testFeature,
  type FeatureProfile,
  type FeatureResult,
  type TestScratch,
} from './drift-profile.js';
import type { ReferenceSample } from './drift-reference-file.js';

/** What the integrator calls on the request path. */
export interface DriftMonitor {
  /** Copies what it keeps; called before the inputs go to the scheduler (their buffers are transferred to a worker after). */
  observeInputs(inputs: readonly Tensor[], batchSize: number): void;
  observeOutputs(outputs: readonly Tensor[], batchSize: number): void;
}

export interface DriftSettings {
  readonly window: number;
  readonly alpha: number;
  readonly sampleRate: number;
  /** Rows frozen as the reference of a side the reference file does not cover. */
  readonly referenceRows: number;
}

/** One tested window of one side. */
export interface WindowResult {
  readonly side: TensorSide;
  /** 1 for the side's first window. */
  readonly index: number;
  readonly rows: number;
  readonly drift: boolean;
  readonly features: readonly FeatureResult[];
}

export interface DriftMonitorOptions {
  readonly layouts: readonly TensorLayout[];
  /** The reference file's rows, when the version has one; sides it does not cover use their first rows. */
  readonly sample?: ReferenceSample;
  readonly settings: DriftSettings;
  /** Decides which rows are observed (sample_rate); a seeded generator in tests. */
  readonly random?: () => number;
  /** Runs a window's tests later; setImmediate by default. */
  readonly schedule?: (run: () => void) => void;
  /** Called with each tested window (metrics). */
  readonly onWindow?: (result: WindowResult) => void;
}

export type SideState = 'collecting_reference' | 'monitoring' | 'off';

export interface SideReport {
  readonly state: SideState;
  readonly reference: { readonly source: 'file' | 'first_requests'; readonly rows: number };
  readonly features: readonly string[];
  readonly rows_observed: number;
  readonly windows: number;
  readonly alarms: number;
  readonly last_window: WindowResult | null;
}

class Side {
  readonly name: TensorSide;
  readonly tensors: readonly RowFeatures[];
  readonly featureNames: readonly string[];
  readonly width: number;
  private readonly rowScratch: Float64Array;
  /** Per watched tensor: where its 64-bit integers or 16-bit floats are converted to numbers. */
  private readonly convertScratch: { buffer: Float64Array }[];
  private readonly testScratch: TestScratch;
  referenceSource: 'file' | 'first_requests';
  private profiles: FeatureProfile[] | undefined;
  /** Collecting the reference: per-feature columns of `referenceRows` rows. */
  private referenceColumns: Float64Array[] | undefined;
  private columns: Float64Array[];
  private spare: Float64Array[] | undefined;
  private fill = 0;
  private pending: Float64Array[] | undefined;
  rowsObserved = 0;
  windows = 0;
  alarms = 0;
  last: WindowResult | null = null;

  constructor(
    name: TensorSide,
    layouts: readonly TensorLayout[],
    sample: ReferenceSample | undefined,
    private readonly settings: DriftSettings,
    private readonly alphaPerFeature: number,
    private readonly schedule: (run: () => void) => void,
    private readonly onWindow: ((result: WindowResult) => void) | undefined,
  ) {
    this.name = name;
    this.tensors = layouts.map(rowFeatures);
    this.featureNames = this.tensors.flatMap((t) => t.names);
    this.width = this.featureNames.length;
    this.convertScratch = this.tensors.map(() => ({ buffer: new Float64Array(0) }));
    this.rowScratch = new Float64Array(Math.max(1, ...this.tensors.map((t) => t.names.length)));
    this.testScratch = { buffer: new Float64Array(settings.window) };
    this.columns = this.allocate(settings.window);
    const fromFile =
      sample !== undefined && layouts.length > 0 && layouts.every((l) => sample.tensors.some((t) => t.name === l.name));
    this.referenceSource = fromFile ? 'file' : 'first_requests';
    if (fromFile) this.profiles = this.profilesFromSample(sample);
    else this.referenceColumns = this.allocate(settings.referenceRows);
  }

  get state(): SideState {
    if (this.width === 0) return 'off';
    return this.profiles === undefined ? 'collecting_reference' : 'monitoring';
  }

  private allocate(rows: number): Float64Array[] {
    return Array.from({ length: this.width }, () => new Float64Array(rows));
  }

  private profilesFromSample(sample: ReferenceSample): FeatureProfile[] {
    const profiles: FeatureProfile[] = [];
    for (const features of this.tensors) {
      const tensor = sample.tensors.find((t) => t.name === features.layout.name);
      const width = features.names.length;
      const columns = Array.from({ length: width }, () => new Float64Array(sample.rows));
      if (tensor !== undefined)
        for (let r = 0; r < sample.rows; r++) {
          features.extract(tensor.values, r * tensor.rowSize, this.rowScratch);
          for (let f = 0; f < width; f++) (columns[f] ?? new Float64Array(0))[r] = this.rowScratch[f] ?? Number.NaN;
        }
      const integral = features.layout.integral && !features.summarised;
      features.names.forEach((n, f) => profiles.push(buildProfile(n, columns[f] ?? new Float64Array(0), integral)));
    }
    return profiles;
  }

  observe(tensors: readonly Tensor[], batchSize: number, random: () => number): void {
    if (this.width === 0 || batchSize <= 0) return;
    // A tensor missing, or not of batchSize rows of the reference's size, leaves its features NaN.
    const views = this.tensors.map((features, t) => {
      const tensor = tensors.find((x) => x.name === features.layout.name);
      const scratch = this.convertScratch[t];
      if (tensor === undefined || scratch === undefined) return undefined;
      const view = numericView(tensor, scratch);
      return view !== undefined && tensor.data.length === batchSize * features.layout.rowSize ? view : undefined;
    });
    const sampleRate = this.settings.sampleRate;
    for (let r = 0; r < batchSize; r++) {
      if (sampleRate < 1 && random() >= sampleRate) continue;
      this.copyRow(views, r);
    }
  }

  private copyRow(views: readonly (ArrayLike<number> | undefined)[], r: number): void {
    const collecting = this.referenceColumns;
    const target = collecting ?? this.columns;
    const at = this.fill;
    let f = 0;
    for (let t = 0; t < this.tensors.length; t++) {
      const features = this.tensors[t];
      if (features === undefined) continue;
      const width = features.names.length;
      const view = views[t];
      if (view === undefined) this.rowScratch.fill(Number.NaN, 0, width);
      else features.extract(view, r * features.layout.rowSize, this.rowScratch);
      for (let i = 0; i < width; i++) (target[f + i] ?? this.rowScratch)[at] = this.rowScratch[i] ?? Number.NaN;
      f += width;
    }
    this.rowsObserved++;
    this.fill++;
    if (collecting !== undefined) {
      if (this.fill === this.settings.referenceRows) this.freezeReference(collecting);
    } else if (this.fill === this.settings.window) this.windowFull();
  }

  private freezeReference(columns: Float64Array[]): void {
    const profiles: FeatureProfile[] = [];
    let f = 0;
    for (const features of this.tensors) {
      const integral = features.layout.integral && !features.summarised;
      for (const name of features.names)
        profiles.push(buildProfile(name, columns[f++] ?? new Float64Array(0), integral));
    }
    this.profiles = profiles;
    this.referenceColumns = undefined;
    this.fill = 0;
  }

  private windowFull(): void {
    if (this.pending !== undefined) this.runPending();
    this.pending = this.columns;
    this.columns = this.spare ?? this.allocate(this.settings.window);
    this.spare = undefined;
    this.fill = 0;
    this.schedule(() => this.runPending());
  }

  /** Tests the window waiting to be tested, if there is one. */
  runPending(): void {
    const columns = this.pending;
    const profiles = this.profiles;
    if (columns === undefined || profiles === undefined) return;
    this.pending = undefined;
    const features = profiles.map((p, f) =>
      testFeature(p, columns[f] ?? new Float64Array(0), this.settings.window, this.alphaPerFeature, this.testScratch),
    );
    this.spare = columns;
    const drift = features.some((r) => r.drift);
    this.windows++;
    if (drift) this.alarms++;
    const result: WindowResult = { side: this.name, index: this.windows, rows: this.settings.window, drift, features };
    this.last = result;
    this.onWindow?.(result);
  }

  referenceRows(): number {
    if (this.profiles === undefined) return this.fill;
    return this.profiles.length === 0 ? 0 : Math.max(...this.profiles.map(profileRows));
  }

  report(): SideReport {
    return {
      state: this.state,
      reference: { source: this.referenceSource, rows: this.referenceRows() },
      features: this.featureNames,
      rows_observed: this.rowsObserved,
      windows: this.windows,
      alarms: this.alarms,
      last_window: this.last,
    };
  }
}

/** A version's monitor: the inputs' and the outputs' windows. */
export class VersionDriftMonitor implements DriftMonitor {
  readonly inputs: Side;
  readonly outputs: Side;
  readonly settings: DriftSettings;
  /** The per-feature test level: α over every feature of the version. */
  readonly alphaPerFeature: number;
  private readonly random: () => number;

  constructor(options: DriftMonitorOptions) {
    this.settings = options.settings;
    this.random = options.random ?? Math.random;
    const schedule = options.schedule ?? ((run: () => void) => void setImmediate(run));
    const inputs = options.layouts.filter((l) => l.side === 'input');
    const outputs = options.layouts.filter((l) => l.side === 'output');
    const features = [...inputs, ...outputs].reduce((sum, l) => sum + rowFeatures(l).names.length, 0);
    this.alphaPerFeature = this.settings.alpha / Math.max(1, features);
    this.inputs = new Side(
      'input',
      inputs,
      options.sample,
      this.settings,
      this.alphaPerFeature,
      schedule,
      options.onWindow,
    );
    this.outputs = new Side(
      'output',
      outputs,
      options.sample,
      this.settings,
      this.alphaPerFeature,
      schedule,
      options.onWindow,
    );
  }

  observeInputs(inputs: readonly Tensor[], batchSize: number): void {
    this.inputs.observe(inputs, batchSize, this.random);
  }

  observeOutputs(outputs: readonly Tensor[], batchSize: number): void {
    this.outputs.observe(outputs, batchSize, this.random);
  }

  /** Runs the tests of full windows now instead of in their setImmediate (tests, shutdown, reports). */
  flush(): void {
    this.inputs.runPending();
    this.outputs.runPending();
  }

  /** Windows tested and windows that alarmed, both sides together. */
  counts(): { windows: number; alarms: number } {
    return { windows: this.inputs.windows + this.outputs.windows, alarms: this.inputs.alarms + this.outputs.alarms };
  }
}
