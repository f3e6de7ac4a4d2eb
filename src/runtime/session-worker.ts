// Runs one onnxruntime InferenceSession inside a worker thread, because session.run() blocks the
// event loop. Receives tensors with transferred buffers and returns outputs the same way.

import type { InferenceSession } from 'onnxruntime-node';
import { Reply, serve } from '../util/worker-serve.js';
import { messageOf, openSession, runSession } from './ort-session.js';
import type { SessionProtocol } from './worker-messages.js';

let session: InferenceSession | undefined;

serve<SessionProtocol>(
  {
    load: async ({ modelPath, options }) => {
      const opened = await openSession(modelPath, options);
      session = opened.session;
      return { inputs: opened.inputs, outputs: opened.outputs, providers: opened.providers };
    },
    run: async ({ inputs, outputNames }) => {
      if (session === undefined) throw new Error('no model loaded');
      const r = await runSession(session, inputs, outputNames, true);
      return new Reply({ outputs: r.outputs, timings: r.timings }, r.buffers);
    },
    close: async () => {
      try {
        await session?.release();
      } finally {
        session = undefined;
      }
    },
  },
  messageOf,
);
