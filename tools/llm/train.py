"""Trains the decoder on the KJV for a bounded wall time on CPU: plain chapters mixed with chat
examples (a verse's first half as the user turn, its second half as the assistant turn), packed
into fixed windows. Learning rate follows a cosine over the time budget; checkpoints as it goes."""

import argparse
import math
import os
import random
import time

import torch
import torch.nn.functional as F

from bpe import Tokenizer, chat_prompt
from corpus import Verse, split
from model import Config, Llama, count_params, positions


def chat_example(v: Verse, tok: Tokenizer, rng: random.Random) -> list[int] | None:
    words = v.text.split(' ')
    if len(words) < 6:
        return None
    cut = rng.randint(max(2, len(words) // 3), max(2, (2 * len(words)) // 3))
    prompt = chat_prompt([{'role': 'user', 'content': ' '.join(words[:cut])}])
    return tok.encode(prompt) + tok.encode(' '.join(words[cut:]), add_bos=False) + [tok.eos_id]


def chapters(verses: list[Verse]) -> list[str]:
    out: dict[tuple[str, int], list[str]] = {}
    for v in verses:
        out.setdefault((v.book, v.chapter), []).append(v.text)
    return ['\n'.join(t) for t in out.values()]


def token_stream(verses: list[Verse], tok: Tokenizer, seed: int) -> torch.Tensor:
    """Chapters (<|bos|> text <|eos|>) and chat examples in a shuffled order, concatenated."""
    rng = random.Random(seed)
    items = [tok.encode(c) + [tok.eos_id] for c in chapters(verses)]
    items += [ex for v in verses if (ex := chat_example(v, tok, rng)) is not None]
    rng.shuffle(items)
    return torch.tensor([t for item in items for t in item], dtype=torch.long)


def batch(stream: torch.Tensor, size: int, length: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    starts = torch.randint(0, len(stream) - length - 1, (size,), generator=gen)
    rows = torch.stack([stream[s : s + length + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


def loss_of(model: Llama, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    mask = torch.ones_like(x)
    logits, _ = model(x, mask, positions(mask))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def evaluate(model: Llama, stream: torch.Tensor, length: int) -> float:
    model.eval()
    losses = []
    for s in range(0, min(len(stream) - length - 1, 64 * length), length):
        x = stream[s : s + length][None]
        y = stream[s + 1 : s + length + 1][None]
        losses.append(float(loss_of(model, x, y)))
    model.train()
    return sum(losses) / len(losses)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--tokenizer', default='.tmp/llm/tokenizer.json')
    ap.add_argument('--out', default='.tmp/llm/decoder.pt')
    ap.add_argument('--minutes', type=float, default=20)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--length', type=int, default=256)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--init', help='continue from this checkpoint (a fresh optimizer and schedule)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tok = Tokenizer.load(a.tokenizer)
    train_verses, val_verses = split()
    stream = token_stream(train_verses, tok, a.seed)
    val_stream = token_stream(val_verses, tok, a.seed + 1)
    config = Config(vocab_size=len(tok.vocab), max_position_embeddings=a.length)
    model = Llama(config)
    step = 0
    seen = 0
    if a.init:
        ck = torch.load(a.init)
        model.load_state_dict(ck['model'])
        step, seen = ck['step'], ck['tokens']
    print(f'{count_params(model) / 1e6:.2f}M parameters; {len(stream)} training tokens', flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': 0.1}, {'params': other, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, 0.95)
    )
    gen = torch.Generator().manual_seed(a.seed + step)
    budget = a.minutes * 60
    t0 = time.time()
    last_save = t0
    first = step

    def save() -> None:
        tmp = a.out + '.tmp'
        torch.save({'config': config.to_dict(), 'model': model.state_dict(), 'step': step, 'tokens': seen}, tmp)
        os.replace(tmp, a.out)

    while (elapsed := time.time() - t0) < budget:
        progress = elapsed / budget
        warm = min(1.0, (step - first + 1) / 50)
        lr = a.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g['lr'] = lr
        x, y = batch(stream, a.batch, a.length, gen)
        loss = loss_of(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += x.numel()
        if step % 20 == 0:
            print(f'step {step} {elapsed:.0f}s lr {lr:.2e} loss {float(loss):.3f} tokens {seen}', flush=True)
        if time.time() - last_save > 120:
            save()
            last_save = time.time()
    save()
    print(f'done: {step} steps, {seen} tokens, {time.time() - t0:.0f}s', flush=True)
    print(f'validation loss {evaluate(model, val_stream, a.length):.3f}', flush=True)


if __name__ == '__main__':
    main()
