// Deterministic sharding by row number: shard i of n takes the contiguous rows
// [floor(i * total / n), floor((i + 1) * total / n)), so every row lands in exactly one shard and
// a shard's rows are one range. Defaults come from Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX).

import path from 'node:path';
import { invalidArgument } from '../errors/index.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function shardRange(shard: Shard | undefined, total: number): { start: number; end: number } {
  if (shard === undefined) return { start: 0, end: total };
  return {
    start: Math.floor((shard.index * total) / shard.count),
    end: Math.floor(((shard.index + 1) * total) / shard.count),
  };
}

/**
 * The shard from --shard-index / --shard-count, or from JOB_COMPLETION_INDEX (then --shard-count
 * is required); undefined when the job is not sharded.
 */
export function resolveShard(
  index: number | undefined,
  count: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Shard | undefined {
  let i = index;
  if (i === undefined && env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== '') {
    const fromEnv = Number(env.JOB_COMPLETION_INDEX);
    if (!Number.isInteger(fromEnv) || fromEnv < 0)
      throw invalidArgument(`JOB_COMPLETION_INDEX must be a non-negative integer, got '${env.JOB_COMPLETION_INDEX}'`);
    if (count === undefined)
      throw invalidArgument(
        `JOB_COMPLETION_INDEX is set (${fromEnv}): give --shard-count (the Job's completions) to shard the input`,
      );
    i = fromEnv;
  }
  if (i === undefined && count === undefined) return undefined;
  if (i === undefined) throw invalidArgument('--shard-count needs --shard-index (or JOB_COMPLETION_INDEX)');
  const n = count ?? 1;
  if (i >= n) throw invalidArgument(`--shard-index ${i} is out of range for --shard-count ${n} (0..${n - 1})`);
  return { index: i, count: n };
}

/** preds.parquet → preds-00002-of-00004.parquet for shard 2 of 4. */
export function shardOutputPath(output: string, shard: Shard | undefined): string {
  if (shard === undefined) return output;
  const ext = path.extname(output);
  const base = output.slice(0, output.length - ext.length);
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${base}-${pad(shard.index)}-of-${pad(shard.count)}${ext}`;
}
