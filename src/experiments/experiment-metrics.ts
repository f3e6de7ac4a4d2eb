// The Prometheus series of experiments, registered on the server's registry.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ExperimentMetrics {
  readonly requests: Counter<'experiment' | 'variant' | 'outcome'>;
  readonly duration: Histogram<'experiment' | 'variant'>;
  readonly weight: Gauge<'experiment' | 'variant'>;
  readonly shadowRequests: Counter<'experiment' | 'shadow' | 'outcome'>;
  readonly shadowAgreement: Gauge<'experiment' | 'shadow' | 'measure'>;
  readonly canaryDecisions: Counter<'experiment' | 'action'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'inferd_experiment_requests_total',
      help: 'Requests an experiment routed, per variant; outcome ok, or error (a server-side failure: 5xx)',
      labelNames: ['experiment', 'variant', 'outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'inferd_experiment_request_duration_seconds',
      help: 'Time from arrival to result of the requests an experiment routed, per variant',
      labelNames: ['experiment', 'variant'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.weight = new Gauge({
      name: 'inferd_experiment_variant_weight',
      help: "A variant's share of its experiment's traffic, 0-1 (canary analysis moves it)",
      labelNames: ['experiment', 'variant'] as const,
      registers,
    });
    this.shadowRequests = new Counter({
      name: 'inferd_experiment_shadow_requests_total',
      help: 'Copies sent to shadow variants; outcome compared, failed, or shed (dropped: the shadow queue was full or the primary busy)',
      labelNames: ['experiment', 'shadow', 'outcome'] as const,
      registers,
    });
    this.shadowAgreement = new Gauge({
      name: 'inferd_experiment_shadow_agreement',
      help: 'A shadow compared with the primary: measure agreement (share of requests with equal outputs), top1_agreement, mean_abs_diff, max_abs_diff',
      labelNames: ['experiment', 'shadow', 'measure'] as const,
      registers,
    });
    this.canaryDecisions = new Counter({
      name: 'inferd_canary_decisions_total',
      help: 'Decisions of automatic canary analysis: hold, step, promote, rollback',
      labelNames: ['experiment', 'action'] as const,
      registers,
    });
  }
}
