// Canary analysis on hand-fed traffic and a hand-moved clock: a canary that is no worse climbs
// step by step and is promoted; one with more errors, a slower tail or lower accuracy is rolled
// back; one that cannot be judged is held, then rolled back once its looks are used up.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { CanaryController, type AccuracySource } from '../../src/experiments/canary-controller.js';
import { checkExperiment } from '../../src/experiments/experiment-definition.js';
import { ExperimentMetrics } from '../../src/experiments/experiment-metrics.js';
import { Experiment } from '../../src/experiments/experiment.js';
import { createLogger } from '../../src/observability/logger.js';
import { seededRandom } from '../../src/util/seeded-random.js';
import { ManualTimer } from '../helpers/manual-timer.js';

function setUp(canary: Record<string, unknown>, accuracy?: AccuracySource) {
  const checked = checkExperiment(
    'rollout',
    'api',
    {
      variants: [
        { name: 'stable', model: 'm1', weight: 1 },
        { name: 'canary', model: 'm2', weight: 0 },
      ],
      canary: { stable: 'stable', canary: 'canary', interval_seconds: 60, ...canary },
    },
    { isModel: (n) => n === 'm1' || n === 'm2', isExperiment: () => false },
  );
  assert.ok(checked.ok, JSON.stringify(checked));
  const experiment = new Experiment(checked.value, '', new ExperimentMetrics(new Registry()), seededRandom(1));
  const timer = new ManualTimer();
  const actions: string[] = [];
  const controller = new CanaryController(experiment, checked.value.canary!, {
    timer,
    logger: createLogger('silent'),
    counted: (a) => actions.push(a),
    ...(accuracy === undefined ? {} : { accuracy }),
  });
  const [stable, canaryVariant] = experiment.variants;
  assert.ok(stable !== undefined && canaryVariant !== undefined);
  const random = seededRandom(7);
  /** n requests per variant in its current share; errors and latencies drawn as asked. */
  const serve = (n: number, canaryErrorRate: number, canaryLatencyScale = 1): void => {
    for (let i = 0; i < n; i++) {
      const toCanary = random() * 100 < canaryVariant.weight;
      const v = toCanary ? canaryVariant : stable;
      const latency = (0.005 + 0.01 * -Math.log(1 - random())) * (toCanary ? canaryLatencyScale : 1);
      v.stats.record(!(toCanary && random() < canaryErrorRate), latency);
    }
  };
  return { experiment, controller, timer, actions, serve, stable, canary: canaryVariant };
}

const tick = (timer: ManualTimer) => timer.advance(60_000);

describe('canary analysis', () => {
  it('steps a canary that is no worse up to max_weight and promotes it', () => {
    const t = setUp({ step_weight: 10, max_weight: 50, min_samples: 1000, max_latency_ratio: null });
    assert.equal(t.canary.weight, 10);
    for (let step = 0; step < 5; step++) {
      // Enough traffic that the canary's share passes min_samples at every weight.
      t.serve(12_000, 0);
      tick(t.timer);
    }
    assert.deepEqual(t.actions, ['step', 'step', 'step', 'step', 'promote']);
    assert.equal(t.controller.currentState, 'promoted');
    assert.equal(t.canary.weight, 100);
    assert.equal(t.stable.weight, 0);
    // Finished: the timer is no longer armed, and further traffic decides nothing.
    assert.equal(t.timer.armed, 0);
  });

  it('rolls back a canary with more errors than allowed, with the numbers that decided it', () => {
    const t = setUp({ step_weight: 20, max_weight: 60, min_samples: 500, max_latency_ratio: null });
    t.serve(5000, 0.08);
    tick(t.timer);
    assert.deepEqual(t.actions, ['rollback']);
    assert.equal(t.canary.weight, 0);
    assert.equal(t.stable.weight, 100);
    const json = t.controller.toJSON() as {
      state: string;
      decisions: { reason: string; error_rate: { canaryRate: number; lower: number; verdict: string } }[];
    };
    assert.equal(json.state, 'rolled_back');
    const d = json.decisions[0];
    assert.ok(d !== undefined);
    assert.match(d.reason, /worse than allowed: error rate/);
    assert.equal(d.error_rate.verdict, 'fail');
    assert.ok(d.error_rate.lower > 0.01, String(d.error_rate.lower));
  });

  it('rolls back a canary whose tail latency is more than the allowed ratio', () => {
    const t = setUp({ step_weight: 50, max_weight: 50, min_samples: 2000, max_latency_ratio: 1.5 });
    t.serve(8000, 0, 3);
    tick(t.timer);
    assert.deepEqual(t.actions, ['rollback']);
    assert.match(
      String((t.controller.toJSON() as { decisions: { reason: string }[] }).decisions[0]?.reason),
      /p99 latency/,
    );
  });

  it('holds while samples are short, and rolls back a step left undecided after its looks', () => {
    const t = setUp({
      step_weight: 10,
      max_weight: 20,
      min_samples: 200,
      max_looks_per_step: 2,
      max_latency_ratio: null,
    });
    t.serve(100, 0);
    tick(t.timer);
    assert.deepEqual(t.actions, ['hold']);
    // 200+ canary requests with no errors cannot yet show the error rate within 1 point at this α.
    t.serve(2500, 0);
    tick(t.timer);
    t.serve(100, 0);
    tick(t.timer);
    assert.deepEqual(t.actions, ['hold', 'hold', 'rollback']);
    assert.match(
      String((t.controller.toJSON() as { decisions: { reason: string }[] }).decisions[2]?.reason),
      /undecided after 2 looks/,
    );
  });

  it('does not read a step whose arms did not get the traffic their weights say', () => {
    const t = setUp({ step_weight: 10, max_weight: 50, min_samples: 500, max_latency_ratio: null });
    // At 10% the canary should have about 1 request in 10; here it has as many as stable.
    for (let i = 0; i < 1000; i++) {
      t.canary.stats.record(true, 0.01);
      t.stable.stats.record(true, 0.01);
    }
    tick(t.timer);
    assert.deepEqual(t.actions, ['hold']);
    assert.match(
      String((t.controller.toJSON() as { decisions: { reason: string }[] }).decisions[0]?.reason),
      /sample ratio mismatch/,
    );
  });

  it('judges accuracy from the labels of the step only, and rolls back a less accurate canary', () => {
    const labelled = { stable: { n: 0, x: 0 }, canary: { n: 0, x: 0 } };
    const t = setUp(
      { step_weight: 50, max_weight: 50, min_samples: 300, max_latency_ratio: null, max_accuracy_decrease: 0.05 },
      (_e, variant) => labelled[variant as 'stable' | 'canary'],
    );
    t.serve(1000, 0);
    tick(t.timer);
    assert.deepEqual(t.actions, ['hold'], 'no labels yet');
    labelled.stable = { n: 600, x: 570 };
    labelled.canary = { n: 600, x: 420 };
    t.serve(10, 0);
    tick(t.timer);
    assert.deepEqual(t.actions, ['hold', 'rollback']);
    const d = (t.controller.toJSON() as { decisions: { accuracy: { stableRate: number; canaryRate: number } }[] })
      .decisions[1];
    assert.equal(d?.accuracy.stableRate, 0.95);
    assert.equal(d?.accuracy.canaryRate, 0.7);
  });
});
