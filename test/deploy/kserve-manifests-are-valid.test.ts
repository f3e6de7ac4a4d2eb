// The KServe manifests (deploy/kserve/): the ClusterServingRuntime and the InferenceService
// examples pass the KServe v0.20.0 CRD schemas (test/fixtures/kserve/), and the examples ask for
// what the runtime offers.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type KubeObject, KSERVE_DIR, readDocs, validateObject, yamlFiles } from './manifests.js';

interface Runtime extends KubeObject {
  metadata: { name: string };
  spec: {
    annotations?: Record<string, string>;
    supportedModelFormats: { name: string; version?: string; autoSelect?: boolean; priority?: number }[];
    protocolVersions: string[];
    containers: { name: string; securityContext?: unknown }[];
  };
}

interface InferenceService extends KubeObject {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    predictor: {
      autoScaling?: {
        metrics: {
          type: string;
          external?: { metric: { backend: string; query: string }; target: { type: string; value: string } };
        }[];
      };
      model: {
        modelFormat: { name: string; version?: string };
        runtime?: string;
        protocolVersion?: string;
        storageUri?: string;
      };
    };
  };
}

/** KServe's protocol versions (constants.InferenceServiceProtocol; the CRD leaves the field open). */
const KSERVE_PROTOCOLS = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('deploy/kserve', () => {
  let runtime: Runtime;
  let services: InferenceService[];
  before(async () => {
    const docs = await readDocs(await yamlFiles(KSERVE_DIR));
    const runtimes = docs.filter((d) => d.object.kind === 'ClusterServingRuntime').map((d) => d.object as Runtime);
    assert.equal(runtimes.length, 1, 'one ClusterServingRuntime');
    runtime = runtimes[0] as Runtime;
    services = docs.filter((d) => d.object.kind === 'InferenceService').map((d) => d.object as InferenceService);
    assert.equal(docs.length, 1 + services.length, 'nothing but the runtime and InferenceServices');
  });

  it('holds a ClusterServingRuntime and InferenceServices that pass the KServe CRD schemas', async () => {
    assert.deepEqual(services.map((s) => s.metadata.name).sort(), ['mlp', 'mlp-keda', 'tiny-llm']);
    await validateObject(runtime);
    for (const s of services) await validateObject(s);
  });

  it('rejects what the API server would: unknown fields, bad enums, unquoted annotations', async () => {
    const typo = clone(runtime) as KubeObject & { spec: Record<string, unknown> };
    typo.spec.supportedModelFormat = typo.spec.supportedModelFormats;
    await assert.rejects(validateObject(typo), /must NOT have additional properties.*supportedModelFormat/);

    const nested = clone(services.find((s) => s.metadata.name === 'mlp')) as InferenceService;
    (nested.spec.predictor.model as Record<string, unknown>).storageURI = 'gs://x';
    await assert.rejects(validateObject(nested), /additional properties.*storageURI/);

    const scaling = clone(services.find((s) => s.metadata.name === 'mlp-keda')) as InferenceService;
    const metric = scaling.spec.predictor.autoScaling?.metrics[0];
    if (metric) metric.type = 'Externals';
    await assert.rejects(validateObject(scaling), /must be equal to one of the allowed values/);

    const port = clone(runtime);
    (port.spec.annotations as Record<string, unknown>)['prometheus.kserve.io/port'] = 8002;
    await assert.rejects(validateObject(port), /port must be string/);

    const format = clone(runtime);
    format.spec.supportedModelFormats[0] = { name: 'onnx', priority: 0 };
    await assert.rejects(validateObject(format), /priority must be >= 1/);
  });

  it('offers onnx version 1, auto-selected above Triton, over KServe v2 REST and gRPC', () => {
    assert.equal(runtime.metadata.name, 'inferd');
    assert.deepEqual(runtime.spec.supportedModelFormats, [
      { name: 'onnx', version: '1', autoSelect: true, priority: 2 },
    ]);
    assert.deepEqual(runtime.spec.protocolVersions, ['v2', 'grpc-v2']);
    for (const p of runtime.spec.protocolVersions) assert.ok(KSERVE_PROTOCOLS.includes(p), p);
    assert.deepEqual(
      runtime.spec.containers.map((c) => c.name),
      ['kserve-container'],
    );
    assert.equal(runtime.spec.annotations?.['prometheus.kserve.io/path'], '/metrics');
    assert.deepEqual(runtime.spec.containers[0]?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('has every example ask for a format and protocol the runtime supports, in Standard mode', () => {
    for (const s of services) {
      const { model } = s.spec.predictor;
      const name = s.metadata.name;
      assert.ok(
        runtime.spec.supportedModelFormats.some(
          (f) => f.name === model.modelFormat.name && (model.modelFormat.version ?? f.version) === f.version,
        ),
        `${name}: format ${JSON.stringify(model.modelFormat)}`,
      );
      // Left out, KServe assumes v1, which the runtime does not list.
      assert.ok(runtime.spec.protocolVersions.includes(model.protocolVersion ?? 'v1'), `${name}: protocol`);
      if (model.runtime !== undefined) assert.equal(model.runtime, runtime.metadata.name, name);
      assert.match(model.storageUri ?? '', /^[a-z0-9]+:\/\/./, `${name}: storageUri`);
      // "Standard" since KServe 0.15; "RawDeployment" is the older name of the same mode.
      assert.ok(
        ['Standard', 'RawDeployment'].includes(s.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? ''),
        `${name}: deployment mode`,
      );
    }
    assert.equal(services.find((s) => s.metadata.name === 'tiny-llm')?.spec.predictor.model.runtime, 'inferd');
  });

  it('scales the KEDA example on the sum of inferd_saturation, as KServe builds the trigger', () => {
    const keda = services.filter((s) => s.metadata.annotations?.['serving.kserve.io/autoscalerClass'] === 'keda');
    assert.deepEqual(
      keda.map((s) => s.metadata.name),
      ['mlp-keda'],
    );
    const metrics = keda[0]?.spec.predictor.autoScaling?.metrics ?? [];
    assert.equal(metrics.length, 1);
    const external = metrics[0]?.external;
    assert.equal(metrics[0]?.type, 'External');
    assert.equal(external?.metric.backend, 'prometheus');
    // KServe passes only target.value to KEDA, whose default metric type is AverageValue
    // (desired = ceil(query / threshold)): the query must total the pods, not take their max.
    assert.match(external?.metric.query ?? '', /^sum\(inferd_saturation\{.*pod=~"mlp-keda-predictor-.*"\}\)$/);
    assert.equal(external?.target.type, 'Value');
    const threshold = Number(external?.target.value);
    assert.ok(threshold > 0 && threshold < 1, `threshold ${threshold} is in (0, 1)`);
  });
});
