import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from tolerances import assert_close

import vt.kernels as vk
from vt.kernels.attention import attention, attention_backward, attention_forward
from vt.kernels.attention_decode import attention_decode

# On CPU the kernels run in Triton's interpreter, whose bfloat16 tl.dot is wrong: float32 there,
# the half-precision dtypes only on a GPU.
LOW_PRECISION = (torch.float16, torch.bfloat16)


def composite(q, k, v, causal, scale, diag=0, upcast=True):
    """softmax(q k^T * scale + mask) v of (batch, heads, seq, dim) tensors and its logsumexp,
    in float32 unless upcast=False. The causal mask lets query i see keys j <= i + diag (0:
    torch's top-left convention). Rows that see no key give 0 (and logsumexp -inf)."""
    if upcast:
        q, k, v = q.float(), k.float(), v.float()
    group = q.shape[1] // k.shape[1]
    k, v = (t.repeat_interleave(group, dim=1) for t in (k, v))
    scores = q @ k.transpose(-1, -2) * scale
    if causal:
        visible = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device).tril(diag)
        scores = scores.masked_fill(~visible, -math.inf)
    probs = torch.softmax(scores, -1).nan_to_num(0.0)
    return probs @ v, torch.logsumexp(scores, -1)


def composite_varlen(q, k, v, cu_q, cu_k, causal, scale, upcast=True):
    """The composite per packed sequence, causal bottom-right aligned (flash-attn's varlen)."""
    outs, lses = [], []
    bounds_q, bounds_k = cu_q.tolist(), cu_k.tolist()
    for q0, q1, k0, k1 in zip(bounds_q[:-1], bounds_q[1:], bounds_k[:-1], bounds_k[1:]):
        spans = ((q, q0, q1), (k, k0, k1), (v, k0, k1))
        qi, ki, vi = (t[a:b].transpose(0, 1)[None] for t, a, b in spans)
        out, lse = composite(qi, ki, vi, causal, scale, (k1 - k0) - (q1 - q0), upcast)
        outs.append(out[0].transpose(0, 1))
        lses.append(lse[0])
    return torch.cat(outs), torch.cat(lses, 1)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def run_with_grads(fn, inputs, dout):
    xs = leaves(*inputs)
    out = fn(*xs)
    out.backward(dout)
    return out, [x.grad for x in xs]


def make(device, dtype, batch, heads_q, heads_kv, seq_q, seq_k, head_dim, seed=0):
    torch.manual_seed(seed)
    q = torch.randn(batch, heads_q, seq_q, head_dim, device=device, dtype=dtype)
    k = torch.randn(batch, heads_kv, seq_k, head_dim, device=device, dtype=dtype)
    v = torch.randn(batch, heads_kv, seq_k, head_dim, device=device, dtype=dtype)
    dout = torch.randn_like(q)
    return q, k, v, dout


def packed(device, dtype, lens_q, lens_k, heads_q, heads_kv, head_dim, seed=0):
    torch.manual_seed(seed)
    cu = lambda lens: torch.tensor([0, *torch.tensor(lens).cumsum(0).tolist()], dtype=torch.int32,
                                   device=device)
    q = torch.randn(sum(lens_q), heads_q, head_dim, device=device, dtype=dtype)
    k = torch.randn(sum(lens_k), heads_kv, head_dim, device=device, dtype=dtype)
    v = torch.randn(sum(lens_k), heads_kv, head_dim, device=device, dtype=dtype)
    return q, k, v, torch.randn_like(q), cu(lens_q), cu(lens_k)


# (batch, heads_q, heads_kv, seq_q, seq_k, head_dim, causal): lengths that are not multiples of
# the blocks, seq_q != seq_k both ways, GQA 4:1, MQA, every head_dim (256 only tiny).
SHAPES = [
    (2, 2, 2, 37, 37, 64, False),
    (1, 2, 2, 37, 37, 64, True),
    (1, 2, 1, 37, 50, 64, True),
    (1, 2, 2, 50, 37, 64, True),
    (1, 2, 1, 20, 45, 64, False),
    (1, 8, 2, 33, 33, 64, True),
    (1, 4, 1, 40, 21, 64, False),
    (1, 2, 1, 33, 33, 128, True),
    (1, 1, 1, 20, 20, 256, True),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}_hq{}_hkv{}_sq{}_sk{}_d{}_{}".format(
    *s[:6], "causal" if s[6] else "full"))
def test_forward_and_gradients_match_the_composite(device, shape):
    *dims, causal = shape
    q, k, v, dout = make(device, torch.float32, *dims)
    scale = 1.0 / math.sqrt(dims[-1])
    out, grads = run_with_grads(lambda *x: attention(*x, causal=causal), (q, k, v), dout)
    ref, ref_grads = run_with_grads(lambda *x: composite(*x, causal, scale)[0], (q, k, v), dout)
    assert out.shape == q.shape and out.dtype == q.dtype
    assert_close(out, ref, atol=2e-5, rtol=2e-5)
    for grad, ref_grad in zip(grads, ref_grads):
        assert_close(grad, ref_grad, reduced=True)


def test_causal_with_unequal_lengths_is_top_left_like_torch(device):
    # torch's is_causal masks query i to keys j <= i whatever seq_k is (CausalVariant.UPPER_LEFT).
    for seq_q, seq_k in ((12, 20), (20, 12)):
        q, k, v, _ = make(device, torch.float32, 1, 2, 1, seq_q, seq_k, 64)
        torch_out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        assert_close(composite(q, k, v, True, 0.125)[0], torch_out, atol=2e-5, rtol=2e-5)
        assert_close(attention(q, k, v, causal=True), torch_out, atol=2e-5, rtol=2e-5)


def test_explicit_forward_and_backward_without_autograd(device):
    q, k, v, dout = make(device, torch.float32, 1, 4, 2, 24, 29, 64, seed=3)
    scale = 0.3
    out, lse = attention_forward(q, k, v, causal=True, softmax_scale=scale)
    dq, dk, dv = attention_backward(q, k, v, out, lse, dout, causal=True, softmax_scale=scale)
    ref, ref_lse = composite(q, k, v, True, scale)
    _, ref_grads = run_with_grads(lambda *x: composite(*x, True, scale)[0], (q, k, v), dout)
    assert lse.shape == (1, 4, 24) and lse.dtype == torch.float32
    assert_close(out, ref, atol=2e-5, rtol=2e-5)
    assert_close(lse, ref_lse, atol=2e-5, rtol=2e-5)
    for grad, ref_grad in zip((dq, dk, dv), ref_grads):
        assert_close(grad, ref_grad, reduced=True)
    strided_lse = lse.transpose(1, 2).contiguous().transpose(1, 2)  # same values, seq stride 4
    again = attention_backward(q, k, v, out, strided_lse, dout, causal=True, softmax_scale=scale)
    for grad, first in zip(again, (dq, dk, dv)):
        assert torch.equal(grad, first)


VARLEN = [
    ((5, 37, 20), (5, 37, 20), True),
    # bottom-right: the second sequence's first 7 queries see no key (output 0, lse +inf)
    ((10, 37, 3), (20, 30, 17), True),
    # an empty query sequence, and queries without keys (output 0, lse +inf)
    ((10, 37, 0, 4), (20, 30, 17, 0), False),
]


@pytest.mark.parametrize("lens_q, lens_k, causal", VARLEN)
def test_varlen_matches_the_composite_per_sequence(device, lens_q, lens_k, causal):
    q, k, v, dout, cu_q, cu_k = packed(device, torch.float32, lens_q, lens_k, 2, 1, 64)
    scale = 0.125
    kwargs = {"causal": causal, "cu_seqlens_q": cu_q, "cu_seqlens_k": cu_k,
              "max_seqlen_q": max(lens_q), "max_seqlen_k": max(lens_k)}
    out, grads = run_with_grads(lambda *x: attention(*x, **kwargs), (q, k, v), dout)
    ref, ref_grads = run_with_grads(lambda *x: composite_varlen(*x, cu_q, cu_k, causal, scale)[0],
                                    (q, k, v), dout)
    assert_close(out, ref, atol=2e-5, rtol=2e-5)
    for grad, ref_grad in zip(grads, ref_grads):
        assert_close(grad, ref_grad, reduced=True)
    _, lse = attention_forward(q, k, v, **kwargs)
    ref_lse = composite_varlen(q, k, v, cu_q, cu_k, causal, scale)[1]
    assert lse.shape == (2, sum(lens_q))
    assert torch.equal(lse.isinf(), ref_lse.isinf())  # +inf where the composite has -inf
    assert_close(lse.nan_to_num(posinf=0.0), ref_lse.nan_to_num(neginf=0.0), atol=2e-5, rtol=2e-5)
    with vk.use_impl("reference"):
        ref_out, ref_lse = attention_forward(q, k, v, **kwargs)
    assert_close(ref_out, out, atol=2e-5, rtol=2e-5)
    assert torch.equal(ref_lse.isinf(), lse.isinf())


def test_non_contiguous_inputs_and_expanded_gradient(device):
    # flash-attn's (batch, seq, heads, dim) layout seen through transpose, and the zero-stride
    # gradient that out.sum() sends back.
    torch.manual_seed(4)
    q, k, v = (torch.randn(1, 30, h, 64, device=device).transpose(1, 2) for h in (4, 2, 2))
    xs = leaves(q, k, v)
    assert not xs[0].is_contiguous()
    attention(*xs, causal=True).sum().backward()
    ys = leaves(q, k, v)
    composite(*ys, True, 0.125)[0].sum().backward()
    for x, y in zip(xs, ys):
        assert_close(x.grad, y.grad, reduced=True)
    assert_close(attention(q, k, v, causal=True), composite(q, k, v, True, 0.125)[0], atol=2e-5,
                 rtol=2e-5)


def _forward_kernels_used(monkeypatch, run):
    """Which dense forward kernels ("tma", "pointer") `run` launched."""
    module = importlib.import_module("vt.kernels.attention")
    used = []
    for name, tag in (("_attn_fwd_tma_tuned", "tma"), ("_attn_fwd_tuned", "pointer")):
        kernel = getattr(module, name)
        monkeypatch.setattr(module, name, _Recording(kernel, tag, used))
    run()
    return used


class _Recording:
    def __init__(self, kernel, tag, log):
        self.kernel, self.tag, self.log = kernel, tag, log

    def __getitem__(self, grid):
        self.log.append(self.tag)
        return self.kernel[grid]


def test_forward_takes_tma_only_where_descriptors_can_describe_the_inputs(device, monkeypatch):
    if device == "cuda" and torch.cuda.get_device_capability()[0] < 9:
        pytest.skip("TMA needs sm_90 or newer")
    q, k, v, _ = make(device, torch.float32, 1, 4, 2, 21, 34, 64, seed=6)
    ref = composite(q, k, v, True, 0.125)[0]
    out = []
    assert _forward_kernels_used(monkeypatch, lambda: out.append(
        attention(q, k, v, causal=True))) == ["tma"]
    assert_close(out[-1], ref, atol=2e-5, rtol=2e-5)
    # One element past a 16-byte boundary: TMA cannot take the base address.
    shifted = torch.empty(q.numel() + 1, device=device)[1:].view(q.shape).copy_(q)
    assert _forward_kernels_used(monkeypatch, lambda: out.append(
        attention(shifted, k, v, causal=True))) == ["pointer"]
    assert_close(out[-1], ref, atol=2e-5, rtol=2e-5)
    # A head_dim-strided row layout whose row stride is not a 16-byte multiple.
    wide = torch.empty(1, 4, 21, 65, device=device)[..., :64]
    wide.copy_(q)
    assert _forward_kernels_used(monkeypatch, lambda: out.append(
        attention(wide, k, v, causal=True))) == ["pointer"]
    assert_close(out[-1], ref, atol=2e-5, rtol=2e-5)


def test_the_gluon_kernels_take_16_bit_inputs_of_their_head_dims_on_hopper_only(device):
    attn = importlib.import_module("vt.kernels.attention")
    q, k, v, _ = make(device, torch.bfloat16, 1, 4, 2, 65, 70, 128, seed=8)
    hopper = device == "cuda" and torch.cuda.get_device_capability()[0] == 9
    reason = attn._gluon_forward_reason(q, k, v, True, 0.1, False)
    assert (reason is None) == hopper, reason
    backward, reason = attn._gluon_backward(q, k, v, q, q, True, 0.1, False)
    assert (reason is None) == hopper, reason
    assert (backward is None) != hopper
    assert attn._gluon_forward_reason(q, k, v, True, 0.1, True) is not None  # varlen
    if hopper:
        q64, k64, v64 = (t[..., :64].contiguous() for t in (q, k, v))
        assert "head_dim 64" in attn._gluon_forward_reason(q64, k64, v64, True, 0.1, False)
        # head_dim 64 backward: the fused kernel, with and without GQA
        fused = importlib.import_module("vt.kernels._attention_hopper_bwd_fused")
        assert attn._gluon_backward(q64, k64, v64, q64, q64, True, 0.1, False) == (
            fused.hopper_backward_fused, None)
        k64, v64 = (t.repeat_interleave(2, dim=1) for t in (k64, v64))
        assert attn._gluon_backward(q64, k64, v64, q64, q64, True, 0.1, False) == (
            fused.hopper_backward_fused, None)
        # head_dim 256: the Gluon forward, the Triton backward
        q256, k256, v256 = (torch.cat([t, t], dim=-1) for t in (q, k, v))
        assert attn._gluon_forward_reason(q256, k256, v256, True, 0.1, False) is None
        assert "head_dim 256" in attn._gluon_backward(q256, k256, v256, q256, q256, True, 0.1,
                                                      False)[1]
        q32, k32, v32 = (t.float() for t in (q, k, v))
        assert "bfloat16 or float16" in attn._gluon_forward_reason(q32, k32, v32, True, 0.1,
                                                                   False)


def test_the_fused_backward_is_kept_from_deterministic_runs():
    attn = importlib.import_module("vt.kernels.attention")
    assert attn._fused_backward_reason(deterministic=False) is None
    assert "deterministic" in attn._fused_backward_reason(deterministic=True)
    assert not attn._deterministic()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        assert attn._deterministic()
    finally:
        torch.use_deterministic_algorithms(False)


def test_tma_descriptors_refuse_expanded_dims():
    attn = importlib.import_module("vt.kernels.attention")
    dense = torch.randn(2, 4, 8, 64)
    assert attn._describable(dense)
    assert not attn._describable(torch.randn(2, 1, 8, 64).expand(2, 4, 8, 64))
    assert not attn._describable(torch.randn(1).expand(2, 4, 8, 64))
    assert attn._describable(torch.randn(2, 1, 8, 64))  # a stride of a size-1 dim never matters


_ATTENTION = importlib.import_module("vt.kernels.attention")
# Every launch configuration of the Triton backward kernels: (kernel, head_dim, config).
BACKWARD_CONFIGS = [(kernel, head_dim, config)
                    for kernel, table in (("dkdv", _ATTENTION._DKDV), ("dq", _ATTENTION._DQ))
                    for head_dim, configs in table.items() for config in configs]


@pytest.mark.cuda
@pytest.mark.parametrize("kernel, head_dim, config", BACKWARD_CONFIGS,
                         ids=lambda x: "-".join(map(str, x)) if isinstance(x, tuple) else str(x))
def test_every_triton_backward_config_matches_sdpa_and_the_float32_reference(
        monkeypatch, kernel, head_dim, config):
    # Autotuning picks among these, so each must be right on its own (16-bit inputs, GQA, lengths
    # that are not multiples of the blocks); the Gluon kernels are off so that head_dim 128 runs
    # them too.
    tuner = getattr(_ATTENTION, f"_attn_bwd_{kernel}_tuned")
    (chosen,) = [c for c in tuner.configs if (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"],
                                              c.num_warps, c.num_stages) == config]
    monkeypatch.setattr(tuner, "configs", [chosen])
    monkeypatch.setattr(tuner, "cache", {})
    monkeypatch.setattr(_ATTENTION, "_GLUON_ENABLED", False)
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 4, 2, 300, 333, head_dim, seed=5)
    for causal in (False, True):
        scale = 1.0 / math.sqrt(head_dim)
        _, grads = run_with_grads(lambda *x: attention(*x, causal=causal), (q, k, v), dout)
        _, torch_grads = run_with_grads(
            lambda *x: F.scaled_dot_product_attention(*x, is_causal=causal, enable_gqa=True),
            (q, k, v), dout)
        _, ref_grads = run_with_grads(lambda *x: composite(*x, causal, scale)[0],
                                      (q.float(), k.float(), v.float()), dout.float())
        for grad, torch_grad, ref_grad in zip(grads, torch_grads, ref_grads):
            assert_as_close_as_torch(grad, torch_grad, ref_grad, 3)


@pytest.mark.cuda
def test_the_dispatch_runs_the_gluon_kernels_where_they_take_the_inputs(device, monkeypatch):
    if torch.cuda.get_device_capability()[0] != 9:
        pytest.skip("the Gluon kernels run on sm_90")
    attn = importlib.import_module("vt.kernels.attention")
    hopper = importlib.import_module("vt.kernels._attention_hopper")
    hopper_bwd = importlib.import_module("vt.kernels._attention_hopper_bwd")
    hopper_fused = importlib.import_module("vt.kernels._attention_hopper_bwd_fused")
    used = []
    forward, backward = hopper.hopper_forward, hopper_bwd.hopper_backward
    fused = hopper_fused.hopper_backward_fused
    monkeypatch.setattr(hopper, "hopper_forward",
                        lambda *a, **kw: used.append("fwd") or forward(*a, **kw))
    monkeypatch.setattr(hopper_bwd, "hopper_backward",
                        lambda *a, **kw: used.append("bwd") or backward(*a, **kw))
    monkeypatch.setattr(hopper_fused, "hopper_backward_fused",
                        lambda *a, **kw: used.append("fused") or fused(*a, **kw))

    def kernels_for(q, k, v, dout, keys=lambda k: k):
        # keys(k) runs inside the autograd graph: a leaf copy of an expanded k would be dense.
        used.clear()
        out, grads = run_with_grads(lambda q, k, v: attention(q, keys(k), v, causal=True),
                                    (q, k, v), dout)
        torch_out, torch_grads = run_with_grads(
            lambda q, k, v: F.scaled_dot_product_attention(q, keys(k), v, is_causal=True,
                                                           enable_gqa=True),
            (q, k, v), dout)
        ref, ref_grads = run_with_grads(
            lambda q, k, v: composite(q, keys(k), v, True, 1.0 / math.sqrt(q.shape[-1]))[0],
            (q.float(), k.float(), v.float()), dout.float())
        assert_as_close_as_torch(out, torch_out, ref, 2)
        for grad, torch_grad, ref_grad in zip(grads, torch_grads, ref_grads):
            assert_as_close_as_torch(grad, torch_grad, ref_grad, 3)
        return list(used)

    # the backward is the fused kernel, with and without GQA, unless torch's deterministic
    # algorithms are on
    q, k, v, dout = make(device, torch.bfloat16, 2, 8, 8, 190, 190, 128, seed=9)
    assert kernels_for(q, k, v, dout) == ["fwd", "fused"]
    monkeypatch.setattr(attn, "_deterministic", lambda: True)
    assert kernels_for(q, k, v, dout) == ["fwd", "bwd"]
    monkeypatch.setattr(attn, "_deterministic", lambda: False)
    q, k, v, dout = make(device, torch.bfloat16, 2, 8, 2, 190, 190, 128, seed=9)
    assert kernels_for(q, k, v, dout) == ["fwd", "fused"]
    # head_dim 64: the fused backward only (the forward and the split kernels stay on Triton)
    assert kernels_for(*(t[..., :64].contiguous() for t in (q, k, v, dout))) == ["fused"]
    q, k, v, dout = make(device, torch.bfloat16, 2, 8, 8, 190, 190, 64, seed=9)
    assert kernels_for(q, k, v, dout) == ["fused"]
    monkeypatch.setattr(attn, "_deterministic", lambda: True)
    assert kernels_for(q, k, v, dout) == []
    monkeypatch.setattr(attn, "_deterministic", lambda: False)
    q, k, v, dout = make(device, torch.bfloat16, 2, 8, 2, 190, 190, 128, seed=9)
    # TMA describes dense tensors only
    assert kernels_for(q, k[:, :1], v, dout, keys=lambda k: k.expand(-1, 2, -1, -1)) == []
    monkeypatch.setattr(attn, "_GLUON_ENABLED", False)
    assert kernels_for(q, k, v, dout) == []


def test_triton_and_reference_backends_agree(device):
    q, k, v, dout = make(device, torch.float32, 1, 4, 2, 21, 34, 64, seed=5)
    chosen = vk.explain("attention", q, k, v, True, 0.125, None, None, None, None)[0]
    assert chosen == ("triton", None)
    out, grads = run_with_grads(lambda *x: attention(*x, causal=True), (q, k, v), dout)
    with vk.use_impl("reference", "attention"):
        ref, ref_grads = run_with_grads(lambda *x: attention(*x, causal=True), (q, k, v), dout)
        ref_lse = attention_forward(q, k, v, causal=True)[1]
    assert_close(out, ref, atol=2e-5, rtol=2e-5)
    assert_close(attention_forward(q, k, v, causal=True)[1], ref_lse, atol=2e-5, rtol=2e-5)
    for grad, ref_grad in zip(grads, ref_grads):
        assert_close(grad, ref_grad, reduced=True)


def test_other_head_dims_and_scales_fall_back_to_the_reference(device):
    q, k, v, _ = make(device, torch.float32, 1, 2, 1, 9, 9, 80)
    reasons = dict(vk.explain("attention", q, k, v, False, 0.1, None, None, None, None))
    assert reasons["triton"] == "head_dim 80 is not one of 64, 128, 256"
    q64, k64, v64, _ = make(device, torch.float32, 1, 2, 1, 9, 9, 64)
    reasons = dict(vk.explain("attention", q64, k64, v64, False, -0.1, None, None, None, None))
    assert reasons["triton"] == "softmax_scale must be positive, got -0.1"
    assert_close(attention(q64, k64, v64, softmax_scale=-0.1),
                 composite(q64, k64, v64, False, -0.1)[0])
    assert_close(attention(q, k, v, softmax_scale=0.1), composite(q, k, v, False, 0.1)[0])


def test_bad_input_raises_torch_exception_types(device):
    q, k, v, _ = make(device, torch.float32, 1, 4, 2, 8, 8, 64)
    with pytest.raises(TypeError, match="attention: q, k and v must share one dtype"):
        attention(q, k.half(), v)
    with pytest.raises(TypeError, match="attention: q must be float32.*int64"):
        attention(q.long(), k, v)
    with pytest.raises(RuntimeError, match=r"attention: heads_q 4 is not a multiple of heads_kv 3"):
        attention(q, *make(device, torch.float32, 1, 3, 3, 8, 8, 64)[1:3])
    with pytest.raises(RuntimeError, match=r"k has shape \(1, 2, 8, 64\) and v \(1, 2, 9, 64\)"):
        attention(q, k, torch.randn(1, 2, 9, 64, device=device))
    with pytest.raises(RuntimeError, match=r"expected q of shape \(batch, heads, seq, head_dim\)"):
        attention(q[0], k, v)
    cu = torch.tensor([0, 8], dtype=torch.int32, device=device)
    flat = [t[0].transpose(0, 1) for t in (q, k, v)]
    with pytest.raises(RuntimeError, match="need max_seqlen_q and max_seqlen_k"):
        attention(*flat, cu_seqlens_q=cu, cu_seqlens_k=cu)
    with pytest.raises(TypeError, match="cu_seqlens_q must be int32, got int64"):
        attention(*flat, cu_seqlens_q=cu.long(), cu_seqlens_k=cu, max_seqlen_q=8, max_seqlen_k=8)
    out, lse = attention_forward(q, k, v)
    with pytest.raises(RuntimeError, match=r"attention_backward: lse has shape \(4, 8\)"):
        attention_backward(q, k, v, out, lse[0], out)


# ---------------------------------------------------------------------------------------------
# decode


def composite_decode(q, k_cache, v_cache, lens, scale):
    rows = []
    for b, length in enumerate(lens.tolist()):
        out, _ = composite(q[b, :, None][None], k_cache[b, :, :length][None],
                           v_cache[b, :, :length][None], False, scale)
        rows.append(out[0, :, 0])
    return torch.stack(rows)


@pytest.mark.parametrize("batch, heads_q, heads_kv, max_seq, head_dim", [
    (3, 8, 2, 100, 64),   # GQA 4:1, several chunks per sequence
    (4, 2, 2, 37, 128),   # one q head per kv head
    (2, 4, 1, 50, 64),    # MQA
])
def test_decode_matches_the_composite_on_random_cache_lengths(device, batch, heads_q, heads_kv,
                                                               max_seq, head_dim):
    torch.manual_seed(6)
    q = torch.randn(batch, heads_q, head_dim, device=device)
    k_cache, v_cache = (torch.randn(batch, heads_kv, max_seq, head_dim, device=device)
                        for _ in range(2))
    lens = torch.randint(1, max_seq, (batch,), dtype=torch.int32, device=device)
    lens[0], lens[-1] = 0, max_seq  # an empty cache attends to nothing; a full one to everything
    out = attention_decode(q, k_cache, v_cache, lens, softmax_scale=0.2)
    assert out.shape == q.shape
    expected = composite_decode(q, k_cache, v_cache, lens, 0.2)
    assert_close(out, expected, atol=2e-5, rtol=2e-5)
    with vk.use_impl("reference"):
        assert_close(attention_decode(q, k_cache, v_cache, lens, softmax_scale=0.2), expected,
                     atol=2e-5, rtol=2e-5)


def test_decode_bad_input_raises(device):
    q = torch.randn(2, 4, 64, device=device)
    cache = torch.randn(2, 2, 16, 64, device=device)
    lens = torch.full((2,), 16, dtype=torch.int32, device=device)
    with pytest.raises(TypeError, match="cache_seqlens must be int32, got int64"):
        attention_decode(q, cache, cache, lens.long())
    with pytest.raises(RuntimeError, match=r"cache_seqlens has shape \(3,\), expected \(2,\)"):
        attention_decode(q, cache, cache, torch.ones(3, dtype=torch.int32, device=device))
    with pytest.raises(RuntimeError, match="heads_q 4 is not a multiple of heads_kv 3"):
        three = cache[:, :1].expand(2, 3, 16, 64)
        attention_decode(q, three, three, lens)


# ---------------------------------------------------------------------------------------------
# half precision on a GPU: the error against the float32 composite may be at most a small
# multiple of torch's own error at the same precision (as flash-attn's tests do).


def assert_as_close_as_torch(actual, torch_lowp, expected, factor, atol=1e-3):
    ours = (actual.float() - expected).abs().max().item()
    theirs = (torch_lowp.float() - expected).abs().max().item()
    assert ours <= factor * theirs + atol, f"error {ours:.3g} vs torch's {theirs:.3g}"


GPU_SHAPES = [
    (2, 4, 4, 300, 300, 64, False),
    (2, 4, 4, 300, 300, 64, True),
    (2, 8, 2, 513, 513, 128, True),
    (1, 4, 1, 200, 700, 128, True),
    (1, 4, 4, 700, 200, 128, True),
    (2, 4, 2, 257, 257, 256, True),
    (1, 4, 4, 1024, 1024, 256, False),
]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", LOW_PRECISION)
@pytest.mark.parametrize("shape", GPU_SHAPES)
def test_half_precision_forward_and_gradients_on_gpu(device, dtype, shape):
    *dims, causal = shape
    q, k, v, dout = make(device, dtype, *dims)
    scale = 1.0 / math.sqrt(dims[-1])
    out, grads = run_with_grads(lambda *x: attention(*x, causal=causal), (q, k, v), dout)
    def sdpa(*x):
        return F.scaled_dot_product_attention(*x, is_causal=causal, enable_gqa=True)

    torch_out, torch_grads = run_with_grads(sdpa, (q, k, v), dout)
    ref, ref_grads = run_with_grads(lambda *x: composite(*x, causal, scale)[0],
                                    (q.float(), k.float(), v.float()), dout.float())
    assert out.dtype == dtype
    assert_as_close_as_torch(out, torch_out, ref, 2)
    for grad, torch_grad, ref_grad in zip(grads, torch_grads, ref_grads):
        assert_as_close_as_torch(grad, torch_grad, ref_grad, 3)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", LOW_PRECISION)
@pytest.mark.parametrize("causal", [False, True])
def test_half_precision_varlen_on_gpu(device, dtype, causal):
    lens_q, lens_k = (100, 300, 7, 513), (150, 257, 7, 400)
    q, k, v, dout, cu_q, cu_k = packed(device, dtype, lens_q, lens_k, 8, 2, 128)
    kwargs = {"causal": causal, "cu_seqlens_q": cu_q, "cu_seqlens_k": cu_k,
              "max_seqlen_q": max(lens_q), "max_seqlen_k": max(lens_k)}
    out, grads = run_with_grads(lambda *x: attention(*x, **kwargs), (q, k, v), dout)
    def per_sequence(upcast):
        return lambda *x: composite_varlen(*x, cu_q, cu_k, causal, 128 ** -0.5, upcast)[0]

    ref, ref_grads = run_with_grads(per_sequence(True), (q.float(), k.float(), v.float()),
                                    dout.float())
    # torch's own half-precision error: the composite evaluated in the low precision.
    lowp, lowp_grads = run_with_grads(per_sequence(False), (q, k, v), dout)
    assert_as_close_as_torch(out, lowp, ref, 2)
    for grad, lowp_grad, ref_grad in zip(grads, lowp_grads, ref_grads):
        assert_as_close_as_torch(grad, lowp_grad, ref_grad, 3)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", LOW_PRECISION)
@pytest.mark.parametrize("head_dim", [64, 128, 256])
def test_half_precision_decode_on_gpu(device, dtype, head_dim):
    torch.manual_seed(7)
    batch, heads_q, heads_kv, max_seq = 8, 32, 8, 4096
    q = torch.randn(batch, heads_q, head_dim, device=device, dtype=dtype)
    k_cache, v_cache = (torch.randn(batch, heads_kv, max_seq, head_dim, device=device, dtype=dtype)
                        for _ in range(2))
    lens = torch.randint(1, max_seq + 1, (batch,), dtype=torch.int32, device=device)
    lens[0] = max_seq
    scale = head_dim ** -0.5
    out = attention_decode(q, k_cache, v_cache, lens)
    expected = composite_decode(q.float(), k_cache.float(), v_cache.float(), lens, scale)
    lowp = torch.stack([F.scaled_dot_product_attention(
        q[b, :, None], k_cache[b, :, :n], v_cache[b, :, :n], enable_gqa=True)[:, 0]
        for b, n in enumerate(lens.tolist())])
    assert out.dtype == dtype
    assert_as_close_as_torch(out, lowp, expected, 2)


@pytest.mark.cuda
def test_foreign_cuda_arrays_take_the_explicit_functions(device):
    cupy = pytest.importorskip("cupy")
    q, k, v, dout = make(device, torch.float16, 1, 4, 2, 100, 130, 64)
    ref_out, ref_lse = attention_forward(q, k, v, causal=True)
    ref_grads = attention_backward(q, k, v, ref_out, ref_lse, dout, causal=True)
    as_cupy = lambda *ts: [cupy.asarray(t) for t in ts]  # noqa: E731
    out, lse = attention_forward(*as_cupy(q, k, v), causal=True)
    grads = attention_backward(*as_cupy(q, k, v, ref_out, ref_lse, dout), causal=True)
    torch.cuda.synchronize()
    assert isinstance(out, cupy.ndarray)
    for got, expected in zip((out, lse, *grads), (ref_out, ref_lse, *ref_grads)):
        assert_close(torch.as_tensor(got, device=device), expected, atol=2e-3, rtol=2e-3)
    cache = torch.randn(2, 2, 300, 64, device=device, dtype=torch.float16)
    lens = torch.tensor([5, 300], dtype=torch.int32, device=device)
    query = torch.randn(2, 4, 64, device=device, dtype=torch.float16)
    decoded = attention_decode(*as_cupy(query, cache, cache, lens))
    torch.cuda.synchronize()
    assert_close(torch.as_tensor(decoded, device=device), attention_decode(query, cache, cache, lens))
