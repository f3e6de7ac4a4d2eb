"""Exports the decoder as a Hugging Face / optimum ONNX folder with a KV cache, plus its tokenizer
and config files, and the inferd config.yaml.

  model.onnx: input_ids, attention_mask, position_ids, past_key_values.{i}.key/.value
              -> logits, present.{i}.key/.value (dynamic batch, sequence and past axes)"""

import json
import os

import onnx
import torch
from torch import nn

from bpe import EOS, Tokenizer, tokenizer_config
from fixtures import decoder_fixtures, tokenizer_fixture, write
from model import Config, Llama


class DecoderWithPast(nn.Module):
    def __init__(self, model: Llama):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def export_decoder(model: Llama, path: str) -> None:
    c = model.c
    n = c.num_hidden_layers
    b, s, p = 2, 3, 4
    past = []
    for _ in range(n):
        past += [torch.randn(b, c.num_key_value_heads, p, c.head_dim) for _ in range(2)]
    ids = torch.randint(0, c.vocab_size, (b, s))
    mask = torch.ones(b, p + s, dtype=torch.long)
    pos = torch.arange(p, p + s).repeat(b, 1)
    past_names = [f'past_key_values.{i}.{kv}' for i in range(n) for kv in ('key', 'value')]
    present_names = [f'present.{i}.{kv}' for i in range(n) for kv in ('key', 'value')]
    axes = {
        'input_ids': {0: 'batch_size', 1: 'sequence_length'},
        'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
        'position_ids': {0: 'batch_size', 1: 'sequence_length'},
        'logits': {0: 'batch_size', 1: 'sequence_length'},
    }
    for name in past_names:
        axes[name] = {0: 'batch_size', 2: 'past_sequence_length'}
    for name in present_names:
        axes[name] = {0: 'batch_size', 2: 'total_sequence_length'}
    model.eval()
    with torch.no_grad():
        torch.onnx.export(
            DecoderWithPast(model),
            (ids, mask, pos, *past),
            path,
            input_names=['input_ids', 'attention_mask', 'position_ids', *past_names],
            output_names=['logits', *present_names],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=False,
        )
    onnx.checker.check_model(onnx.load(path))


def write_json(path: str, data: dict) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write('\n')


def hf_config(c: Config, tok: Tokenizer, architecture: str) -> dict:
    return {
        'architectures': [architecture],
        'model_type': 'llama',
        'hidden_size': c.hidden_size,
        'intermediate_size': c.intermediate_size,
        'num_hidden_layers': c.num_hidden_layers,
        'num_attention_heads': c.num_attention_heads,
        'num_key_value_heads': c.num_key_value_heads,
        'head_dim': c.head_dim,
        'vocab_size': c.vocab_size,
        'max_position_embeddings': c.max_position_embeddings,
        'rope_theta': c.rope_theta,
        'rms_norm_eps': c.rms_norm_eps,
        'hidden_act': 'silu',
        'tie_word_embeddings': True,
        'bos_token_id': tok.bos_id,
        'eos_token_id': tok.eos_id,
        'pad_token_id': tok.pad_id,
        'torch_dtype': 'float32',
    }


CONFIG_YAML = """# A Llama-style decoder of {params:.1f}M parameters trained on the King James Bible (tools/llm/).
task: text-generation
"""


def export_folder(model: Llama, tok: Tokenizer, folder: str) -> None:
    version = os.path.join(folder, '1')
    os.makedirs(version, exist_ok=True)
    c = model.c
    export_decoder(model, os.path.join(version, 'model.onnx'))
    tok.save(os.path.join(version, 'tokenizer.json'))
    write_json(os.path.join(version, 'tokenizer_config.json'), tokenizer_config(c.max_position_embeddings))
    write_json(os.path.join(version, 'config.json'), hf_config(c, tok, 'LlamaForCausalLM'))
    write_json(
        os.path.join(version, 'generation_config.json'),
        {
            'bos_token_id': tok.bos_id,
            'eos_token_id': [tok.eos_id],
            'pad_token_id': tok.pad_id,
            'do_sample': True,
            'temperature': 0.8,
            'top_p': 0.95,
            'max_new_tokens': 64,
        },
    )
    params = sum(p.numel() for p in model.parameters()) / 1e6
    with open(os.path.join(folder, 'config.yaml'), 'w') as f:
        f.write(CONFIG_YAML.format(params=params))
    assert tok.vocab[EOS] == tok.eos_id


if __name__ == '__main__':
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', help='a train.py checkpoint; random weights without one')
    ap.add_argument('--tokenizer', default='.tmp/llm/tokenizer.json')
    ap.add_argument('--out', default='examples/models/kjv-tiny')
    ap.add_argument('--fixtures', default='test/fixtures/llm')
    a = ap.parse_args()
    torch.manual_seed(0)
    tok = Tokenizer.load(a.tokenizer)
    if a.checkpoint:
        ck = torch.load(a.checkpoint)
        model = Llama(Config(**ck['config']))
        model.load_state_dict(ck['model'])
    else:
        model = Llama(Config(vocab_size=len(tok.vocab)))
    export_folder(model, tok, a.out)
    os.makedirs(a.fixtures, exist_ok=True)
    greedy_fixture, logits_fixture = decoder_fixtures(model, tok)
    write(os.path.join(a.fixtures, 'kjv-tiny-greedy.json'), greedy_fixture)
    write(os.path.join(a.fixtures, 'kjv-tiny-logits.json'), logits_fixture)
    write(os.path.join(a.fixtures, 'kjv-tokenizer.json'), tokenizer_fixture(tok))
    print('exported', a.out)
