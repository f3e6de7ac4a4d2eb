// An instance whose session runs on the main thread. It saves the two thread hops of a worker
// instance (tens to hundreds of microseconds), but blocks the event loop while the model runs, so
// it is opt-in (`optimization.inline_execution`) and meant for models that run in microseconds.

import type { InferenceSession } from 'onnxruntime-node';
import { InferdError } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Instance, InstanceMetadata, RunResult } from './instance.js';
import { messageOf, openSession, runSession } from './ort-session.js';
import { runError } from './run-error.js';
import type { SessionOptionsWire } from './worker-messages.js';

export class InlineInstance implements Instance {
  private session: InferenceSession | undefined;

  private constructor(
    readonly label: string,
    session: InferenceSession,
  ) {
    this.session = session;
  }

  static async load(
    label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ instance: InlineInstance; metadata: InstanceMetadata }> {
    try {
      const opened = await openSession(modelPath, options);
      return {
        instance: new InlineInstance(label, opened.session),
        metadata: { inputs: opened.inputs, outputs: opened.outputs, providers: opened.providers },
      };
    } catch (err) {
      throw new InferdError('INF_ERR_MODEL_LOAD', messageOf(err));
    }
  }

  get alive(): boolean {
    return this.session !== undefined;
  }

  async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult> {
    if (this.session === undefined)
      throw new InferdError('INF_ERR_UNAVAILABLE', `instance ${this.label} is not running`);
    try {
      const r = await runSession(this.session, inputs, outputNames, false);
      return { outputs: r.outputs as Tensor[], timings: r.timings };
    } catch (err) {
      throw runError(messageOf(err));
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }
}
