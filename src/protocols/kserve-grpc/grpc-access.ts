// The enforcement point of the gRPC listener: one access decision in front of every RPC of every
// service (inference, health, and whatever is added later), which each transport calls (grpc-js
// from a server interceptor, the node:http2 transport directly). Each RPC's API group is declared
// in RPC_ACCESS; a service with an RPC missing there fails to register (checkServiceAccess), so a
// new RPC cannot be reachable without a decision. The gate authenticates the call's
// metadata (`authorization: Bearer <key>`, Triton's `triton-grpc-protocol-<key>` headers) before
// the handler sees a byte, checks the model of each inference message against the key's model
// patterns, admits the call against the key's quotas, and audits admin RPCs.

import { InferdError } from '../../errors/index.js';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../observability/logger.js';
import type { AccessPolicy, Principal, PresentedCredentials } from '../../security/access-policy.js';
import type { AuditLog } from '../../security/audit-log.js';
import type { GateAdmission, QuotaGate } from '../../security/quota-gate.js';
import { ADMIN_GROUPS, type ApiGroup } from '../../security/scopes.js';
import type { CallMetadata, CallStatus } from './grpc-call.js';
import { callStatus } from './grpc-status.js';

/** The API group of every RPC, by its full method path. */
/** Labels for delayed feedback (feedback-service.ts). */
const FEEDBACK_RPC = '/inferd.v1.Feedback/SendFeedback';

export const RPC_ACCESS: Readonly<Record<string, ApiGroup>> = {
  '/inference.GRPCInferenceService/ServerLive': 'health',
  '/inference.GRPCInferenceService/ServerReady': 'health',
  '/inference.GRPCInferenceService/ModelReady': 'health',
  '/inference.GRPCInferenceService/ServerMetadata': 'metadata',
  '/inference.GRPCInferenceService/ModelMetadata': 'metadata',
  '/inference.GRPCInferenceService/ModelConfig': 'model-config',
  '/inference.GRPCInferenceService/ModelStatistics': 'statistics',
  '/inference.GRPCInferenceService/ModelInfer': 'inference',
  '/inference.GRPCInferenceService/ModelStreamInfer': 'inference',
  '/inference.GRPCInferenceService/RepositoryIndex': 'model-repository',
  '/inference.GRPCInferenceService/RepositoryModelLoad': 'model-repository',
  '/inference.GRPCInferenceService/RepositoryModelUnload': 'model-repository',
  [FEEDBACK_RPC]: 'inference',
  '/grpc.health.v1.Health/Check': 'health',
  '/grpc.health.v1.Health/Watch': 'health',
};

/** Throws when a service definition has an RPC with no access declaration. */
export function checkServiceAccess(service: grpc.ServiceDefinition): void {
  for (const method of Object.values(service)) {
    if (RPC_ACCESS[method.path] === undefined)
      throw new Error(
        `RPC ${method.path} has no access declaration: add it to src/protocols/kserve-grpc/grpc-access.ts`,
      );
  }
}

export interface GrpcAccessOptions {
  readonly policy: AccessPolicy;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly audit?: AuditLog;
  readonly quotas?: QuotaGate;
}

function credentialsOf(metadata: CallMetadata, peer: string): PresentedCredentials {
  const first = (name: string): string | undefined => {
    const v = metadata.get(name);
    return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : v;
  };
  return { authorization: first('authorization'), header: first, peer };
}

/** Tensor bytes of a ModelInferRequest message (raw contents, or typed contents at their element width). */
function messageBytes(message: unknown): number {
  if (typeof message !== 'object' || message === null) return 0;
  let bytes = 0;
  const raw = (message as { raw_input_contents?: unknown }).raw_input_contents;
  if (Array.isArray(raw)) for (const b of raw) if (Buffer.isBuffer(b)) bytes += b.length;
  const inputs = (message as { inputs?: unknown }).inputs;
  if (Array.isArray(inputs))
    for (const input of inputs) {
      const contents = (input as { contents?: Record<string, unknown> } | null)?.contents;
      if (contents === undefined || contents === null) continue;
      for (const value of Object.values(contents))
        if (Array.isArray(value)) for (const v of value) bytes += Buffer.isBuffer(v) ? v.length : 8;
    }
  return bytes;
}

/** One call's access decisions, in the order the transport meets them. */
export interface CallAccess {
  /** Authenticates and authorizes the call and admits it against the quotas; a refusal's status, or undefined. */
  admitMetadata(metadata: CallMetadata): CallStatus | undefined;
  /** Checks one request message (its model, its bytes against the quota); a refusal's status, or undefined. */
  admitMessage(message: unknown): CallStatus | undefined;
  /** The client cancelled: frees the concurrency slot (such a call may never send a status). */
  cancelled(): void;
  /** The call ends with this status code (not called for a refusal this object returned). */
  finished(code: number): void;
}

/** The enforcement point: one CallAccess per call, made from its method path and peer address. */
export type AccessGate = (path: string, peer: string) => CallAccess;

/** Strips the transport's peer form ("ipv4:1.2.3.4:5678", "ipv6:[::1]:5678", "1.2.3.4:5678") to the address. */
export function peerAddress(peer: string): string {
  const stripped = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]+)\]/.exec(stripped);
  if (bracket !== null) return bracket[1] ?? stripped;
  const colon = stripped.lastIndexOf(':');
  return colon > 0 ? stripped.slice(0, colon) : stripped;
}

export function accessGate(options: GrpcAccessOptions): AccessGate {
  const { policy, audit, quotas, logger } = options;
  const now = options.now ?? Date.now;
  let counter = 0;
  // Calls come in runs from one connection: its address is parsed once per run.
  let lastPeerText = '';
  let lastPeer = '';
  return (path, peerText) => {
    const group = RPC_ACCESS[path];
    const rpc = path.slice(path.lastIndexOf('/') + 1);
    if (peerText !== lastPeerText) {
      lastPeerText = peerText;
      lastPeer = peerAddress(peerText);
    }
    const peer = lastPeer;
    let principal: Principal | undefined;
    let admission: GateAdmission | undefined;
    let target: Record<string, string> = {};
    const audited = (code: number): void => {
      if (audit !== undefined && group !== undefined && ADMIN_GROUPS.has(group))
        audit.record({
          who: principal?.id ?? 'unauthenticated',
          peer,
          protocol: 'grpc',
          action: rpc,
          target,
          status: code,
        });
    };
    const release = (): void => {
      admission?.release();
      admission = undefined;
    };
    const refuse = (err: unknown): CallStatus => {
      release();
      const status = callStatus(err, `${process.pid.toString(36)}-a${(++counter).toString(36)}`, logger);
      audited(status.code);
      return status;
    };
    return {
      admitMetadata(metadata) {
        try {
          if (group === undefined) throw new Error(`RPC ${path} has no access declaration`);
          principal = policy.authenticate(credentialsOf(metadata, peer), now());
          policy.authorize(principal, group, `the RPC ${rpc}`);
          admission = quotas?.admit(principal, group);
        } catch (err) {
          return refuse(err);
        }
        return undefined;
      },
      admitMessage(message) {
        const model = (message as { model_name?: unknown } | null)?.model_name;
        if (typeof model === 'string') target = { model };
        if (group !== 'inference' || principal === undefined) return undefined;
        try {
          if (typeof model === 'string') policy.authorize(principal, 'inference', `the RPC ${rpc}`, model);
          // A label names no model until its id is looked up, past this gate: a key held to some
          // models labels over REST, where that check is made.
          if (path === FEEDBACK_RPC && principal.grant.models !== null)
            throw new InferdError(
              'INF_ERR_PERMISSION_DENIED',
              `key '${principal.id}' may infer only on some models, so it labels their predictions with POST /v2/feedback, where each id's model is checked; SendFeedback takes keys without a model limit`,
            );
          quotas?.chargeMessage(principal, messageBytes(message));
        } catch (err) {
          return refuse(err);
        }
        return undefined;
      },
      cancelled: release,
      finished(code) {
        release();
        audited(code);
      },
    };
  };
}
