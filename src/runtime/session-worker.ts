// Runs one onnxruntime InferenceSession inside a worker thread, because session.run() blocks the
// event loop. Receives tensors with transferred buffers and returns outputs the same way.

import { parentPort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { messageOf, openSession, runSession } from './ort-session.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

const port = parentPort;
if (port === null) throw new Error('session-worker must run in a worker thread');

let session: InferenceSession | undefined;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'load':
      openSession(msg.modelPath, msg.options).then(
        (opened) => {
          session = opened.session;
          send({ type: 'loaded', inputs: opened.inputs, outputs: opened.outputs, providers: opened.providers });
        },
        (err: unknown) => send({ type: 'load-error', message: messageOf(err) }),
      );
      break;
    case 'run': {
      if (session === undefined) {
        send({ type: 'run-error', id: msg.id, message: 'no model loaded' });
        break;
      }
      runSession(session, msg.inputs, msg.outputNames, true).then(
        (r) => send({ type: 'result', id: msg.id, outputs: r.outputs, timings: r.timings }, r.buffers),
        (err: unknown) => send({ type: 'run-error', id: msg.id, message: messageOf(err) }),
      );
      break;
    }
    case 'close':
      void (async () => {
        try {
          await session?.release();
        } finally {
          session = undefined;
          send({ type: 'closed' });
        }
      })();
      break;
  }
});
