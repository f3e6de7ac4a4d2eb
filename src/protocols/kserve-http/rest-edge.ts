// The KServe v2 REST edge as one route group: health, server and model metadata, config,
// statistics, the repository extension, and inference.

import type { FastifyInstance } from 'fastify';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { ServerState } from '../common/server-state.js';
import type { ServingPath } from '../../experiments/serving.js';
import { registerInferRoutes } from './routes-infer.js';
import { registerModelRoutes } from './routes-models.js';
import { registerExperimentRoutes } from './routes-experiments.js';
import type { LogControl } from '../../observability/log-settings.js';
import { registerLoggingRoutes } from './routes-logging.js';
import type { RequestTracer } from '../../monitoring/request-tracer.js';
import { registerTraceRoutes } from './routes-trace.js';

export interface RestEdgeOptions {
  readonly repository: ModelRepository;
  /** Names to versions (experiments included) and the request path's monitoring. */
  readonly serving: ServingPath;
  readonly server: ServerState;
  readonly maxTensorBytes: number;
  /** Triton's log settings API (/v2/logging); absent = not served. */
  readonly logging?: LogControl;
  /** Triton's trace settings API (/v2/trace/setting); absent = not served. */
  readonly tracer?: RequestTracer;
}

export function registerRestEdge(app: FastifyInstance, options: RestEdgeOptions): void {
  registerModelRoutes(app, options.repository, options.server, options.serving.experiments);
  registerInferRoutes(app, options.serving, options.maxTensorBytes);
  registerExperimentRoutes(app, options.serving.experiments);
  if (options.logging !== undefined) registerLoggingRoutes(app, options.logging);
  if (options.tracer !== undefined) registerTraceRoutes(app, options.tracer, options.repository);
}
