"""One training step (forward, backward, AdamW) of an MLP and of a small transformer block,
written once and run with `torch` and with `vt.torch` in the same process. Target: <= 1.0x."""

from __future__ import annotations

import pathlib
import sys

import torch as real_torch

import vt.torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "vt-core" / "benchmarks"))
from _timing import paired_seconds, report  # noqa: E402


def mlp_step(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(128, 256), nn.GELU(), nn.Linear(256, 256), nn.GELU(), nn.Linear(256, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 128), torch.randint(0, 10, (64,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def transformer_step(torch):
    nn, F = torch.nn, torch.nn.functional
    d, heads, seq, batch, vocab = 64, 4, 32, 8, 100

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            h = self.emb(idx)
            q, k, v = self.qkv(self.ln1(h)).split(d, dim=-1)
            q, k, v = (t.reshape(batch, seq, heads, d // heads).transpose(1, 2) for t in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + self.proj(a.transpose(1, 2).reshape(batch, seq, d))
            h = h + self.down(F.gelu(self.up(self.ln2(h))))
            return self.head(self.lnf(h))

    model = Block()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    idx = torch.randint(0, vocab, (batch, seq + 1))

    def step():
        logits = model(idx[:, :-1])
        loss = F.cross_entropy(logits.reshape(batch * seq, vocab), idx[:, 1:].reshape(batch * seq))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main() -> None:
    for lib in (real_torch, vt.torch):
        lib.set_num_threads(2)
    ok = 0
    for name, make in (("MLP 128-256-256-10, batch 64", mlp_step), ("transformer block d=64, 8x32 tokens", transformer_step)):
        vt_s, torch_s = paired_seconds(make(vt.torch), make(real_torch), number=10, repeat=7)
        ok += report(f"train step: {name}", vt_s, torch_s, 1.0)
    print(f"{ok}/2 within target")


if __name__ == "__main__":
    main()
