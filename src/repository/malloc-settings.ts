// Whether the process's allocator gives the memory of unloaded models back to the system. glibc's
// malloc starts by serving blocks of 128 KiB and more with mappings of their own (returned on
// free), but each time such a block is freed it raises that threshold to the block's size, up to
// 32 MiB. After the first model is unloaded, the weights of every later one come from malloc's
// heaps instead, and a heap keeps what is freed in its middle resident: the memory budget unloads
// models, yet the process's resident memory keeps the high-water mark. Setting the threshold (or
// one of the settings below) turns that adjustment off; it can only be set before the process
// starts, so inferd names the setting instead (README "Performance", docs/architecture.md).

/** The setting the warning and the docs recommend: blocks of 1 MiB and more get their own mapping. */
export const RECOMMENDED_MALLOC_SETTING = 'MALLOC_MMAP_THRESHOLD_=1048576';

/** glibc's environment variables that fix the thresholds, each of which ends the adjustment. */
const FIXING_VARIABLES = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_'];

/** The same settings as GLIBC_TUNABLES names them. */
const FIXING_TUNABLES = /\bglibc\.malloc\.(?:mmap_threshold|trim_threshold|top_pad|mmap_max)=/;

/** Allocators preloaded in glibc's place have their own policy for returning freed memory. */
const OTHER_ALLOCATOR = /(?:jemalloc|tcmalloc|mimalloc)/;

/** The glibc version this process runs on, or undefined (musl, macOS, Windows). */
export function glibcVersion(): string | undefined {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } };
  const version = report.header?.glibcVersionRuntime;
  return typeof version === 'string' ? version : undefined;
}

/**
 * True when glibc's malloc serves this process with its thresholds adjusting themselves, so that
 * memory freed by unloaded models can stay resident.
 */
export function freedModelMemoryMayStayResident(
  env: Readonly<Record<string, string | undefined>>,
  glibc: string | undefined,
): boolean {
  if (glibc === undefined) return false;
  if (FIXING_VARIABLES.some((name) => (env[name] ?? '') !== '')) return false;
  if (FIXING_TUNABLES.test(env.GLIBC_TUNABLES ?? '')) return false;
  return !OTHER_ALLOCATOR.test(env.LD_PRELOAD ?? '');
}
