// The inferd containers of deploy/ agree with the server they run: their arguments are accepted by
// `inferd serve`, the ports, probes and scrape annotations name what those arguments open, the
// probe paths are routes the server answers, and Kubernetes' grace period covers the drain.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../helpers/test-server.js';
import { KSERVE_DIR, type KubeObject, SERVER_DIR, kustomize, readDocs, yamlFiles } from './manifests.js';
import { flagValue, parseServe } from './serve-args.js';

const DRAIN_FLAG = '--drain-delay-secs';

/** Kubernetes' terminationGracePeriodSeconds when a pod does not set it. */
const DEFAULT_GRACE_PERIOD = 30;
/** Time left after drain and grace for unloading models and exiting before SIGKILL. */
const MIN_MARGIN_SECS = 10;

const LIVE = '/v2/health/live';
const READY = '/v2/health/ready';

/** One inferd container as Kubernetes will run it. */
interface Target {
  name: string;
  container: IContainer;
  /** The arguments the container gets (a runtime's followed by an InferenceService's). */
  args: string[];
  /** The pod's grace period as Kubernetes applies it. */
  gracePeriod: number;
  /** Pod annotations naming the metrics port. */
  metricsPort: string | undefined;
  metricsPath: string | undefined;
  volumes: IPodSpec['volumes'];
}

function portNumber(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function preStopSleep(container: IContainer): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  const sleep = command.findIndex((c) => c === 'sleep' || c.endsWith('/sleep'));
  return sleep >= 0 ? Number(command[sleep + 1]) : 0;
}

function cpuCores(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

async function targets(): Promise<Target[]> {
  const out: Target[] = [];
  const deployment = (await kustomize(path.join(SERVER_DIR, 'base'))).find((o) => o.kind === 'Deployment') as
    | (KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> }; spec: IPodSpec } } })
    | undefined;
  assert.ok(deployment, 'the base renders a Deployment');
  const pod = deployment.spec.template.spec;
  const server = pod.containers.find((c) => c.name === 'inferd');
  assert.ok(server, 'a container named inferd');
  const annotations = deployment.spec.template.metadata.annotations;
  out.push({
    name: 'Deployment inferd',
    container: server,
    args: server.args ?? [],
    gracePeriod: pod.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD,
    metricsPort: annotations['prometheus.io/port'],
    metricsPath: annotations['prometheus.io/path'],
    volumes: pod.volumes,
  });

  const kserve = (await readDocs(await yamlFiles(KSERVE_DIR))).map((d) => d.object);
  const runtime = kserve.find((o) => o.kind === 'ClusterServingRuntime') as
    | (KubeObject & {
        spec: { annotations: Record<string, string>; containers: IContainer[]; volumes: IPodSpec['volumes'] };
      })
    | undefined;
  assert.ok(runtime, 'a ClusterServingRuntime');
  const container = runtime.spec.containers.find((c) => c.name === 'kserve-container');
  assert.ok(container, 'a kserve-container');
  const runtimeTarget = {
    container,
    metricsPort: runtime.spec.annotations['prometheus.kserve.io/port'],
    metricsPath: runtime.spec.annotations['prometheus.kserve.io/path'],
    volumes: runtime.spec.volumes,
  };
  out.push({
    name: 'ClusterServingRuntime inferd',
    ...runtimeTarget,
    args: container.args ?? [],
    gracePeriod: DEFAULT_GRACE_PERIOD,
  });
  for (const isvc of kserve.filter((o) => o.kind === 'InferenceService')) {
    const predictor = (isvc.spec as { predictor: { terminationGracePeriodSeconds?: number; model: IContainer } })
      .predictor;
    // KServe appends the InferenceService's args to the runtime's and merges the rest onto the
    // runtime's container (resources included).
    out.push({
      name: `InferenceService ${(isvc.metadata as { name: string }).name}`,
      ...runtimeTarget,
      container: { ...container, resources: predictor.model.resources ?? container.resources },
      args: [...(container.args ?? []), ...(predictor.model.args ?? [])],
      gracePeriod: predictor.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD,
    });
  }
  return out;
}

describe('inferd containers under deploy/', () => {
  let all: Target[];
  before(async () => {
    all = await targets();
  });

  it('run `inferd serve` with arguments the command line accepts (--drain-delay-secs aside)', async () => {
    assert.equal(all.length, 5);
    for (const t of all) {
      assert.deepEqual(t.container.command, ['inferd'], t.name);
      assert.equal(t.args[0], 'serve', t.name);
      await assert.doesNotReject(parseServe(t.args), t.name);
    }
  });

  it('are refused by the parser when an argument is wrong (the check above can fail)', async () => {
    const args = all[0]?.args ?? [];
    await assert.rejects(parseServe([...args, '--http-prot=8000']), /unknown option/);
    await assert.rejects(parseServe([...args, '--http-port=eighty']));
  });

  it(`pass ${DRAIN_FLAG}, which \`inferd serve\` accepts`, async () => {
    for (const t of all) {
      const raw = flagValue(t.args, DRAIN_FLAG);
      assert.ok(raw !== undefined && Number(raw) > 0, `${t.name} passes ${DRAIN_FLAG}`);
    }
    for (const t of all) {
      const options = await parseServe(t.args);
      assert.equal(options.drainDelaySecs, Number(flagValue(t.args, DRAIN_FLAG)), t.name);
    }
  });

  it('give Kubernetes a grace period covering preStop, drain delay and shutdown grace, with a margin', async () => {
    for (const t of all) {
      const options = await parseServe(t.args);
      const drain = options.drainDelaySecs;
      const needed = preStopSleep(t.container) + drain + options.shutdownGraceSecs + MIN_MARGIN_SECS;
      assert.ok(
        t.gracePeriod >= needed,
        `${t.name}: terminationGracePeriodSeconds ${t.gracePeriod} < preStop ${preStopSleep(t.container)} + ` +
          `drain ${drain} + grace ${options.shutdownGraceSecs} + margin ${MIN_MARGIN_SECS}`,
      );
    }
  });

  it('expose the ports the arguments open, the HTTP one probed and the metrics one scraped', async () => {
    for (const t of all) {
      const options = await parseServe(t.args);
      const ports = Object.fromEntries(
        (t.container.ports ?? []).map((p): [string, number] => [p.name ?? '', p.containerPort]),
      );
      assert.deepEqual(ports, { http: options.httpPort, grpc: options.grpcPort, metrics: options.metricsPort }, t.name);
      // KServe's Service targets the first port.
      assert.equal(t.container.ports?.[0]?.containerPort, options.httpPort, t.name);
      assert.equal(options.host, '0.0.0.0', t.name);
      assert.equal(t.metricsPort, String(options.metricsPort), `${t.name}: scrape port`);
      assert.equal(t.metricsPath, '/metrics', t.name);
      const probes: [string, IProbe | undefined, string][] = [
        ['startupProbe', t.container.startupProbe, READY],
        ['livenessProbe', t.container.livenessProbe, LIVE],
        ['readinessProbe', t.container.readinessProbe, READY],
      ];
      for (const [kind, probe, route] of probes) {
        assert.equal(probe?.httpGet?.path, route, `${t.name}: ${kind} path`);
        assert.equal(portNumber(t.container, probe?.httpGet?.port), options.httpPort, `${t.name}: ${kind} port`);
      }
      // Models can take minutes to load: at least 5 minutes before the kubelet gives up.
      const startup = t.container.startupProbe;
      assert.ok((startup?.periodSeconds ?? 10) * (startup?.failureThreshold ?? 3) >= 300, `${t.name}: startup budget`);
    }
  });

  it('read models from the mounted repository and write batch files to a writable volume', async () => {
    for (const t of all) {
      const options = await parseServe(t.args);
      const mounts = t.container.volumeMounts ?? [];
      if (t.name.startsWith('Deployment')) {
        assert.ok(
          mounts.some((m) => m.mountPath === options.modelRepository && m.readOnly === true),
          `${t.name}: ${options.modelRepository} is a read-only mount`,
        );
      } else {
        // KServe's storage initializer downloads storageUri there.
        assert.equal(options.modelRepository, '/mnt/models', t.name);
      }
      assert.equal(t.container.securityContext?.readOnlyRootFilesystem, true, t.name);
      const writable = mounts.find(
        (m) =>
          m.readOnly !== true &&
          (options.batchDir === m.mountPath || options.batchDir.startsWith(`${m.mountPath}/`)) &&
          t.volumes?.some(
            (v) => v.name === m.name && (v.emptyDir !== undefined || v.persistentVolumeClaim !== undefined),
          ),
      );
      assert.ok(writable, `${t.name}: --batch-dir ${options.batchDir} is on a writable volume`);
    }
  });

  it('size the runtime to the CPU limit when they set one', async () => {
    for (const t of all) {
      const options = await parseServe(t.args);
      if (options.cpuCores === undefined) continue;
      assert.equal(options.cpuCores, cpuCores(t.container.resources?.limits?.cpu), t.name);
    }
    const deployment = await parseServe(all[0]?.args ?? []);
    assert.notEqual(deployment.cpuCores, undefined, 'the Deployment sets --cpu-cores');
  });

  describe('probe paths on a running server', () => {
    let repository: string;
    let server: TestServer;
    before(async () => {
      repository = await makeRepository([]);
      server = await startTestServer({ modelRepository: repository, grpcPort: null });
    });
    after(async () => {
      await server.close();
      await removeRepository(repository);
    });

    it('are routes it answers with 200 once started', async () => {
      const paths = new Set(
        all.flatMap((t) =>
          [t.container.startupProbe, t.container.livenessProbe, t.container.readinessProbe].map(
            (p) => p?.httpGet?.path,
          ),
        ),
      );
      assert.deepEqual([...paths].sort(), [LIVE, READY]);
      for (const p of paths) {
        const res = await fetch(`${server.url}${p}`);
        assert.equal(res.status, 200, p);
      }
      assert.equal((await fetch(`${server.url}/v2/health/alive`)).status, 404, 'not every path is a route');
    });
  });
});
