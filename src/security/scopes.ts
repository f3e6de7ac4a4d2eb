// What a caller may do: every route of every protocol belongs to one API group (Triton's
// restricted-API groups, plus the ones inferd adds), and a scope grants groups. A Grant is what a
// principal holds: a set of groups, and for inference, the model names it may use.

import { InferdError } from '../errors/index.js';

/**
 * The API groups. The first six and `logging` are Triton's restricted-API groups with the same meaning; `batch`
 * (the Files and Batch API), `metrics` (Prometheus) and `public` (what is never guarded: CORS
 * preflight answers) are inferd's.
 */
export const API_GROUPS = [
  'health',
  'metadata',
  'model-config',
  'statistics',
  'inference',
  'model-repository',
  'batch',
  'metrics',
  'logging',
] as const;
export type ApiGroup = (typeof API_GROUPS)[number];

/** What a route declares: an API group, or `public` for the few answers that need no decision. */
export type RouteGroup = ApiGroup | 'public';

/** Groups that change the server's state: refused to anonymous callers on a non-loopback listener. */
export const ADMIN_GROUPS: ReadonlySet<ApiGroup> = new Set(['model-repository', 'batch', 'logging']);

/** The scopes a key or the anonymous caller can hold, and the groups each grants. */
export const SCOPE_GROUPS = {
  health: ['health'],
  read: ['health', 'metadata', 'model-config', 'statistics'],
  infer: ['inference'],
  metrics: ['metrics'],
  'admin:repository': ['model-repository'],
  'admin:batch': ['batch'],
  'admin:logging': ['logging'],
  admin: ['model-repository', 'batch', 'logging'],
  '*': API_GROUPS,
} as const satisfies Record<string, readonly ApiGroup[]>;
export type ScopeName = keyof typeof SCOPE_GROUPS;

/** The scope a key needs for a group, named in 403 messages. */
export function scopeFor(group: ApiGroup): ScopeName {
  switch (group) {
    case 'health':
      return 'health';
    case 'metadata':
    case 'model-config':
    case 'statistics':
      return 'read';
    case 'inference':
      return 'infer';
    case 'metrics':
      return 'metrics';
    case 'model-repository':
      return 'admin:repository';
    case 'batch':
      return 'admin:batch';
    case 'logging':
      return 'admin:logging';
  }
}

/** Model names a grant may infer on: null = every model; otherwise one of the patterns must match. */
export interface ModelLimit {
  readonly patterns: readonly string[];
  readonly matches: (model: string) => boolean;
}

export interface Grant {
  readonly groups: ReadonlySet<ApiGroup>;
  /** For `inference`: null = every model. */
  readonly models: ModelLimit | null;
  /** The scope strings the grant came from, for messages. */
  readonly scopes: readonly string[];
}

export const NO_GRANT: Grant = { groups: new Set(), models: null, scopes: [] };

const GLOB_CHARS = /^[A-Za-z0-9_.*?-]+$/;

/** A model-name glob (`*` a run of characters, `?` one), anchored at both ends. */
function globMatcher(glob: string): (name: string) => boolean {
  const source = glob
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

function modelLimit(patterns: readonly string[]): ModelLimit {
  const matchers = patterns.map(globMatcher);
  return { patterns, matches: (model) => matchers.some((m) => m(model)) };
}

function isScopeName(name: string): name is ScopeName {
  return Object.hasOwn(SCOPE_GROUPS, name);
}

/**
 * Reads scope strings into a Grant. `infer:<glob>` limits inference to matching model names (several
 * are a union; a plain `infer` beside them lifts the limit). An unknown scope throws a message that
 * lists the known ones; `where` names the source (a key file entry, a flag).
 */
export function parseScopes(scopes: readonly string[], where: string): Grant {
  const groups = new Set<ApiGroup>();
  const patterns: string[] = [];
  let everyModel = false;
  for (const raw of scopes) {
    const scope = raw.trim();
    if (scope.startsWith('infer:')) {
      const glob = scope.slice('infer:'.length);
      if (glob === '' || !GLOB_CHARS.test(glob))
        throw new InferdError(
          'INF_ERR_INVALID_CONFIG',
          `${where}: scope '${scope}' needs a model-name pattern after 'infer:' (letters, digits, '_', '.', '-', with '*' and '?' as wildcards)`,
        );
      groups.add('inference');
      patterns.push(glob);
      continue;
    }
    if (!isScopeName(scope))
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `${where}: unknown scope '${scope}'; the scopes are ${Object.keys(SCOPE_GROUPS).join(', ')} and infer:<model-glob>`,
      );
    if (scope === 'infer' || scope === '*') everyModel = true;
    for (const g of SCOPE_GROUPS[scope]) groups.add(g);
  }
  const models = groups.has('inference') && !everyModel ? modelLimit(patterns) : null;
  return { groups, models, scopes: scopes.map((s) => s.trim()) };
}

/** The union of grants (the anonymous grant, a key's, Triton header rules'). */
export function unionGrants(grants: readonly Grant[]): Grant {
  const nonEmpty = grants.filter((g) => g.groups.size > 0);
  if (nonEmpty.length === 0) return NO_GRANT;
  if (nonEmpty.length === 1) return nonEmpty[0] ?? NO_GRANT;
  const groups = new Set<ApiGroup>();
  for (const g of nonEmpty) for (const group of g.groups) groups.add(group);
  const inferring = nonEmpty.filter((g) => g.groups.has('inference'));
  const unlimited = inferring.some((g) => g.models === null);
  const models =
    unlimited || inferring.length === 0 ? null : modelLimit(inferring.flatMap((g) => g.models?.patterns ?? []));
  return { groups, models, scopes: [...new Set(nonEmpty.flatMap((g) => g.scopes))] };
}

/** Whether `grant` covers `group` (and, for inference with a model named, that model). */
export function allows(grant: Grant, group: ApiGroup, model?: string): boolean {
  if (!grant.groups.has(group)) return false;
  if (group !== 'inference' || model === undefined || grant.models === null) return true;
  return grant.models.matches(model);
}

/** A grant of the given groups and every model (Triton header rules, the open default). */
export function grantOf(groups: Iterable<ApiGroup>, scopes: readonly string[]): Grant {
  return { groups: new Set(groups), models: null, scopes };
}
