// With --tls-cert-file and --tls-key-file the REST listener (with the OpenAI API), the gRPC
// listener and the metrics listener all serve TLS, and the usual clients reach them once they
// trust the CA: the openai SDK (NODE_EXTRA_CA_CERTS), fetch, curl --cacert, grpc-js createSsl.
// Plaintext is refused, and so is a client that does not trust the CA.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { createTestPki, removeTestPki, type TestPki } from '../../helpers/test-certs.js';
import { assertStillServing, unary } from '../grpc/grpc-client.js';
import { curl, grpcClients, httpRequest, peerCertificate, runNode, serverLive } from './tls-wire.js';

describe('TLS on every listener', () => {
  let pki: TestPki;
  let server: TestServer;

  before(async () => {
    pki = await createTestPki();
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple', 'kjv-embed'],
      logLevel: 'warn',
      metricsPort: 0,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
  });
  after(async () => {
    await server.close();
    await removeTestPki(pki);
  });

  it("the server's URL is https", () => {
    assert.equal(server.url, `https://127.0.0.1:${server.httpPort}`);
  });

  it('the openai SDK reaches the OpenAI API with the CA in NODE_EXTRA_CA_CERTS', async () => {
    const script = `
      import OpenAI from 'openai';
      const client = new OpenAI({ baseURL: process.argv[1] + '/v1', apiKey: 'unused', maxRetries: 0 });
      const models = await client.models.list();
      const embedding = await client.embeddings.create({ model: 'kjv-embed', input: 'In the beginning' });
      console.log(JSON.stringify({ ids: models.data.map((m) => m.id), dims: embedding.data[0].embedding.length }));
    `;
    const result = await runNode(script, [server.url], { NODE_EXTRA_CA_CERTS: pki.ca.cert });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { ids: string[]; dims: number };
    assert.ok(out.ids.includes('kjv-embed'), result.stdout);
    assert.ok(out.dims > 0);

    // Without the CA the SDK refuses the server's certificate.
    const untrusted = await runNode(script, [server.url], {});
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /Connection error|certificate/i);
  });

  it('fetch reaches REST with the CA in NODE_EXTRA_CA_CERTS', async () => {
    const script = `
      const res = await fetch(process.argv[1] + '/v2/health/ready');
      console.log(res.status);
    `;
    const result = await runNode(script, [server.url], { NODE_EXTRA_CA_CERTS: pki.ca.cert });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '200');
  });

  it('curl --cacert gets /v2/health/ready; curl without the CA is refused', async () => {
    const ok = await curl([
      '--cacert',
      pki.ca.cert,
      '--write-out',
      '%{http_code}',
      '--output',
      '/dev/null',
      `${server.url}/v2/health/ready`,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '200');
    const refused = await curl([`${server.url}/v2/health/ready`]);
    assert.equal(refused.code, 60, 'curl: peer certificate cannot be authenticated with known CA certificates');
  });

  it('REST infer answers over https', async () => {
    const reply = await httpRequest(`${server.url}/v2/models/simple/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 1) },
        ],
      }),
      tls: { ca: pki.caPem },
    });
    assert.equal(reply.status, 200, reply.text);
    const outputs = (JSON.parse(reply.text) as { outputs: { name: string; data: number[] }[] }).outputs;
    assert.deepEqual(
      outputs.find((o) => o.name === 'OUTPUT0')?.data,
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });

  it('plain http to the REST port gets no answer', async () => {
    await assert.rejects(
      httpRequest(`http://127.0.0.1:${server.httpPort}/v2/health/ready`),
      /socket hang up|ECONNRESET/,
    );
  });

  it('grpc-js with credentials.createSsl(ca) calls ServerLive and ModelInfer', async () => {
    assert.ok(server.grpcPort !== undefined);
    const clients = grpcClients(server.grpcPort, grpc.credentials.createSsl(pki.caPem));
    try {
      assert.deepEqual(await serverLive(clients.inference), { live: true });
      await assertStillServing(clients.inference);
      const metadata = await unary(clients.inference, 'ModelMetadata', { name: 'simple' });
      assert.equal(metadata.name, 'simple');
    } finally {
      clients.close();
    }
  });

  it('grpc-js without TLS, or without the CA, is UNAVAILABLE', async () => {
    assert.ok(server.grpcPort !== undefined);
    for (const credentials of [grpc.credentials.createInsecure(), grpc.credentials.createSsl()]) {
      const clients = grpcClients(server.grpcPort, credentials);
      try {
        await assert.rejects(
          serverLive(clients.inference),
          (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE,
        );
      } finally {
        clients.close();
      }
    }
  });

  it('the metrics port serves https with the same certificate', async () => {
    assert.ok(server.metricsPort !== undefined);
    const reply = await httpRequest(`https://127.0.0.1:${server.metricsPort}/metrics`, { tls: { ca: pki.caPem } });
    assert.equal(reply.status, 200);
    assert.match(reply.text, /^# HELP /m);
    const viaCurl = await curl(['--cacert', pki.ca.cert, `https://127.0.0.1:${server.metricsPort}/metrics`]);
    assert.equal(viaCurl.code, 0, viaCurl.stderr);
    assert.match(viaCurl.stdout, /nv_inference_request_success/);
    const rest = await peerCertificate(server.httpPort, { ca: pki.caPem });
    const metrics = await peerCertificate(server.metricsPort, { ca: pki.caPem });
    assert.equal(metrics.serialNumber, rest.serialNumber);
    assert.equal(metrics.subject.CN, 'localhost');
    await assert.rejects(httpRequest(`http://127.0.0.1:${server.metricsPort}/metrics`), /socket hang up|ECONNRESET/);
  });
});
