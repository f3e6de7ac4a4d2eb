// Cost per inference, checked against what a user would compute: `inferd serve` runs the example
// models simple and iris; each is loaded alone in turn (one request at a time), and for each phase
// the table compares the CPU-seconds per inference the server charged the model
// (inferd_cpu_seconds_total) with the naive figure, the server process's CPU time (from
// /proc/<pid>/stat) ÷ inferences. Charged + unattributed must add up to the process's CPU time.
// Linux only (it reads /proc). Run: npm run bench:cost

import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';
import { startInferd } from './lib/inferd-process.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const CPU_PER_HOUR = 0.05;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICKS_PER_SECOND = 100;

const BODIES: Record<string, string> = {
  simple: JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
    ],
  }),
  iris: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
};

/** User + system CPU-seconds of a process so far. */
async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The cost counters of a Prometheus scrape. */
async function costCounters(base: string): Promise<{ charged: Map<string, number>; unattributed: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const charged = new Map<string, number>();
  let unattributed = 0;
  for (const line of text.split('\n')) {
    const m = /^inferd_cpu_seconds_total\{model="([^"]+)",version="\d+"\} (\S+)$/.exec(line);
    if (m?.[1] !== undefined) charged.set(m[1], (charged.get(m[1]) ?? 0) + Number(m[2]));
    const u = /^inferd_unattributed_cpu_seconds_total (\S+)$/.exec(line);
    if (u?.[1] !== undefined) unattributed = Number(u[1]);
  }
  return { charged, unattributed };
}

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '3000' }, out: { type: 'string' } },
});
const requests = Number(values.requests);
const out = values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'cost-per-inference.json');

const server = await startInferd({
  repoRoot: REPO_ROOT,
  modelRepository: path.join(REPO_ROOT, 'examples', 'models'),
  models: Object.keys(BODIES),
  nodeArgs: [],
  cpuCores: 2,
  readyTimeoutMs: 60_000,
  serveArgs: ['--grpc-port', 'off', '--cost-per-cpu-hour', String(CPU_PER_HOUR)],
});
const base = `http://${server.host}:${server.port}`;
const pid = server.pid;
if (pid === undefined) throw new Error('no server process id');
const rows: Record<string, string | number>[] = [];
try {
  for (const [model, body] of Object.entries(BODIES)) {
    const cpuBefore = await processCpuSeconds(pid);
    const before = await costCounters(base);
    for (let i = 0; i < requests; i++) {
      const reply = await fetch(`${base}/v2/models/${model}/infer`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      if (reply.status !== 200) throw new Error(`${model}: ${reply.status} ${await reply.text()}`);
      await reply.arrayBuffer();
    }
    const after = await costCounters(base);
    const cpuAfter = await processCpuSeconds(pid);
    const processCpu = cpuAfter - cpuBefore;
    const charged = (after.charged.get(model) ?? 0) - (before.charged.get(model) ?? 0);
    let chargedAll = 0;
    for (const [m, v] of after.charged) chargedAll += v - (before.charged.get(m) ?? 0);
    const unattributed = after.unattributed - before.unattributed;
    rows.push({
      model,
      inferences: requests,
      'charged CPU µs/inf': Number(((charged / requests) * 1e6).toFixed(1)),
      'naive CPU µs/inf': Number(((processCpu / requests) * 1e6).toFixed(1)),
      'charged ÷ naive': Number((charged / processCpu).toFixed(3)),
      'unattributed s': Number(unattributed.toFixed(3)),
      'charged + unattributed s': Number((chargedAll + unattributed).toFixed(3)),
      'process CPU s (/proc)': Number(processCpu.toFixed(2)),
      [`cost per 1k at ${CPU_PER_HOUR}/CPU-h`]: Number(
        (((charged * CPU_PER_HOUR) / 3600 / requests) * 1000).toPrecision(3),
      ),
    });
  }
} finally {
  await server.stop();
}
const machine = describeMachine(REPO_ROOT);
const header = Object.keys(rows[0] ?? {});
process.stdout.write(
  `${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}\n\n` +
    `${markdownTable(
      header,
      rows.map((r) => header.map((h) => String(r[h]))),
      1,
    )}\n`,
);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ machine, requests, cpuPerHour: CPU_PER_HOUR, rows }, null, 2)}\n`);
