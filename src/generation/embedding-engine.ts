// Embeddings from an encoder model (input_ids, attention_mask and, for BERT-family graphs,
// token_type_ids -> last_hidden_state) served as an ordinary tensor model: texts are tokenised,
// refused beyond max_tokens and batched through the version's scheduler (encoder-batches.ts); the
// token states are then pooled with the attention mask and, if configured, normalised to unit
// length. Pooling comes from config.yaml's `embedding` section, or, when the config has none, from
// sentence-transformers' own files beside the model (sentence-transformers.ts).

import { MODEL_CONFIG_DEFAULTS, type EmbeddingConfig } from '../config/model-config-schema.js';
import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkEncoderSignature, EncoderBatches, type InferBackend } from './encoder-batches.js';
import type { EmbeddingEngine, TextTokenizer } from './engine-types.js';
import { readSentenceTransformersPooling } from './sentence-transformers.js';
import { loadTokenizer, padTokenIdOf } from './tokenizer.js';

export { bucketFor, type InferBackend } from './encoder-batches.js';

export interface EmbeddingEngineOptions {
  readonly modelName: string;
  readonly config: ResolvedModelConfig;
  readonly embedding: EmbeddingConfig;
  readonly tokenizer: TextTokenizer;
  readonly backend: InferBackend;
  /** Token id that fills the padded positions (masked out; RoBERTa's position ids need its padding id). */
  readonly padTokenId: number;
}

const HIDDEN = 'last_hidden_state';

export class ModelEmbeddingEngine implements EmbeddingEngine {
  readonly modelName: string;
  readonly contextLength: number;
  readonly dimensions: number;
  readonly tokenizer: TextTokenizer;
  readonly pooling: EmbeddingConfig['pooling'];
  readonly normalize: boolean;
  /** Whether the graph takes token_type_ids (BERT-family), fed as zeros for single texts. */
  readonly tokenTypes: boolean;
  private readonly batches: EncoderBatches;

  constructor(options: EmbeddingEngineOptions) {
    const { config, embedding } = options;
    this.modelName = options.modelName;
    this.tokenizer = options.tokenizer;
    this.pooling = embedding.pooling;
    this.normalize = embedding.normalize;
    const signature = checkEncoderSignature(config, HIDDEN, 'embeddings');
    const hidden = signature.output.dims[signature.output.dims.length - 1];
    if (hidden === undefined || hidden <= 0)
      throw new InferdError(
        'INF_ERR_MODEL_LOAD',
        `model '${config.name}' cannot serve embeddings: the last dimension of '${HIDDEN}' must be a fixed size`,
      );
    this.dimensions = hidden;
    this.tokenTypes = signature.tokenTypes;
    this.contextLength = embedding.max_tokens;
    this.batches = new EncoderBatches({
      modelName: options.modelName,
      backend: options.backend,
      output: HIDDEN,
      tokenTypes: signature.tokenTypes,
      // A model without a batch dimension in its config still takes [1, seq] rows, one text per run.
      maxRows: Math.max(1, config.maxBatchSize),
      contextLength: this.contextLength,
      padTokenId: options.padTokenId,
    });
  }

  async embed(
    inputs: readonly (string | readonly number[])[],
    options: { readonly requestId: string; readonly signal?: AbortSignal },
  ): Promise<{ readonly embeddings: Float32Array[]; readonly promptTokens: number }> {
    if (inputs.length === 0) throw invalidArgument('input must not be empty');
    // Tokenise and check everything before any work is queued.
    const tokenized = inputs.map((input, i) => ({ ids: this.tokens(input, i) }));
    const promptTokens = tokenized.reduce((n, t) => n + t.ids.length, 0);
    const embeddings = await this.batches.run(
      tokenized,
      (hidden, row, real, length) => this.pool(hidden, row, real, length),
      options,
    );
    return { embeddings, promptTokens };
  }

  private tokens(input: string | readonly number[], index: number): readonly number[] {
    const at = `input[${index}]`;
    let ids: readonly number[];
    if (typeof input === 'string') {
      ids = this.tokenizer.encode(input);
    } else {
      if (input.length === 0) throw invalidArgument(`${at} is an empty list of token ids`);
      const vocab = this.tokenizer.vocabSize;
      for (const id of input) {
        if (!Number.isInteger(id) || id < 0 || id >= vocab)
          throw invalidArgument(`${at} holds token id ${id}; ids are integers from 0 to ${vocab - 1}`);
      }
      ids = input;
    }
    if (ids.length > this.contextLength)
      throw invalidArgument(
        `This model's maximum context length is ${this.contextLength} tokens. However, ${at} is ${ids.length} tokens long.`,
      );
    return ids;
  }

  /** One row's token states [length, dimensions] reduced to a vector over its first `real` tokens. */
  private pool(hidden: Tensor<'FP32'>, row: number, real: number, length: number): Float32Array {
    const d = this.dimensions;
    const data = hidden.data;
    const base = row * length * d;
    const out = new Float32Array(d);
    if (this.pooling === 'cls') out.set(data.subarray(base, base + d));
    else if (this.pooling === 'last') out.set(data.subarray(base + (real - 1) * d, base + real * d));
    else {
      // Sum in float64: hundreds of tokens summed in float32 lose digits.
      const sum = new Float64Array(d);
      for (let t = 0; t < real; t++) {
        const o = base + t * d;
        for (let k = 0; k < d; k++) sum[k] = (sum[k] ?? 0) + (data[o + k] ?? 0);
      }
      for (let k = 0; k < d; k++) out[k] = (sum[k] ?? 0) / real;
    }
    if (this.normalize) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += (out[k] ?? 0) ** 2;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let k = 0; k < d; k++) out[k] = (out[k] ?? 0) / norm;
    }
    return out;
  }
}

/**
 * Loads the tokenizer beside the model and builds the engine over the version's scheduler. Without
 * an `embedding` section in the config, sentence-transformers' files (modules.json,
 * 1_Pooling/config.json, sentence_bert_config.json) say how to pool, normalise and truncate.
 */
export async function createEmbeddingEngine(options: {
  readonly modelName: string;
  /** The version folder (tokenizer.json, tokenizer_config.json). */
  readonly folder: string;
  readonly config: ResolvedModelConfig;
  readonly embedding: EmbeddingConfig | undefined;
  readonly backend: InferBackend;
}): Promise<ModelEmbeddingEngine> {
  const tokenizer = await loadTokenizer(options.folder);
  const embedding =
    options.embedding ??
    (await readSentenceTransformersPooling(options.folder, MODEL_CONFIG_DEFAULTS.embedding)) ??
    MODEL_CONFIG_DEFAULTS.embedding;
  return new ModelEmbeddingEngine({
    modelName: options.modelName,
    config: options.config,
    embedding,
    tokenizer,
    backend: options.backend,
    padTokenId: padTokenIdOf(tokenizer),
  });
}
