"""The embedding model: the trained decoder's trunk with bidirectional attention, fine-tuned with
an in-batch contrastive loss (InfoNCE) to map a verse's first half near its second half. Exported
in the feature-extraction format (input_ids, attention_mask -> last_hidden_state) beside its
tokenizer, with an evaluation (recall@1 on validation verses against a bag-of-words baseline)
and reference vectors for the Node test."""

import argparse
import json
import math
import os
import random
import time
from collections import Counter

import onnx
import torch
import torch.nn.functional as F
from torch import nn

from bpe import Tokenizer, tokenizer_config
from corpus import Verse, split
from export import hf_config, write_json
from fixtures import write
from model import Config, Llama, count_params, positions

MAX_TOKENS = 128

CONFIG_YAML = """# A {params:.1f}M-parameter text encoder for embeddings (mean pooling, unit length), from the
# kjv-tiny decoder's trunk fine-tuned contrastively on verse halves (tools/llm/embed.py).
task: embedding
max_batch_size: 32
dynamic_batching:
  max_queue_delay_microseconds: 2000
embedding:
  pooling: mean
  normalize: true
  max_tokens: {max_tokens}
"""

SENTENCES = [
    'In the beginning God created the heaven and the earth.',
    'The LORD is my shepherd; I shall not want.',
    'Blessed are the meek: for they shall inherit the earth.',
    'And the LORD spake unto Moses, saying,',
    'Jesus wept.',
    'Love one another.',
]


class Encoder(nn.Module):
    def __init__(self, model: Llama):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        h, _ = self.model.hidden(input_ids, attention_mask, positions(attention_mask), causal=False)
        return h


def halves(v: Verse) -> tuple[str, str] | None:
    words = v.text.split(' ')
    if len(words) < 6:
        return None
    cut = len(words) // 2
    return ' '.join(words[:cut]), ' '.join(words[cut:])


def pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def embed(encoder: Encoder, rows: list[list[int]], pad_id: int) -> torch.Tensor:
    ids, mask = pad(rows, pad_id)
    h = encoder(ids, mask)
    m = mask[..., None].float()
    return F.normalize((h * m).sum(1) / m.sum(1), dim=-1)


@torch.no_grad()
def recall_at_1(encoder: Encoder, tok: Tokenizer, pairs: list[tuple[str, str]]) -> float:
    encoder.eval()
    a = torch.cat([embed(encoder, [tok.encode(x) for x, _ in pairs[i : i + 64]], tok.pad_id) for i in range(0, len(pairs), 64)])
    b = torch.cat([embed(encoder, [tok.encode(y) for _, y in pairs[i : i + 64]], tok.pad_id) for i in range(0, len(pairs), 64)])
    encoder.train()
    return float(((a @ b.t()).argmax(1) == torch.arange(len(pairs))).float().mean())


def bag_of_words_recall(pairs: list[tuple[str, str]], documents: list[str]) -> float:
    """TF-IDF over lower-cased words, cosine similarity."""
    def words(s: str) -> list[str]:
        return [w.strip('.,;:?!()\'"').lower() for w in s.split()]

    df = Counter(w for d in documents for w in set(words(d)))
    n = len(documents)

    def vec(s: str) -> dict[str, float]:
        c = Counter(words(s))
        v = {w: k * math.log((n + 1) / (df.get(w, 0) + 1)) for w, k in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}

    a = [vec(x) for x, _ in pairs]
    b = [vec(y) for _, y in pairs]
    hits = 0
    for i, va in enumerate(a):
        scores = [sum(va.get(w, 0.0) * x for w, x in vb.items()) for vb in b]
        hits += int(max(range(len(b)), key=scores.__getitem__) == i)
    return hits / len(pairs)


def export_encoder(encoder: Encoder, path: str) -> None:
    ids = torch.randint(0, encoder.model.c.vocab_size, (2, 5))
    mask = torch.ones_like(ids)
    encoder.eval()
    with torch.no_grad():
        torch.onnx.export(
            encoder,
            (ids, mask),
            path,
            input_names=['input_ids', 'attention_mask'],
            output_names=['last_hidden_state'],
            dynamic_axes={
                'input_ids': {0: 'batch_size', 1: 'sequence_length'},
                'attention_mask': {0: 'batch_size', 1: 'sequence_length'},
                'last_hidden_state': {0: 'batch_size', 1: 'sequence_length'},
            },
            opset_version=17,
            do_constant_folding=False,
        )
    onnx.checker.check_model(onnx.load(path))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--decoder', default='.tmp/llm/decoder.pt', help='the trained decoder checkpoint ("" = random)')
    ap.add_argument('--tokenizer', default='.tmp/llm/tokenizer.json')
    ap.add_argument('--out', default='examples/models/kjv-embed')
    ap.add_argument('--fixtures', default='test/fixtures/llm')
    ap.add_argument('--minutes', type=float, default=6)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tok = Tokenizer.load(a.tokenizer)
    if a.decoder:
        ck = torch.load(a.decoder)
        model = Llama(Config(**ck['config']))
        model.load_state_dict(ck['model'])
    else:
        model = Llama(Config(vocab_size=len(tok.vocab)))
    encoder = Encoder(model)
    train_verses, val_verses = split()
    train_pairs = [p for v in train_verses if (p := halves(v)) is not None]
    val_pairs = [p for v in val_verses if (p := halves(v)) is not None][:1000]
    report = {'validation_pairs': len(val_pairs)}
    report['recall_at_1_before'] = recall_at_1(encoder, tok, val_pairs)
    report['recall_at_1_bag_of_words'] = bag_of_words_recall(val_pairs, [v.text for v in train_verses])
    print(report, flush=True)
    opt = torch.optim.AdamW(encoder.parameters(), lr=a.lr, weight_decay=0.01)
    rng = random.Random(0)
    t0 = time.time()
    step = 0
    while time.time() - t0 < a.minutes * 60:
        pairs = rng.sample(train_pairs, a.batch)
        x = embed(encoder, [tok.encode(p[0]) for p in pairs], tok.pad_id)
        y = embed(encoder, [tok.encode(p[1]) for p in pairs], tok.pad_id)
        logits = x @ y.t() / 0.05
        target = torch.arange(len(pairs))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 20 == 0:
            print(f'step {step} {time.time() - t0:.0f}s loss {float(loss):.3f}', flush=True)
    report['steps'] = step
    report['recall_at_1_after'] = recall_at_1(encoder, tok, val_pairs)
    report['parameters'] = count_params(model)
    print(report, flush=True)

    version = os.path.join(a.out, '1')
    os.makedirs(version, exist_ok=True)
    export_encoder(encoder, os.path.join(version, 'model.onnx'))
    tok.save(os.path.join(version, 'tokenizer.json'))
    cfg = tokenizer_config(MAX_TOKENS)
    del cfg['chat_template']
    write_json(os.path.join(version, 'tokenizer_config.json'), cfg)
    write_json(os.path.join(version, 'config.json'), hf_config(model.c, tok, 'LlamaModel'))
    with open(os.path.join(a.out, 'config.yaml'), 'w') as f:
        f.write(CONFIG_YAML.format(params=count_params(model) / 1e6, max_tokens=MAX_TOKENS))
    with torch.no_grad():
        encoder.eval()
        rows = [tok.encode(s) for s in SENTENCES]
        vectors = embed(encoder, rows, tok.pad_id)
    os.makedirs(a.fixtures, exist_ok=True)
    write(
        os.path.join(a.fixtures, 'kjv-embed.json'),
        {
            'description': 'Mean-pooled, unit-length vectors from PyTorch (one padded batch); quality report of tools/llm/embed.py.',
            'report': report,
            'sentences': [
                {'text': s, 'ids': r, 'embedding': [round(float(x), 6) for x in v]}
                for s, r, v in zip(SENTENCES, rows, vectors)
            ],
        },
    )
    print('exported', a.out)


if __name__ == '__main__':
    main()
