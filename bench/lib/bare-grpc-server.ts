// A bare @grpc/grpc-js server for the gRPC benchmark's floor: the same GRPCInferenceService protos,
// but ModelInfer answers at once with a canned response (no decoding checks, no scheduler, no
// model). What inferd's gRPC edge reaches against it is what inferd adds over the transport.
// Run: node --import tsx bench/lib/bare-grpc-server.ts <port> <canned-response.json>
// The JSON maps model name → ModelInferResponse, with raw_output_contents as base64 strings.

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../../src/protocols/kserve-grpc/proto-definitions.js';

type Message = Record<string, unknown>;

const [portArg, cannedFile] = process.argv.slice(2);
if (portArg === undefined || cannedFile === undefined) {
  console.error('usage: bare-grpc-server.ts <port> <canned-response.json>');
  process.exit(2);
}
const canned = new Map<string, Message>();
for (const [model, response] of Object.entries(
  JSON.parse(readFileSync(cannedFile, 'utf8')) as Record<string, Message>,
)) {
  const raw = (response.raw_output_contents as string[] | undefined) ?? [];
  canned.set(model, { ...response, raw_output_contents: raw.map((b) => Buffer.from(b, 'base64')) });
}

const protos = loadInferenceProtos();
const service = (protos.inference as unknown as { service: grpc.ServiceDefinition }).service;
const server = new grpc.Server({
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_channelz': 0,
});
server.addService(service, {
  ModelInfer(call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) {
    const response = canned.get(String(call.request.model_name));
    if (response === undefined) callback({ code: grpc.status.NOT_FOUND, details: 'no canned response' });
    else callback(null, { ...response, id: call.request.id ?? '' });
  },
});
server.bindAsync(`127.0.0.1:${portArg}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err !== null) {
    console.error(err.message);
    process.exit(1);
  }
  console.log('ready');
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
