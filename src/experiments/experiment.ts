// One experiment in force: its variants (with their current weights and traffic figures), its
// shadows (with their agreement with the primary) and what runs beside it (canary analysis).

import type { ModelRepository } from '../repository/model-repository.js';
import type { ExperimentDefinition, ShadowDefinition, VariantDefinition } from './experiment-definition.js';
import type { ExperimentMetrics } from './experiment-metrics.js';
import { ShadowComparison, ShadowGate } from './shadow.js';
import { VariantStats } from './variant-stats.js';
import { sampleRatioMismatch } from '../monitoring/canary-tests.js';

/** What experiments need of the repository. */
export type ExperimentModels = Pick<ModelRepository, 'acquire' | 'isReady' | 'resolve'>;

export class Variant {
  readonly stats: VariantStats;
  /** The current weight (canary analysis moves it; the definition's otherwise). */
  weight: number;

  constructor(
    readonly experiment: string,
    readonly definition: VariantDefinition,
    random: () => number,
  ) {
    this.weight = definition.weight;
    this.stats = new VariantStats(random);
  }

  get name(): string {
    return this.definition.name;
  }

  get versionText(): string | undefined {
    return this.definition.version === undefined ? undefined : String(this.definition.version);
  }
}

export class Shadow {
  readonly comparison = new ShadowComparison();
  constructor(readonly definition: ShadowDefinition) {}

  get versionText(): string | undefined {
    return this.definition.version === undefined ? undefined : String(this.definition.version);
  }
}

/** Something that runs beside an experiment while it is in force (canary analysis). */
export interface ExperimentCompanion {
  stop(): void;
  toJSON(): unknown;
}

/** One experiment in force. */
export class Experiment {
  readonly variants: Variant[];
  readonly shadows: Shadow[];
  readonly gate: ShadowGate;
  /** The last failed attempt to replace this definition from its file, if the file is broken now. */
  fileError: string | undefined;
  companion: ExperimentCompanion | undefined;

  constructor(
    readonly definition: ExperimentDefinition,
    readonly fingerprint: string,
    readonly metrics: ExperimentMetrics,
    random: () => number,
  ) {
    this.variants = definition.variants.map((v) => new Variant(definition.name, v, random));
    this.shadows = definition.shadows.map((s) => new Shadow(s));
    this.gate = new ShadowGate(definition.maxShadowInFlight);
    this.publishWeights();
  }

  get name(): string {
    return this.definition.name;
  }

  variant(name: string): Variant | undefined {
    return this.variants.find((v) => v.name === name);
  }

  /** Sets the gauges of every variant's share. */
  publishWeights(): void {
    const total = this.variants.reduce((s, v) => s + v.weight, 0);
    for (const v of this.variants)
      this.metrics.weight.set({ experiment: this.name, variant: v.name }, total > 0 ? v.weight / total : 0);
  }

  stop(): void {
    this.companion?.stop();
    for (const v of this.variants) this.metrics.weight.remove({ experiment: this.name, variant: v.name });
  }

  /**
   * Whether the variants got the traffic their weights say (χ² goodness of fit over the counts since
   * the start): a mismatch means a broken assignment, and the variants' figures must not be compared.
   * Left out while weights move (canary analysis tests each step itself) or fewer than two serve.
   */
  private sampleRatio(): { sample_ratio?: { chi_square: number; p_value: number; mismatch: boolean } } {
    if (this.companion !== undefined) return {};
    const arms = this.variants.filter((v) => v.weight > 0);
    if (arms.length < 2 || arms.every((v) => v.stats.requests === 0)) return {};
    const r = sampleRatioMismatch(
      arms.map((v) => v.stats.requests),
      arms.map((v) => v.weight),
    );
    return { sample_ratio: { chi_square: r.chiSquare, p_value: r.pValue, mismatch: r.mismatch } };
  }

  toJSON(models: ExperimentModels): Record<string, unknown> {
    const total = this.variants.reduce((s, v) => s + v.weight, 0);
    const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 1e6) / 1e3);
    return {
      name: this.name,
      source: this.definition.source,
      state: this.variants.some((v) => models.isReady(v.definition.model, v.versionText)) ? 'READY' : 'UNAVAILABLE',
      ...(this.fileError === undefined ? {} : { file_error: this.fileError }),
      ...(this.definition.description === undefined ? {} : { description: this.definition.description }),
      sticky: { header: this.definition.sticky.header, parameter: 'routing_key' },
      variants: this.variants.map((v) => ({
        name: v.name,
        model: v.definition.model,
        ...(v.definition.version === undefined ? {} : { version: v.definition.version }),
        ready: models.isReady(v.definition.model, v.versionText),
        weight: total > 0 ? v.weight / total : 0,
        configured_weight: v.definition.weight,
        requests: v.stats.requests,
        errors: v.stats.errors,
        error_rate: v.stats.requests === 0 ? null : v.stats.errors / v.stats.requests,
        latency_p50_ms: ms(v.stats.recentQuantile(0.5)),
        latency_p99_ms: ms(v.stats.recentQuantile(0.99)),
      })),
      shadows: this.shadows.map((s) => ({
        name: s.definition.name,
        model: s.definition.model,
        ...(s.definition.version === undefined ? {} : { version: s.definition.version }),
        fraction: s.definition.fraction,
        ...s.comparison.toJSON(),
      })),
      shadows_in_flight: this.gate.running,
      ...this.sampleRatio(),
      ...(this.companion === undefined ? {} : { canary: this.companion.toJSON() }),
    };
  }
}
