// The one place an edge turns the name a client called into a model version, and runs a tensor
// request on it with what watches the traffic: the experiment's variant counts and its shadow
// copies, drift monitoring of inputs and outputs, and the predictions kept for delayed labels.
// Each watcher copies only what it keeps, costs a few microseconds, and cannot fail the request.

import type { InferRequest, InferResult } from '../core/infer-request.js';
import { isInferdError } from '../errors/index.js';
import type { ModelVersion, TensorServingVersion } from '../model-kinds/model-version.js';
import type { Logger } from '../observability/logger.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Shadow } from './experiment.js';
import type { Experiments, Routed } from './experiments.js';
import { copyInputs, type ShadowTarget } from './shadow.js';
import { bodyRoutingKey, sameInputs } from './routing-headers.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { requireKind } from '../model-kinds/serving-kinds.js';
import type { RequestTracer } from '../monitoring/request-tracer.js';

/** What a decoded body says about its routing. */
type BodyKeys = Parameters<typeof bodyRoutingKey>[0];

/** Drift monitoring as the request path sees it (monitoring/drift-monitor.ts). */
export interface DriftObserver {
  monitorFor(mv: ModelVersion):
    | {
        observeInputs(inputs: readonly Tensor[], batchSize: number): void;
        observeOutputs(outputs: readonly Tensor[], batchSize: number): void;
      }
    | undefined;
}

/** Where a prediction came from, for the labels that arrive later. */
export interface PredictionSource {
  readonly model: string;
  readonly version: number;
  readonly experiment?: string;
  readonly variant?: string;
}

/** The predictions kept for delayed labels, as the request path sees them (monitoring/predictions.ts). */
export interface PredictionRecorder {
  record(
    ids: readonly string[],
    source: PredictionSource,
    outputs: readonly Tensor[],
    batchSize: number,
    labels?: ReadonlyMap<string, readonly string[]>,
  ): void;
}

export interface ServingOptions {
  readonly experiments: Experiments;
  readonly drift?: DriftObserver;
  readonly predictions?: PredictionRecorder;
  /** Triton's request traces (/v2/trace/setting); absent = none taken. */
  readonly tracer?: RequestTracer;
  readonly logger: Logger;
  /** The acquire of a plain model name (the repository's). */
  acquire(name: string, versionText: string | undefined): Promise<ModelVersion>;
  /** A version that can serve now, for shadows: the repository's resolve without loading. */
  find(name: string, versionText: string | undefined): ModelVersion | undefined;
}

/** A routed request whose version takes tensors. */
export type TensorRouted = Routed & { readonly mv: TensorServingVersion };

/** Server-side failures count against a variant; a client's mistake or cancellation does not. */
function serverSide(err: unknown): boolean {
  if (!isInferdError(err)) return true;
  return err.httpStatus >= 500;
}

export class ServingPath {
  constructor(private readonly options: ServingOptions) {}

  get experiments(): Experiments {
    return this.options.experiments;
  }

  /** The version `name` (and `version`) calls for: a model's, or an experiment variant's. */
  async acquire(name: string, version: string | undefined, key: string | undefined): Promise<Routed> {
    const routed = await this.options.experiments.route(name, version, key);
    return routed ?? { mv: await this.options.acquire(name, version) };
  }

  /**
   * Routes a v2 infer call and decodes its body with `decode`: an experiment's name picks a
   * variant by the header's key, or, without one, by the key the decoded body carries
   * (`routing_key`, else its sequence id). The body is decoded again only when that variant
   * takes other inputs than the one it was first decoded for.
   */
  async routeAndDecode<D extends BodyKeys>(
    name: string,
    version: string | undefined,
    headerKey: string | undefined,
    decode: (config: ResolvedModelConfig) => D,
  ): Promise<{ routed: TensorRouted; decoded: D }> {
    let routed = await this.acquire(name, version, headerKey);
    let mv = requireKind(routed.mv, 'v2 infer');
    let decoded = decode(mv.config);
    const bodyKey = bodyRoutingKey(decoded);
    if (routed.experiment !== undefined && headerKey === undefined && bodyKey !== undefined) {
      routed = await this.options.experiments.reroute(routed, bodyKey);
      const chosen = requireKind(routed.mv, 'v2 infer');
      if (chosen !== mv && !sameInputs(chosen.config, mv.config)) decoded = decode(chosen.config);
      mv = chosen;
    }
    return { routed: { ...routed, mv }, decoded };
  }

  /**
   * Runs a tensor request on the routed version. `ids`: the ids a delayed label may name (the
   * server's request id, and the client's `id` when it sent one).
   */
  async infer(routed: TensorRouted, request: InferRequest, ids: readonly string[]): Promise<InferResult> {
    const { mv, experiment, variant } = routed;
    const drift = this.watch(() => {
      const monitor = this.options.drift?.monitorFor(mv);
      monitor?.observeInputs(request.inputs, request.batchSize);
      return monitor;
    }, mv.name);
    // The shadows' copies are taken now: the primary's buffers go to a worker thread.
    let copies: { shadow: Shadow; request: InferRequest }[] | undefined;
    // A stateful request is not copied: the shadow holds none of its sequence's state.
    if (experiment !== undefined && request.sequence === undefined)
      for (const shadow of experiment.shadows) {
        if (!(Math.random() < shadow.definition.fraction)) continue;
        copies ??= [];
        copies.push({
          shadow,
          request: {
            requestId: `${request.requestId}-shadow`,
            inputs: copyInputs(request.inputs),
            outputNames: request.outputNames,
            batchSize: request.batchSize,
            priority: 0,
            timeoutUs: 0,
            arrivalNs: request.arrivalNs,
          },
        });
      }
    const trace = this.watch(() => {
      // Triton's request_id is the client's id; the server's id stands in when it sent none.
      const traceId = ids.length > 1 ? (ids[ids.length - 1] ?? request.requestId) : request.requestId;
      const t = this.options.tracer?.sample(mv.name, mv.version, traceId, request.arrivalNs);
      t?.queued(request.inputs);
      return t;
    }, mv.name);
    let result: InferResult;
    try {
      result = await mv.scheduler.infer(request);
    } catch (err) {
      this.settle(routed, request.arrivalNs, err);
      if (trace !== undefined) this.watch(() => trace.ended(), mv.name);
      throw err;
    }
    this.settle(routed, request.arrivalNs);
    if (trace !== undefined) this.watch(() => trace.ended(result), mv.name);
    this.watch(() => {
      drift?.observeOutputs(result.outputs, request.batchSize);
      this.options.predictions?.record(
        ids,
        {
          model: mv.name,
          version: mv.version,
          ...(experiment === undefined ? {} : { experiment: experiment.name }),
          ...(variant === undefined ? {} : { variant: variant.name }),
        },
        result.outputs,
        request.batchSize,
        mv.labels,
      );
    }, mv.name);
    if (copies !== undefined && experiment !== undefined)
      for (const { shadow, request: copy } of copies) {
        const target = this.shadowTarget(shadow);
        void experiment.gate.run(target, copy, result.outputs, shadow.comparison, (outcome) => {
          const labels = { experiment: experiment.name, shadow: shadow.definition.name };
          experiment.metrics.shadowRequests.inc({ ...labels, outcome });
          if (outcome === 'compared') {
            const c = shadow.comparison.toJSON();
            for (const measure of ['agreement', 'top1_agreement', 'mean_abs_diff', 'max_abs_diff'] as const) {
              const value = c[measure];
              if (value !== null && value !== undefined)
                experiment.metrics.shadowAgreement.set({ ...labels, measure }, value);
            }
          }
        });
      }
    return result;
  }

  /**
   * Counts a request an experiment routed, once it ended (`err` when it failed): its latency and
   * outcome for the variant. A client's mistake or cancellation says nothing of the variant, so
   * only server-side failures count, and such a request is not counted at all. The OpenAI edge
   * calls it when its answer is complete.
   */
  settle(routed: Routed, arrivalNs: bigint, err?: unknown): void {
    const { variant } = routed;
    if (variant === undefined) return;
    if (err !== undefined && !serverSide(err)) return;
    variant.stats.record(err === undefined, elapsedSeconds(arrivalNs));
    this.experimentMetric(routed, err === undefined ? 'ok' : 'error', arrivalNs);
  }

  /** Runs a watcher: its failure is logged, never the request's. */
  private watch<T>(run: () => T, model: string): T | undefined {
    try {
      return run();
    } catch (err) {
      this.options.logger.error({ err, model }, 'monitoring failed for a request; its answer is unaffected');
      return undefined;
    }
  }

  private experimentMetric(routed: Routed, outcome: 'ok' | 'error', arrivalNs: bigint): void {
    const { experiment, variant } = routed;
    if (experiment === undefined || variant === undefined) return;
    const labels = { experiment: experiment.name, variant: variant.name };
    const metrics = experiment.metrics;
    metrics.requests.inc({ ...labels, outcome });
    metrics.duration.observe(labels, elapsedSeconds(arrivalNs));
  }

  /** The shadow's version if it can serve now (a shadow never loads a model or waits). */
  private shadowTarget(shadow: Shadow): ShadowTarget {
    const mv = this.options.find(shadow.definition.model, shadow.versionText);
    const tensorMv = mv !== undefined && mv.kind !== 'text-generation' ? mv : undefined;
    return {
      pending: () => tensorMv?.scheduler.pending ?? 0,
      infer: (request) => tensorMv?.scheduler.infer(request),
    };
  }
}

function elapsedSeconds(arrivalNs: bigint): number {
  return Number(process.hrtime.bigint() - arrivalNs) / 1e9;
}
