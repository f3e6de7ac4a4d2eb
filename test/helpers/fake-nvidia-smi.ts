// A stand-in for the NVIDIA driver's command line: an executable `nvidia-smi` in a temporary
// folder that prints canned CSV for the queries inferd makes. Tests put its folder first on PATH,
// so the server reaches it the way it reaches the real one (a process, its arguments, its output).

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { providerAvailable } from '../../src/runtime/ort-session.js';

export interface FakeGpu {
  readonly uuid: string;
  readonly name: string;
  readonly totalMiB: number;
  readonly usedMiB: number;
  readonly utilizationPercent: number;
  /** Watts, or '[N/A]' for a board without a power reading. */
  readonly powerWatts: number | '[N/A]';
}

export interface FakeNvidiaSmi {
  /** The folder to put first on PATH. */
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * Writes the fake. `processMiB` is what successive `--query-compute-apps` calls report for the
 * calling process on the first GPU (the last value repeats): a load reads it before and after.
 */
export async function fakeNvidiaSmi(
  gpus: readonly FakeGpu[],
  processMiB: readonly number[] = [],
): Promise<FakeNvidiaSmi> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-fake-smi-'));
  const rows = gpus
    .map((g, i) => `${i}, ${g.uuid}, ${g.name}, ${g.totalMiB}, ${g.usedMiB}, ${g.utilizationPercent}, ${g.powerWatts}`)
    .join('\n');
  const indexes = gpus.map((_, i) => String(i)).join('\n');
  const apps = processMiB.map((m) => `"${m}"`).join(' ');
  const firstUuid = gpus[0]?.uuid ?? '';
  const script = `#!/bin/sh
# Fake nvidia-smi for tests: canned answers to the queries inferd makes, in shell builtins only
# (tests may run it with a PATH that holds nothing else).
case "$1" in
  --query-gpu=index)
    printf '%s\\n' '${indexes}' ;;
  --query-gpu=*)
    printf '%s\\n' '${rows}' ;;
  --query-compute-apps=*)
    set -- ${apps}
    n=0
    [ -f "${dir}/calls" ] && read -r n < "${dir}/calls"
    echo $((n + 1)) > "${dir}/calls"
    [ $# -eq 0 ] && exit 0
    shift $(( n < $# ? n : $# - 1 ))
    echo "$PPID, ${firstUuid}, $1"
    echo "1, ${firstUuid}, 999" ;;
  *)
    echo "unexpected arguments: $*" >&2; exit 2 ;;
esac
`;
  await writeFile(path.join(dir, 'nvidia-smi'), script.replace(/"(\d+)"/g, '$1'));
  await chmod(path.join(dir, 'nvidia-smi'), 0o755);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with PATH set to `dirs` only (no real nvidia-smi can be found), then restores it. */
export async function withPath<T>(dirs: readonly string[], fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = dirs.join(path.delimiter);
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

/**
 * Why a test that runs `cuda` sessions against a fake nvidia-smi cannot run here: with the CUDA
 * provider installed they would open on the real GPUs, which the fake does not describe.
 */
export function cudaInstalledReason(): string | undefined {
  return providerAvailable('cuda')
    ? 'the CUDA provider is installed: its sessions would open on the real GPUs, not the fake ones'
    : undefined;
}
