// What every protocol edge reports about the server itself: its name, version, readiness and the
// KServe v2 / Triton extensions it implements.

/** Extensions this server implements (REST GET /v2 and gRPC ServerMetadata list them). */
export const EXTENSIONS = [
  'classification',
  'sequence',
  'model_repository',
  'model_configuration',
  'binary_tensor_data',
  'parameters',
  'statistics',
  'trace',
] as const;

/**
 * starting: listening (liveness answers) while the start-up loads run; serving: ready; draining:
 * shutdown has begun, in-flight and newly arriving requests are still answered but readiness is
 * false so load balancers stop routing here.
 */
export type ServerPhase = 'starting' | 'serving' | 'draining';

export interface ServerState {
  readonly name: string;
  readonly version: string;
  phase(): ServerPhase;
  /** Ready once the repository finished its start-up loads, until shutdown begins. */
  ready(): boolean;
}
