// A scripted TextGenerationEngine / EmbeddingEngine behind the real OpenAI routes, for tests of the
// edge alone: one token per character (ids are char codes), a fixed continuation per prompt,
// stop strings and max_tokens honoured as the contract says, aborts ending the stream with 'abort'.

import Fastify, { type FastifyInstance } from 'fastify';
import type {
  EmbeddingEngine,
  GenerationChunk,
  GenerationLoad,
  GenerationRequest,
  GenerationResult,
  GenerationStream,
  SamplingParams,
  TextGenerationEngine,
  TextTokenizer,
} from '../../../src/generation/engine-types.js';
import { InferdError } from '../../../src/errors/index.js';
import type { ModelSource } from '../../../src/protocols/openai/engine-lookup.js';
import { registerOpenAIRoutes, type OpenAIApiOptions } from '../../../src/protocols/openai/openai-api.js';

export const EOS = 3;

export const charTokenizer: TextTokenizer = {
  encode: (text, options) => [
    ...(options?.addSpecialTokens === false ? [] : [1]),
    ...[...text].map((c) => c.charCodeAt(0)),
  ],
  decode: (ids, options) =>
    ids
      .filter((id) => !(options?.skipSpecialTokens === true && id < 32))
      .map((id) => String.fromCharCode(id))
      .join(''),
  applyChatTemplate: (messages) => messages.map((m) => `<${m.role}>${m.content}`).join('') + '<assistant>',
  eosTokenIds: [EOS],
  vocabSize: 256,
};

export interface FakeEngineOptions {
  /** The text every sequence generates (then EOS), one character per step; a function picks it by the prompt's text. */
  readonly script?: string | ((prompt: string) => string);
  readonly contextLength?: number;
  readonly maxWaiting?: number;
  /** Milliseconds per step (0: as fast as the event loop goes). */
  readonly stepMs?: number;
}

export class FakeEngine implements TextGenerationEngine {
  readonly modelName = 'fake-gen';
  readonly tokenizer = charTokenizer;
  readonly defaults: Partial<SamplingParams> = { temperature: 0.7 };
  readonly contextLength: number;
  readonly requests: GenerationRequest[] = [];
  running = 0;
  waiting = 0;

  load(): GenerationLoad {
    const maxWaiting = this.options.maxWaiting ?? Infinity;
    return { running: this.running, maxRunning: maxWaiting, waiting: 0, maxWaiting, kvCacheUsage: 0 };
  }
  private readonly script: string;

  constructor(private readonly options: FakeEngineOptions = {}) {
    this.contextLength = options.contextLength ?? 64;
    this.script =
      typeof options.script === 'string' ? options.script : 'In the beginning God created the heaven and the earth.';
  }

  /** Constraints are not enforced here: the fake accepts each and scripts its text as usual. */
  prepareConstraint(): Promise<void> {
    return Promise.resolve();
  }

  generate(request: GenerationRequest): GenerationStream {
    if (this.running >= (this.options.maxWaiting ?? Infinity)) {
      throw new InferdError('INF_ERR_QUEUE_FULL', 'the waiting queue is full');
    }
    this.requests.push(request);
    this.running++;
    const chunks: GenerationChunk[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let resolveResult!: (r: GenerationResult) => void;
    const result = new Promise<GenerationResult>((r) => (resolveResult = r));
    const s = request.sampling;
    const pick = this.options.script;
    const script = typeof pick === 'function' ? pick(charTokenizer.decode(request.promptTokenIds)) : this.script;
    const finish = (
      finishReason: GenerationResult['finishReason'],
      stoppedBy: string | number | undefined,
      n: number,
    ) => {
      finished = true;
      this.running--;
      resolveResult({
        finishReason,
        stoppedBy,
        promptTokens: request.promptTokenIds.length,
        completionTokens: n,
        cachedTokens: 0,
      });
      wake?.();
    };
    void (async () => {
      for (let i = 0; ; i++) {
        if (request.signal?.aborted === true) return finish('abort', undefined, i);
        if (i >= s.maxTokens) return finish('length', undefined, i);
        const ch = script[i];
        if (ch === undefined && !s.ignoreEos) return finish('stop', EOS, i + 1);
        // Stop strings never reach the output (the real engine holds text back until they are ruled out).
        const stop = s.stop.find((st) => script.startsWith(st, i));
        if (stop !== undefined) return finish('stop', stop, i + stop.length);
        const c = ch ?? ' ';
        const id = c.charCodeAt(0);
        const lp = -0.5;
        chunks.push({
          text: c,
          tokenIds: [id],
          ...(s.logprobs === undefined
            ? {}
            : {
                logprobs: [
                  {
                    tokenId: id,
                    token: c,
                    logprob: lp,
                    top: Array.from({ length: s.logprobs }, (_, k) => ({
                      tokenId: id + k,
                      token: String.fromCharCode(id + k),
                      logprob: lp - k,
                    })),
                  },
                ],
              }),
        });
        wake?.();
        await new Promise((r) => setTimeout(r, this.options.stepMs ?? 0));
      }
    })();
    const iterate = async function* (): AsyncGenerator<GenerationChunk> {
      for (;;) {
        const next = chunks.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (finished) return;
        await new Promise<void>((r) => (wake = r));
      }
    };
    return Object.assign(iterate(), { result });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class FakeEmbedder implements EmbeddingEngine {
  readonly modelName = 'fake-embed';
  readonly contextLength = 32;
  readonly dimensions = 4;
  readonly tokenizer = charTokenizer;

  embed(
    inputs: readonly (string | readonly number[])[],
  ): Promise<{ embeddings: Float32Array[]; promptTokens: number }> {
    let promptTokens = 0;
    const embeddings = inputs.map((input) => {
      const ids = typeof input === 'string' ? this.tokenizer.encode(input) : input;
      promptTokens += ids.length;
      const sum = ids.reduce((a, b) => a + b, 0);
      return Float32Array.from([ids.length, sum / 1000, 1 / 3, -0.1]);
    });
    return Promise.resolve({ embeddings, promptTokens });
  }
}

/** A stand-in repository: `fake-gen` (generation), `fake-embed` (embeddings), `tensor` (a v2 model). */
export function fakeSource(engine: FakeEngine, embedder = new FakeEmbedder()): ModelSource {
  const versions = [
    {
      kind: 'text-generation',
      name: 'fake-gen',
      version: 1,
      textGeneration: engine,
      config: { textGeneration: { tool_call_parser: 'hermes' } },
    },
    { kind: 'embedding', name: 'fake-embed', version: 1, embedding: embedder },
    { kind: 'tensor', name: 'tensor', version: 1 },
  ];
  return {
    resolve: (name: string) => {
      const mv = versions.find((v) => v.name === name);
      if (mv === undefined) throw new InferdError('INF_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${name}'`);
      return mv as never;
    },
    servingVersions: () => versions as never,
  };
}

/** A fastify app with only the OpenAI routes, listening on 127.0.0.1 port 0. */
export async function startFakeApi(
  engine = new FakeEngine(),
  options: Partial<OpenAIApiOptions> = {},
): Promise<{ app: FastifyInstance; url: string; engine: FakeEngine }> {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  registerOpenAIRoutes(app, { repository: fakeSource(engine), maxBodyBytes: 1 << 20, ...options });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, engine };
}
