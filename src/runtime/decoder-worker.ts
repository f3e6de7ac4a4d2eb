// The worker thread of a decoder session: owns the ONNX decoder and every sequence's KV cache, so
// a step sends token ids in and last-position logits out, never the caches.

import { Reply, sequential, serve } from '../util/worker-serve.js';
import { runStep } from './decoder-inline.js';
import type { DecoderProtocol } from './decoder-messages.js';
import { DecoderRunner } from './decoder-runner.js';
import { messageOf } from './ort-session.js';

let runner: DecoderRunner | undefined;
/** Steps run one after another, in arrival order. */
const inOrder = sequential();

serve<DecoderProtocol>(
  {
    load: async ({ modelPath, options }) => {
      runner = await DecoderRunner.open(modelPath, options);
      return runner.info;
    },
    step: ({ rows, ops }) =>
      inOrder(async () => {
        if (runner === undefined) throw new Error('no model loaded');
        const out = await runStep(runner, rows, ops);
        return new Reply(out, [out.logits.buffer as ArrayBuffer]);
      }),
    close: () =>
      inOrder(async () => {
        try {
          await runner?.close();
        } finally {
          runner = undefined;
        }
      }),
  },
  messageOf,
);
