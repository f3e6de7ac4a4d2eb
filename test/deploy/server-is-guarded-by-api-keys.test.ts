// The Deployment listens on every interface, so it must not run open: its inferd container reads
// API keys from a file on a mounted Secret (readable by the pod's group), and leaves only the
// probes and the metrics scrape to anonymous callers.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { kustomize, SERVER_DIR } from './manifests.js';
import { flagValue, parseServe } from './serve-args.js';

describe('the Deployment guards inferd with API keys', () => {
  it('passes a key file that lies on a mounted Secret, and opens only health and metrics', async () => {
    const objects = await kustomize(path.join(SERVER_DIR, 'base'));
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as IDeployment;
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers.find((c) => c.name === 'inferd');
    assert.ok(pod !== undefined && container !== undefined);
    const args = container.args ?? [];
    assert.equal(flagValue(args, '--host'), '0.0.0.0');
    const file = flagValue(args, '--api-keys-file');
    assert.ok(file !== undefined, '--api-keys-file is passed');
    const mount = container.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    assert.ok(mount !== undefined, `${file} is on a mounted volume`);
    assert.equal(mount.readOnly, true);
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    assert.ok(volume?.secret?.secretName !== undefined, 'the volume is a Secret');
    const mode = volume.secret.defaultMode ?? 0o644;
    const fsGroup = pod.securityContext?.fsGroup;
    assert.ok(fsGroup !== undefined && (mode & 0o040) !== 0, 'the non-root user reads the file through its group');
    assert.equal(mode & 0o007, 0, 'others cannot read the keys');
    const options = await parseServe(args);
    assert.deepEqual(options.anonymousScopes, ['health', 'metrics']);
  });
});
