// The vocabulary constrained decoding matches text against, read from a Hugging Face
// tokenizer.json: token strings by id and how they map to bytes, in xgrammar's terms.

type Json = Record<string, unknown>;

/** How tokenizer.json's token strings map to bytes, in xgrammar's terms. */
export type VocabType = 'byte_level' | 'byte_fallback' | 'raw';

/** The vocabulary xgrammar matches text against: token strings by id, as tokenizer.json spells them. */
export interface GrammarVocabulary {
  /** Indexed by token id; special tokens are '' (never part of constrained text). */
  readonly tokens: readonly string[];
  readonly vocabType: VocabType;
  /** SentencePiece's leading-space convention (Metaspace with a prepended ▁). */
  readonly prependSpace: boolean;
}

/** Reads the vocabulary and its byte convention from a Hugging Face tokenizer.json. */
export function grammarVocabulary(tokenizerJson: Readonly<Json>): GrammarVocabulary {
  const tokens: string[] = [];
  const model = (tokenizerJson['model'] ?? {}) as Json;
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) {
    // Unigram: [token, score] pairs in id order.
    vocab.forEach((entry, id) => {
      tokens[id] = Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : '';
    });
  } else if (vocab !== null && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>))
      if (typeof id === 'number') tokens[id] = token;
  }
  const added = tokenizerJson['added_tokens'];
  if (Array.isArray(added)) {
    for (const t of added as Json[]) {
      const id = t['id'];
      if (typeof id !== 'number') continue;
      tokens[id] = t['special'] === true ? '' : typeof t['content'] === 'string' ? t['content'] : '';
    }
  }
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) tokens[i] = '';
  const decoders = componentTypes(tokenizerJson['decoder']);
  const vocabType: VocabType = decoders.some((d) => d['type'] === 'ByteLevel')
    ? 'byte_level'
    : model['byte_fallback'] === true || decoders.some((d) => d['type'] === 'ByteFallback')
      ? 'byte_fallback'
      : 'raw';
  const prependSpace = decoders.some(
    (d) =>
      d['type'] === 'Metaspace' &&
      (d['add_prefix_space'] === true || d['prepend_scheme'] === 'always' || d['prepend_scheme'] === 'first'),
  );
  return { tokens, vocabType, prependSpace };
}

/** A decoder and, for a Sequence, its members. */
function componentTypes(decoder: unknown): Json[] {
  if (decoder === null || typeof decoder !== 'object') return [];
  const d = decoder as Json;
  const members = d['decoders'];
  return Array.isArray(members) ? [d, ...(members as unknown[]).flatMap(componentTypes)] : [d];
}
