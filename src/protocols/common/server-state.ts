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
] as const;

export interface ServerState {
  readonly name: string;
  readonly version: string;
  /** Ready once the repository finished its start-up loads, until shutdown begins. */
  ready(): boolean;
}
