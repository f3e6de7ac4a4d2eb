// A model folder's tokenizer and chat template (Hugging Face files: tokenizer.json,
// tokenizer_config.json, and the EOS ids of generation_config.json / config.json), behind the
// TextTokenizer contract. Encoding runs @huggingface/tokenizers; the chat template runs in
// @huggingface/jinja with the variables transformers passes (messages, add_generation_prompt,
// bos_token, eos_token, and tools when the request has them).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import * as tokenizers from '@huggingface/tokenizers';
import { InferdError, invalidArgument } from '../errors/index.js';
import type { ChatMessage, ChatTemplateOptions, TextTokenizer } from './engine-types.js';

type Json = Record<string, unknown>;

/** The part of @huggingface/tokenizers used here, typed by hand: the package's own .d.ts files use
 * extensionless relative imports, which NodeNext resolution cannot follow. */
interface RawTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
}
const { Tokenizer } = tokenizers as unknown as { Tokenizer: new (tokenizer: Json, config: Json) => RawTokenizer };

export interface TokenizerFiles {
  /** tokenizer.json */
  readonly tokenizer: Json;
  /** tokenizer_config.json ({} when absent) */
  readonly config: Json;
  /** generation_config.json ({} when absent) */
  readonly generationConfig: Json;
  /** config.json ({} when absent) */
  readonly modelConfig: Json;
}

export class HfTokenizer implements TextTokenizer {
  readonly eosTokenIds: readonly number[];
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly padToken: string | undefined;
  /** tokenizer.json as read (the vocabulary constrained decoding matches against). */
  readonly tokenizerJson: Readonly<Json>;
  private readonly inner: RawTokenizer;
  private readonly template: Template | undefined;
  private readonly specialTokens: Readonly<Record<string, string>>;

  constructor(files: TokenizerFiles) {
    this.inner = new Tokenizer(files.tokenizer, files.config);
    this.tokenizerJson = files.tokenizer;
    this.bosToken = tokenText(files.config['bos_token']);
    this.eosToken = tokenText(files.config['eos_token']);
    this.padToken = tokenText(files.config['pad_token']);
    const special: Record<string, string> = {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
      const text = tokenText(files.config[key]);
      if (text !== undefined) special[key] = text;
    }
    this.specialTokens = special;
    this.vocabSize = vocabularySize(files);
    this.eosTokenIds = this.findEosIds(files);
    const source = chatTemplateSource(files.config['chat_template']);
    this.template = source === undefined ? undefined : new Template(source);
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): number[] {
    return this.inner.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    return this.inner.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? true });
  }

  /** True when the tokenizer config carries a chat template. */
  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string {
    if (this.template === undefined)
      throw invalidArgument(
        'this model has no chat template (tokenizer_config.json has no chat_template); use /v1/completions',
      );
    try {
      return this.template.render({
        messages: messages.map(templateMessage),
        ...(options?.tools === undefined || options.tools.length === 0 ? {} : { tools: options.tools }),
        add_generation_prompt: true,
        ...this.specialTokens,
      });
    } catch (err) {
      // Templates raise errors for conversations they refuse (e.g. roles out of order).
      throw invalidArgument(`the chat template refused these messages: ${(err as Error).message}`);
    }
  }

  /** The id of a token given as text, or undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  private findEosIds(files: TokenizerFiles): number[] {
    const ids = new Set<number>();
    for (const source of [files.generationConfig['eos_token_id'], files.modelConfig['eos_token_id']]) {
      for (const id of Array.isArray(source) ? source : [source]) if (Number.isInteger(id)) ids.add(id as number);
    }
    if (ids.size === 0 && this.eosToken !== undefined) {
      const id = this.inner.token_to_id(this.eosToken);
      if (id !== undefined) ids.add(id);
    }
    return [...ids];
  }
}

/** A message as transformers hands it to templates: `tool_calls` as `{id, type, function: {name, arguments}}`, `tool_call_id`. */
function templateMessage(m: ChatMessage): Json {
  return {
    role: m.role,
    content: m.content,
    ...(m.toolCalls === undefined
      ? {}
      : {
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          })),
        }),
    ...(m.toolCallId === undefined ? {} : { tool_call_id: m.toolCallId }),
  };
}

/** Reads the tokenizer files of a Hugging Face model folder. tokenizer.json is required. */
export async function loadTokenizer(folder: string): Promise<HfTokenizer> {
  const tokenizer = await readJson(folder, 'tokenizer.json', true);
  const [config, generationConfig, modelConfig] = await Promise.all([
    readJson(folder, 'tokenizer_config.json', false),
    readJson(folder, 'generation_config.json', false),
    readJson(folder, 'config.json', false),
  ]);
  try {
    return new HfTokenizer({ tokenizer, config, generationConfig, modelConfig });
  } catch (err) {
    throw new InferdError('INF_ERR_MODEL_LOAD', `cannot load the tokenizer in ${folder}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function readJson(folder: string, name: string, required: boolean): Promise<Json> {
  const file = path.join(folder, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new InferdError('INF_ERR_MODEL_LOAD', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Json;
  } catch (err) {
    throw new InferdError('INF_ERR_MODEL_LOAD', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Special tokens appear as a string or as an AddedToken object ({content: ...}). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const content = (value as Json)['content'];
    if (typeof content === 'string') return content;
  }
  return undefined;
}

/** chat_template is a string, or a list of named templates of which 'default' is the chat one. */
function chatTemplateSource(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const entry of value as Json[]) {
      if (entry['name'] === 'default' && typeof entry['template'] === 'string') return entry['template'];
    }
  }
  return undefined;
}

/** Largest token id + 1 over the vocabulary and added tokens, or config.json's vocab_size if larger (padded heads). */
function vocabularySize(files: TokenizerFiles): number {
  let size = 0;
  const model = files.tokenizer['model'] as Json | undefined;
  const vocab = model?.['vocab'];
  if (vocab !== null && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const id of Object.values(vocab as Record<string, unknown>))
      if (typeof id === 'number' && id + 1 > size) size = id + 1;
  } else if (Array.isArray(vocab)) size = vocab.length; // Unigram: [token, score] pairs
  const added = files.tokenizer['added_tokens'];
  if (Array.isArray(added)) {
    for (const t of added as Json[]) {
      const id = t['id'];
      if (typeof id === 'number' && id + 1 > size) size = id + 1;
    }
  }
  const declared = files.modelConfig['vocab_size'];
  return typeof declared === 'number' && declared > size ? declared : size;
}
