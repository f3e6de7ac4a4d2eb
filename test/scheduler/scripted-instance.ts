// A test double for an execution instance: each run waits until the test completes or fails it,
// and keeps the inputs it was given, so a test decides when work finishes and sees exactly which
// rows ran together. With the clock below and node's mock timers, scheduler tests control time
// too: deadlines, queue delays and idle timeouts pass by `mock.timers.tick(ms)`.

import type { Instance, RunResult } from '../../src/runtime/instance.js';
import type { RunTimings } from '../../src/runtime/worker-messages.js';
import type { Clock } from '../../src/scheduler/clock.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** Computes a run's outputs from its inputs: what the model would have answered. */
export type Responder = (inputs: readonly Tensor[], outputNames: readonly string[]) => Tensor[];

/** An identity model: output i is input i under the i-th requested name. */
export const echo: Responder = (inputs, outputNames) =>
  outputNames.map((name, i) => {
    const input = inputs[i];
    if (input === undefined) throw new Error(`no input for output '${name}'`);
    return { ...input, name };
  });

const NO_TIME: RunTimings = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

/** One execution an instance received, answered when the test says so. */
export class ScriptedRun {
  private settled = false;

  constructor(
    readonly instance: ScriptedInstance,
    readonly inputs: readonly Tensor[],
    readonly outputNames: readonly string[],
    private readonly resolve: (result: RunResult) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  /** Completed or failed. */
  get done(): boolean {
    return this.settled;
  }

  /** The input by name. */
  input(name: string): Tensor {
    const t = this.inputs.find((x) => x.name === name);
    if (t === undefined) throw new Error(`the run has no input '${name}'`);
    return t;
  }

  /** The elements of an input, as numbers (bigints and booleans converted, strings decoded). */
  values(name: string): (number | string)[] {
    return Array.from(this.input(name).data as ArrayLike<unknown>, (v) =>
      v instanceof Uint8Array ? new TextDecoder().decode(v) : Number(v),
    );
  }

  /** First dimension of the first input: the rows of a batched execution. */
  get rows(): number {
    return this.inputs[0]?.shape[0] ?? 0;
  }

  /** Answers the run, by default with what the instance's responder computes from its inputs. */
  complete(outputs?: readonly Tensor[], timings: Partial<RunTimings> = {}): void {
    this.settle();
    const answer = outputs ?? this.instance.respond(this.inputs, this.outputNames);
    this.resolve({ outputs: [...answer], timings: { ...NO_TIME, ...timings } });
  }

  /** Fails the run as a crashed session would. */
  fail(err: Error = new Error(`${this.instance.label} failed`)): void {
    this.settle();
    this.reject(err);
  }

  private settle(): void {
    if (this.settled) throw new Error(`run ${this.instance.runs.indexOf(this) + 1} was already answered`);
    this.settled = true;
  }
}

export class ScriptedInstance implements Instance {
  /** Every run received, in order. */
  readonly runs: ScriptedRun[] = [];
  private closed = false;

  constructor(
    readonly label = 'scripted#0',
    readonly respond: Responder = echo,
  ) {}

  get alive(): boolean {
    return !this.closed;
  }

  /** Runs not answered yet, oldest first. */
  get waiting(): ScriptedRun[] {
    return this.runs.filter((r) => !r.done);
  }

  run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<RunResult> {
    if (this.closed) return Promise.reject(new Error(`${this.label} is closed`));
    return new Promise((resolve, reject) => {
      this.runs.push(new ScriptedRun(this, inputs, outputNames, resolve, reject));
    });
  }

  /** The oldest run not answered yet; throws when none waits. */
  next(): ScriptedRun {
    const run = this.waiting[0];
    if (run === undefined) throw new Error(`${this.label} has no run waiting`);
    return run;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Nanoseconds from `Date.now()`: the mocked Date under mock timers, so it moves only by `tick`. */
export const dateClock: Clock = { nowNs: () => BigInt(Date.now()) * 1_000_000n };

/** The mock timers a scheduler test runs under: setTimeout and Date move only by `tick`. */
export const MOCKED = { apis: ['setTimeout', 'Date'] } as const;

/**
 * Lets every pending promise callback run: a completed run reaches the scheduler, and a settled
 * request reaches the test. setImmediate is not mocked, and no scheduler work waits on a timer.
 */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Follows a promise so a test can ask, after `flush()`, whether it has settled. */
export interface Observed<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
}

export function observe<T>(promise: Promise<T>): Observed<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}

/** Completes runs as they arrive, on every instance, until nothing is left waiting. */
export async function runToEnd(instances: readonly ScriptedInstance[]): Promise<void> {
  await flush();
  for (;;) {
    const run = instances.flatMap((i) => i.waiting)[0];
    if (run === undefined) return;
    run.complete();
    await flush();
  }
}

/** Answers runs as they arrive (see runToEnd), then gives the request's outcome. */
export async function served<T>(instances: readonly ScriptedInstance[], request: Promise<T>): Promise<T> {
  // Handled from now on: a request refused while runs are answered is not an unhandled rejection.
  const outcome = Promise.allSettled([request]);
  await runToEnd(instances);
  await outcome;
  return request;
}
