// Relevance scores from a cross-encoder (BertForSequenceClassification and its RoBERTa / XLM-R
// kin, as sentence-transformers' CrossEncoder exports them): a (query, document) pair goes in as
// one sequence with its segment ids, `logits` [batch, 1] (or [batch, 2], the second class being
// "relevant") comes out, and the score is its sigmoid (softmax for two classes) or the raw logit.
// Pairs run through the version's scheduler like embeddings (encoder-batches.ts), so the pairs of
// concurrent requests share executions in the dynamic batcher.

import { MODEL_CONFIG_DEFAULTS, type RerankConfig } from '../config/model-config-schema.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { InferdError } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkEncoderSignature, EncoderBatches, type InferBackend } from './encoder-batches.js';
import type { RerankEngine, TextTokenizer } from './engine-types.js';
import { loadTokenizer, padTokenIdOf } from './tokenizer.js';

/** A tokenizer that also builds text pairs (HfTokenizer). */
export interface PairTokenizer extends TextTokenizer {
  encodePair(first: string, second: string): { ids: number[]; typeIds: number[] };
}

export interface RerankEngineOptions {
  readonly modelName: string;
  readonly config: ResolvedModelConfig;
  readonly rerank: RerankConfig;
  readonly tokenizer: PairTokenizer;
  readonly backend: InferBackend;
  readonly padTokenId: number;
}

const LOGITS = 'logits';

export class ModelRerankEngine implements RerankEngine {
  readonly modelName: string;
  readonly contextLength: number;
  readonly tokenizer: PairTokenizer;
  /** Classes in the model's logits: 1, or 2 with the second the relevant one. */
  readonly labels: 1 | 2;
  private readonly activation: RerankConfig['activation'];
  private readonly batches: EncoderBatches;

  constructor(options: RerankEngineOptions) {
    const { config } = options;
    this.modelName = options.modelName;
    this.tokenizer = options.tokenizer;
    this.activation = options.rerank.activation;
    this.contextLength = options.rerank.max_tokens;
    const signature = checkEncoderSignature(config, LOGITS, 'rerank');
    const labels = signature.output.dims[signature.output.dims.length - 1];
    if (signature.output.dims.length !== 1 || (labels !== 1 && labels !== 2))
      throw new InferdError(
        'INF_ERR_MODEL_LOAD',
        `model '${config.name}' cannot serve rerank: '${LOGITS}' must be [batch, 1] or [batch, 2] (a cross-encoder's classifier), not [batch, ${signature.output.dims.join(', ')}]`,
      );
    this.labels = labels;
    this.batches = new EncoderBatches({
      modelName: options.modelName,
      backend: options.backend,
      output: LOGITS,
      tokenTypes: signature.tokenTypes,
      maxRows: Math.max(1, config.maxBatchSize),
      contextLength: this.contextLength,
      padTokenId: options.padTokenId,
    });
  }

  encodePair(first: string, second: string): { ids: number[]; typeIds: number[] } {
    return this.tokenizer.encodePair(first, second);
  }

  score(
    pairs: readonly { readonly ids: readonly number[]; readonly typeIds: readonly number[] }[],
    options: { readonly requestId: string; readonly signal?: AbortSignal; readonly raw?: boolean },
  ): Promise<number[]> {
    for (const [i, pair] of pairs.entries()) {
      if (pair.ids.length > this.contextLength)
        throw new InferdError(
          'INF_ERR_INVALID_ARGUMENT',
          `pair ${i} is ${pair.ids.length} tokens long; this model takes at most ${this.contextLength}`,
        );
    }
    const raw = options.raw ?? this.activation === 'raw';
    return this.batches.run(pairs, (logits, row) => this.read(logits, row, raw), options);
  }

  private read(logits: Tensor<'FP32'>, row: number, raw: boolean): number {
    if (this.labels === 1) {
      const x = logits.data[row] ?? NaN;
      return raw ? x : 1 / (1 + Math.exp(-x));
    }
    const negative = logits.data[row * 2] ?? NaN;
    const positive = logits.data[row * 2 + 1] ?? NaN;
    // softmax([n, p])[1] = sigmoid(p - n).
    return raw ? positive : 1 / (1 + Math.exp(negative - positive));
  }
}

/** Loads the tokenizer beside the model and builds the engine over the version's scheduler. */
export async function createRerankEngine(options: {
  readonly modelName: string;
  readonly folder: string;
  readonly config: ResolvedModelConfig;
  readonly rerank: RerankConfig | undefined;
  readonly backend: InferBackend;
}): Promise<ModelRerankEngine> {
  const tokenizer = await loadTokenizer(options.folder);
  return new ModelRerankEngine({
    modelName: options.modelName,
    config: options.config,
    rerank: options.rerank ?? MODEL_CONFIG_DEFAULTS.rerank,
    tokenizer,
    backend: options.backend,
    padTokenId: padTokenIdOf(tokenizer),
  });
}
