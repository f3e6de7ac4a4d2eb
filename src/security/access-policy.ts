// The one decision of who may call what, shared by every protocol: credentials in (a bearer key,
// Triton's restricted-API headers), a Principal out (or a 401), then a Principal and an API group
// in, allowed or a 401/403 that names the problem. The edges only extract credentials and name
// the route's group (protocols/common/http-access.ts, protocols/kserve-grpc/grpc-access.ts).

import { timingSafeEqual } from 'node:crypto';
import { InferdError } from '../errors/index.js';
import { digestOf, MAX_KEY_LENGTH, type ApiKey, type KeyStore } from './api-keys.js';
import {
  ADMIN_GROUPS,
  API_GROUPS,
  allows,
  grantOf,
  parseScopes,
  scopeFor,
  unionGrants,
  type ApiGroup,
  type Grant,
} from './scopes.js';

/** Triton's `--http-restricted-api` / `--grpc-restricted-protocol` rule: these groups need this header. */
export interface RestrictedApiRule {
  readonly groups: readonly ApiGroup[];
  /** Triton group names inferd has no API for (shared-memory): accepted, guard nothing. */
  readonly unserved: readonly string[];
  readonly header: string;
  readonly value: string;
}

/** Triton's API group names, and the inferd groups each covers. */
const TRITON_GROUPS: Readonly<Record<string, readonly ApiGroup[]>> = {
  health: ['health'],
  metadata: ['metadata'],
  inference: ['inference'],
  'model-config': ['model-config'],
  'model-repository': ['model-repository'],
  statistics: ['statistics'],
  'shared-memory': [],
  // The trace settings API (/v2/trace/setting) is guarded as the log settings API: one group.
  trace: ['logging'],
  logging: ['logging'],
};

/**
 * Reads Triton's `<api>[,<api>...]:<key>=<value>` rule form. `flag` names the option in errors;
 * a group in two rules is refused (as Triton refuses it).
 */
export function parseRestrictedApiRules(values: readonly string[], flag: string): RestrictedApiRule[] {
  const seen = new Map<string, string>();
  /** Which rule guards each inferd group: Triton's `trace` and `logging` are one here. */
  const guarded = new Map<ApiGroup, string>();
  return values.map((text) => {
    const colon = text.indexOf(':');
    const eq = text.indexOf('=', colon + 1);
    if (colon <= 0 || eq <= colon + 1 || eq === text.length - 1)
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `${flag}: '${text.replace(/=.*/, '=…')}' is not <api>[,<api>...]:<header>=<value>, e.g. model-repository,statistics:admin-key=<secret>`,
      );
    const names = text
      .slice(0, colon)
      .split(',')
      .map((n) => n.trim());
    const header = text
      .slice(colon + 1, eq)
      .trim()
      .toLowerCase();
    if (!/^[a-z0-9-]+$/.test(header))
      throw new InferdError(
        'INF_ERR_INVALID_CONFIG',
        `${flag}: header name '${header}' has characters a header cannot`,
      );
    const groups: ApiGroup[] = [];
    const unserved: string[] = [];
    for (const name of names) {
      const mapped = TRITON_GROUPS[name];
      if (mapped === undefined)
        throw new InferdError(
          'INF_ERR_INVALID_CONFIG',
          `${flag}: unknown API group '${name}'; the groups are ${Object.keys(TRITON_GROUPS).join(', ')}`,
        );
      const earlier = seen.get(name);
      if (earlier !== undefined)
        throw new InferdError('INF_ERR_INVALID_CONFIG', `${flag}: the API group '${name}' is in two rules`);
      seen.set(name, text);
      if (mapped.length === 0) unserved.push(name);
      for (const group of mapped) {
        const other = guarded.get(group);
        if (other !== undefined && other !== text)
          throw new InferdError(
            'INF_ERR_INVALID_CONFIG',
            `${flag}: '${name}' and the API group of another rule are one group here (${group}: the trace and log settings APIs); name them in one rule`,
          );
        guarded.set(group, text);
        if (!groups.includes(group)) groups.push(group);
      }
    }
    return { groups, unserved, header, value: text.slice(eq + 1) };
  });
}

/** What a request presents, as the edge found it. */
export interface PresentedCredentials {
  /** The Authorization header (gRPC: the `authorization` metadata), undefined when absent. */
  readonly authorization: string | undefined;
  /** A header or metadata value by lower-case name, for Triton's rules. */
  readonly header: (name: string) => string | undefined;
  /** The name of a query parameter that carries a key (refused), undefined when none. */
  readonly keyInQuery?: string | undefined;
  /** The client's address, for the failure limiter. */
  readonly peer: string;
}

export interface Principal {
  /** The key id, or 'anonymous'. Named in logs, metrics and audit lines. */
  readonly id: string;
  readonly key: ApiKey | undefined;
  readonly grant: Grant;
  /** True when credentials (a key or a rule's header) were presented and accepted. */
  readonly authenticated: boolean;
}

/** Slows down clients that fail authentication repeatedly. */
export interface FailureGate {
  /** Seconds the peer must wait before trying again, or undefined when it may try now. */
  blockedFor(peer: string, nowMs: number): number | undefined;
  /** Records one failed attempt of the peer. */
  failed(peer: string, nowMs: number): void;
}

export interface AccessPolicyOptions {
  /** Undefined: no keys configured. */
  readonly keys: KeyStore | undefined;
  /** Scopes of callers with no credentials; undefined = the default (see anonymousGrant). */
  readonly anonymousScopes: readonly string[] | undefined;
  /** True when the listener is reachable only from this machine. */
  readonly loopback: boolean;
  /** Triton's restricted-API rules for this protocol. */
  readonly rules: readonly RestrictedApiRule[];
  /** How the rule headers are named on this protocol (gRPC: `triton-grpc-protocol-<key>`). */
  readonly ruleHeaderPrefix: string;
  /** The listener's address as configured, for messages. */
  readonly listenAddress: string;
  readonly failures?: FailureGate;
}

const BEARER = /^Bearer +(\S+) *$/i;

const WWW_AUTHENTICATE = 'Bearer realm="inferd"';

function unauthenticated(message: string, invalidToken: boolean): InferdError {
  return new InferdError('INF_ERR_UNAUTHENTICATED', message, {
    headers: { 'www-authenticate': invalidToken ? `${WWW_AUTHENTICATE}, error="invalid_token"` : WWW_AUTHENTICATE },
    apiCode: 'invalid_api_key',
  });
}

/** Equality of two secrets in constant time, whatever their lengths (their digests are compared). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digestOf(a), digestOf(b));
}

export class AccessPolicy {
  readonly anonymous: Grant;
  /** Groups refused to anonymous callers because the listener is not loopback and no key is configured. */
  private readonly refusedForExposure: ReadonlySet<ApiGroup>;
  private readonly restricted: ReadonlySet<ApiGroup>;
  /** Each key's grant united with the anonymous one; keys replaced by a reload drop out. */
  private readonly keyGrants = new WeakMap<ApiKey, Grant>();

  constructor(private readonly options: AccessPolicyOptions) {
    this.restricted = new Set(options.rules.flatMap((r) => r.groups));
    const keyed = options.keys !== undefined;
    let anonymous: Grant;
    let refused = new Set<ApiGroup>();
    if (options.anonymousScopes !== undefined) anonymous = parseScopes(options.anonymousScopes, '--anonymous-scopes');
    else if (keyed) anonymous = parseScopes(['health'], 'default');
    else {
      // No keys: everything is open on loopback; elsewhere, everything but what changes state.
      if (!options.loopback) refused = new Set(ADMIN_GROUPS);
      anonymous = grantOf(
        API_GROUPS.filter((g) => !refused.has(g)),
        ['*'],
      );
    }
    // A group a Triton rule restricts needs the rule's header, whoever calls.
    this.anonymous = grantOf(
      [...anonymous.groups].filter((g) => !this.restricted.has(g)),
      anonymous.scopes,
    );
    if (anonymous.models !== null && this.anonymous.groups.has('inference'))
      this.anonymous = { ...this.anonymous, models: anonymous.models };
    this.refusedForExposure = refused;
  }

  /** Whether keys are configured (a presented bearer is then checked; otherwise ignored). */
  get keyed(): boolean {
    return this.options.keys !== undefined;
  }

  /**
   * Who is calling. Throws a 401 for credentials that are malformed, unknown or expired (even on
   * a route open to anonymous callers: a wrong key is a mistake worth hearing about), and a 429
   * when this peer has failed too often.
   */
  authenticate(creds: PresentedCredentials, nowMs: number): Principal {
    const { failures } = this.options;
    const fail = (err: InferdError): InferdError => {
      failures?.failed(creds.peer, nowMs);
      return err;
    };
    if (creds.keyInQuery !== undefined)
      throw fail(
        unauthenticated(
          `API keys in the URL are refused (query parameter '${creds.keyInQuery}'): URLs end up in logs and proxies; send the header Authorization: Bearer <key>`,
          true,
        ),
      );
    const grants: Grant[] = [this.anonymous];
    let key: ApiKey | undefined;
    let presented = false;
    const store = this.options.keys;
    if (store !== undefined && creds.authorization !== undefined) {
      const wait = failures?.blockedFor(creds.peer, nowMs);
      if (wait !== undefined)
        throw new InferdError(
          'INF_ERR_RATE_LIMITED',
          `too many failed authentications from this address; retry after ${wait} s`,
          { headers: { 'retry-after': String(wait) } },
        );
      const auth = creds.authorization;
      const bearer = auth.length <= MAX_KEY_LENGTH + 16 ? BEARER.exec(auth) : null;
      if (bearer === null) {
        const scheme = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s/.exec(auth)?.[1];
        throw fail(
          unauthenticated(
            scheme !== undefined && scheme.toLowerCase() !== 'bearer'
              ? `unsupported authorization scheme '${scheme.slice(0, 20)}': send Authorization: Bearer <key>`
              : 'malformed Authorization header: send Authorization: Bearer <key>',
            true,
          ),
        );
      }
      const check = store.verify(bearer[1] ?? '', nowMs);
      if (!check.ok)
        throw fail(
          unauthenticated(
            check.reason === 'expired' ? `API key '${check.key.id}' has expired; ask for a new one` : 'invalid API key',
            true,
          ),
        );
      key = check.key;
      presented = true;
      grants.push(key.grant);
    }
    for (const rule of this.options.rules) {
      const value = creds.header(`${this.options.ruleHeaderPrefix}${rule.header}`);
      if (value === undefined) continue;
      if (!sameSecret(value, rule.value))
        throw fail(unauthenticated(`wrong value in header '${this.options.ruleHeaderPrefix}${rule.header}'`, true));
      presented = true;
      grants.push(grantOf(rule.groups, [`${this.options.ruleHeaderPrefix}${rule.header}`]));
    }
    let grant: Grant;
    if (grants.length === 1) grant = this.anonymous;
    else if (grants.length === 2 && key !== undefined) {
      // A key's grant beside the anonymous one is the same on every request: computed once per key.
      grant = this.keyGrants.get(key) ?? unionGrants(grants);
      this.keyGrants.set(key, grant);
    } else grant = unionGrants(grants);
    return { id: key?.id ?? 'anonymous', key, grant, authenticated: presented };
  }

  /**
   * Throws unless `principal` may call a route of `group` (`what` names the route in messages; for
   * inference, `model` is checked against the key's model patterns when given).
   */
  authorize(principal: Principal, group: ApiGroup, what: string, model?: string): void {
    if (allows(principal.grant, group, model)) return;
    if (principal.grant.groups.has(group) && model !== undefined) {
      const patterns = principal.grant.models?.patterns.join(', ') ?? '';
      throw new InferdError(
        'INF_ERR_PERMISSION_DENIED',
        `${principal.key === undefined ? 'this caller' : `API key '${principal.id}'`} may not use model '${model}' (its inference scopes cover: ${patterns})`,
      );
    }
    if (this.refusedForExposure.has(group))
      throw new InferdError(
        'INF_ERR_PERMISSION_DENIED',
        `${what} is refused: this server listens on ${this.options.listenAddress} without API keys, so APIs that change its state are off. ` +
          `Configure a key with scope '${scopeFor(group)}' (--api-keys-file), or listen on loopback only (--host 127.0.0.1)`,
      );
    const rule = this.options.rules.find((r) => r.groups.includes(group));
    if (!principal.authenticated) {
      if (rule !== undefined && !this.keyed)
        throw unauthenticated(`${what} needs the header '${this.options.ruleHeaderPrefix}${rule.header}'`, false);
      throw unauthenticated(
        `${what} needs an API key with scope '${scopeFor(group)}': send Authorization: Bearer <key>`,
        false,
      );
    }
    throw new InferdError(
      'INF_ERR_PERMISSION_DENIED',
      `${principal.key === undefined ? 'these credentials lack' : `API key '${principal.id}' lacks`} the scope '${scopeFor(group)}' that ${what} needs`,
    );
  }

  /** One line for the start-up log: how this listener is guarded. */
  describe(): string {
    const open = [...this.anonymous.groups];
    const parts: string[] = [];
    const store = this.options.keys;
    if (store !== undefined)
      parts.push(
        `${store.size} API key${store.size === 1 ? '' : 's'}${store.file === undefined ? '' : ` (from ${store.file})`}`,
      );
    else parts.push('no API keys');
    if (this.options.rules.length > 0)
      parts.push(
        `restricted by header: ${this.options.rules.map((r) => `${r.groups.join(',')} (${this.options.ruleHeaderPrefix}${r.header})`).join('; ')}`,
      );
    parts.push(
      open.length === API_GROUPS.length
        ? this.options.loopback
          ? `open to every process on this machine (${this.options.listenAddress} is loopback; --host 0.0.0.0 with --api-keys-file to serve others)`
          : 'open to every caller'
        : open.length === 0
          ? 'nothing open without credentials'
          : `open without credentials: ${open.join(', ')}`,
    );
    if (this.refusedForExposure.size > 0)
      parts.push(`refused (no keys on a non-loopback address): ${[...this.refusedForExposure].join(', ')}`);
    return parts.join('; ');
  }
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
