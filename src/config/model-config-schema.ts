// The model configuration schema (config.yaml / config.json beside a model's version folders).
// One zod schema is the source of the TypeScript types, the validation and the JSON Schema
// (`inferd models schema`). Field names follow Triton's model_config.proto in its JSON form.

import { z } from 'zod';
import { deepFreeze } from './deep-freeze.js';

const CONFIG_TYPE_NAMES = [
  'TYPE_BOOL',
  'TYPE_UINT8',
  'TYPE_UINT16',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_INT8',
  'TYPE_INT16',
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_FP16',
  'TYPE_FP32',
  'TYPE_FP64',
  'TYPE_STRING',
  'TYPE_BF16',
] as const;

const dims = z
  .array(z.number().int().min(-1, 'dimensions are -1 (dynamic) or a non-negative size'))
  .max(16, 'at most 16 dimensions');

export const tensorConfigSchema = z
  .object({
    name: z.string().min(1),
    data_type: z.enum(CONFIG_TYPE_NAMES),
    dims,
    /** Labels file (one label per line, in class-index order) for the classification extension. */
    label_filename: z.string().min(1).optional(),
  })
  .strict();

const versionPolicySchema = z.union([
  z.object({ latest: z.object({ num_versions: z.number().int().min(1) }).strict() }).strict(),
  z.object({ all: z.object({}).strict() }).strict(),
  z.object({ specific: z.object({ versions: z.array(z.number().int().min(1)).min(1) }).strict() }).strict(),
]);

const instanceGroupSchema = z
  .object({
    name: z.string().optional(),
    count: z.number().int().min(1).max(64).default(1),
    kind: z.enum(['KIND_AUTO', 'KIND_CPU', 'KIND_GPU']).default('KIND_AUTO'),
    gpus: z.array(z.number().int().min(0)).optional(),
  })
  .strict();

export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const optimizationSchema = z
  .object({
    /** ORT graph optimization level. */
    graph_level: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
    /** Threads per instance for intra-op parallelism; 0 = divide the cores between instances. */
    intra_op_threads: z.number().int().min(0).default(0),
    inter_op_threads: z.number().int().min(0).default(1),
    /** Execution providers in order of preference; ORT falls back along the list. */
    /** Default: ['cpu'], or ['webgpu', 'cpu'] when an instance group asks for KIND_GPU. */
    execution_providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).optional(),
    /**
     * Run the session on the main thread instead of a worker thread: saves the two thread hops
     * per request but blocks the event loop while the model runs. For models that run in microseconds.
     * `auto` (the default): the server times a few executions of a zero sample when the model loads
     * and runs it inline when they take less than a worker hop costs (`--auto-inline-max-us`).
     */
    inline_execution: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /**
     * Let onnxruntime's intra-op threads spin while waiting for work (lower latency, but they keep
     * their cores busy). Default: on for the server; `inferd batch run` turns it off, since its reader
     * and writer need the cores between executions.
     */
    allow_spinning: z.boolean().optional(),
  })
  .strict();

const queuePolicySchema = z
  .object({
    /** Requests that may wait per model version; more are refused at once with 429. */
    max_queue_size: z.number().int().min(1).default(1024),
    /** Applied when a request gives no `timeout`; 0 = none. */
    default_timeout_microseconds: z.number().int().min(0).default(0),
    /** Level of requests sent with priority 0 (none); 1 is the highest level, larger is lower. */
    default_priority_level: z.number().int().min(1).default(1),
    /**
     * Triton's priority_levels: requests with a priority above it get default_priority_level, and 0
     * turns priorities off (every request waits at one level). Default: every level is kept.
     */
    priority_levels: z.number().int().min(0).optional(),
    /**
     * Triton's allow_timeout_override: true, a request's `timeout` applies only when shorter than a
     * default_timeout_microseconds that is set; false, only the default applies. Default: a
     * request's `timeout` replaces the default.
     */
    allow_timeout_override: z.boolean().optional(),
  })
  .strict();

const dynamicBatchingSchema = z
  .object({
    /** How long a batch short of max_batch_size (or of a preferred size) may wait for more requests. */
    max_queue_delay_microseconds: z.number().int().min(0).max(10_000_000).default(0),
    /** Batch sizes to dispatch at once without waiting; each at most max_batch_size. */
    preferred_batch_size: z.array(z.number().int().min(1)).default([]),
    /**
     * Learn execution time per batch size; wait for more requests only when that pays (capped by
     * max_queue_delay_microseconds) and refuse at once requests that cannot meet their timeout.
     */
    adaptive: z.boolean().default(false),
  })
  .strict();

export const SEQUENCE_CONTROL_KINDS = [
  'CONTROL_SEQUENCE_START',
  'CONTROL_SEQUENCE_READY',
  'CONTROL_SEQUENCE_END',
  'CONTROL_SEQUENCE_CORRID',
] as const;

/** One control signal fed to the model as an input tensor (Triton's ModelSequenceBatching.Control). */
const sequenceControlSchema = z
  .object({
    kind: z.enum(SEQUENCE_CONTROL_KINDS),
    /** Values for false and true, for START/READY/END given as INT32, FP32 or BOOL. Give one. */
    int32_false_true: z.tuple([z.number().int(), z.number().int()]).optional(),
    fp32_false_true: z.tuple([z.number(), z.number()]).optional(),
    bool_false_true: z.tuple([z.boolean(), z.boolean()]).optional(),
    /** Type of the CORRID tensor: TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 or TYPE_STRING. */
    data_type: z.enum(CONFIG_TYPE_NAMES).optional(),
  })
  .strict();

const sequenceStateSchema = z
  .object({
    /** Model input that receives the state (not sent by clients). */
    input_name: z.string().min(1),
    /** Model output whose value becomes the next request's input_name (not returned to clients). */
    output_name: z.string().min(1),
    data_type: z.enum(CONFIG_TYPE_NAMES),
    /** Shape of the state, without the batch dimension when max_batch_size > 0; no -1. */
    dims: z.array(z.number().int().min(1, 'state dimensions must be fixed sizes')).max(16),
    /** Value at the start of a sequence: zeros (the default). */
    initial_state: z
      .object({ zero_data: z.literal(true).default(true), name: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();

/**
 * The default sequence strategy: the next requests of the ready sequences, oldest first, are
 * batched together on any free instance.
 */
const oldestStrategySchema = z
  .object({
    /** Sequences active at once per instance; more wait in the backlog for one to end. */
    max_candidate_sequences: z.number().int().min(1).default(64),
    preferred_batch_size: z.array(z.number().int().min(1)).default([]),
    max_queue_delay_microseconds: z.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();

/** Stateful models: every request of a sequence runs on the same slot, in order, carrying its state. */
const sequenceBatchingSchema = z
  .object({
    /** A sequence with nothing queued or running for this long is freed (its id then gets an error). */
    max_sequence_idle_microseconds: z.number().int().min(1).default(1_000_000),
    control_input: z
      .array(z.object({ name: z.string().min(1), control: z.array(sequenceControlSchema).length(1) }).strict())
      .default([]),
    state: z.array(sequenceStateSchema).default([]),
    /**
     * One slot per batch row per instance (one per instance when max_batch_size is 0): a sequence
     * keeps its row; rows without a request run with READY false and zero inputs.
     */
    direct: z
      .object({ max_queue_delay_microseconds: z.number().int().min(0).max(10_000_000).default(0) })
      .strict()
      .optional(),
    /** The default strategy (used when neither is given): see oldestStrategySchema. */
    oldest: oldestStrategySchema.optional(),
  })
  .strict()
  .refine((s) => s.direct === undefined || s.oldest === undefined, {
    message: 'give one strategy, direct or oldest, not both',
  });

/** Pooling and limits of a `task: embedding` model (an encoder with `last_hidden_state`). */
const embeddingSchema = z
  .object({
    /** How token states become one vector: masked mean, the first token, or the last real token. */
    pooling: z.enum(['mean', 'cls', 'last']).default('mean'),
    /** Scale each vector to unit length (cosine similarity = dot product). */
    normalize: z.boolean().default(true),
    /** Longest input in tokens; longer inputs are refused with 400. */
    max_tokens: z.number().int().min(1).max(1_000_000).default(512),
  })
  .strict();

/** Scores of a `task: rerank` model (a cross-encoder: query and document in, `logits` [batch, 1 or 2] out). */
const rerankSchema = z
  .object({
    /**
     * What a logit becomes: `sigmoid` (a relevance in 0..1, as sentence-transformers' CrossEncoder
     * gives for one label) or `raw` (the logit itself). With two labels the score is the second
     * (positive) class: its softmax probability, or its logit when raw.
     */
    activation: z.enum(['sigmoid', 'raw']).default('sigmoid'),
    /** Longest query + document pair in tokens (with its special tokens); longer pairs are refused with 400. */
    max_tokens: z.number().int().min(1).max(1_000_000).default(512),
  })
  .strict();

/**
 * Speculative decoding (docs/generation.md), with vLLM's speculative_config names: drafts from
 * prompt lookup (`ngram`) or a small decoder sharing the tokenizer (`draft_model`), verified by the
 * model in one step; greedy output is unchanged.
 */
const speculativeSchema = z
  .object({
    method: z.enum(['ngram', 'draft_model']),
    /** Draft tokens proposed and verified per step and sequence. */
    num_speculative_tokens: z.number().int().min(1).max(16).default(4),
    /** ngram: the shortest and longest suffix of the sequence looked up earlier in it. */
    prompt_lookup_min: z.number().int().min(1).max(64).default(2),
    prompt_lookup_max: z.number().int().min(1).max(64).default(4),
    /**
     * draft_model: the draft decoder's folder (a Hugging Face ONNX folder, or a model folder whose
     * highest version is used), relative to this model's folder, or the name of a model beside it.
     */
    draft_model: z.string().min(1).optional(),
    /** No speculation in a step with at least this many sequences running; unset = always. */
    disable_by_batch_size: z.number().int().min(2).max(1024).optional(),
  })
  .strict()
  .refine((s) => s.prompt_lookup_min <= s.prompt_lookup_max, {
    message: 'prompt_lookup_min must not exceed prompt_lookup_max',
    path: ['prompt_lookup_min'],
  })
  .refine((s) => (s.method === 'draft_model') === (s.draft_model !== undefined), {
    message: 'draft_model is required with method draft_model, and only with it',
    path: ['draft_model'],
  });

/** Scheduling and caching of a `task: text-generation` model (an ONNX decoder with a KV cache). */
const textGenerationSchema = z
  .object({
    /** Sequences in the running batch; each decode step advances all of them by one token. */
    max_running_sequences: z.number().int().min(1).max(1024).default(32),
    /** Sequences that may wait for a running slot; more are refused at once with 429. */
    max_waiting_sequences: z.number().int().min(0).max(1_000_000).default(256),
    /** Prompt tokens prefilled per step (shared by the prompts being prefilled), between decode steps. */
    prefill_chunk_tokens: z.number().int().min(1).max(1_000_000).default(256),
    /** Prompt-prefix KV kept for reuse, in blocks of prefix_block_tokens; 0 turns the prefix cache off. */
    prefix_cache_blocks: z.number().int().min(0).max(1_000_000).default(256),
    prefix_block_tokens: z.number().int().min(1).max(4096).default(16),
    /** Longest prompt + completion; default: the model's max_position_embeddings (config.json). */
    context_length: z.number().int().min(2).optional(),
    /** Speculative decoding; off when absent. */
    speculative: speculativeSchema.optional(),
    /** How the model writes tool calls (vLLM's --tool-call-parser): `hermes` is `<tool_call>{"name", "arguments"}</tool_call>`. */
    tool_call_parser: z.enum(['hermes']).default('hermes'),
  })
  .strict();

/**
 * One input of a warmup sample (Triton's ModelWarmup.Input): its type and shape without the batch
 * dimension, and where its data comes from: zeros, random values, or a file of raw row-major
 * bytes (BYTES: each element a 4-byte little-endian length, then its bytes) in the model
 * folder's `warmup/` directory, as in Triton. Give exactly one source.
 */
const warmupInputSchema = z
  .object({
    data_type: z.enum(CONFIG_TYPE_NAMES),
    dims: z.array(z.number().int().min(1, 'warmup dimensions are fixed sizes (no -1)')).max(16),
    zero_data: z.boolean().optional(),
    random_data: z.boolean().optional(),
    input_data_file: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (i) => [i.zero_data === true, i.random_data === true, i.input_data_file !== undefined].filter(Boolean).length === 1,
    { message: 'give exactly one of zero_data: true, random_data: true or input_data_file' },
  );

/** A warmup sample (Triton's ModelWarmup): run on every instance before the version is READY. */
const warmupSampleSchema = z
  .object({
    name: z.string().min(1),
    /** Rows of the warmup request; each input's data is repeated for every row. 1 without batching. */
    batch_size: z.number().int().min(1).max(1_000_000).default(1),
    /** Every input the model takes from clients, by name. */
    inputs: z.record(z.string(), warmupInputSchema),
    /** Runs of this sample per instance; 0 (Triton's default) runs it once. */
    count: z.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

const responseCacheSchema = z.object({ enable: z.boolean().default(false) }).strict();

/**
 * Drift monitoring of a model's inputs and outputs (docs/monitoring.md, "Drift"). It is on when the
 * model folder holds `reference.jsonl` or `enabled` is true; `enabled: false` turns it off.
 */
const driftSchema = z
  .object({
    enabled: z.boolean().optional(),
    /** Where the reference comes from: the folder's reference.jsonl, or the first rows served. */
    reference: z.enum(['file', 'first_requests']).default('file'),
    /** Reference rows kept (a seeded sample of a longer file), or rows frozen from the first requests. */
    reference_rows: z.number().int().min(20).max(10_000).default(5_000),
    /** Rows per tumbling window; each full window is tested against the reference. */
    window: z.number().int().min(20).max(100_000).default(500),
    /** False-alarm rate per window for the whole model (Bonferroni over its features). */
    alpha: z.number().gt(0).max(0.5).default(0.01),
    /** Share of rows observed, for busy models. */
    sample_rate: z.number().gt(0).max(1).default(1),
  })
  .strict();

/** Model monitoring (docs/monitoring.md). */
const monitoringSchema = z.object({ drift: driftSchema.optional() }).strict();

export const MODEL_TASKS = ['tensor', 'text-generation', 'embedding', 'rerank'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

export const modelConfigSchema = z
  .object({
    name: z.string().min(1).optional(),
    platform: z.literal('onnxruntime_onnx').default('onnxruntime_onnx'),
    backend: z.literal('onnxruntime').optional(),
    /** 0 = the model has no batch dimension; > 0 = first dimension is the batch, up to this size. */
    max_batch_size: z.number().int().min(0).optional(),
    input: z.array(tensorConfigSchema).optional(),
    output: z.array(tensorConfigSchema).optional(),
    version_policy: versionPolicySchema.default({ latest: { num_versions: 1 } }),
    instance_group: z.array(instanceGroupSchema).min(1).optional(),
    optimization: optimizationSchema.optional(),
    queue_policy: queuePolicySchema.optional(),
    /** Answer repeated identical requests from the server's response cache (--cache-size). */
    response_cache: responseCacheSchema.optional(),
    /** Merge concurrent requests into one execution along the batch dimension (needs max_batch_size > 0). */
    dynamic_batching: dynamicBatchingSchema.optional(),
    /** Stateful sequences (sequence_id / sequence_start / sequence_end); excludes dynamic_batching. */
    sequence_batching: sequenceBatchingSchema.optional(),
    /**
     * What the model serves: tensors over KServe v2 (the default), text generation, embeddings or
     * rerank scores (a cross-encoder)
     * (the version folder then holds a Hugging Face ONNX folder: tokenizer.json and friends).
     */
    task: z.enum(MODEL_TASKS).optional(),
    /** Pooling and limits for `task: embedding`. */
    embedding: embeddingSchema.optional(),
    /** Scores and limits for `task: rerank`. */
    rerank: rerankSchema.optional(),
    /** Batching and caching for `task: text-generation`. */
    text_generation: textGenerationSchema.optional(),
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Drift monitoring of inputs and outputs against a reference (docs/monitoring.md). */
    monitoring: monitoringSchema.optional(),
    /** Samples every instance runs before the version is READY (Triton's model_warmup). */
    model_warmup: z.array(warmupSampleSchema).optional(),
    /** The model file in each version folder (default model.onnx); a file name, no folders. */
    default_model_filename: z
      .string()
      .regex(/^[^/\\]+$/, 'must be a file name in the version folder, without folders')
      .refine((f) => f !== '.' && f !== '..', 'must be a file name in the version folder')
      .optional(),
    /**
     * Read-only: what `GET /v2/models/{m}/config` reports about the running model (providers in
     * use, whether the config was completed from the graph). Accepted so a saved /config loads
     * back, and ignored.
     */
    runtime: z
      .object({
        execution_providers_in_use: z.array(z.string()),
        instances: z.array(
          z
            .object({ name: z.string(), kind: z.string(), gpu: z.number(), providers: z.array(z.string()) })
            .partial()
            .strict(),
        ),
        auto_completed: z.boolean(),
        kind: z.string(),
        endpoints: z.array(z.string()),
        execution: z.string(),
        execution_reason: z.string(),
      })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

export type ModelConfigInput = z.input<typeof modelConfigSchema>;
export type ParsedModelConfig = z.output<typeof modelConfigSchema>;
export type TensorConfig = z.output<typeof tensorConfigSchema>;
export type VersionPolicy = z.output<typeof versionPolicySchema>;
export type SequenceBatchingConfig = z.output<typeof sequenceBatchingSchema>;
export type EmbeddingConfig = z.output<typeof embeddingSchema>;
export type TextGenerationConfig = z.output<typeof textGenerationSchema>;
export type RerankConfig = z.output<typeof rerankSchema>;
export type SpeculativeConfig = z.output<typeof speculativeSchema>;
export type DriftConfig = z.output<typeof driftSchema>;
export type WarmupSampleConfig = z.output<typeof warmupSampleSchema>;

/**
 * What a model gets for each section its config leaves out: the section's schema applied to `{}`,
 * so the `.default()`s above are the one declaration of every default (the resolver and the
 * engines read these; `inferd models schema` prints the same values). Frozen.
 */
export const MODEL_CONFIG_DEFAULTS = deepFreeze({
  /** The one instance group of a config without `instance_group`. */
  instance_group: instanceGroupSchema.parse({}),
  optimization: optimizationSchema.parse({}),
  queue_policy: queuePolicySchema.parse({}),
  response_cache: responseCacheSchema.parse({}),
  dynamic_batching: dynamicBatchingSchema.parse({}),
  /** `sequence_batching` given as `{}`; its strategy is then `oldest` with these settings. */
  sequence_batching: { ...sequenceBatchingSchema.parse({}), oldest: oldestStrategySchema.parse({}) },
  embedding: embeddingSchema.parse({}),
  rerank: rerankSchema.parse({}),
  text_generation: textGenerationSchema.parse({}),
  drift: driftSchema.parse({}),
});

/** The JSON Schema of the model configuration, for editors and `inferd models schema`. */
export function modelConfigJsonSchema(): unknown {
  return z.toJSONSchema(modelConfigSchema, { io: 'input' });
}
