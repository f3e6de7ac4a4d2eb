"""A Llama-style decoder in plain PyTorch: RMSNorm, rotary position embeddings, grouped-query
attention, SwiGLU, tied input/output embeddings. The forward pass takes and returns a KV cache in
the layout of the Hugging Face ONNX decoders ([batch, kv_heads, past, head_dim] per layer)."""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    vocab_size: int = 1536
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 384
    max_position_embeddings: int = 256
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        d, hd = c.hidden_size, c.head_dim
        self.q_proj = nn.Linear(d, c.num_attention_heads * hd, bias=False)
        self.k_proj = nn.Linear(d, c.num_key_value_heads * hd, bias=False)
        self.v_proj = nn.Linear(d, c.num_key_value_heads * hd, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * hd, d, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        b, s, _ = x.shape
        c = self.c
        hd, h, kvh = c.head_dim, c.num_attention_heads, c.num_key_value_heads
        q = self.q_proj(x).view(b, s, h, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, kvh, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, kvh, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        rep = h // kvh
        t = k.shape[2]
        kk = k[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)
        vv = v[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)
        scores = q @ kk.transpose(-1, -2) / math.sqrt(hd) + bias
        out = torch.softmax(scores, dim=-1) @ vv
        return self.o_proj(out.transpose(1, 2).reshape(b, s, h * hd)), present


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, past_k, past_v)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class Llama(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        inv = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float32) / c.head_dim))
        self.register_buffer('inv_freq', inv, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def hidden(self, input_ids, attention_mask, position_ids, past=None, causal=True):
        """Final hidden states [b, s, d] and the present KV per layer."""
        b, s = input_ids.shape
        x = self.embed_tokens(input_ids)
        freqs = position_ids[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]
        cos, sin = emb.cos(), emb.sin()
        total = attention_mask.shape[1]
        allowed = attention_mask[:, None, None, :].bool()
        if causal:
            q_pos = torch.arange(s, device=input_ids.device) + (total - s)
            k_pos = torch.arange(total, device=input_ids.device)
            allowed = allowed & (k_pos[None, :] <= q_pos[:, None])[None, None]
        bias = (~allowed).float() * -1e9
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = (past[i] if past is not None else (None, None))
            x, present = layer(x, cos, sin, bias, pk, pv)
            presents.append(present)
        return self.norm(x), presents

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        h, presents = self.hidden(input_ids, attention_mask, position_ids, past)
        return h @ self.embed_tokens.weight.t(), presents


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """position_ids as the HF convention derives them: cumulative sum of the mask, minus one (≥ 0)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def greedy(model: Llama, prompt: list[int], n: int) -> list[int]:
    """Greedy decoding with the KV cache, one token per step after the prompt."""
    ids = torch.tensor([prompt])
    mask = torch.ones_like(ids)
    logits, past = model(ids, mask, positions(mask))
    out = []
    for _ in range(n):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        mask = torch.cat([mask, torch.ones(1, 1, dtype=torch.long)], dim=1)
        pos = torch.tensor([[mask.shape[1] - 1]])
        logits, past = model(torch.tensor([[nxt]]), mask, pos, past)
    return out


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
