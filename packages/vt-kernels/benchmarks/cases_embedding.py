"""Embedding at the task's shape (vocab 32768, dim 4096, 8192 tokens, bf16) and a sweep."""

import torch
import torch.nn.functional as F
from case import Case

import vt.kernels as vk
from vt.kernels.embedding import embedding_backward


def _setup(vocab, dim, tokens, dtype, grad=False):
    def make():
        return {"idx": torch.randint(0, vocab, (tokens,), device="cuda"),
                "w": torch.randn(vocab, dim, device="cuda", dtype=dtype, requires_grad=grad),
                "dy": torch.randn(tokens, dim, device="cuda", dtype=dtype)}
    return make


def _fwd_bwd(fn):
    def run(d):
        y = fn(d["idx"], d["w"])
        y.backward(d["dy"])
        return y
    return run


SHAPES = [(32768, 4096, 8192, ("targets",)), (32768, 1024, 8192, ()), (128256, 4096, 8192, ()),
          (32768, 4096, 65536, ())]


def cases():
    out = []
    dtype = torch.bfloat16
    for vocab, dim, tokens, tags in SHAPES:
        label = f"vocab {vocab}, dim {dim}, {tokens} tokens"
        rows = tokens * dim * 2
        out.append(Case("embedding", "fwd", label, "bfloat16", _setup(vocab, dim, tokens, dtype),
                        vt=lambda d: vk.embedding(d["idx"], d["w"]),
                        torch=lambda d: F.embedding(d["idx"], d["w"]),
                        bytes=2 * rows + tokens * 8, tags=tags))
        for deterministic in (False, True):
            out.append(Case(
                "embedding", "bwd", f"{label}{', deterministic' if deterministic else ''}",
                "bfloat16", _setup(vocab, dim, tokens, dtype),
                vt=lambda d, det=deterministic: embedding_backward(
                    d["dy"], d["idx"], d["w"].shape[0], deterministic=det),
                torch=lambda d: torch.ops.aten.embedding_dense_backward(
                    d["dy"], d["idx"], d["w"].shape[0], -1, False),
                bytes=rows + vocab * dim * 2 + tokens * 8,  # read dy and indices, write dweight
                tags=tags))
        out.append(Case("embedding", "fwd+bwd", label, "bfloat16",
                        _setup(vocab, dim, tokens, dtype, True),
                        vt=_fwd_bwd(vk.embedding), torch=_fwd_bwd(F.embedding),
                        bytes=3 * rows + vocab * dim * 2 + tokens * 8, tags=tags))
    return out


CASES = cases()
