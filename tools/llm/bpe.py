"""A byte-level BPE tokenizer: training over word counts, encoding, decoding, and writing it as a
Hugging Face tokenizer.json that @huggingface/tokenizers loads and encodes identically.

Pre-tokenisation is a Split on PATTERN (explicit ASCII classes, so Python's `re` and JavaScript's
RegExp agree) followed by ByteLevel without its own regex."""

import json
import re
from collections import Counter, defaultdict

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+"""
SPECIALS = ['<|bos|>', '<|eos|>', '<|pad|>', '<|system|>', '<|user|>', '<|assistant|>']
BOS, EOS, PAD = SPECIALS[0], SPECIALS[1], SPECIALS[2]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}
_split = re.compile(PATTERN)
_special = re.compile('(' + '|'.join(re.escape(s) for s in SPECIALS) + ')')


def pre_tokenize(text: str) -> list[str]:
    return [''.join(BYTE_ENCODER[b] for b in piece.encode('utf-8')) for piece in _split.findall(text)]


def train(texts: list[str], vocab_size: int) -> list[tuple[str, str]]:
    """Merges, most frequent pair first (ties broken by the pair itself, for determinism)."""
    words = Counter()
    for t in texts:
        words.update(pre_tokenize(t))
    seqs = [list(w) for w in words]
    counts = [words[w] for w in words]
    pairs: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += counts[i]
            where[(a, b)].add(i)
    merges: list[tuple[str, str]] = []
    n_merges = vocab_size - len(SPECIALS) - 256
    while len(merges) < n_merges and pairs:
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pairs[best] <= 1:
            break
        merges.append(best)
        a, b = best
        for i in list(where.pop(best, ())):
            s, c = seqs[i], counts[i]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= c
                if pairs[(x, y)] == 0:
                    del pairs[(x, y)]
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += c
                where[(x, y)].add(i)
        pairs.pop(best, None)
    return merges


class Tokenizer:
    def __init__(self, merges: list[tuple[str, str]]):
        self.merges = merges
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.vocab: dict[str, int] = {s: i for i, s in enumerate(SPECIALS)}
        for b in range(256):
            self.vocab[BYTE_ENCODER[b]] = len(self.vocab)
        for a, b in merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.inverse = {i: s for s, i in self.vocab.items()}
        self.cache: dict[str, list[int]] = {}

    @property
    def bos_id(self) -> int:
        return self.vocab[BOS]

    @property
    def eos_id(self) -> int:
        return self.vocab[EOS]

    @property
    def pad_id(self) -> int:
        return self.vocab[PAD]

    def _bpe(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.ranks.get((x, y), 1 << 30), k) for k, (x, y) in enumerate(zip(parts, parts[1:]))]
            rank, k = min(ranked)
            if rank == 1 << 30:
                break
            parts[k : k + 2] = [parts[k] + parts[k + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        ids = [self.bos_id] if add_bos else []
        for chunk in _special.split(text):
            if chunk in self.vocab and chunk in SPECIALS:
                ids.append(self.vocab[chunk])
            elif chunk:
                for w in pre_tokenize(chunk):
                    ids.extend(self._bpe(w))
        return ids

    def decode(self, ids: list[int], skip_special: bool = True) -> str:
        out, buf = [], []
        for i in ids:
            s = self.inverse[i]
            if s in SPECIALS:
                if buf:
                    out.append(bytes(buf).decode('utf-8', errors='replace'))
                    buf = []
                if not skip_special:
                    out.append(s)
            else:
                buf.extend(BYTE_DECODER[c] for c in s)
        if buf:
            out.append(bytes(buf).decode('utf-8', errors='replace'))
        return ''.join(out)

    def to_hf_json(self) -> dict:
        bos = self.bos_id
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [
                {
                    'id': self.vocab[s],
                    'content': s,
                    'single_word': False,
                    'lstrip': False,
                    'rstrip': False,
                    'normalized': False,
                    'special': True,
                }
                for s in SPECIALS
            ],
            'normalizer': None,
            'pre_tokenizer': {
                'type': 'Sequence',
                'pretokenizers': [
                    {'type': 'Split', 'pattern': {'Regex': PATTERN}, 'behavior': 'Isolated', 'invert': False},
                    {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
                ],
            },
            'post_processor': {
                'type': 'TemplateProcessing',
                'single': [{'SpecialToken': {'id': BOS, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                'pair': [
                    {'SpecialToken': {'id': BOS, 'type_id': 0}},
                    {'Sequence': {'id': 'A', 'type_id': 0}},
                    {'SpecialToken': {'id': BOS, 'type_id': 1}},
                    {'Sequence': {'id': 'B', 'type_id': 1}},
                ],
                'special_tokens': {BOS: {'id': BOS, 'ids': [bos], 'tokens': [BOS]}},
            },
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
            'model': {
                'type': 'BPE',
                'dropout': None,
                'unk_token': None,
                'continuing_subword_prefix': None,
                'end_of_word_suffix': None,
                'fuse_unk': False,
                'byte_fallback': False,
                'ignore_merges': False,
                'vocab': self.vocab,
                'merges': [f'{a} {b}' for a, b in self.merges],
            },
        }

    def save(self, path: str) -> None:
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=None, separators=(',', ':'))
            f.write('\n')

    @staticmethod
    def load(path: str) -> 'Tokenizer':
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        return Tokenizer([tuple(m.split(' ')) for m in data['model']['merges']])


# A chat template in Jinja: role markers on their own lines; the tokenizer adds <|bos|> itself.
# With tools (Hermes convention, as Qwen's templates): the system turn lists the functions, an
# assistant's calls are `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` blocks and a
# tool result is a `tool` turn. Chats without tools render as CHAT_TEMPLATE always did (chat_prompt).
CHAT_TEMPLATE = (
    "{%- if tools -%}"
    "{{- '<|system|>\\n' -}}"
    "{%- if messages[0]['role'] == 'system' -%}{{- messages[0]['content'] + '\\n' -}}{%- endif -%}"
    "{{- 'Tools:\\n' -}}"
    "{%- for tool in tools -%}"
    "{%- set function = tool['function'] -%}"
    "{{- function['name'] + '(' -}}"
    "{%- if function['parameters'] is defined and function['parameters']['properties'] is defined -%}{%- for name in function['parameters']['properties'] -%}{{- (', ' if not loop.first else '') + name -}}{%- endfor -%}{%- endif -%}"
    "{{- ')' -}}"
    "{%- if function['description'] -%}{{- ': ' + function['description'] -}}{%- endif -%}"
    "{{- '\\n' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if tools and loop.first and message['role'] == 'system' -%}"
    "{%- elif message['role'] == 'assistant' and message['tool_calls'] -%}"
    "{{- '<|assistant|>\\n' -}}"
    "{%- if message['content'] -%}{{- message['content'] + '\\n' -}}{%- endif -%}"
    "{%- for call in message['tool_calls'] -%}"
    "{{- '<tool_call>\\n{\"name\": \"' + call['function']['name'] + '\", \"arguments\": ' + (call['function']['arguments'] | tojson) + '}\\n</tool_call>\\n' -}}"
    "{%- endfor -%}"
    "{%- else -%}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}"
)


def chat_prompt(messages: list[dict], add_generation_prompt: bool = True) -> str:
    """What CHAT_TEMPLATE renders, in Python."""
    s = ''.join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages)
    return s + ('<|assistant|>\n' if add_generation_prompt else '')


def tokenizer_config(max_length: int) -> dict:
    return {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'bos_token': BOS,
        'eos_token': EOS,
        'pad_token': PAD,
        'unk_token': None,
        'add_bos_token': True,
        'add_eos_token': False,
        'model_max_length': max_length,
        'clean_up_tokenization_spaces': False,
        'chat_template': CHAT_TEMPLATE,
    }


if __name__ == '__main__':
    import argparse
    import os
    import time

    from corpus import split

    ap = argparse.ArgumentParser(description='Trains the BPE tokenizer on the training verses.')
    ap.add_argument('--vocab-size', type=int, default=1536)
    ap.add_argument('--out', default='.tmp/llm/tokenizer.json')
    a = ap.parse_args()
    train_verses, _ = split()
    t0 = time.time()
    tok = Tokenizer(train([v.text for v in train_verses], a.vocab_size))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tok.save(a.out)
    n = sum(len(tok.encode(v.text, add_bos=False)) for v in train_verses)
    chars = sum(len(v.text) for v in train_verses)
    print(f'{len(tok.vocab)} tokens in {time.time() - t0:.1f}s; {n} training tokens, {chars / n:.2f} chars/token')
