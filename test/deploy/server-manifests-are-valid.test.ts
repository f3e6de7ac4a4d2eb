// The kustomize package of the server (deploy/kubernetes/server/): every file, and what
// `kubectl kustomize` renders for the base and each overlay, passes schema validation, and the
// overlays add the autoscaler they are named after, scaling on inferd_saturation.

import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { type IService, Service } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import {
  type KubeObject,
  type YamlDoc,
  ROOT,
  SERVER_DIR,
  kustomize,
  readDocs,
  validateObject,
  yamlFiles,
} from './manifests.js';

const BASE = path.join(SERVER_DIR, 'base');
const OVERLAYS = path.join(SERVER_DIR, 'overlays');
/** Not Kubernetes objects: Helm values for the prometheus-adapter chart (checked below). */
const ADAPTER_VALUES = 'deploy/kubernetes/server/overlays/hpa/prometheus-adapter-values.yaml';

function kinds(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`).sort();
}

function deploymentOf(objects: readonly KubeObject[]): KubeObject & { spec: Record<string, unknown> } {
  const found = objects.filter((o) => o.kind === 'Deployment');
  assert.equal(found.length, 1, 'one Deployment');
  return found[0] as KubeObject & { spec: Record<string, unknown> };
}

describe('deploy/kubernetes/server', () => {
  let docs: YamlDoc[];
  let overlays: string[];
  before(async () => {
    docs = await readDocs(await yamlFiles(SERVER_DIR));
    overlays = (await readdir(OVERLAYS, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  });

  it('has a base and the hpa and keda overlays', () => {
    assert.deepEqual(overlays.sort(), ['hpa', 'keda']);
  });

  it('holds only objects that pass schema validation, and kustomizations', async () => {
    assert.ok(docs.length >= 10, `found ${docs.length} YAML documents`);
    for (const { file, object } of docs) {
      if (file === ADAPTER_VALUES) continue;
      if (object.kind === 'Kustomization') {
        assert.equal(object.apiVersion, 'kustomize.config.k8s.io/v1beta1', file);
        assert.equal(path.basename(file), 'kustomization.yaml', file);
        continue;
      }
      await assert.doesNotReject(validateObject(object), file);
    }
  });

  it('lists every object file of a folder in its kustomization', () => {
    for (const { file, object } of docs.filter((d) => d.object.kind === 'Kustomization')) {
      const dir = path.dirname(path.resolve(ROOT, file));
      const listed = new Set((object.resources as string[]).map((r) => path.resolve(dir, r)));
      const siblings = docs.filter(
        (d) =>
          path.dirname(path.resolve(ROOT, d.file)) === dir &&
          d.object.kind !== 'Kustomization' &&
          d.file !== ADAPTER_VALUES,
      );
      for (const s of siblings) assert.ok(listed.has(path.resolve(ROOT, s.file)), `${s.file} is not in ${file}`);
    }
  });

  it('renders the base with kubectl kustomize into valid objects', async () => {
    const objects = await kustomize(BASE);
    assert.deepEqual(kinds(objects), [
      'Deployment/inferd',
      'PersistentVolumeClaim/inferd-models',
      'PodDisruptionBudget/inferd',
      'Service/inferd',
    ]);
    for (const o of objects) await validateObject(o);
    assert.ok(deploymentOf(objects).spec.replicas !== undefined, 'the base fixes a replica count');
  });

  for (const [overlay, autoscaler] of [
    ['hpa', 'HorizontalPodAutoscaler/inferd'],
    ['keda', 'ScaledObject/inferd'],
  ] as const) {
    it(`renders the ${overlay} overlay into valid objects, the autoscaler owning the replica count`, async () => {
      const objects = await kustomize(path.join(OVERLAYS, overlay));
      assert.deepEqual(
        kinds(objects),
        [
          'Deployment/inferd',
          autoscaler,
          'PersistentVolumeClaim/inferd-models',
          'PodDisruptionBudget/inferd',
          'Service/inferd',
        ].sort(),
      );
      for (const o of objects) await validateObject(o);
      assert.equal(deploymentOf(objects).spec.replicas, undefined, 'replicas left to the autoscaler');
      const target = objects.find((o) => `${o.kind}/${(o.metadata as { name: string }).name}` === autoscaler);
      assert.deepEqual((target?.spec as { scaleTargetRef: unknown }).scaleTargetRef, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'inferd',
      });
    });
  }

  it('rolls out without losing capacity, locked down, with a Service and PDB over its pods', async () => {
    const objects = await kustomize(BASE);
    const deployment = new Deployment(deploymentOf(objects) as unknown as IDeployment);
    const spec = deployment.spec;
    assert.deepEqual(spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = spec?.template.spec;
    const podLabels = spec?.template.metadata?.labels ?? {};
    const selects = (selector: Record<string, string> | undefined) =>
      selector !== undefined &&
      Object.keys(selector).length > 0 &&
      Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    assert.ok(selects(spec?.selector.matchLabels), 'the Deployment selects its pods');
    assert.equal(spec?.template.metadata?.annotations?.['prometheus.io/scrape'], 'true');

    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.securityContext?.runAsUser, 1000);
    assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    const [container] = pod?.containers ?? [];
    assert.equal(container?.image, 'ghcr.io/example/inferd:0.1.0');
    assert.deepEqual(container?.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.ok(container?.resources?.requests && container.resources.limits, 'resource requests and limits');

    const service = new Service(objects.find((o) => o.kind === 'Service') as IService);
    assert.ok(selects(service.spec?.selector), 'the Service selects the pods');
    const containerPorts = new Set(container?.ports?.map((p) => p.name));
    assert.deepEqual(
      service.spec?.ports?.map((p) => p.name),
      ['http', 'grpc', 'metrics'],
    );
    for (const p of service.spec?.ports ?? [])
      assert.ok(containerPorts.has(String(p.targetPort)), `${p.name} targets a named port`);
    assert.equal(service.spec?.ports?.find((p) => p.name === 'grpc')?.appProtocol, 'grpc');

    const pdb = new PodDisruptionBudget(objects.find((o) => o.kind === 'PodDisruptionBudget') as IPodDisruptionBudget);
    assert.ok(selects(pdb.spec?.selector?.matchLabels), 'the PodDisruptionBudget selects the pods');
    assert.equal(pdb.spec?.maxUnavailable, 1);

    const claim = pod?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    assert.ok(
      objects.some((o) => o.kind === 'PersistentVolumeClaim' && (o.metadata as { name: string }).name === claim),
    );
  });

  it('has the HPA scale on the Pods metric inferd_saturation, averaging below 1', async () => {
    const hpa = (await kustomize(path.join(OVERLAYS, 'hpa'))).find((o) => o.kind === 'HorizontalPodAutoscaler');
    const metrics = (hpa?.spec as { metrics: { type: string; pods?: Record<string, Record<string, string>> }[] })
      .metrics;
    const pods = metrics.filter((m) => m.type === 'Pods');
    assert.equal(pods.length, 1);
    assert.equal(pods[0]?.pods?.metric?.name, 'inferd_saturation');
    assert.equal(pods[0]?.pods?.target?.type, 'AverageValue');
    const target = pods[0]?.pods?.target?.averageValue ?? '';
    const value = target.endsWith('m') ? Number(target.slice(0, -1)) / 1000 : Number(target);
    assert.ok(value > 0 && value < 1, `saturation target ${target} is in (0, 1)`);
  });

  it('gives prometheus-adapter a rule that serves inferd_saturation per pod', async () => {
    const values = parse(await readFile(path.join(ROOT, ADAPTER_VALUES), 'utf8')) as {
      rules: {
        custom: {
          seriesQuery: string;
          resources: { overrides: Record<string, { resource: string }> };
          name: { matches: string; as: string };
          metricsQuery: string;
        }[];
      };
    };
    const rules = values.rules.custom.filter((r) => r.name.as === 'inferd_saturation');
    assert.equal(rules.length, 1);
    const [rule] = rules;
    assert.match(rule?.seriesQuery ?? '', /^inferd_saturation\{/);
    assert.ok(new RegExp(rule?.name.matches ?? '$^').test('inferd_saturation'));
    assert.deepEqual(rule?.resources.overrides, { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
    for (const placeholder of ['<<.Series>>', '<<.LabelMatchers>>', '<<.GroupBy>>'])
      assert.ok(rule?.metricsQuery.includes(placeholder), `metricsQuery uses ${placeholder}`);
  });

  it('has KEDA scale on the busiest pod saturation, plus requests waiting', async () => {
    const so = (await kustomize(path.join(OVERLAYS, 'keda'))).find((o) => o.kind === 'ScaledObject');
    const triggers = (
      so?.spec as { triggers: { type: string; metricType?: string; metadata: Record<string, string> }[] }
    ).triggers;
    assert.ok(triggers.every((t) => t.type === 'prometheus'));
    const saturation = triggers.filter((t) => /\binferd_saturation\{/.test(t.metadata.query ?? ''));
    assert.equal(saturation.length, 1);
    assert.match(saturation[0]?.metadata.query ?? '', /^max\(inferd_saturation\{.*\}\)$/);
    // A max over pods is a level, not a total to share out: KEDA must compare it as a Value.
    assert.equal(saturation[0]?.metricType, 'Value');
    const threshold = Number(saturation[0]?.metadata.threshold);
    assert.ok(threshold > 0 && threshold < 1, `threshold ${threshold} is in (0, 1)`);
    const waiting = triggers.filter((t) => /\bvllm:num_requests_waiting\{/.test(t.metadata.query ?? ''));
    assert.equal(waiting.length, 1);
    // A count summed over pods is shared out: AverageValue divides it by the replicas.
    assert.match(waiting[0]?.metadata.query ?? '', /^sum\(/);
    assert.equal(waiting[0]?.metricType, 'AverageValue');
  });
});
