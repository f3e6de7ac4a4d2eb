// Times a synchronous operation in this process: a tenth of the time as warm-up, then calls in
// runs of 100 until the time is up.

/** Runs `op` for `ms` (after a tenth of that as warm-up) and returns ns per call. */
export function timeLoop(op: () => void, ms: number): { nsPerOp: number; ops: number } {
  const warmEnd = performance.now() + ms / 10;
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) op();
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) op();
    ops += 100;
  }
  return { nsPerOp: Number(process.hrtime.bigint() - start) / ops, ops };
}
