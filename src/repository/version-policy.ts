// Chooses which of a model's version folders to serve: latest N (default 1), all, or specific.

import type { VersionPolicy } from '../config/model-config-schema.js';

export type VersionChoice = { readonly versions: number[] } | { readonly missing: number[] };

export function selectVersions(policy: VersionPolicy, available: readonly number[]): VersionChoice {
  const sorted = [...available].sort((a, b) => a - b);
  if ('all' in policy) return { versions: sorted };
  if ('latest' in policy) return { versions: sorted.slice(-policy.latest.num_versions) };
  const missing = policy.specific.versions.filter((v) => !sorted.includes(v));
  if (missing.length > 0) return { missing };
  return { versions: [...new Set(policy.specific.versions)].sort((a, b) => a - b) };
}
