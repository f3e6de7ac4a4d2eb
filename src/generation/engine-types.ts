// The contract between the text-generation engine (generation/, which knows nothing of HTTP) and
// the edges that serve it (the OpenAI-compatible API, the batch API). Token ids in, token ids and
// text out; every sampling option is already validated by the edge.

/** Sampling options for one sequence, as the edge validated them. */
export interface SamplingParams {
  /** Most tokens to generate (prompt + maxTokens never exceeds the context length). */
  readonly maxTokens: number;
  /** EOS and stop token ids are ignored until this many tokens exist. */
  readonly minTokens: number;
  /** 0 = greedy (argmax). */
  readonly temperature: number;
  /** 0 = off. */
  readonly topK: number;
  /** 1 = off. */
  readonly topP: number;
  /** 0 = off. */
  readonly minP: number;
  /** 1 = off; > 1 discourages tokens already in the prompt or output (multiplicative, as HF/vLLM). */
  readonly repetitionPenalty: number;
  /** 0 = off; OpenAI's additive penalties over generated tokens. */
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  /** Token id → bias added to its logit (-100..100). */
  readonly logitBias: ReadonlyMap<number, number>;
  /** Makes sampling reproducible; undefined = random. */
  readonly seed: number | undefined;
  /** Strings that end generation; never part of the output (held back until ruled out). */
  readonly stop: readonly string[];
  /** Extra token ids that end generation (the model's EOS ids always do unless ignoreEos). */
  readonly stopTokenIds: readonly number[];
  readonly ignoreEos: boolean;
  /** Number of top alternatives to report per token; undefined = no logprobs at all. */
  readonly logprobs: number | undefined;
  /** What the output must match, enforced while decoding by masking the logits; undefined = free text. */
  readonly constraint?: OutputConstraint;
}

/**
 * A constraint on generated text, enforced token by token (generation/grammar.ts). The edges
 * translate OpenAI's response_format, vLLM's guided_* / structured_outputs and tool calls into one
 * of these; every field is already validated in shape.
 */
export type OutputConstraint =
  /** A JSON object (as OpenAI's json_object); with `schema`, a value that validates against it (strict: no extra properties). */
  | { readonly kind: 'json'; readonly schema?: Readonly<Record<string, unknown>> }
  /** Text matching a regular expression (whole output). */
  | { readonly kind: 'regex'; readonly pattern: string }
  /** Exactly one of the strings. */
  | { readonly kind: 'choice'; readonly choices: readonly string[] }
  /** A grammar in EBNF (xgrammar / GBNF dialect), root rule `root`. */
  | { readonly kind: 'grammar'; readonly grammar: string }
  /** xgrammar's structural tag (JSON): free text with tagged, schema-checked regions, as tool calls use. */
  | { readonly kind: 'structural_tag'; readonly tag: Readonly<Record<string, unknown>> };

export interface GenerationRequest {
  /** For logs and metrics. */
  readonly requestId: string;
  readonly promptTokenIds: readonly number[];
  readonly sampling: SamplingParams;
  /** Aborting frees the sequence's slot at the next step; the stream then ends with 'abort'. */
  readonly signal?: AbortSignal;
  /** process.hrtime.bigint() at arrival, for queue time and TTFT. */
  readonly arrivalNs: bigint;
}

export interface TokenLogprob {
  readonly tokenId: number;
  readonly token: string;
  readonly logprob: number;
  /** The most likely alternatives, best first (SamplingParams.logprobs of them). */
  readonly top: readonly { readonly tokenId: number; readonly token: string; readonly logprob: number }[];
}

/** Text that became final (stop strings ruled out), with the tokens that produced it. */
export interface GenerationChunk {
  readonly text: string;
  readonly tokenIds: readonly number[];
  /** Present when SamplingParams.logprobs is set: one entry per token in tokenIds. */
  readonly logprobs?: readonly TokenLogprob[];
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationResult {
  readonly finishReason: FinishReason;
  /** The stop string or stop token id that ended it, if any. */
  readonly stoppedBy: string | number | undefined;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose KV came from the prefix cache. */
  readonly cachedTokens: number;
}

/** Chunks as they become final; `result` settles after the last chunk. */
export interface GenerationStream extends AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
}

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  /** An assistant message's tool calls, arguments parsed from their JSON (as chat templates read them). */
  readonly toolCalls?: readonly { readonly id: string; readonly name: string; readonly arguments: unknown }[];
  /** A tool message: the call it answers. */
  readonly toolCallId?: string;
}

export interface ChatTemplateOptions {
  /** Function tools as transformers passes them to templates: `{type: "function", function: {...}}`. */
  readonly tools?: readonly Readonly<Record<string, unknown>>[];
}

/** Tokenizer and chat template of a model (tokenizer.json, tokenizer_config.json). */
export interface TextTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The prompt text for a chat, with the generation prompt appended (the model's chat template). */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  readonly eosTokenIds: readonly number[];
  readonly vocabSize: number;
}

export interface TextGenerationEngine {
  readonly modelName: string;
  /** Longest prompt + completion, in tokens. */
  readonly contextLength: number;
  readonly tokenizer: TextTokenizer;
  /** Defaults from generation_config.json, applied by the edge where the client gives none. */
  readonly defaults: Partial<SamplingParams>;
  /** Queues a sequence; throws InferdError INF_ERR_QUEUE_FULL (429) when the waiting queue is full. */
  generate(request: GenerationRequest): GenerationStream;
  /**
   * Compiles a constraint ahead of generate() (the result is cached), so an edge refuses one that
   * cannot compile (a 400 naming why) before it starts a response.
   */
  prepareConstraint(constraint: OutputConstraint): Promise<void>;
  /** Sequences running / waiting now. */
  readonly running: number;
  readonly waiting: number;
  load(): GenerationLoad;
  /** Stops taking sequences, finishes the running ones, frees the sessions. */
  close(): Promise<void>;
}

/** How full a generation engine is, for the saturation gauge and autoscalers. */
export interface GenerationLoad {
  readonly running: number;
  readonly maxRunning: number;
  readonly waiting: number;
  readonly maxWaiting: number;
  /** Tokens held by running sequences ÷ (max running sequences × context length): 1 = full. */
  readonly kvCacheUsage: number;
}

/** An embedding model: texts in, one pooled (and, if configured, normalised) vector per text out. */
export interface EmbeddingEngine {
  readonly modelName: string;
  readonly contextLength: number;
  readonly dimensions: number;
  readonly tokenizer: TextTokenizer;
  embed(
    inputs: readonly (string | readonly number[])[],
    options: { readonly requestId: string; readonly signal?: AbortSignal },
  ): Promise<{ readonly embeddings: Float32Array[]; readonly promptTokens: number }>;
}
