// Drift reports (docs/monitoring.md, "Drift"): GET /v2/models/{m}/drift and
// /v2/models/{m}/versions/{v}/drift answer the JSON report of the model's monitored versions. They
// read statistics, so they belong to the `statistics` group, as the /stats routes do.

import type { FastifyInstance } from 'fastify';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { DriftMonitors, DriftReport } from '../../monitoring/drift-monitors.js';

function versionOf(raw: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw)) throw invalidArgument(`version '${raw}' is not a positive integer`);
  return Number(raw);
}

function answer(report: DriftReport, version: number | undefined): DriftReport {
  if (report.versions.length === 0)
    throw new InferdError(
      'INF_ERR_NOT_FOUND',
      `no drift report for model '${report.model}'${version === undefined ? '' : ` version ${version}`}: it has not served a request since it loaded, or it is not loaded`,
    );
  return report;
}

export function registerDriftRoutes(app: FastifyInstance, drift: DriftMonitors): void {
  // Access: the `statistics` group, declared in protocols/common/route-access.ts.
  app.get<{ Params: { model: string } }>('/v2/models/:model/drift', (req) =>
    answer(drift.report(req.params.model), undefined),
  );
  app.get<{ Params: { model: string; version: string } }>('/v2/models/:model/versions/:version/drift', (req) => {
    const version = versionOf(req.params.version);
    return answer(drift.report(req.params.model, version), version);
  });
}
