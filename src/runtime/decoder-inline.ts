// A decoder run on the calling (main) thread: the same runner as the worker, without the thread
// hop per step. For tiny models where a step takes well under a millisecond, the hop is a
// noticeable share; the event loop is blocked while a step runs.

import type { CacheOps, DecoderInfo, StepResult, StepRow } from './decoder-messages.js';
import { DecoderRunner } from './decoder-runner.js';
import type { SessionOptionsWire } from './worker-messages.js';

/** One step and its cache bookkeeping, as the inline decoder and the decoder worker run it. */
export async function runStep(runner: DecoderRunner, rows: readonly StepRow[], ops: CacheOps): Promise<StepResult> {
  runner.applyBefore(ops);
  if (rows.length === 0) {
    runner.applyAfter(ops);
    return { logits: new Float32Array(0), vocab: 0, timings: { prepareNs: 0, inferNs: 0, collectNs: 0 } };
  }
  const out = await runner.step(rows);
  runner.applyAfter(ops);
  return out;
}

export class InlineDecoder {
  private constructor(private readonly runner: DecoderRunner) {}

  static async load(
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ session: InlineDecoder; info: DecoderInfo }> {
    const runner = await DecoderRunner.open(modelPath, options);
    return { session: new InlineDecoder(runner), info: runner.info };
  }

  step(rows: readonly StepRow[], ops: CacheOps = {}): Promise<StepResult> {
    return runStep(this.runner, rows, ops);
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
