// The GPUs as the NVIDIA driver reports them, read through `nvidia-smi` (the driver's own command
// line, the interface Triton's DCGM metrics stand on). Queries use
// `--format=csv,noheader,nounits`: one line per GPU or process, fields separated by ", ", memory
// in MiB, utilization in percent, power in watts, "[N/A]" / "[Not Supported]" where a board has
// no reading.

import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const MIB = 1024 * 1024;
/** A query that takes longer than this is abandoned (a wedged driver must not hold a load or a sample). */
const QUERY_TIMEOUT_MS = 5000;

/** Fields of `--query-gpu`, in the order `parseGpuCsv` reads them. */
export const GPU_QUERY_FIELDS = 'index,uuid,name,memory.total,memory.used,utilization.gpu,power.draw';
/** Fields of `--query-compute-apps`, in the order `parseComputeAppsCsv` reads them. */
export const COMPUTE_APPS_QUERY_FIELDS = 'pid,gpu_uuid,used_memory';

/** One GPU at one moment. */
export interface GpuSample {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryTotalBytes: number;
  readonly memoryUsedBytes: number;
  /** Fraction of the last sample period a kernel ran, 0-1; undefined when the board does not say. */
  readonly utilization: number | undefined;
  /** Watts; undefined when the board does not say. */
  readonly powerWatts: number | undefined;
}

/** Device memory one process holds on one GPU. */
export interface ComputeAppSample {
  readonly pid: number;
  readonly gpuUuid: string;
  readonly usedBytes: number;
}

function reading(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const n = Number(field.trim());
  return field.trim() === '' || !Number.isFinite(n) ? undefined : n;
}

function fieldsOf(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(',').map((f) => f.trim()));
}

/** Parses `--query-gpu=${GPU_QUERY_FIELDS} --format=csv,noheader,nounits`; malformed lines are skipped. */
export function parseGpuCsv(text: string): GpuSample[] {
  const out: GpuSample[] = [];
  for (const f of fieldsOf(text)) {
    if (f.length < 7) continue;
    // A name could hold a comma: the four readings are always the last fields.
    const index = reading(f[0]);
    const uuid = f[1] ?? '';
    const name = f.slice(2, f.length - 4).join(', ');
    const [total, used, util, power] = f.slice(-4).map(reading);
    if (index === undefined || uuid === '' || total === undefined || used === undefined) continue;
    out.push({
      index,
      uuid,
      name,
      memoryTotalBytes: total * MIB,
      memoryUsedBytes: used * MIB,
      utilization: util === undefined ? undefined : util / 100,
      powerWatts: power,
    });
  }
  return out;
}

/** Parses `--query-compute-apps=${COMPUTE_APPS_QUERY_FIELDS} --format=csv,noheader,nounits`. */
export function parseComputeAppsCsv(text: string): ComputeAppSample[] {
  const out: ComputeAppSample[] = [];
  for (const f of fieldsOf(text)) {
    const pid = reading(f[0]);
    const used = reading(f[2]);
    const gpuUuid = f[1] ?? '';
    if (pid === undefined || used === undefined || gpuUuid === '') continue;
    out.push({ pid, gpuUuid, usedBytes: used * MIB });
  }
  return out;
}

/** The first `nvidia-smi` executable on PATH; undefined when there is none (no NVIDIA driver). */
export function findNvidiaSmi(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nvidia-smi');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * GPUs CUDA numbers: CUDA_VISIBLE_DEVICES (a list of indexes or UUIDs) narrows and renumbers the
 * driver's GPUs from 0, so a config's device id counts within it.
 */
export function cudaDeviceCount(driverCount: number, env: NodeJS.ProcessEnv = process.env): number {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible === undefined) return driverCount;
  const listed = visible.split(',').filter((d) => d.trim() !== '');
  return Math.min(driverCount, listed.length);
}

export class NvidiaSmi {
  constructor(readonly executable: string) {}

  /** The nvidia-smi on PATH, or undefined. */
  static find(env: NodeJS.ProcessEnv = process.env): NvidiaSmi | undefined {
    const exe = findNvidiaSmi(env);
    return exe === undefined ? undefined : new NvidiaSmi(exe);
  }

  async gpus(): Promise<GpuSample[]> {
    const { stdout } = await run(
      this.executable,
      [`--query-gpu=${GPU_QUERY_FIELDS}`, '--format=csv,noheader,nounits'],
      {
        timeout: QUERY_TIMEOUT_MS,
      },
    );
    return parseGpuCsv(stdout);
  }

  /** Device memory `pid` holds, per GPU UUID (a process holding none is absent from the list). */
  async processMemory(pid: number = process.pid): Promise<Map<string, number>> {
    const { stdout } = await run(
      this.executable,
      [`--query-compute-apps=${COMPUTE_APPS_QUERY_FIELDS}`, '--format=csv,noheader,nounits'],
      { timeout: QUERY_TIMEOUT_MS },
    );
    const out = new Map<string, number>();
    for (const app of parseComputeAppsCsv(stdout))
      if (app.pid === pid) out.set(app.gpuUuid, (out.get(app.gpuUuid) ?? 0) + app.usedBytes);
    return out;
  }

  /**
   * The GPUs CUDA can number, read synchronously (a load asks once, before it starts instances);
   * undefined when nvidia-smi fails.
   */
  cudaDeviceCountSync(env: NodeJS.ProcessEnv = process.env): number | undefined {
    try {
      const stdout = execFileSync(this.executable, ['--query-gpu=index', '--format=csv,noheader,nounits'], {
        timeout: QUERY_TIMEOUT_MS,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return cudaDeviceCount(stdout.split('\n').filter((l) => l.trim() !== '').length, env);
    } catch {
      return undefined;
    }
  }
}
