// Opens a text-generation model folder (a Hugging Face ONNX export: model.onnx, tokenizer.json,
// tokenizer_config.json, config.json, generation_config.json) as a GenerationEngine: the decoder
// in its worker thread (or inline), the tokenizer, the context length and the sampling defaults.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_CONFIG_DEFAULTS, type TextGenerationConfig } from '../config/model-config-schema.js';
import type { Metrics } from '../observability/metrics.js';
import { DecoderSession } from '../runtime/decoder-session.js';
import { InlineDecoder } from '../runtime/decoder-inline.js';
import type { SessionOptionsWire } from '../runtime/index.js';
import type { SamplingParams } from './engine-types.js';
import { GenerationEngine, type EngineLimits } from './generation-engine.js';
import { ConstraintCompiler, grammarVocabulary } from './grammar.js';
import { loadTokenizer } from './tokenizer.js';

export interface TextGenerationModelOptions {
  readonly modelName: string;
  /** The version folder. */
  readonly dir: string;
  /** The decoder's file in `dir` (the config's default_model_filename). */
  readonly modelFile?: string;
  readonly config: TextGenerationConfig | undefined;
  readonly session: SessionOptionsWire;
  /** Run the decoder on the main thread (optimization.inline_execution). */
  readonly inline: boolean;
  readonly metrics?: Metrics;
}

type Json = Record<string, unknown>;

async function readJson(file: string): Promise<Json> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** generation_config.json's sampling fields, as transformers names them, in the engine's terms. */
export function samplingDefaults(gen: Json): Partial<SamplingParams> {
  const out: { -readonly [K in keyof SamplingParams]?: SamplingParams[K] } = {};
  const sample = gen.do_sample !== false;
  const temperature = finite(gen.temperature);
  if (!sample) out.temperature = 0;
  else if (temperature !== undefined) out.temperature = temperature;
  const topP = finite(gen.top_p);
  if (topP !== undefined && topP > 0 && topP <= 1) out.topP = topP;
  const topK = positiveInt(gen.top_k);
  if (topK !== undefined) out.topK = topK;
  const minP = finite(gen.min_p);
  if (minP !== undefined && minP >= 0 && minP <= 1) out.minP = minP;
  const rep = finite(gen.repetition_penalty);
  if (rep !== undefined && rep > 0) out.repetitionPenalty = rep;
  const maxNew = positiveInt(gen.max_new_tokens);
  if (maxNew !== undefined) out.maxTokens = maxNew;
  return out;
}

export async function loadTextGenerationEngine(o: TextGenerationModelOptions): Promise<GenerationEngine> {
  const modelConfig = await readJson(path.join(o.dir, 'config.json'));
  const generationConfig = await readJson(path.join(o.dir, 'generation_config.json'));
  const tokenizer = await loadTokenizer(o.dir);
  const modelPath = path.join(o.dir, o.modelFile ?? 'model.onnx');
  const opened = o.inline
    ? await InlineDecoder.load(modelPath, o.session)
    : await DecoderSession.load(o.modelName, modelPath, o.session);
  try {
    const vocabSize = opened.info.vocab ?? positiveInt(modelConfig.vocab_size) ?? tokenizer.vocabSize;
    const contextLength =
      o.config?.context_length ??
      positiveInt(modelConfig.max_position_embeddings) ??
      positiveInt(modelConfig.n_positions) ??
      2048;
    const tg = o.config ?? MODEL_CONFIG_DEFAULTS.text_generation;
    const limits: EngineLimits = {
      maxRunningSequences: tg.max_running_sequences,
      maxWaitingSequences: tg.max_waiting_sequences,
      prefillChunkTokens: tg.prefill_chunk_tokens,
      prefixCacheBlocks: tg.prefix_cache_blocks,
      prefixBlockTokens: tg.prefix_block_tokens,
    };
    return new GenerationEngine({
      modelName: o.modelName,
      contextLength,
      vocabSize,
      tokenizer,
      defaults: samplingDefaults(generationConfig),
      limits,
      decoder: opened.session,
      // Started on the first constrained request: a model that never sees one pays nothing.
      grammar: new ConstraintCompiler({
        vocabulary: grammarVocabulary(tokenizer.tokenizerJson),
        vocabSize,
        stopTokenIds: tokenizer.eosTokenIds,
      }),
      ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
    });
  } catch (err) {
    await opened.session.close();
    throw err;
  }
}
