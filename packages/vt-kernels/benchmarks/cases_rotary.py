"""Rotary embedding of q and k in one launch at the TARGETS.md shape, plus q alone, GQA, the
bshd layout, interleaved pairs, fwd+bwd and a KV-cache decode step with per-sequence offsets.
torch is the Hugging Face composite x * cos + rotate_half(x) * sin on full-width tables in the
input dtype (built once in setup, as a model caches them)."""

import torch
from case import Case

from vt.kernels.rotary import apply_rotary


def _tables(max_seq, half):
    inv_freq = 1.0 / (10000 ** (torch.arange(half, device="cuda", dtype=torch.float32) / half))
    angles = torch.arange(max_seq, device="cuda", dtype=torch.float32)[:, None] * inv_freq
    return angles.cos(), angles.sin()


def _full_width(table, interleaved):
    """The (max_seq, head_dim) table the composite multiplies by: each angle once per pair."""
    return table.repeat_interleave(2, -1) if interleaved else torch.cat((table, table), -1)


def _setup(batch, heads_q, heads_k, seq, head_dim, layout, interleaved, grad, decode_cache=0):
    """decode_cache > 0: each sequence sits at a random offset of a cache of that many positions."""
    def make():
        def randn(heads):
            shape = ((batch, heads, seq, head_dim) if layout == "bhsd"
                     else (batch, seq, heads, head_dim))
            return torch.randn(shape, device="cuda", dtype=torch.bfloat16, requires_grad=grad)
        cos, sin = _tables(decode_cache or seq, head_dim // 2)
        d = {"q": randn(heads_q), "cos": cos, "sin": sin,
             "cos_full": _full_width(cos, interleaved).to(torch.bfloat16),
             "sin_full": _full_width(sin, interleaved).to(torch.bfloat16),
             "offsets": (torch.randint(0, decode_cache - seq, (batch,), device="cuda")
                         if decode_cache else 0)}
        d["dq"] = torch.randn_like(d["q"])
        if heads_k:
            d["k"] = randn(heads_k)
            d["dk"] = torch.randn_like(d["k"])
        return d
    return make


def _rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat((-x2, x1), -1)


def _rotate_every_two(x):
    return torch.stack((-x[..., 1::2], x[..., 0::2]), -1).flatten(-2)


def _composite(layout, interleaved):
    rotate = _rotate_every_two if interleaved else _rotate_half

    def run(d):
        seq = d["q"].shape[2] if layout == "bhsd" else d["q"].shape[1]
        positions = torch.arange(seq, device="cuda")
        if torch.is_tensor(d["offsets"]):
            positions = d["offsets"][:, None] + positions
        else:
            positions = positions[None]
        c, s = d["cos_full"][positions], d["sin_full"][positions]  # (batch or 1, seq, head_dim)
        c, s = (c[:, None], s[:, None]) if layout == "bhsd" else (c[:, :, None], s[:, :, None])
        q = d["q"] * c + rotate(d["q"]) * s
        k = d["k"] * c + rotate(d["k"]) * s if "k" in d else None
        return q, k
    return run


def _vt(layout, interleaved):
    def run(d):
        return apply_rotary(d["q"], d.get("k"), d["cos"], d["sin"], d["offsets"], interleaved,
                            layout)
    return run


def _fwd_bwd(fn):
    def run(d):
        q, k = fn(d)
        torch.autograd.backward([q, k], [d["dq"], d["dk"]])
        return q, k, d["q"].grad, d["k"].grad
    return run


def _case(direction, batch, heads_q, heads_k, seq, head_dim=128, layout="bhsd", interleaved=False,
          decode_cache=0, tags=()):
    elements = batch * (heads_q + heads_k) * seq * head_dim
    # bf16 q and k read and written (again in the backward), the float32 cos and sin rows used
    table_rows = batch * seq if decode_cache else seq
    passes = 2 if direction == "fwd+bwd" else 1
    moved = passes * 2 * elements * 2 + 2 * table_rows * (head_dim // 2) * 4
    label = f"({batch}, {heads_q}{'/' + str(heads_k) if heads_k else ''}, {seq}, {head_dim})"
    extra = [layout] + ["interleaved"] * interleaved + ["decode"] * bool(decode_cache)
    extra += [] if heads_k else ["q only"]
    setup = _setup(batch, heads_q, heads_k, seq, head_dim, layout, interleaved,
                   direction == "fwd+bwd", decode_cache)
    vt, ref = _vt(layout, interleaved), _composite(layout, interleaved)
    if direction == "fwd+bwd":
        vt, ref = _fwd_bwd(vt), _fwd_bwd(ref)
    return Case("rotary", direction, f"{label} {' '.join(extra)}", "bfloat16", setup, vt=vt,
                torch=ref, bytes=moved, tags=tags)


def cases():
    return [
        _case("fwd", 4, 8, 8, 2048, tags=("targets",)),
        _case("fwd", 4, 8, 0, 2048),
        _case("fwd+bwd", 4, 8, 8, 2048),
        _case("fwd", 4, 32, 8, 2048),
        _case("fwd", 4, 32, 8, 2048, layout="bshd"),
        _case("fwd", 4, 8, 8, 2048, interleaved=True),
        _case("fwd", 1, 32, 8, 8192, layout="bshd"),
        _case("fwd", 64, 32, 8, 1, layout="bshd", decode_cache=4096),
    ]


CASES = cases()
