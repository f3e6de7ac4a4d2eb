"""Reference fixtures from PyTorch for the Node tests: tokenizer encodings, greedy continuations
(with the KV cache) and one prompt's last-position logits."""

import json

import torch

from bpe import Tokenizer, chat_prompt
from model import Llama, greedy, positions

GREEDY_TOKENS = 24

PROMPTS = [
    {'text': 'In the beginning God created'},
    {'text': 'And the LORD spake unto Moses, saying,'},
    {'text': 'Blessed are the'},
    {'text': 'The LORD is my shepherd;', 'chat': [{'role': 'user', 'content': 'The LORD is my shepherd;'}]},
    {'text': 'For God so loved the world,', 'chat': [{'role': 'user', 'content': 'For God so loved the world,'}]},
    {'text': 'And Jesus answered and said unto them,', 'chat': [{'role': 'user', 'content': 'And Jesus answered and said unto them,'}]},
]

TOKENIZER_SAMPLES = [
    'In the beginning God created the heaven and the earth.',
    "And the LORD said unto Moses, Thou shalt not; it's the Lord's doing.",
    '  leading spaces, trailing spaces   ',
    'Numbers 3:16 and 1234567, tabs\tand\nnewlines\n\n  here.',
    'Special <|user|>\nmarkers<|assistant|>\n inside text<|eos|>',
    'Ünïcödé — “quotes”, emoji 🙂 and CJK 聖經.',
    'ALLCAPS lowercase MiXeD words-with-hyphens and under_scores!!! ???',
]


def prompt_text(p: dict) -> str:
    return chat_prompt(p['chat']) if 'chat' in p else p['text']


@torch.no_grad()
def decoder_fixtures(model: Llama, tok: Tokenizer) -> tuple[dict, dict]:
    model.eval()
    rows = []
    for p in PROMPTS:
        text = prompt_text(p)
        ids = tok.encode(text)
        out = greedy(model, ids, GREEDY_TOKENS)
        rows.append(
            {
                'prompt': text,
                **({'messages': p['chat']} if 'chat' in p else {}),
                'prompt_token_ids': ids,
                'greedy_token_ids': out,
                'greedy_text': tok.decode(out),
            }
        )
    greedy_fixture = {
        'description': 'Greedy continuations from the PyTorch model with its KV cache; prompts start with <|bos|>.',
        'max_tokens': GREEDY_TOKENS,
        'eos_token_id': tok.eos_id,
        'prompts': rows,
    }
    ids = torch.tensor([tok.encode('And God said, Let there be light')])
    mask = torch.ones_like(ids)
    logits, _ = model(ids, mask, positions(mask))
    logits_fixture = {
        'description': 'Last-position logits of a prefill from PyTorch (no past).',
        'prompt_token_ids': ids[0].tolist(),
        'last_logits': [round(float(x), 5) for x in logits[0, -1]],
    }
    return greedy_fixture, logits_fixture


def tokenizer_fixture(tok: Tokenizer) -> dict:
    messages = [
        {'role': 'system', 'content': 'Answer in the words of the King James Bible.'},
        {'role': 'user', 'content': 'The LORD is my shepherd;'},
    ]
    return {
        'description': 'Encodings by the Python tokenizer of tools/llm/bpe.py (with <|bos|> and without).',
        'samples': [
            {'text': t, 'ids': tok.encode(t), 'ids_without_special': tok.encode(t, add_bos=False)}
            for t in TOKENIZER_SAMPLES
        ],
        'chat': {'messages': messages, 'prompt': chat_prompt(messages), 'ids': tok.encode(chat_prompt(messages))},
    }


def write(path: str, data: dict) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, ensure_ascii=False, separators=(',', ':'))
        f.write('\n')
