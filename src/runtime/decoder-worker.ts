// The worker thread of a decoder session: owns the ONNX decoder and every sequence's KV cache, so
// a step sends token ids in and last-position logits out, never the caches.

import { parentPort } from 'node:worker_threads';
import type { FromDecoder, ToDecoder } from './decoder-messages.js';
import { DecoderRunner } from './decoder-runner.js';
import { messageOf } from './ort-session.js';

const port = parentPort;
if (port === null) throw new Error('decoder-worker must run in a worker thread');

let runner: DecoderRunner | undefined;
/** Steps run one after another, in arrival order. */
let chain: Promise<void> = Promise.resolve();

function send(message: FromDecoder, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (msg: ToDecoder) => {
  switch (msg.type) {
    case 'load':
      DecoderRunner.open(msg.modelPath, msg.options).then(
        (r) => {
          runner = r;
          send({ type: 'loaded', info: r.info });
        },
        (err: unknown) => send({ type: 'load-error', message: messageOf(err) }),
      );
      break;
    case 'step':
      chain = chain.then(async () => {
        const r = runner;
        if (r === undefined) return send({ type: 'step-error', id: msg.id, message: 'no model loaded' });
        try {
          r.applyBefore(msg.ops);
          if (msg.rows.length === 0) {
            r.applyAfter(msg.ops);
            return send({
              type: 'logits',
              id: msg.id,
              logits: new Float32Array(0),
              vocab: 0,
              timings: { prepareNs: 0, inferNs: 0, collectNs: 0 },
            });
          }
          const out = await r.step(msg.rows);
          r.applyAfter(msg.ops);
          send({ type: 'logits', id: msg.id, logits: out.logits, vocab: out.vocab, timings: out.timings }, [
            out.logits.buffer as ArrayBuffer,
          ]);
        } catch (err) {
          send({ type: 'step-error', id: msg.id, message: messageOf(err) });
        }
      });
      break;
    case 'close':
      chain = chain.then(async () => {
        try {
          await runner?.close();
        } finally {
          runner = undefined;
          send({ type: 'closed' });
        }
      });
      break;
  }
});
