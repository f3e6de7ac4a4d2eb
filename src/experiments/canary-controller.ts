// Automatic canary analysis, per experiment inside the server, as Flagger and Argo Rollouts do it
// for deployments: the canary starts at `step_weight` percent of the pair's traffic; every interval
// the controller looks at what both variants served since the step began and
//   - holds while the canary has fewer than `min_samples` requests (or labelled rows, for accuracy);
//   - rolls back (canary to 0) when a metric shows, with confidence, the canary worse than allowed;
//   - steps up (or, at `max_weight`, promotes: canary to 100) when every metric shows it is not;
//   - holds when a metric cannot tell yet, and rolls back once a step has used `max_looks_per_step`
//     looks without an answer (the safe side).
// Each look is a test on the step's own sample, and `alpha` is split by Bonferroni over every
// look of every step and every metric, so repeated looks do not inflate the false-decision rate
// (docs/monitoring.md, "The tests"). Every decision is kept with its numbers, logged and counted.

import type { Logger } from '../observability/logger.js';
import type { RetryTimer } from '../repository/repository-timer.js';
import {
  compareProportions,
  compareTail,
  sampleRatioMismatch,
  type Proportion,
  type ProportionComparison,
  type TailComparison,
  type Verdict,
} from '../monitoring/canary-tests.js';
import type { ExperimentSpec } from './experiment-definition.js';
import type { Experiment, ExperimentCompanion, Variant } from './experiment.js';

type Policy = NonNullable<ExperimentSpec['canary']>;

/** Labelled classification rows of a variant so far, and how many were right (monitoring/predictions.ts). */
export type AccuracySource = (experiment: string, variant: string) => Proportion | undefined;

export type CanaryState = 'progressing' | 'promoted' | 'rolled_back';
export type CanaryAction = 'hold' | 'step' | 'promote' | 'rollback';

export interface CanaryDecision {
  readonly at: string;
  readonly action: CanaryAction;
  readonly reason: string;
  /** The canary's share of the pair's traffic after the decision, in percent. */
  readonly canary_weight: number;
  readonly step: number;
  readonly look: number;
  readonly samples: { readonly stable: number; readonly canary: number };
  readonly error_rate?: ProportionComparison;
  readonly latency?: TailComparison;
  readonly accuracy?: ProportionComparison & { readonly labelled: { stable: number; canary: number } };
}

/** Decisions kept per experiment (the oldest go first). */
const MAX_DECISIONS = 200;

export interface CanaryControllerOptions {
  readonly timer: RetryTimer;
  readonly logger: Logger;
  readonly accuracy?: AccuracySource;
  /** Counts each decision (metrics). */
  readonly counted?: (action: CanaryAction) => void;
}

export class CanaryController implements ExperimentCompanion {
  private state: CanaryState = 'progressing';
  private weight: number;
  private step = 1;
  private looks = 0;
  private readonly decisions: CanaryDecision[] = [];
  private readonly stable: Variant;
  private readonly canary: Variant;
  private accuracyAtStepStart: { stable: Proportion; canary: Proportion } | undefined;
  private cancel: (() => void) | undefined;
  /** The significance of each single test. */
  readonly alphaPerTest: number;

  constructor(
    private readonly experiment: Experiment,
    private readonly policy: Policy,
    private readonly options: CanaryControllerOptions,
  ) {
    const stable = experiment.variant(policy.stable);
    const canary = experiment.variant(policy.canary);
    if (stable === undefined || canary === undefined) throw new Error('canary policy names a missing variant');
    this.stable = stable;
    this.canary = canary;
    const steps = Math.ceil(policy.max_weight / policy.step_weight);
    const metrics = 1 + (policy.max_latency_ratio === null ? 0 : 1) + (policy.max_accuracy_decrease === null ? 0 : 1);
    this.alphaPerTest = policy.alpha / (steps * policy.max_looks_per_step * metrics);
    this.weight = policy.step_weight;
    this.applyWeight();
    this.openStep();
    this.schedule();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  get currentState(): CanaryState {
    return this.state;
  }

  toJSON(): Record<string, unknown> {
    return {
      stable: this.stable.name,
      canary: this.canary.name,
      state: this.state,
      canary_weight: this.weight,
      step: this.step,
      looks_this_step: this.looks,
      alpha_per_test: this.alphaPerTest,
      policy: this.policy,
      decisions: this.decisions,
    };
  }

  private schedule(): void {
    if (this.state !== 'progressing') return;
    this.cancel = this.options.timer.set(() => {
      this.evaluate();
      this.schedule();
    }, this.policy.interval_seconds * 1000);
  }

  private applyWeight(): void {
    this.canary.weight = this.weight;
    this.stable.weight = 100 - this.weight;
    this.experiment.publishWeights();
  }

  private openStep(): void {
    this.stable.stats.openWindow();
    this.canary.stats.openWindow();
    this.looks = 0;
    const accuracy = this.options.accuracy;
    this.accuracyAtStepStart =
      accuracy === undefined
        ? undefined
        : {
            stable: accuracy(this.experiment.name, this.stable.name) ?? { n: 0, x: 0 },
            canary: accuracy(this.experiment.name, this.canary.name) ?? { n: 0, x: 0 },
          };
  }

  /** One look: what the step's samples say, and what follows. Runs on the timer; public for tests. */
  evaluate(): CanaryDecision | undefined {
    if (this.state !== 'progressing') return undefined;
    const policy = this.policy;
    const stable = this.stable.stats.window();
    const canary = this.canary.stats.window();
    const samples = { stable: stable.requests, canary: canary.requests };
    const accuracyWindow = this.accuracyWindow();
    if (canary.requests < policy.min_samples || stable.requests === 0)
      return this.decide(
        'hold',
        `waiting for samples: the canary has ${canary.requests} of ${policy.min_samples}`,
        samples,
      );
    if (
      policy.max_accuracy_decrease !== null &&
      (accuracyWindow === undefined ||
        accuracyWindow.canary.n < policy.min_samples ||
        accuracyWindow.stable.n < policy.min_samples)
    )
      return this.decide(
        'hold',
        `waiting for labels: ${accuracyWindow?.canary.n ?? 0} canary and ${accuracyWindow?.stable.n ?? 0} stable rows labelled this step, of ${policy.min_samples} each`,
        samples,
      );
    this.looks++;
    // A step whose arms did not get the traffic their weights say is not read (a broken assignment).
    const ratio = sampleRatioMismatch([stable.requests, canary.requests], [100 - this.weight, this.weight]);
    if (ratio.mismatch)
      return this.undecided(`sample ratio mismatch (χ² p = ${ratio.pValue.toExponential(2)})`, samples, {});
    const alpha = this.alphaPerTest;
    const errorRate = compareProportions(
      { n: stable.requests, x: stable.errors },
      { n: canary.requests, x: canary.errors },
      { margin: policy.max_error_rate_increase, alpha, direction: 'lower-is-better' },
    );
    const latency =
      policy.max_latency_ratio === null
        ? undefined
        : compareTail(stable.latencies, canary.latencies, {
            quantile: policy.latency_quantile,
            maxRatio: policy.max_latency_ratio,
            alpha,
          });
    const accuracy =
      policy.max_accuracy_decrease === null || accuracyWindow === undefined
        ? undefined
        : {
            ...compareProportions(accuracyWindow.stable, accuracyWindow.canary, {
              margin: policy.max_accuracy_decrease,
              alpha,
              direction: 'higher-is-better',
            }),
            labelled: { stable: accuracyWindow.stable.n, canary: accuracyWindow.canary.n },
          };
    const results: [string, Verdict][] = [['error rate', errorRate.verdict]];
    if (latency !== undefined) results.push([`p${Math.round(policy.latency_quantile * 100)} latency`, latency.verdict]);
    if (accuracy !== undefined) results.push(['accuracy', accuracy.verdict]);
    const failed = results.filter(([, v]) => v === 'fail').map(([m]) => m);
    const open = results.filter(([, v]) => v === 'inconclusive').map(([m]) => m);
    const numbers = {
      error_rate: errorRate,
      ...(latency === undefined ? {} : { latency }),
      ...(accuracy === undefined ? {} : { accuracy }),
    };
    if (failed.length > 0) {
      this.finish('rolled_back', 0);
      return this.decide('rollback', `the canary is worse than allowed: ${failed.join(', ')}`, samples, numbers);
    }
    if (open.length > 0) return this.undecided(open.join(', '), samples, numbers);
    if (this.weight >= policy.max_weight) {
      this.finish('promoted', 100);
      return this.decide(
        'promote',
        `every metric passed at ${policy.max_weight}%: the canary takes all traffic`,
        samples,
        numbers,
      );
    }
    this.weight = Math.min(policy.max_weight, this.weight + policy.step_weight);
    this.step++;
    this.applyWeight();
    const decision = this.decide('step', `every metric passed: the canary moves to ${this.weight}%`, samples, numbers);
    this.openStep();
    return decision;
  }

  /** A look that decided nothing: the step goes on, or, its looks used up, the canary is rolled back. */
  private undecided(
    what: string,
    samples: { stable: number; canary: number },
    numbers: Pick<CanaryDecision, 'error_rate' | 'latency' | 'accuracy'>,
  ): CanaryDecision {
    if (this.looks >= this.policy.max_looks_per_step) {
      this.finish('rolled_back', 0);
      return this.decide(
        'rollback',
        `still undecided after ${this.looks} looks at step ${this.step} (${what}): rolled back to be safe`,
        samples,
        numbers,
      );
    }
    return this.decide('hold', `not decided yet: ${what}; the step goes on`, samples, numbers);
  }

  private accuracyWindow(): { stable: Proportion; canary: Proportion } | undefined {
    const source = this.options.accuracy;
    const start = this.accuracyAtStepStart;
    if (source === undefined || start === undefined) return undefined;
    const now = (v: Variant, at: Proportion): Proportion => {
      const p = source(this.experiment.name, v.name) ?? { n: 0, x: 0 };
      return { n: p.n - at.n, x: p.x - at.x };
    };
    return { stable: now(this.stable, start.stable), canary: now(this.canary, start.canary) };
  }

  private finish(state: CanaryState, weight: number): void {
    this.state = state;
    this.weight = weight;
    this.applyWeight();
    this.stop();
  }

  private decide(
    action: CanaryAction,
    reason: string,
    samples: { stable: number; canary: number },
    numbers: Pick<CanaryDecision, 'error_rate' | 'latency' | 'accuracy'> = {},
  ): CanaryDecision {
    const decision: CanaryDecision = {
      at: new Date(this.options.timer.now()).toISOString(),
      action,
      reason,
      canary_weight: this.weight,
      step: this.step,
      look: this.looks,
      samples,
      ...numbers,
    };
    this.decisions.push(decision);
    if (this.decisions.length > MAX_DECISIONS) this.decisions.shift();
    this.options.counted?.(action);
    const log = { experiment: this.experiment.name, canary: this.canary.name, ...decision };
    if (action === 'rollback') this.options.logger.warn(log, `canary rolled back: ${reason}`);
    else if (action === 'hold') this.options.logger.debug(log, `canary held: ${reason}`);
    else this.options.logger.info(log, `canary ${action === 'promote' ? 'promoted' : 'stepped up'}: ${reason}`);
    return decision;
  }
}
