// GPU against CPU on the same machine, in the same run: examples/models/mlp (256→1024→10) and a
// compute-bound MLP (256→2048→2048→2048→10), at batch 1 and 64, on the CPU provider and on each
// GPU provider that opens here (onnxruntime-node's bundled WebGPU; CUDA where its provider
// library is installed), both as raw session.run in this process and through `inferd serve` over
// REST (binary tensors, one request at a time). Every case runs once per round, interleaved with
// its CPU baseline, and each ratio is GPU throughput ÷ CPU throughput of the same round (median
// over rounds). The CPU side uses every core; a GPU instance gets one intra-op thread, as inferd
// gives it. Without a usable GPU provider it says why and writes that to the results file.
// Which Vulkan drivers the WebGPU provider could see is printed too: Mesa's lavapipe is a software
// Vulkan on the CPU, so a "webgpu" row over it measures the code path, not a GPU.
// Run: npm run bench:gpu -- [--window-ms N] [--rounds N] [--batches 1,64] [--providers webgpu,cuda]
//      [--no-rest] [--out file]

import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { providerAvailable } from '../src/runtime/ort-session.js';
import { computeBoundMlp } from './lib/compute-bound-mlp.js';
import { startInferd } from './lib/inferd-process.js';
import { binaryRequest, sampleTensor } from './lib/kserve-bodies.js';
import { KServeClient } from './lib/kserve-client.js';
import { describeMachine } from './lib/machine.js';
import { markdownTable } from './lib/overhead-report.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const GPU_PROVIDERS = ['webgpu', 'cuda'] as const;
type Provider = 'cpu' | (typeof GPU_PROVIDERS)[number];

const { values } = parseArgs({
  options: {
    'window-ms': { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '3' },
    batches: { type: 'string', default: '1,64' },
    providers: { type: 'string', default: GPU_PROVIDERS.join(',') },
    'no-rest': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const windowMs = Number(values['window-ms']);
const rounds = Number(values.rounds);
const batches = values.batches.split(',').map(Number);
const wanted = values.providers
  .split(',')
  .filter((p): p is (typeof GPU_PROVIDERS)[number] => (GPU_PROVIDERS as readonly string[]).includes(p));
const out = values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'gpu.json');
const cores = os.availableParallelism();

/** Vulkan driver manifests the loader would read (what the WebGPU provider can run on). */
async function vulkanDrivers(): Promise<string[]> {
  const listed = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (listed !== undefined) return listed.split(path.delimiter).map((f) => path.basename(f));
  const found: string[] = [];
  for (const dir of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'])
    if (existsSync(dir)) found.push(...(await readdir(dir)).filter((f) => f.endsWith('.json')));
  return found;
}

/**
 * Whether the only Vulkan device here can be Mesa's lavapipe (a software Vulkan on the CPU): its
 * driver is installed and no GPU device node exists for another driver to open.
 */
async function softwareVulkanOnly(drivers: readonly string[]): Promise<boolean> {
  if (!drivers.some((d) => d.startsWith('lvp_icd'))) return false;
  const dri = existsSync('/dev/dri') ? (await readdir('/dev/dri')).some((f) => f.startsWith('render')) : false;
  const nvidia = (await readdir('/dev')).some((f) => /^nvidia\d+$/.test(f));
  return !dri && !nvidia;
}

interface ModelCase {
  readonly name: string;
  readonly what: string;
  readonly file: string;
}

function sessionOptions(provider: Provider): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: provider === 'cpu' ? cores : 1,
    interOpNumThreads: 1,
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    logSeverityLevel: 3,
  };
}

/** Why `provider` cannot run `file` here; undefined when a session opens and runs. */
async function unavailableReason(provider: Provider, file: string): Promise<string | undefined> {
  if (provider === 'cuda' && !providerAvailable('cuda'))
    return 'the CUDA provider is not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)';
  try {
    const s = await ort.InferenceSession.create(file, sessionOptions(provider));
    await s.run({ input: new ort.Tensor('float32', new Float32Array(256), [1, 256]) });
    await s.release();
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0];
  }
}

/** Runs `op` back to back for the window (at least twice); microseconds per run. */
async function timed(op: () => Promise<unknown>): Promise<number> {
  await op();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(windowMs) * 1_000_000n;
  let now = start;
  while (n < 2 || now < end) {
    await op();
    n++;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Row {
  model: string;
  batch: number;
  provider: Provider;
  path: 'raw' | 'rest';
  usPerRun: number;
  rowsPerSecond: number;
  /** Throughput ÷ the CPU provider's on the same path, same round (median over rounds); 1 for CPU. */
  vsCpu: number;
}

const work = await mkdtemp(path.join(os.tmpdir(), 'inferd-bench-gpu-'));
const machine = describeMachine(REPO_ROOT);
const drivers = await vulkanDrivers();
const softwareVulkan = await softwareVulkanOnly(drivers);
try {
  const models: ModelCase[] = [
    { name: 'mlp', what: 'examples/models/mlp (256→1024→10)', file: path.join(work, 'mlp.onnx') },
    { name: 'compute', what: 'compute-bound MLP (256→2048→2048→2048→10)', file: path.join(work, 'compute.onnx') },
  ];
  await copyFile(path.join(REPO_ROOT, 'examples', 'models', 'mlp', '1', 'model.onnx'), models[0]!.file);
  await writeFile(models[1]!.file, computeBoundMlp());

  const reasons: Partial<Record<Provider, string>> = {};
  const gpus: Provider[] = [];
  for (const p of wanted) {
    const reason = await unavailableReason(p, models[0]!.file);
    if (reason === undefined) gpus.push(p);
    else reasons[p] = reason;
  }
  process.stdout.write(
    `Vulkan drivers: ${drivers.length === 0 ? 'none' : drivers.join(', ')}${softwareVulkan ? ' (no GPU device: WebGPU runs on lavapipe, a software Vulkan on the CPU)' : ''}\n`,
  );
  for (const [p, r] of Object.entries(reasons)) process.stdout.write(`${p}: not measured: ${r}\n`);
  await mkdir(path.dirname(out), { recursive: true });
  if (gpus.length === 0) {
    const why = `no GPU provider opened here (${Object.entries(reasons)
      .map(([p, r]) => `${p}: ${r}`)
      .join('; ')})`;
    process.stdout.write(
      `${why}\nNothing to compare against the CPU; see scripts/gpu/run-on-gpu.sh for a GPU machine.\n`,
    );
    await writeFile(
      out,
      `${JSON.stringify({ machine, vulkanDrivers: drivers, softwareVulkan, measured: false, reason: why, unavailable: reasons, rows: [] }, null, 2)}\n`,
    );
  } else {
    const providers: Provider[] = ['cpu', ...gpus];
    // Per round, every case: raw sessions first (in this process), then REST against one server.
    const raw = new Map<string, number[]>();
    const key = (m: string, b: number, p: Provider, via: string) => `${m}|${b}|${p}|${via}`;
    const sessions = new Map<string, ort.InferenceSession>();
    for (const m of models)
      for (const p of providers)
        sessions.set(`${m.name}|${p}`, await ort.InferenceSession.create(m.file, sessionOptions(p)));

    let repo: string | undefined;
    let server: Awaited<ReturnType<typeof startInferd>> | undefined;
    let client: KServeClient | undefined;
    if (!values['no-rest']) {
      repo = path.join(work, 'models');
      for (const m of models)
        for (const p of providers) {
          const dir = path.join(repo, `${m.name}_${p}`);
          await mkdir(path.join(dir, '1'), { recursive: true });
          await copyFile(m.file, path.join(dir, '1', 'model.onnx'));
          const group = p === 'cpu' ? 'KIND_CPU' : 'KIND_GPU';
          await writeFile(
            path.join(dir, 'config.yaml'),
            `max_batch_size: ${Math.max(...batches)}\ninstance_group: [{ kind: ${group}, count: 1 }]\noptimization: { execution_providers: [${p === 'cpu' ? 'cpu' : `${p}, cpu`}] }\n`,
          );
        }
      server = await startInferd({
        repoRoot: REPO_ROOT,
        modelRepository: repo,
        models: models.flatMap((m) => providers.map((p) => `${m.name}_${p}`)),
        nodeArgs: [],
        cpuCores: cores,
        readyTimeoutMs: 120_000,
        serveArgs: ['--grpc-port', 'off'],
      });
      client = new KServeClient(server.host, server.port);
    }
    try {
      for (let r = 0; r < rounds; r++) {
        // Raw sessions first, then REST: onnxruntime's CPU threads spin for a while after a run,
        // and must not take the cores from the server's instances.
        for (const via of client === undefined ? (['raw'] as const) : (['raw', 'rest'] as const))
          for (const m of models)
            for (const b of batches) {
              const input = sampleTensor('input', 'FP32', [b, 256]);
              const feeds = { input: new ort.Tensor('float32', input.data as Float32Array, [b, 256]) };
              const body = binaryRequest([input]);
              for (const p of providers) {
                const s = sessions.get(`${m.name}|${p}`) as ort.InferenceSession;
                const c = client;
                const us =
                  via === 'raw' || c === undefined
                    ? await timed(() => s.run(feeds))
                    : await timed(async () => {
                        const reply = await c.request(
                          'POST',
                          `/v2/models/${m.name}_${p}/infer`,
                          body.headers,
                          body.body,
                        );
                        if (reply.status !== 200)
                          throw new Error(`${m.name}_${p}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
                      });
                const k = key(m.name, b, p, via);
                raw.set(k, [...(raw.get(k) ?? []), us]);
                process.stderr.write(
                  `round ${r + 1}/${rounds} ${via} ${m.name} batch ${b} ${p}: ${us.toFixed(0)} µs\n`,
                );
              }
            }
      }
    } finally {
      await server?.stop();
      for (const s of sessions.values()) await s.release();
    }

    const rows: Row[] = [];
    for (const m of models)
      for (const b of batches)
        for (const via of client === undefined ? (['raw'] as const) : (['raw', 'rest'] as const))
          for (const p of providers) {
            const mine = raw.get(key(m.name, b, p, via)) ?? [];
            const cpu = raw.get(key(m.name, b, 'cpu', via)) ?? [];
            const us = median(mine);
            rows.push({
              model: m.name,
              batch: b,
              provider: p,
              path: via,
              usPerRun: us,
              rowsPerSecond: (b * 1e6) / us,
              vsCpu: median(mine.map((x, i) => (cpu[i] ?? Number.NaN) / x)),
            });
          }
    const table = markdownTable(
      ['model', 'batch', 'path', 'provider', 'µs per run', 'rows/s', '× CPU'],
      rows.map((x) => [
        x.model,
        String(x.batch),
        x.path,
        x.provider,
        x.usPerRun.toFixed(0),
        x.rowsPerSecond.toFixed(0),
        x.vsCpu.toFixed(2),
      ]),
      4,
    );
    process.stdout.write(
      `\n${models.map((m) => `${m.name}: ${m.what}`).join('\n')}\nCPU: ${machine.cpuModel}, ${cores} cores; ${rounds} rounds of ${windowMs} ms per case\n\n${table}\n`,
    );
    await writeFile(
      out,
      `${JSON.stringify({ machine, vulkanDrivers: drivers, softwareVulkan, measured: true, unavailable: reasons, windowMs, rounds, rows }, null, 2)}\n`,
    );
  }
  process.stdout.write(`results: ${path.relative(REPO_ROOT, out)}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
