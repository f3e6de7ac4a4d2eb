// The text-generation engine: continuous (iteration-level) batching over one decoder. Each turn
// of the step loop admits waiting sequences up to max_running_sequences, drops cancelled ones,
// runs one decode step for every sequence that is generating, then one prefill chunk (at most
// prefill_chunk_tokens prompt tokens, shared among the sequences still prefilling), so a long
// prompt never stalls the streams already running. Sampling happens here, per sequence, from the
// logits the decoder returns; the KV caches stay with the decoder.

import { randomInt } from 'node:crypto';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { CacheOps, StepResult, StepRow } from '../runtime/decoder-session.js';
import type {
  FinishReason,
  GenerationChunk,
  GenerationLoad,
  GenerationRequest,
  GenerationStream,
  OutputConstraint,
  SamplingParams,
  TextGenerationEngine,
  TextTokenizer,
  TokenLogprob,
} from './engine-types.js';
import type { ConstraintCompiler, ConstraintMatcher } from './grammar.js';
import { ChunkStream } from './generation-stream.js';
import { PrefixCache } from './prefix-cache.js';
import { Sampler } from './sampler.js';
import { IncrementalDecoder, StopStringMatcher } from './stop-strings.js';
import { allowsOnly } from './token-mask.js';

/** What the engine needs of a decoder: DecoderSession (worker thread) or InlineDecoder. */
export interface DecoderBackend {
  step(rows: readonly StepRow[], ops?: CacheOps): Promise<StepResult>;
  close(): Promise<void>;
}

export interface EngineLimits {
  readonly maxRunningSequences: number;
  readonly maxWaitingSequences: number;
  readonly prefillChunkTokens: number;
  /** Prefix cache size in blocks of prefixBlockTokens; 0 = off. */
  readonly prefixCacheBlocks: number;
  readonly prefixBlockTokens: number;
}

export interface EngineOptions {
  readonly modelName: string;
  readonly contextLength: number;
  /** Rows of the logits (the model's vocabulary); prompt ids must be below it. */
  readonly vocabSize: number;
  readonly tokenizer: TextTokenizer;
  readonly defaults: Partial<SamplingParams>;
  readonly limits: EngineLimits;
  readonly decoder: DecoderBackend;
  readonly metrics?: Metrics;
  /** Compiles OutputConstraints against this model's vocabulary; without it constrained requests are refused. */
  readonly grammar?: Pick<ConstraintCompiler, 'matcher' | 'prepare' | 'close'>;
}

type Phase = 'waiting' | 'prefill' | 'decode';

interface Sequence {
  readonly id: number;
  readonly request: GenerationRequest;
  readonly prompt: readonly number[];
  readonly sampler: Sampler;
  readonly detok: IncrementalDecoder;
  readonly stops: StopStringMatcher;
  readonly stream: ChunkStream;
  /** The grammar's state, for a sequence with SamplingParams.constraint. */
  matcher: ConstraintMatcher | undefined;
  /** Tokens the grammar allows next; undefined until computed for the next sample. */
  mask: Int32Array | undefined;
  phase: Phase;
  /** Prompt tokens already in the decoder's cache. */
  prefilled: number;
  cachedTokens: number;
  generated: number;
  lastToken: number;
  aborted: boolean;
  onAbort: (() => void) | undefined;
  scheduledNs: bigint;
  lastTokenNs: bigint;
}

export class GenerationEngine implements TextGenerationEngine {
  readonly modelName: string;
  readonly contextLength: number;
  readonly tokenizer: TextTokenizer;
  readonly defaults: Partial<SamplingParams>;
  private readonly limits: EngineLimits;
  private readonly decoder: DecoderBackend;
  private readonly metrics: Metrics | undefined;
  private readonly vocabSize: number;
  private readonly prefixCache: PrefixCache;
  private readonly waitingQueue: Sequence[] = [];
  private readonly runningList: Sequence[] = [];
  /** Constrained sequences whose grammar is compiling; they join the waiting queue after. */
  private readonly compiling = new Set<Sequence>();
  private readonly grammar: EngineOptions['grammar'];
  /** Tokens that end a constrained sequence once its grammar is complete. */
  private readonly grammarStops: ReadonlySet<number>;
  /** Cache bookkeeping for the next step (frees, forks, evictions). */
  private ops: { free: number[]; fork: { seq: number; entry: number; length: number }[]; dropEntries: number[] } = {
    free: [],
    fork: [],
    dropEntries: [],
  };
  private nextSeq = 1;
  private loop: Promise<void> | undefined;
  private closing = false;

  constructor(options: EngineOptions) {
    this.modelName = options.modelName;
    this.contextLength = options.contextLength;
    this.tokenizer = options.tokenizer;
    this.defaults = options.defaults;
    this.limits = options.limits;
    this.decoder = options.decoder;
    this.metrics = options.metrics;
    this.vocabSize = options.vocabSize;
    this.grammar = options.grammar;
    this.grammarStops = new Set(options.tokenizer.eosTokenIds);
    this.prefixCache = new PrefixCache(options.limits.prefixCacheBlocks, options.limits.prefixBlockTokens);
    // The gauges exist from the start (at 0): scrapers such as an endpoint picker read them
    // before the first request.
    this.updateGauges();
  }

  get running(): number {
    return this.runningList.length;
  }

  get waiting(): number {
    return this.waitingQueue.length + this.compiling.size;
  }

  async prepareConstraint(constraint: OutputConstraint): Promise<void> {
    await this.requireGrammar().prepare(constraint);
  }

  private requireGrammar(): NonNullable<EngineOptions['grammar']> {
    if (this.grammar === undefined)
      throw invalidArgument(`model '${this.modelName}' cannot constrain its output: it has no tokenizer vocabulary`);
    return this.grammar;
  }

  generate(request: GenerationRequest): GenerationStream {
    if (this.closing) throw new InferdError('INF_ERR_UNAVAILABLE', `model '${this.modelName}' is shutting down`);
    const prompt = request.promptTokenIds;
    this.validate(request);
    const { maxRunningSequences, maxWaitingSequences } = this.limits;
    const constraint = request.sampling.constraint;
    const grammar = constraint === undefined ? undefined : this.requireGrammar();
    if (this.runningList.length + this.waiting >= maxRunningSequences + maxWaitingSequences) {
      throw new InferdError(
        'INF_ERR_QUEUE_FULL',
        `model '${this.modelName}' has ${maxWaitingSequences} sequences waiting already; retry later`,
        { headers: { 'Retry-After': '1' } },
      );
    }
    const id = this.nextSeq++;
    const seq: Sequence = {
      id,
      request,
      prompt,
      sampler: new Sampler({
        params: request.sampling,
        promptTokenIds: prompt,
        eosTokenIds: this.tokenizer.eosTokenIds,
        fallbackSeed: randomInt(2 ** 47),
      }),
      detok: new IncrementalDecoder(this.tokenizer),
      // Under a constraint only the grammar ends the text: stop strings would cut it short.
      stops: new StopStringMatcher(constraint === undefined ? request.sampling.stop : []),
      stream: new ChunkStream(),
      matcher: undefined,
      mask: undefined,
      phase: 'waiting',
      prefilled: 0,
      cachedTokens: 0,
      generated: 0,
      lastToken: -1,
      aborted: false,
      onAbort: undefined,
      scheduledNs: 0n,
      lastTokenNs: 0n,
    };
    const signal = request.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.finish(seq, 'abort', undefined, '');
        return seq.stream;
      }
      seq.onAbort = () => this.abort(seq);
      signal.addEventListener('abort', seq.onAbort, { once: true });
    }
    if (grammar !== undefined && constraint !== undefined) this.compileThenQueue(seq, grammar, constraint);
    else this.waitingQueue.push(seq);
    this.updateGauges();
    this.kick();
    return seq.stream;
  }

  /**
   * Compiles the sequence's constraint off the step loop (running sequences keep stepping; a
   * cached constraint is ready at once) and queues it; a constraint that cannot compile fails
   * the sequence with the 400 naming why.
   */
  private compileThenQueue(
    seq: Sequence,
    grammar: NonNullable<EngineOptions['grammar']>,
    constraint: OutputConstraint,
  ): void {
    this.compiling.add(seq);
    grammar.matcher(constraint).then(
      (matcher) => {
        if (!this.compiling.delete(seq)) return matcher.dispose(); // aborted or closed meanwhile
        seq.matcher = matcher;
        this.waitingQueue.push(seq);
        this.updateGauges();
        this.kick();
      },
      (err: unknown) => {
        if (!this.compiling.delete(seq)) return;
        if (seq.onAbort !== undefined) seq.request.signal?.removeEventListener('abort', seq.onAbort);
        seq.stream.fail(
          err instanceof InferdError
            ? err
            : new InferdError('INF_ERR_RUNTIME', `compiling the output constraint failed: ${String(err)}`),
        );
        this.updateGauges();
      },
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    // Waiting sequences never start; running ones finish.
    for (const seq of this.waitingQueue.splice(0)) this.finish(seq, 'abort', undefined, '');
    for (const seq of [...this.compiling]) {
      this.compiling.delete(seq);
      this.finish(seq, 'abort', undefined, '');
    }
    await this.loop;
    await this.decoder.close();
    await this.grammar?.close();
  }

  private validate(request: GenerationRequest): void {
    const prompt = request.promptTokenIds;
    if (prompt.length === 0) throw invalidArgument('the prompt is empty: give at least one token');
    if (prompt.length >= this.contextLength)
      throw invalidArgument(
        `This model's maximum context length is ${this.contextLength} tokens. However, the prompt has ${prompt.length} tokens, which leaves no room to generate.`,
      );
    for (const t of prompt) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize)
        throw invalidArgument(`token id ${t} is out of vocabulary (0..${this.vocabSize - 1})`);
    }
    if (!Number.isInteger(request.sampling.maxTokens) || request.sampling.maxTokens < 1)
      throw invalidArgument(`max_tokens must be at least 1, got ${request.sampling.maxTokens}`);
  }

  private abort(seq: Sequence): void {
    seq.aborted = true;
    if (this.compiling.delete(seq)) {
      this.finish(seq, 'abort', undefined, '');
      this.updateGauges();
      return;
    }
    const i = this.waitingQueue.indexOf(seq);
    if (i >= 0) {
      this.waitingQueue.splice(i, 1);
      this.finish(seq, 'abort', undefined, '');
      this.updateGauges();
    }
    // A running sequence leaves at the start of the next step.
  }

  private kick(): void {
    if (this.loop !== undefined) return;
    this.loop = this.run()
      .catch((err: unknown) => this.failRunning(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.loop = undefined;
        // Waiting sequences still get their turn after a failed step (a dead decoder fails them
        // promptly; a step that failed on its inputs does not take the model down).
        if (this.waitingQueue.length > 0) this.kick();
      });
  }

  private async run(): Promise<void> {
    for (;;) {
      this.reapAborted();
      this.admit();
      this.updateGauges();
      if (this.runningList.length === 0) break;
      const decoding = this.runningList.filter((s) => s.phase === 'decode');
      if (decoding.length > 0) await this.decodeStep(decoding);
      this.reapAborted();
      const prefilling = this.runningList.filter((s) => s.phase === 'prefill');
      if (prefilling.length > 0) await this.prefillStep(prefilling);
    }
    // Frees of the last finished sequences, so their caches do not outlive them.
    if (this.hasOps()) await this.decoder.step([], this.takeOps());
  }

  private hasOps(): boolean {
    return this.ops.free.length + this.ops.fork.length + this.ops.dropEntries.length > 0;
  }

  private takeOps(): CacheOps {
    const ops = this.ops;
    this.ops = { free: [], fork: [], dropEntries: [] };
    return ops;
  }

  private reapAborted(): void {
    for (const seq of this.runningList.filter((s) => s.aborted)) this.finish(seq, 'abort', undefined, '');
  }

  private admit(): void {
    while (this.runningList.length < this.limits.maxRunningSequences && !this.closing) {
      const seq = this.waitingQueue.shift();
      if (seq === undefined) break;
      seq.phase = 'prefill';
      seq.scheduledNs = process.hrtime.bigint();
      this.metrics?.genQueueTime.observe(
        { model_name: this.modelName },
        Number(seq.scheduledNs - seq.request.arrivalNs) / 1e9,
      );
      const hit = this.prefixCache.lookup(seq.prompt);
      this.metrics?.genPrefixQueries.inc({ model_name: this.modelName }, seq.prompt.length);
      if (hit !== undefined) {
        this.ops.fork.push({ seq: seq.id, entry: hit.entry, length: hit.length });
        seq.prefilled = hit.length;
        seq.cachedTokens = hit.length;
        this.metrics?.genPrefixHits.inc({ model_name: this.modelName }, hit.length);
      }
      this.metrics?.genPromptTokens.inc({ model_name: this.modelName }, seq.prompt.length);
      this.runningList.push(seq);
    }
  }

  private async decodeStep(all: readonly Sequence[]): Promise<void> {
    const seqs = await this.constrainedTurn(all);
    if (seqs.length === 0) return;
    const rows = seqs.map((s) => ({ seq: s.id, tokenIds: [s.lastToken] }));
    const out = await this.decoder.step(rows, this.takeOps());
    seqs.forEach((s, i) => this.onLogits(s, out.logits.subarray(i * out.vocab, (i + 1) * out.vocab)));
  }

  /**
   * The masks of the constrained sequences about to sample. A sequence whose grammar is complete
   * (only a stop token is allowed) finishes with 'stop' without spending a step on the stop token;
   * one out of tokens finishes with 'length' (its text may then be incomplete). Both checks wait
   * for the mask, so a grammar completed by the last allowed token still counts as 'stop'.
   */
  private async constrainedTurn(seqs: readonly Sequence[]): Promise<Sequence[]> {
    const waits: Promise<void>[] = [];
    for (const s of seqs) {
      const matcher = s.matcher;
      if (matcher === undefined || s.mask !== undefined) continue;
      waits.push(
        matcher.mask().then((mask) => {
          s.mask = mask;
        }),
      );
    }
    if (waits.length > 0) await Promise.all(waits);
    const live: Sequence[] = [];
    for (const s of seqs) {
      if (s.matcher === undefined || s.mask === undefined || s.generated === 0 || s.aborted) {
        live.push(s);
        continue;
      }
      if (allowsOnly(s.mask, this.grammarStops)) this.finish(s, 'stop', undefined, s.detok.flush());
      else if (s.generated >= s.request.sampling.maxTokens || s.prompt.length + s.generated >= this.contextLength)
        this.finish(s, 'length', undefined, s.detok.flush());
      else live.push(s);
    }
    return live;
  }

  /** One chunk of prompt tokens, shared among the prefilling sequences in admission order. */
  private async prefillStep(seqs: readonly Sequence[]): Promise<void> {
    await this.constrainedTurn(seqs);
    let budget = this.limits.prefillChunkTokens;
    const rows: StepRow[] = [];
    const members: Sequence[] = [];
    const save: { seq: number; entry: number; length: number }[] = [];
    for (const s of seqs) {
      if (budget <= 0) break;
      const n = Math.min(budget, s.prompt.length - s.prefilled);
      rows.push({ seq: s.id, tokenIds: s.prompt.slice(s.prefilled, s.prefilled + n) });
      members.push(s);
      budget -= n;
      if (s.prefilled + n === s.prompt.length && this.limits.prefixCacheBlocks > 0) {
        const added = this.prefixCache.insert(s.prompt);
        if (added !== undefined) {
          // An entry decided earlier in this step and evicted already is not saved (it would
          // outlive its index entry in the decoder).
          for (const e of added.evicted) {
            const j = save.findIndex((x) => x.entry === e);
            if (j >= 0) save.splice(j, 1);
          }
          save.push({ seq: s.id, entry: added.entry, length: added.length });
          this.ops.dropEntries.push(...added.evicted);
        }
      }
    }
    let out: StepResult;
    try {
      out = await this.decoder.step(rows, { ...this.takeOps(), save });
    } catch (err) {
      // The entries were never saved: forget them, or a later prompt would fork a missing entry.
      for (const x of save) this.prefixCache.forget(x.entry);
      throw err;
    }
    members.forEach((s, i) => {
      s.prefilled += (rows[i] as StepRow).tokenIds.length;
      if (s.prefilled < s.prompt.length) return;
      s.phase = 'decode';
      this.onLogits(s, out.logits.subarray(i * out.vocab, (i + 1) * out.vocab));
    });
  }

  /** Samples a sequence's next token and streams what became final. */
  private onLogits(s: Sequence, logits: Float32Array): void {
    if (s.aborted) return;
    const now = process.hrtime.bigint();
    const sampled = s.sampler.sample(logits, s.mask);
    const tokenId = sampled.tokenId;
    s.sampler.accept(tokenId);
    s.generated++;
    const labels = { model_name: this.modelName };
    if (s.generated === 1) this.metrics?.genTimeToFirstToken.observe(labels, Number(now - s.request.arrivalNs) / 1e9);
    else this.metrics?.genInterTokenLatency.observe(labels, Number(now - s.lastTokenNs) / 1e9);
    s.lastTokenNs = now;
    this.metrics?.genGenerationTokens.inc(labels);
    const logprobs = sampled.logprob === undefined ? undefined : [this.tokenLogprob(tokenId, sampled)];
    const chunk = (text: string): GenerationChunk =>
      logprobs === undefined ? { text, tokenIds: [tokenId] } : { text, tokenIds: [tokenId], logprobs };
    if (s.matcher !== undefined) return this.onConstrainedToken(s, s.matcher, tokenId, chunk);
    if (s.sampler.isStopToken(tokenId)) {
      // The stop token's own text is not part of the output (vLLM); held-back text is released.
      s.stream.push(chunk(s.stops.flush()));
      return this.finish(s, 'stop', tokenId, '');
    }
    const check = s.stops.push(s.detok.push([tokenId]));
    if (check.stop !== undefined) {
      s.stream.push(chunk(check.text));
      return this.finish(s, 'stop', check.stop, '');
    }
    if (s.generated >= s.request.sampling.maxTokens || s.prompt.length + s.generated >= this.contextLength) {
      const tail = s.stops.push(s.detok.flush());
      if (tail.stop !== undefined) {
        s.stream.push(chunk(check.text + tail.text));
        return this.finish(s, 'stop', tail.stop, '');
      }
      s.stream.push(chunk(check.text + tail.text + s.stops.flush()));
      return this.finish(s, 'length', undefined, '');
    }
    s.stream.push(chunk(check.text));
    s.lastToken = tokenId;
  }

  /**
   * A constrained sequence's token: the grammar advances, and only the grammar ends the text: a
   * stop token (EOS, allowed only where the grammar may end) ends it; stop strings, stop_token_ids,
   * min_tokens and ignore_eos do not apply. max_tokens and the context end it in constrainedTurn.
   */
  private onConstrainedToken(
    s: Sequence,
    matcher: ConstraintMatcher,
    tokenId: number,
    chunk: (text: string) => GenerationChunk,
  ): void {
    s.mask = undefined;
    if (!matcher.accept(tokenId)) {
      // Unreachable while the sampler honours the mask; a sequence that got here cannot go on.
      const i = this.runningList.indexOf(s);
      if (i >= 0) this.runningList.splice(i, 1);
      this.ops.free.push(s.id);
      if (s.onAbort !== undefined) s.request.signal?.removeEventListener('abort', s.onAbort);
      matcher.dispose();
      s.stream.fail(new InferdError('INF_ERR_RUNTIME', `the grammar refused token ${tokenId}, which its mask allowed`));
      return;
    }
    if (matcher.isTerminated()) {
      s.stream.push(chunk(s.detok.flush()));
      return this.finish(s, 'stop', tokenId, '');
    }
    s.stream.push(chunk(s.detok.push([tokenId])));
    s.lastToken = tokenId;
  }

  private tokenLogprob(
    tokenId: number,
    sampled: { logprob?: number; top?: readonly { tokenId: number; logprob: number }[] },
  ): TokenLogprob {
    const piece = (id: number): string => this.tokenizer.decode([id], { skipSpecialTokens: false });
    return {
      tokenId,
      token: piece(tokenId),
      logprob: sampled.logprob ?? 0,
      top: (sampled.top ?? []).map((t) => ({ tokenId: t.tokenId, token: piece(t.tokenId), logprob: t.logprob })),
    };
  }

  private finish(s: Sequence, reason: FinishReason, stoppedBy: string | number | undefined, text: string): void {
    if (text !== '') s.stream.push({ text, tokenIds: [] });
    s.matcher?.dispose();
    const i = this.runningList.indexOf(s);
    if (i >= 0) {
      this.runningList.splice(i, 1);
      this.ops.free.push(s.id);
    }
    if (s.onAbort !== undefined) s.request.signal?.removeEventListener('abort', s.onAbort);
    const labels = { model_name: this.modelName };
    this.metrics?.genRequestSuccess.inc({ ...labels, finished_reason: reason });
    this.metrics?.genE2eLatency.observe(labels, Number(process.hrtime.bigint() - s.request.arrivalNs) / 1e9);
    s.stream.end({
      finishReason: reason,
      stoppedBy,
      promptTokens: s.prompt.length,
      completionTokens: s.generated,
      cachedTokens: s.cachedTokens,
    });
  }

  /** A step failed: its sequences fail with the error and their caches are freed; waiting ones still run. */
  private failRunning(err: Error): void {
    const wrapped =
      err instanceof InferdError ? err : new InferdError('INF_ERR_RUNTIME', `generation failed: ${err.message}`);
    for (const s of this.runningList.splice(0)) {
      if (s.onAbort !== undefined) s.request.signal?.removeEventListener('abort', s.onAbort);
      s.matcher?.dispose();
      this.ops.free.push(s.id);
      s.stream.fail(wrapped);
    }
    this.updateGauges();
  }

  load(): GenerationLoad {
    let tokens = 0;
    for (const s of this.runningList) tokens += s.prefilled + s.generated;
    return {
      running: this.runningList.length,
      maxRunning: this.limits.maxRunningSequences,
      waiting: this.waiting,
      maxWaiting: this.limits.maxWaitingSequences,
      kvCacheUsage: tokens / (this.limits.maxRunningSequences * this.contextLength),
    };
  }

  private updateGauges(): void {
    const m = this.metrics;
    if (m === undefined) return;
    m.generationLoad(this.modelName, this.load());
  }
}
