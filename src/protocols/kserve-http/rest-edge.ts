// The KServe v2 REST edge as one route group: health, server and model metadata, config,
// statistics, the repository extension, and inference.

import type { FastifyInstance } from 'fastify';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { ServerState } from '../common/server-state.js';
import { registerInferRoutes } from './routes-infer.js';
import { registerModelRoutes } from './routes-models.js';
import type { LogControl } from '../../observability/log-settings.js';
import { registerLoggingRoutes } from './routes-logging.js';
import type { Predictions } from '../../monitoring/predictions.js';

export interface RestEdgeOptions {
  readonly repository: ModelRepository;
  readonly server: ServerState;
  readonly maxTensorBytes: number;
  /** Triton's log settings API (/v2/logging); absent = not served. */
  readonly logging?: LogControl;
  /** Where answered requests are kept for delayed labels; absent = not kept. */
  readonly predictions?: Predictions;
}

export function registerRestEdge(app: FastifyInstance, options: RestEdgeOptions): void {
  registerModelRoutes(app, options.repository, options.server);
  registerInferRoutes(app, options.repository, options.maxTensorBytes, options.predictions);
  if (options.logging !== undefined) registerLoggingRoutes(app, options.logging);
}
