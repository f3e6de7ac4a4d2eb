"""Tiny BERT-family encoders with fixed random weights, exported as inferd model folders.

Writes, under --examples (default examples/models), for the docs and the tests:
  bert-rerank/       a cross-encoder (BertForSequenceClassification, one label): pooler + classifier
                     -> logits [batch, 1], served as task: rerank with sigmoid scores.
and under --out (default test/fixtures/encoders):
  bert-embed-cls/    a sentence-transformers style embedding export: input_ids, attention_mask,
                     token_type_ids -> last_hidden_state; pooling and normalisation given only by
                     sentence-transformers' own files (modules.json, 1_Pooling/config.json).
  bert-embed-mean/   the same graph, mean pooling without normalisation, set in config.yaml.
  roberta-embed/     the RoBERTa variant (position ids counted from padding_idx + 1, one token type,
                     no token_type_ids input, as optimum exports XLM-R), mean pooling.
  reference.json     the token ids the tokenizer gives for a few texts and pairs, and PyTorch's
                     pooled embeddings and scores for them.

No training and no transformers package: the model is written here as Hugging Face's BertModel
computes it (embeddings word + position + token type, LayerNorm; post-LN encoder layers with exact
GELU; pooler dense + tanh on the first token). The tokenizer is a WordPiece vocabulary built from a
small word list, written as a Hugging Face tokenizer.json (BertNormalizer, BertPreTokenizer,
WordPiece, TemplateProcessing with the pair template) and mirrored here in Python, so the
reference token ids are the ones @huggingface/tokenizers must produce.

Run with Debian's python3 (python3-torch, python3-onnx): /usr/bin/python3 tools/llm/bert.py
"""

import argparse
import json
import math
import os
import shutil
import unicodedata

import torch
from torch import nn

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
WORDS = """
the a an and or of to in on at for with by from is are was were be been it this that these those
he she they we you i his her their our your my me him them us not no yes all some every one two
three four five first last new old good bad big small long short high low great little more most
cat cats dog dogs bird fish horse cow sheep lion tiger animal animals pet pets food eat eats eating
water river sea ocean lake rain snow sun moon star stars sky cloud wind storm weather cold hot warm
city town village house home road street car cars train trains bus plane ship boat travel trip
book books read reads reading write writes writing word words story stories letter page library
school student students teacher class lesson learn learns learning study science math history
computer computers code program programs software data network server servers model models
language languages text search query document documents answer answers question questions rank
music song songs play plays game games sport sports ball team win lose run runs running walk
paris france london england berlin germany rome italy capital country countries world europe
king queen lord god man woman men women child children people family friend friends love life
day days night year years time week month morning evening today tomorrow yesterday
what where when why how who which can will would should could may might must do does did make
""".split()
PIECES = ['s', 'es', 'ed', 'ing', 'ly', 'er', 'est', 'ion', 'al']
PUNCT = list(".,!?;:'\"-()")


def build_vocab():
    vocab = list(SPECIALS)
    chars = [chr(c) for c in range(ord('a'), ord('z') + 1)] + [str(d) for d in range(10)]
    vocab += chars + PUNCT
    vocab += ['##' + c for c in chars]
    vocab += ['##' + p for p in PIECES]
    for w in WORDS:
        if w not in vocab:
            vocab.append(w)
    return {token: i for i, token in enumerate(vocab)}


def tokenizer_json(vocab):
    def special(token):
        return {'SpecialToken': {'id': token, 'type_id': 0}}

    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [
            {
                'id': vocab[t],
                'content': t,
                'single_word': False,
                'lstrip': False,
                'rstrip': False,
                'normalized': False,
                'special': True,
            }
            for t in SPECIALS
        ],
        'normalizer': {
            'type': 'BertNormalizer',
            'clean_text': True,
            'handle_chinese_chars': True,
            'strip_accents': None,
            'lowercase': True,
        },
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [special('[CLS]'), {'Sequence': {'id': 'A', 'type_id': 0}}, special('[SEP]')],
            'pair': [
                special('[CLS]'),
                {'Sequence': {'id': 'A', 'type_id': 0}},
                special('[SEP]'),
                {'Sequence': {'id': 'B', 'type_id': 1}},
                {'SpecialToken': {'id': '[SEP]', 'type_id': 1}},
            ],
            'special_tokens': {t: {'id': t, 'ids': [vocab[t]], 'tokens': [t]} for t in ['[CLS]', '[SEP]']},
        },
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'model': {
            'type': 'WordPiece',
            'unk_token': '[UNK]',
            'continuing_subword_prefix': '##',
            'max_input_chars_per_word': 100,
            'vocab': vocab,
        },
    }


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def strip_accents(text):
    return ''.join(c for c in unicodedata.normalize('NFD', text) if unicodedata.category(c) != 'Mn')


def words_of(text):
    """BertNormalizer (lowercase, accents stripped) then BertPreTokenizer (whitespace, punctuation)."""
    text = strip_accents(text.lower())
    out, current = [], ''
    for ch in text:
        if ch.isspace():
            if current:
                out.append(current)
            current = ''
        elif is_punctuation(ch):
            if current:
                out.append(current)
            out.append(ch)
            current = ''
        else:
            current += ch
    if current:
        out.append(current)
    return out


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab['[UNK]']]
    ids, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else '##' + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab['[UNK]']]
        ids.append(found)
        start = end
    return ids


def encode(text, vocab, pair=None):
    """(ids, token_type_ids) as the tokenizer.json's template builds them."""
    a = [i for w in words_of(text) for i in wordpiece(w, vocab)]
    ids = [vocab['[CLS]']] + a + [vocab['[SEP]']]
    types = [0] * len(ids)
    if pair is not None:
        b = [i for w in words_of(pair) for i in wordpiece(w, vocab)]
        ids += b + [vocab['[SEP]']]
        types += [1] * (len(b) + 1)
    return ids, types


class Layer(nn.Module):
    def __init__(self, hidden, heads, inner, eps):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.inner = nn.Linear(hidden, inner)
        self.out = nn.Linear(inner, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x, bias):
        b, s, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, s, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + self.attn_out(context))
        return self.out_norm(x + self.out(nn.functional.gelu(self.inner(x))))


class Encoder(nn.Module):
    """BertModel (roberta=False) or RobertaModel (position ids from the mask, offset by padding_idx + 1)."""

    def __init__(self, vocab_size, hidden=32, layers=2, heads=2, inner=64, positions=128, types=2, roberta=False,
                 pad_id=0, eps=1e-12):
        super().__init__()
        self.roberta = roberta
        self.pad_id = pad_id
        self.word = nn.Embedding(vocab_size, hidden)
        self.position = nn.Embedding(positions + (pad_id + 1 if roberta else 0), hidden)
        self.token_type = nn.Embedding(types, hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList([Layer(hidden, heads, inner, eps) for _ in range(layers)])

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if self.roberta:
            # create_position_ids_from_input_ids: padding keeps padding_idx, real tokens count from it + 1.
            real = (input_ids != self.pad_id).long()
            position_ids = torch.cumsum(real, dim=1) * real + self.pad_id
        else:
            position_ids = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.norm(self.word(input_ids) + self.position(position_ids) + self.token_type(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        return x


class WithTypes(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.encoder(input_ids, attention_mask, token_type_ids)


class WithoutTypes(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids, attention_mask)


class CrossEncoder(nn.Module):
    """BertForSequenceClassification with one label: classifier(tanh(dense(h[:, 0])))."""

    def __init__(self, encoder, hidden, labels=1):
        super().__init__()
        self.encoder = encoder
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.encoder(input_ids, attention_mask, token_type_ids)
        return self.classifier(torch.tanh(self.pooler(h[:, 0])))


def init(module, seed, std):
    torch.manual_seed(seed)
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.normal_(p, std=std)
        else:
            nn.init.normal_(p, std=std / 4)
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.normal_(m.bias, std=0.02)


def export(model, path, names, output):
    batch = 2
    ids = torch.randint(5, 40, (batch, 7))
    args = tuple([ids, torch.ones_like(ids), torch.zeros_like(ids)][: len(names)])
    axes = {n: {0: 'batch_size', 1: 'sequence_length'} for n in names}
    axes[output] = {0: 'batch_size'} if output == 'logits' else {0: 'batch_size', 1: 'sequence_length'}
    torch.onnx.export(model, args, path, input_names=names, output_names=[output], dynamic_axes=axes,
                      opset_version=17, do_constant_folding=True)


def batch_tensors(encoded):
    """Right-padded input_ids, attention_mask, token_type_ids for a list of (ids, types)."""
    length = max(len(ids) for ids, _ in encoded)
    ids = torch.zeros(len(encoded), length, dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for r, (i, t) in enumerate(encoded):
        ids[r, : len(i)] = torch.tensor(i)
        mask[r, : len(i)] = 1
        types[r, : len(t)] = torch.tensor(t)
    return ids, mask, types


def pooled(hidden, mask, mode, normalize):
    if mode == 'cls':
        out = hidden[:, 0]
    else:
        m = mask.unsqueeze(-1).float()
        out = (hidden * m).sum(1) / m.sum(1)
    return nn.functional.normalize(out, dim=-1) if normalize else out


def write_folder(folder, config_yaml, model, names, output, vocab, extra_files):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(os.path.join(folder, '1'))
    with open(os.path.join(folder, 'config.yaml'), 'w') as f:
        f.write(config_yaml)
    version = os.path.join(folder, '1')
    export(model, os.path.join(version, 'model.onnx'), names, output)
    with open(os.path.join(version, 'tokenizer.json'), 'w') as f:
        json.dump(tokenizer_json(vocab), f, separators=(',', ':'))
    tokenizer_config = {
        'tokenizer_class': 'BertTokenizer',
        'do_lower_case': True,
        'cls_token': '[CLS]',
        'sep_token': '[SEP]',
        'pad_token': '[PAD]',
        'unk_token': '[UNK]',
        'mask_token': '[MASK]',
        'model_max_length': 128,
    }
    with open(os.path.join(version, 'tokenizer_config.json'), 'w') as f:
        json.dump(tokenizer_config, f, indent=2)
    for name, content in extra_files.items():
        path = os.path.join(version, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(content, f, indent=2)


TEXTS = [
    'The cat eats fish.',
    'Paris is the capital of France.',
    'Reading books in the library, every morning!',
    'Servers run models.',
    'Zebras',
]
QUERY = 'What is the capital of France?'
DOCUMENTS = [
    'Paris is the capital of France.',
    'The cat eats fish.',
    'Berlin is the capital of Germany.',
    'Students learn history at school every day.',
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default='test/fixtures/encoders')
    parser.add_argument('--examples', default='examples/models')
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    vocab = build_vocab()
    hidden = 32
    os.makedirs(args.out, exist_ok=True)

    bert = Encoder(len(vocab), hidden=hidden)
    init(bert, 1, 0.2)
    bert.eval()
    roberta = Encoder(len(vocab), hidden=hidden, roberta=True, types=1)
    init(roberta, 2, 0.2)
    roberta.eval()
    cross = CrossEncoder(Encoder(len(vocab), hidden=hidden), hidden)
    init(cross, 3, 0.2)
    nn.init.normal_(cross.classifier.weight, std=1.0)
    cross.eval()

    base_config = {'architectures': ['BertModel'], 'model_type': 'bert', 'hidden_size': hidden,
                   'num_hidden_layers': 2, 'num_attention_heads': 2, 'intermediate_size': 64,
                   'max_position_embeddings': 128, 'type_vocab_size': 2, 'vocab_size': len(vocab),
                   'pad_token_id': 0, 'layer_norm_eps': 1e-12, 'hidden_act': 'gelu'}
    st_files = {
        'config.json': base_config,
        'modules.json': [
            {'idx': 0, 'name': '0', 'path': '', 'type': 'sentence_transformers.models.Transformer'},
            {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type': 'sentence_transformers.models.Pooling'},
            {'idx': 2, 'name': '2', 'path': '2_Normalize', 'type': 'sentence_transformers.models.Normalize'},
        ],
        '1_Pooling/config.json': {
            'word_embedding_dimension': hidden,
            'pooling_mode_cls_token': True,
            'pooling_mode_mean_tokens': False,
            'pooling_mode_max_tokens': False,
            'pooling_mode_mean_sqrt_len_tokens': False,
        },
        'sentence_bert_config.json': {'max_seq_length': 128, 'do_lower_case': False},
    }
    with_types = ['input_ids', 'attention_mask', 'token_type_ids']
    header = '# Written by tools/llm/bert.py: fixed random weights, for tests (the vectors mean nothing).\n'
    write_folder(os.path.join(args.out, 'bert-embed-cls'),
                 header + '# Pooling and normalisation come from modules.json and 1_Pooling/config.json.\n'
                 'task: embedding\nmax_batch_size: 16\ndynamic_batching:\n  max_queue_delay_microseconds: 2000\n',
                 WithTypes(bert), with_types, 'last_hidden_state', vocab, st_files)
    write_folder(os.path.join(args.out, 'bert-embed-mean'),
                 header + 'task: embedding\nmax_batch_size: 16\nembedding:\n  pooling: mean\n  normalize: false\n  max_tokens: 128\n',
                 WithTypes(bert), with_types, 'last_hidden_state', vocab, {'config.json': base_config})
    write_folder(os.path.join(args.out, 'roberta-embed'),
                 header + 'task: embedding\nmax_batch_size: 16\nembedding:\n  pooling: mean\n  normalize: true\n  max_tokens: 128\n',
                 WithoutTypes(roberta), ['input_ids', 'attention_mask'], 'last_hidden_state', vocab,
                 {'config.json': {**base_config, 'model_type': 'roberta', 'architectures': ['RobertaModel'],
                                  'type_vocab_size': 1}})
    write_folder(os.path.join(args.examples, 'bert-rerank'),
                 '# A cross-encoder written by tools/llm/bert.py with fixed random weights: it shows the\n'
                 '# rerank and score APIs, its scores rank nothing.\n'
                 'task: rerank\nmax_batch_size: 16\ndynamic_batching:\n  max_queue_delay_microseconds: 2000\n'
                 'rerank:\n  activation: sigmoid\n  max_tokens: 128\n',
                 cross, with_types, 'logits', vocab,
                 {'config.json': {**base_config, 'architectures': ['BertForSequenceClassification'],
                                  'num_labels': 1}})

    singles = [encode(t, vocab) for t in TEXTS]
    ids, mask, types = batch_tensors(singles)
    h_bert = bert(ids, mask, types)
    h_roberta = roberta(ids, mask)
    pairs = [encode(QUERY, vocab, d) for d in DOCUMENTS]
    pids, pmask, ptypes = batch_tensors(pairs)
    logits = cross(pids, pmask, ptypes)[:, 0]

    def rows(t):
        return [[round(float(x), 7) for x in row] for row in t]

    reference = {
        'texts': TEXTS,
        'token_ids': [i for i, _ in singles],
        'embeddings': {
            'bert-embed-cls': rows(pooled(h_bert, mask, 'cls', True)),
            'bert-embed-mean': rows(pooled(h_bert, mask, 'mean', False)),
            'roberta-embed': rows(pooled(h_roberta, mask, 'mean', True)),
        },
        'query': QUERY,
        'documents': DOCUMENTS,
        'pair_token_ids': [i for i, _ in pairs],
        'pair_token_type_ids': [t for _, t in pairs],
        'logits': [round(float(x), 7) for x in logits],
        'scores': [round(float(x), 7) for x in torch.sigmoid(logits)],
    }
    with open(os.path.join(args.out, 'reference.json'), 'w') as f:
        json.dump(reference, f, indent=1)
    print('vocabulary', len(vocab), 'logits', reference['logits'])


if __name__ == '__main__':
    main()
