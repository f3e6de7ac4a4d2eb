// Progress of a batch job: a cli-progress bar on a terminal (rows, rows/s, ETA, errors), plain
// periodic lines when stderr is not a terminal (logs, CI, Kubernetes), nothing with --quiet.

import cliProgress from 'cli-progress';

export interface ProgressSink {
  start(total: number, done: number): void;
  update(done: number, errors: number): void;
  stop(): void;
}

export const QUIET: ProgressSink = { start() {}, update() {}, stop() {} };

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/** Tracks the rate over this run (rows done before a resume do not count toward it). */
class Rate {
  private startNs = process.hrtime.bigint();
  private startDone = 0;
  reset(done: number): void {
    this.startNs = process.hrtime.bigint();
    this.startDone = done;
  }
  perSecond(done: number): number {
    const s = Number(process.hrtime.bigint() - this.startNs) / 1e9;
    return s > 0 ? (done - this.startDone) / s : 0;
  }
}

/** One line every `intervalSeconds` on the stream, and a last one at stop. */
export function lineProgress(stream: NodeJS.WritableStream, intervalSeconds: number, label: string): ProgressSink {
  const rate = new Rate();
  let total = 0;
  let done = 0;
  let errors = 0;
  let last = 0;
  const line = (): void => {
    const r = rate.perSecond(done);
    const pct = total === 0 ? 100 : (done / total) * 100;
    stream.write(
      `${label}: ${done}/${total} rows (${pct.toFixed(1)}%), ${Math.round(r)} rows/s, ETA ${seconds(r > 0 ? (total - done) / r : Infinity)}, ${errors} errors\n`,
    );
  };
  return {
    start(t, d) {
      total = t;
      done = d;
      rate.reset(d);
      last = Date.now();
    },
    update(d, e) {
      done = d;
      errors = e;
      if (Date.now() - last >= intervalSeconds * 1000) {
        last = Date.now();
        line();
      }
    },
    stop() {
      line();
    },
  };
}

export function barProgress(stream: NodeJS.WritableStream, label: string): ProgressSink {
  const rate = new Rate();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | {errors} errors`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(total, done) {
      rate.reset(done);
      bar.start(total, done, { rate: 0, errors: 0 });
    },
    update(done, errors) {
      bar.update(done, { rate: Math.round(rate.perSecond(done)), errors });
    },
    stop() {
      bar.stop();
    },
  };
}
