// One execution instance of a model: a worker thread holding one onnxruntime session. The main
// thread only posts tensors (buffers transferred) and awaits results; the scheduler decides when.

import type { Worker } from 'node:worker_threads';
import { InferdError } from '../errors/index.js';
import { startSiblingWorker } from '../util/sibling-worker.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Instance, InstanceMetadata, RunResult } from './instance.js';
import { ownedView } from './owned-view.js';
import { runError } from './run-error.js';

/** A worker that keeps dying is not restarted more than this often. */
const MAX_RESTARTS_PER_WINDOW = 3;
const RESTART_WINDOW_MS = 60_000;
import type { FromWorker, SessionOptionsWire, ToWorker, WireTensor } from './worker-messages.js';

function spawnWorker(): Worker {
  return startSiblingWorker(import.meta.url, 'session-worker');
}

interface Pending {
  resolve(result: RunResult): void;
  reject(err: Error): void;
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
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private loadWaiter: { resolve(m: InstanceMetadata): void; reject(e: Error): void } | undefined;
  private closeWaiter: (() => void) | undefined;
  private closing = false;
  /** Closed, or its worker could not be replaced: it will never run again. */
  private stopped = false;
  /** Set while an exited worker is being replaced; runs wait for it. */
  private restarting: Promise<void> | undefined;
  private restarts = 0;
  private readonly recentRestarts: number[] = [];

  private constructor(
    label: string,
    private readonly modelPath: string,
    private readonly options: SessionOptionsWire,
  ) {
    this.label = label;
    this.worker = this.spawn();
  }

  /** Starts a worker and loads the model into it; rejects with the loader's reason. */
  static async load(
    label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ instance: ModelInstance; metadata: InstanceMetadata }> {
    const instance = new ModelInstance(label, modelPath, options);
    try {
      return { instance, metadata: await instance.loadModel() };
    } catch (err) {
      instance.closing = true;
      await instance.worker.terminate();
      throw err;
    }
  }

  /** False once closed, or when a crashed worker could not be replaced. */
  get alive(): boolean {
    return !this.stopped;
  }

  /** Times the worker died and was replaced. */
  get restartCount(): number {
    return this.restarts;
  }

  /**
   * Runs the session once. The caller guarantees the inputs match the model. Input arrays that own
   * their whole ArrayBuffer are transferred to the worker (detached here), so callers must not
   * reuse them; views into shared memory are copied first.
   */
  async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult> {
    if (this.restarting !== undefined) await this.restarting;
    if (this.stopped) throw new InferdError('INF_ERR_UNAVAILABLE', `instance ${this.label} is not running`);
    const id = this.nextId++;
    const wire: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const t of inputs) {
      if (t.datatype === 'BYTES') {
        const packed = packElements(t.data as Uint8Array[]);
        transfer.push(packed.buffer);
        wire.push({ name: t.name, datatype: t.datatype, shape: t.shape, data: packed.views });
      } else {
        const data = ownedView(t.data as ArrayBufferView);
        transfer.push(data.buffer as ArrayBuffer);
        wire.push({ name: t.name, datatype: t.datatype, shape: t.shape, data });
      }
    }
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.post({ type: 'run', id, inputs: wire, outputNames }, transfer);
      } catch (err) {
        this.pending.delete(id);
        reject(
          new InferdError(
            'INF_ERR_RUNTIME',
            `cannot hand the inputs to instance ${this.label}: ${(err as Error).message}`,
          ),
        );
      }
    });
  }

  private spawn(): Worker {
    const worker = spawnWorker();
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) => {
      if (worker === this.worker) this.failAll(err);
    });
    worker.on('exit', (code) => this.onExit(worker, code));
    return worker;
  }

  private loadModel(): Promise<InstanceMetadata> {
    return new Promise<InstanceMetadata>((resolve, reject) => {
      this.loadWaiter = { resolve, reject };
      this.post({ type: 'load', modelPath: this.modelPath, options: this.options });
    });
  }

  /**
   * A worker thread that exits unexpectedly (an uncaught error, its resource limits) fails what it
   * was running and is replaced with a fresh one holding the same model, so the instance keeps
   * serving. (A native crash inside onnxruntime takes the whole process down; no thread survives it.)
   */
  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.failAll(new Error(`worker exited with code ${code}`));
    const now = Date.now();
    while (this.recentRestarts.length > 0 && now - (this.recentRestarts[0] ?? 0) > RESTART_WINDOW_MS)
      this.recentRestarts.shift();
    if (this.closing || this.stopped || this.recentRestarts.length >= MAX_RESTARTS_PER_WINDOW) {
      // Closed, already given up, or crashing in a loop: stop instead of restarting again.
      this.stopped = true;
      this.closeWaiter?.();
      return;
    }
    this.restarts++;
    this.recentRestarts.push(now);
    this.restarting = (async () => {
      try {
        this.worker = this.spawn();
        await this.loadModel();
      } catch {
        this.stopped = true;
        await this.worker.terminate();
      } finally {
        this.restarting = undefined;
      }
    })();
  }

  /** Releases the session and stops the worker. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.restarting !== undefined) await this.restarting;
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      this.closeWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      this.post({ type: 'close' });
    });
    await this.worker.terminate();
  }

  private post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'loaded':
        this.loadWaiter?.resolve({ inputs: msg.inputs, outputs: msg.outputs, providers: msg.providers });
        this.loadWaiter = undefined;
        break;
      case 'load-error':
        this.loadWaiter?.reject(new InferdError('INF_ERR_MODEL_LOAD', msg.message));
        this.loadWaiter = undefined;
        break;
      case 'result': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve({ outputs: msg.outputs as Tensor[], timings: msg.timings });
        break;
      }
      case 'run-error': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.reject(runError(msg.message));
        break;
      }
      case 'closed':
        this.closeWaiter?.();
        break;
    }
  }

  private failAll(err: Error): void {
    const wrapped = new InferdError('INF_ERR_RUNTIME', `instance ${this.label} failed: ${err.message}`, { cause: err });
    this.loadWaiter?.reject(wrapped);
    this.loadWaiter = undefined;
    for (const p of this.pending.values()) p.reject(wrapped);
    this.pending.clear();
  }
}
