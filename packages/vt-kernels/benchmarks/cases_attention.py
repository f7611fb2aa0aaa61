"""Attention at the TARGETS.md shapes (SDPA causal, GQA prefill), a non-causal shape, a sweep of
sequence lengths, and flash-decoding against SDPA on the cache slice."""

import torch
import torch.nn.functional as F
from case import Case
from vt.kernels.attention import attention
from vt.kernels.attention_decode import attention_decode


def _flops(batch, heads_q, seq, head_dim, causal):
    # Two matmuls of 2*s*s*d flops per head; causal does half of them.
    full = 4 * batch * heads_q * seq * seq * head_dim
    return full // 2 if causal else full


def _vt(causal):
    return lambda d: attention(d["q"], d["k"], d["v"], causal=causal)


def _torch(causal):
    return lambda d: F.scaled_dot_product_attention(d["q"], d["k"], d["v"], is_causal=causal,
                                                    enable_gqa=True)


def _setup(batch, heads_q, heads_kv, seq, head_dim, causal, backward):
    def make():
        shape_q = (batch, heads_q, seq, head_dim)
        shape_kv = (batch, heads_kv, seq, head_dim)
        d = {name: torch.randn(shape, device="cuda", dtype=torch.bfloat16, requires_grad=backward)
             for name, shape in (("q", shape_q), ("k", shape_kv), ("v", shape_kv))}
        if backward:
            # The backward cases time only the backward of a forward built once here.
            d["dout"] = torch.randn(shape_q, device="cuda", dtype=torch.bfloat16)
            d["vt_out"] = _vt(causal)(d)
            d["torch_out"] = _torch(causal)(d)
        return d
    return make


def _grads(key):
    def run(d):
        return torch.autograd.grad(d[key], (d["q"], d["k"], d["v"]), d["dout"], retain_graph=True)
    return run


def _pair(batch, heads_q, heads_kv, seq, head_dim, causal, tags):
    label = f"({batch}, {heads_q}/{heads_kv}, {seq}, {head_dim}){' causal' if causal else ''}"
    flops = _flops(batch, heads_q, seq, head_dim, causal)
    return [
        Case("attention", "fwd", label, "bfloat16",
             _setup(batch, heads_q, heads_kv, seq, head_dim, causal, False),
             vt=_vt(causal), torch=_torch(causal), flops=flops, tags=tags),
        Case("attention", "bwd", label, "bfloat16",
             _setup(batch, heads_q, heads_kv, seq, head_dim, causal, True),
             vt=_grads("vt_out"), torch=_grads("torch_out"), flops=int(2.5 * flops),
             compile=False, tags=tags),
    ]


def _decode_setup(batch, heads_q, heads_kv, max_seq, head_dim):
    def make():
        cache = (batch, heads_kv, max_seq, head_dim)
        return {"q": torch.randn(batch, heads_q, head_dim, device="cuda", dtype=torch.bfloat16),
                "k": torch.randn(cache, device="cuda", dtype=torch.bfloat16),
                "v": torch.randn(cache, device="cuda", dtype=torch.bfloat16),
                "lens": torch.full((batch,), max_seq, device="cuda", dtype=torch.int32)}
    return make


def _decode_case(batch, heads_q, heads_kv, max_seq, head_dim):
    cache_bytes = 2 * batch * heads_kv * max_seq * head_dim * 2
    return Case(
        "attention_decode", "fwd", f"({batch}, {heads_q}/{heads_kv}, cache {max_seq}, {head_dim})",
        "bfloat16", _decode_setup(batch, heads_q, heads_kv, max_seq, head_dim),
        vt=lambda d: attention_decode(d["q"], d["k"], d["v"], d["lens"]),
        # every cache is full, so torch's slice is the whole cache
        torch=lambda d: F.scaled_dot_product_attention(d["q"][:, :, None], d["k"], d["v"],
                                                       enable_gqa=True)[:, :, 0],
        bytes=cache_bytes + 2 * batch * heads_q * head_dim * 2)


def cases():
    out = []
    out += _pair(32, 10, 10, 2048, 128, True, ("targets",))   # SDPA
    out += _pair(4, 32, 8, 2048, 128, True, ("targets",))     # GQA prefill
    out += _pair(8, 16, 16, 1024, 64, False, ())
    for seq in (512, 1024, 4096, 8192):                       # 32K tokens per batch
        out += _pair(32768 // seq, 16, 16, seq, 128, True, ())
    out += _pair(4, 16, 16, 2048, 256, True, ())
    out += _pair(8, 16, 16, 2048, 64, True, ())
    out.append(_decode_case(32, 32, 8, 4096, 128))
    out.append(_decode_case(1, 32, 8, 32768, 128))
    return out


CASES = cases()
