"""Sampling (64, 32768) with top_k=50, top_p=0.9 against the usual torch composite (sort, cumsum,
multinomial), and a sweep over batch, vocabulary and filters. Random draws differ between the two:
the harness's check compares only the shape of the tokens (tests/test_sampling.py checks the
support and the distribution); greedy cases compare the tokens."""

import torch
from case import Case

from vt.kernels.sampling import sample


def torch_sample(logits, temperature, top_k, top_p):
    if temperature == 0:
        return logits.argmax(-1)
    z = logits.float() / temperature
    if top_k is not None:
        z = z.masked_fill(z < torch.topk(z, top_k, dim=-1).values[:, -1:], float("-inf"))
    if top_p is not None:
        sorted_z, order = z.sort(-1, descending=True)
        probs = sorted_z.softmax(-1)
        drop = probs.cumsum(-1) - probs >= top_p
        z = z.scatter(-1, order, sorted_z.masked_fill(drop, float("-inf")))
    return torch.multinomial(z.softmax(-1), 1).squeeze(-1)


def _shape_only(tokens):
    return [torch.tensor(tokens.shape)]


def _setup(batch, vocab, dtype):
    def make():
        return {"logits": 3 * torch.randn(batch, vocab, device="cuda", dtype=dtype)}
    return make


SWEEP = [(64, 32768, 1.0, 50, 0.9), (64, 32768, 1.0, None, 0.9), (64, 32768, 1.0, 50, None),
         (64, 32768, 0.0, None, None), (1, 32768, 1.0, 50, 0.9), (256, 32768, 1.0, 50, 0.9),
         (64, 128256, 1.0, 50, 0.9), (64, 128256, 1.0, None, 0.9)]


def cases():
    out = []
    for batch, vocab, temperature, top_k, top_p in SWEEP:
        for dtype in (torch.float32, torch.bfloat16):
            label = f"({batch}, {vocab}) T={temperature} top_k={top_k} top_p={top_p}"
            out.append(Case(
                "sample", "fwd", label, str(dtype).rsplit(".", 1)[-1], _setup(batch, vocab, dtype),
                vt=lambda d, a=(temperature, top_k, top_p): sample(d["logits"], *a),
                torch=lambda d, a=(temperature, top_k, top_p): torch_sample(d["logits"], *a),
                bytes=batch * vocab * dtype.itemsize + batch * 8,  # one read of the logits
                outputs=None if temperature == 0 else _shape_only, tags=()))
    return out


CASES = cases()
