// One execution instance of a model: a worker thread holding one onnxruntime session. The main
// thread only posts tensors (buffers transferred) and awaits results; the scheduler decides when.

import type { Worker } from 'node:worker_threads';
import { InferdError } from '../errors/index.js';
import { startSiblingWorker } from '../util/sibling-worker.js';
import { RpcClient } from '../util/worker-rpc.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Instance, InstanceMetadata, RunResult } from './instance.js';
import { ownedView } from './owned-view.js';
import { runError } from './run-error.js';
import type { SessionOptionsWire, SessionProtocol, WireTensor } from './worker-messages.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function spawnWorker(): Worker {
  return startSiblingWorker(import.meta.url, 'session-worker');
}

/**
 * Copies BYTES elements into one buffer of their own. Elements are often views into the request
 * body; posted as they are, each would clone its whole backing buffer. Views into one packed
 * buffer cross the thread as that single buffer, transferred.
 */
function packElements(elements: readonly Uint8Array[]): { buffer: ArrayBuffer; views: Uint8Array[] } {
  let total = 0;
  for (const e of elements) total += e.byteLength;
  const buffer = new ArrayBuffer(total);
  const bytes = new Uint8Array(buffer);
  const views: Uint8Array[] = [];
  let offset = 0;
  for (const e of elements) {
    bytes.set(e, offset);
    views.push(bytes.subarray(offset, offset + e.byteLength));
    offset += e.byteLength;
  }
  return { buffer, views };
}

export class ModelInstance implements Instance {
  readonly label: string;
  private readonly rpc: RpcClient<SessionProtocol>;
  private metadata: InstanceMetadata | undefined;
  private closed = false;
  /** Why the instance stopped for good, once it has. */
  private stopReason: Error | undefined;
  private readonly stopListeners: ((reason: Error) => void)[] = [];

  /**
   * A worker thread that exits unexpectedly (an uncaught error, its resource limits) fails what it
   * was running and is replaced with a fresh one holding the same model, at most 3 times a minute,
   * so the instance keeps serving. Past that, or when a replacement cannot load the model, the
   * instance stops for good and tells its `onStopped` listeners. (A native crash inside
   * onnxruntime takes the whole process down; no thread survives it.)
   */
  private constructor(label: string, modelPath: string, options: SessionOptionsWire) {
    this.label = label;
    this.rpc = new RpcClient<SessionProtocol>({
      spawn: spawnWorker,
      init: async (send, restarted) => {
        try {
          this.metadata = await send('load', { modelPath, options });
        } catch (err) {
          // A replacement that cannot load stops the client: the instance is gone for good.
          if (restarted) this.stopped(new Error(`instance ${label} could not be restarted: ${messageOf(err)}`));
          throw err;
        }
      },
      onCrash: (_inFlight, error) => {
        // The client decides right after this call whether to restart; a stopped one stays so.
        queueMicrotask(() => {
          if (!this.rpc.alive)
            this.stopped(
              new Error(
                `${error.message}; it keeps crashing and is not restarted again (${this.rpc.restarts} restarts)`,
              ),
            );
        });
      },
      decodeError: (error, type) =>
        type === 'run'
          ? runError(String(error))
          : new InferdError(type === 'load' ? 'INF_ERR_MODEL_LOAD' : 'INF_ERR_RUNTIME', String(error)),
      sendError: (cause, type) =>
        type === 'run'
          ? new InferdError('INF_ERR_RUNTIME', `cannot hand the inputs to instance ${label}: ${cause.message}`)
          : cause,
      crashError: (exit) => {
        const cause = exit.error ?? new Error(`worker exited with code ${exit.code}`);
        return new InferdError('INF_ERR_RUNTIME', `instance ${label} failed: ${cause.message}`, { cause });
      },
      stoppedError: (reason) =>
        new InferdError(
          'INF_ERR_UNAVAILABLE',
          `instance ${label} is not running${reason === undefined ? '' : `: ${reason.message}`}`,
        ),
    });
  }

  /** Starts a worker and loads the model into it; rejects with the loader's reason. */
  static async load(
    label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ instance: ModelInstance; metadata: InstanceMetadata }> {
    const instance = new ModelInstance(label, modelPath, options);
    await instance.rpc.start();
    return { instance, metadata: instance.metadata as InstanceMetadata };
  }

  /** False once closed, or when a crashed worker could not be replaced. */
  get alive(): boolean {
    return this.rpc.alive;
  }

  /** Times the worker died and was replaced. */
  get restartCount(): number {
    return this.rpc.restarts;
  }

  /** The worker thread now serving (tests end it to stand in for a crash). */
  private get worker(): Worker | undefined {
    return this.rpc.worker;
  }

  /**
   * Runs the session once. The caller guarantees the inputs match the model. Input arrays that own
   * their whole ArrayBuffer are transferred to the worker (detached here), so callers must not
   * reuse them; views into shared memory are copied first.
   */
  async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult> {
    const wire: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const t of inputs) {
      if (t.datatype === 'BYTES') {
        const packed = packElements(t.data);
        transfer.push(packed.buffer);
        wire.push({ name: t.name, datatype: t.datatype, shape: t.shape, data: packed.views });
      } else {
        const data = ownedView(t.data);
        transfer.push(data.buffer as ArrayBuffer);
        wire.push({ name: t.name, datatype: t.datatype, shape: t.shape, data });
      }
    }
    const result = await this.rpc.call('run', { inputs: wire, outputNames }, transfer);
    return { outputs: result.outputs as Tensor[], timings: result.timings };
  }

  onStopped(listener: (reason: Error) => void): void {
    if (this.stopReason !== undefined) listener(this.stopReason);
    else this.stopListeners.push(listener);
  }

  private stopped(reason: Error): void {
    if (this.closed || this.stopReason !== undefined) return;
    this.stopReason = reason;
    for (const l of this.stopListeners.splice(0)) l(reason);
  }

  /** Releases the session and stops the worker. */
  close(): Promise<void> {
    this.closed = true;
    this.stopListeners.length = 0;
    return this.rpc.close('close', undefined);
  }
}
