// The rolling-restart proof: three inferd replicas behind HAProxy on loopback, under a constant
// mixed load (REST simple and mlp, gRPC simple, streamed chat completions), while each replica in
// turn is stopped with SIGTERM and replaced; then one is killed with SIGKILL. Every request is
// counted: the goal is no lost request during the rolling restart. See docs/rollout.md.
// Run: npm run bench:rollout (-- --help).

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { describeMachine } from '../lib/machine.js';
import {
  backendCounters,
  countersSince,
  DEFAULT_RETRY_ON,
  ensureHaproxy,
  startHaproxy,
  waitServerUp,
  type BackendCounters,
  type RunningHaproxy,
} from './haproxy.js';
import { KIND_LABELS, KINDS, Load, MLP_INPUTS, mlpBody, mlpLogits, type Outcome } from './load.js';
import { Replica, type ReplicaOptions, type ReplicaSlot } from './replicas.js';
import {
  kindLatencyTable,
  phaseTable,
  replicaTable,
  summarize,
  type PhaseWindow,
  type ReplicaEvent,
} from './report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const HOST = '127.0.0.1';
const REPLICAS = 3;

const USAGE = `usage: npm run bench:rollout -- [options]
       node --import tsx bench/rollout/rollout.ts [options]
Three inferd replicas behind HAProxy (installed with apt-get when missing), a mixed load at a fixed
concurrency, a rolling restart (SIGTERM, wait for the exit, start a replacement, wait until it is
ready and balanced again, next replica), then a SIGKILL of one replica. Counts every lost request.
  --drain-delay <s>    the replicas' --drain-delay-secs (default 2; HAProxy checks /ready every 0.5 s)
  --steady-secs <s>    steady load before the rolling restart (default 15)
  --after-secs <s>     steady load between the rolling restart and the SIGKILL (default 10)
  --tail-secs <s>      steady load after the SIGKILL's replacement is balanced (default 5)
  --concurrency <n>    requests in flight, a quarter of each kind (default 32)
  --cpu-cores <n>      each replica's --cpu-cores (default 1)
  --retry-on <list>    HAProxy's retry-on (default '${DEFAULT_RETRY_ON}';
                       'none' turns L7 retries off, to see what the drain alone achieves)
  --out <file>         JSON results (default bench/results/rollout.json)
  --help`;

function freePorts(n: number): Promise<number[]> {
  // Every probe stays open until all are bound, so no port is handed out twice.
  const probes = Array.from({ length: n }, () => net.createServer());
  return Promise.all(
    probes.map(
      (p) =>
        new Promise<number>((resolve, reject) => {
          p.once('error', reject);
          p.listen(0, HOST, () => {
            const a = p.address();
            resolve(typeof a === 'object' && a !== null ? a.port : 0);
          });
        }),
    ),
  ).finally(() => probes.forEach((p) => p.close()));
}

function positive(name: string, text: string, integer = false): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || (integer && (!Number.isInteger(v) || v < 1))) {
    throw new Error(`--${name}: expected a ${integer ? 'positive integer' : 'non-negative number'}, got '${text}'`);
  }
  return v;
}

/** POST to one replica directly (setup only, not part of the load). */
function postDirect(port: number, urlPath: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: HOST,
        port,
        method: 'POST',
        path: urlPath,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`HTTP ${res.statusCode} from ${urlPath}: ${text}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'drain-delay': { type: 'string', default: '2' },
      'steady-secs': { type: 'string', default: '15' },
      'after-secs': { type: 'string', default: '10' },
      'tail-secs': { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '32' },
      'cpu-cores': { type: 'string', default: '1' },
      'retry-on': { type: 'string', default: DEFAULT_RETRY_ON },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'rollout.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const drainDelay = positive('drain-delay', values['drain-delay']);
  const steadySecs = positive('steady-secs', values['steady-secs']);
  const afterSecs = positive('after-secs', values['after-secs']);
  const tailSecs = positive('tail-secs', values['tail-secs']);
  const concurrency = positive('concurrency', values.concurrency, true);
  const cpuCores = positive('cpu-cores', values['cpu-cores'], true);
  const checkIntervalMs = 500;

  const haproxyBinary = ensureHaproxy();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-rollout-'));
  console.log(`run folder (HAProxy config and log, one log per replica process): ${dir}`);

  // Every process started here is stopped at the end, on failure and on Ctrl-C too.
  const replicas: Replica[] = [];
  let haproxy: RunningHaproxy | undefined;
  let load: Load | undefined;
  const cleanUp = async (): Promise<void> => {
    await load?.stop().catch(() => undefined);
    await Promise.all([haproxy?.stop(), ...replicas.map((r) => r.stop())]);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping every process this run started`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort (an exception thrown past the clean-up): no replica outlives the script.
  process.once('exit', () => {
    for (const r of replicas) r.signal('SIGKILL');
    haproxy?.child.kill('SIGKILL');
  });

  try {
    const ports = await freePorts(2 * REPLICAS + 2);
    const slots: ReplicaSlot[] = Array.from({ length: REPLICAS }, (_, i) => ({
      name: `r${i}`,
      httpPort: ports[2 * i] ?? 0,
      grpcPort: ports[2 * i + 1] ?? 0,
    }));
    const httpFrontendPort = ports[2 * REPLICAS] ?? 0;
    const grpcFrontendPort = ports[2 * REPLICAS + 1] ?? 0;
    const replicaOptions: ReplicaOptions = {
      repoRoot: REPO_ROOT,
      host: HOST,
      logDir: dir,
      drainDelaySecs: drainDelay,
      cpuCores,
    };
    const current = new Map<string, Replica>();
    const launch = (slot: ReplicaSlot, generation: number): Replica => {
      const r = new Replica(slot, generation, replicaOptions);
      replicas.push(r);
      current.set(slot.name, r);
      return r;
    };
    const first = slots.map((s) => launch(s, 0));
    await Promise.all(first.map((r) => r.waitReady(60_000)));
    console.log(`replicas ready: ${slots.map((s) => `${s.name} http ${s.httpPort} grpc ${s.grpcPort}`).join(', ')}`);

    // mlp's answers to the fixed inputs, from one replica: every answer under load must match.
    const mlpReference: number[][] = [];
    for (const input of MLP_INPUTS) {
      mlpReference.push(mlpLogits(await postDirect(slots[0]?.httpPort ?? 0, '/v2/models/mlp/infer', mlpBody(input))));
    }

    const statsSocket = path.join(dir, 'haproxy.sock');
    haproxy = await startHaproxy(haproxyBinary.binary, dir, {
      host: HOST,
      httpFrontendPort,
      grpcFrontendPort,
      servers: slots,
      checkIntervalMs,
      statsSocket,
      retryOn: values['retry-on'],
    });
    await Promise.race([
      waitServerUp(statsSocket, undefined, 15_000),
      haproxy.exited.then(() => {
        throw new Error(`haproxy exited; see ${haproxy?.logPath}`);
      }),
    ]);
    console.log(
      `HAProxy ${haproxyBinary.version}: REST on ${HOST}:${httpFrontendPort}, gRPC (h2c) on ${HOST}:${grpcFrontendPort}; config ${haproxy.configPath}`,
    );

    load = new Load(
      { host: HOST, httpPort: httpFrontendPort, grpcPort: grpcFrontendPort, timeoutMs: 30_000, mlpReference },
      concurrency,
    );
    const activeLoad = load;
    const windows: PhaseWindow[] = [];
    let counters = await backendCounters(statsSocket);
    /** Ends the current phase (its HAProxy counters are the deltas since it began) and starts `phase`. */
    const enter = async (phase: string | undefined): Promise<void> => {
      const now = activeLoad.now();
      const last = windows.at(-1);
      const latest = await backendCounters(statsSocket);
      if (last !== undefined) {
        last.endMs = now;
        last.haproxy = countersSince(latest, counters);
      }
      counters = latest;
      if (phase === undefined) return;
      windows.push({ phase, startMs: now, endMs: now, haproxy: [] });
      activeLoad.phase = phase;
      console.log(`[${(now / 1000).toFixed(1)} s] ${phase}`);
    };
    const events: ReplicaEvent[] = [];
    const replace = async (slot: ReplicaSlot, signal: 'SIGTERM' | 'SIGKILL', phase: string): Promise<void> => {
      const old = current.get(slot.name);
      if (old === undefined) throw new Error(`no replica in slot ${slot.name}`);
      const t = Date.now();
      const signalAt = activeLoad.now();
      old.signal(signal);
      const exit = await Promise.race([
        old.exited,
        sleep(drainDelay * 1000 + 60_000).then(() => {
          throw new Error(`${slot.name} did not exit within ${drainDelay + 60} s of ${signal}; log: ${old.logPath}`);
        }),
      ]);
      const exitAt = activeLoad.now();
      // Answers from this slot that ended between the signal and the exit came from the old process.
      const answeredAfterSignal = activeLoad.outcomes.filter(
        (o) =>
          o.ok && o.servedBy === slot.name && o.startMs + o.latencyMs >= signalAt && o.startMs + o.latencyMs <= exitAt,
      ).length;
      const fresh = launch(slot, old.generation + 1);
      await fresh.waitReady(60_000);
      const readyMs = Date.now() - t;
      await waitServerUp(statsSocket, slot.name, 15_000);
      events.push({
        replica: slot.name,
        generation: old.generation,
        phase,
        signal,
        pid: old.pid,
        exitCode: exit.code,
        exitSignal: exit.signal,
        signalToExitMs: exit.atMs - t,
        signalToReplacementReadyMs: readyMs,
        signalToBalancedMs: Date.now() - t,
        answeredAfterSignal,
        log: old.logPath,
        replacementLog: fresh.logPath,
      });
      console.log(
        `  ${slot.name}: ${signal} → exit code ${exit.code ?? '–'} signal ${exit.signal ?? '–'} after ${exit.atMs - t} ms; replacement ready after ${readyMs} ms`,
      );
    };

    await enter('warm-up');
    load.start();
    await sleep(2000);
    await enter('steady');
    await sleep(steadySecs * 1000);
    await enter('rolling restart');
    for (const slot of slots) await replace(slot, 'SIGTERM', 'rolling restart');
    await enter('steady again');
    await sleep(afterSecs * 1000);
    await enter('SIGKILL');
    await replace(slots[1] ?? slots[0]!, 'SIGKILL', 'SIGKILL');
    await enter('tail');
    await sleep(tailSecs * 1000);
    await enter(undefined);
    await load.stop();
    load = undefined;
    const total = await backendCounters(statsSocket);

    const json = report({
      outcomes: activeLoad.outcomes,
      windows,
      events,
      counters: total,
      dir,
      haproxyLog: haproxy.logPath,
      haproxyVersion: haproxyBinary.version,
      settings: {
        drainDelay,
        steadySecs,
        afterSecs,
        tailSecs,
        concurrency,
        cpuCores,
        checkIntervalMs,
        retryOn: values['retry-on'],
      },
    });
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(values.out, JSON.stringify(json, null, 2) + '\n');
    console.log(`results: ${path.relative(process.cwd(), values.out)}`);
    // The proof fails loudly: a lost request in the rolling restart, or an unclean exit on SIGTERM.
    const rolloutLost = json.phases.find((p) => p.phase === 'rolling restart')?.lost ?? 1;
    const uncleanExits = events.filter((e) => e.signal === 'SIGTERM' && e.exitCode !== 0).length;
    if (rolloutLost > 0 || uncleanExits > 0) process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

interface ReportInput {
  readonly outcomes: readonly Outcome[];
  readonly windows: readonly PhaseWindow[];
  readonly events: readonly ReplicaEvent[];
  readonly counters: readonly BackendCounters[];
  readonly dir: string;
  readonly haproxyLog: string;
  readonly haproxyVersion: string;
  readonly settings: Record<string, number | string>;
}

function report(r: ReportInput) {
  const phases = summarize(r.windows, r.outcomes);
  const steady = phases.find((p) => p.phase === 'steady');
  const rollout = phases.find((p) => p.phase === 'rolling restart');
  const sigkill = phases.find((p) => p.phase === 'SIGKILL');
  const ratio = (a: number | undefined, b: number | undefined): number => (a ?? NaN) / (b ?? NaN);
  const p99Ratio = ratio(rollout?.p99Ms, steady?.p99Ms);
  const p99RatioByKind = Object.fromEntries(
    KINDS.map((k) => [k, ratio(rollout?.byKind[k].p99Ms, steady?.byKind[k].p99Ms)]),
  );
  const failures = r.outcomes.filter((o) => !o.ok);
  const machine = describeMachine(REPO_ROOT);

  console.log(
    `\n${machine.cores} cores (${machine.cpuModel}), node ${machine.node}, HAProxy ${r.haproxyVersion}; concurrency ${r.settings.concurrency}, drain delay ${r.settings.drainDelay} s, retry-on ${r.settings.retryOn}\n`,
  );
  console.log('Requests and lost requests per phase (lost/requests by kind), latency of the answered ones:\n');
  console.log(phaseTable(phases));
  console.log('\nLatency by kind:\n');
  console.log(kindLatencyTable(phases));
  console.log(
    `\np99 rolling restart / p99 steady: ${p99Ratio.toFixed(2)} (${KINDS.map((k) => `${KIND_LABELS[k]} ${(p99RatioByKind[k] ?? NaN).toFixed(2)}`).join(', ')})`,
  );
  console.log('\nReplicas:\n');
  console.log(replicaTable(r.events));
  console.log('\nHAProxy counters (whole run):\n');
  for (const c of r.counters) {
    console.log(
      `  ${c.backend}: ${c.retries} retries, ${c.redispatches} redispatches, ${c.connectionErrors} connection errors, ${c.responseErrors} response errors, ${c.http5xx} 5xx`,
    );
  }
  const byKind = (p: typeof sigkill): string =>
    KINDS.map((k) => `${KIND_LABELS[k]} ${p?.byKind[k].lost ?? '?'}`).join(', ');
  const retried = (p: typeof sigkill): number => p?.haproxy.reduce((a, c) => a + c.retries + c.redispatches, 0) ?? 0;
  console.log(
    `\nLost during the rolling restart: ${rollout?.lost ?? '?'}${rollout?.lost === 0 ? ' (goal met)' : ' (goal: 0)'}, HAProxy retries there: ${retried(rollout)}`,
  );
  console.log(
    `Lost at SIGKILL: ${sigkill?.lost ?? '?'} (${byKind(sigkill)}), HAProxy retries there: ${retried(sigkill)}; a request is lost there when HAProxy had already forwarded part of its answer`,
  );
  if (failures.length > 0) {
    console.log(`\nFailed requests (first 20 of ${failures.length}):`);
    for (const f of failures.slice(0, 20)) {
      console.log(`  ${f.at} ${f.phase} ${KIND_LABELS[f.kind]} via ${f.servedBy ?? '?'}: ${f.error ?? '?'}`);
    }
  }
  console.log(`\nlogs: ${r.dir} (HAProxy: ${r.haproxyLog})`);
  for (const e of r.events) console.log(`  ${e.replica} gen ${e.generation}: ${e.log}`);

  const json = {
    machine,
    haproxy: r.haproxyVersion,
    settings: r.settings,
    phases,
    p99RolloutOverSteady: p99Ratio,
    p99RolloutOverSteadyByKind: p99RatioByKind,
    replicas: r.events,
    haproxyCounters: r.counters,
    failures,
    logs: { dir: r.dir, haproxy: r.haproxyLog },
  };
  return json;
}

await main();
