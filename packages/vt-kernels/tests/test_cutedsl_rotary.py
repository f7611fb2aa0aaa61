"""The CuTeDSL backend of rotary.

Without a GPU (CI) every kernel variant is compiled for sm_90a, the tiling, the launch arguments
(against the DSL's own marshalling, and what the launcher passes for both layouts, strided
inputs, k None and offsets) and the kernel's index walk (emulated) are checked; with a GPU the
values and gradients are compared with a torch composite.
"""

import os

import pytest
import torch
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from rotary_reference import composite, tables
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.cutedsl import _common as C
from vt.kernels.cutedsl import rotary as R
from vt.kernels.rotary import apply_rotary

ARCH = None if ON_GPU else "sm_90a"


def make(layout, batch, heads, seq, head_dim, device, dtype, seed=0):
    shape = (batch, heads, seq, head_dim) if layout == "bhsd" else (batch, seq, heads, head_dim)
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(shape, device=device, generator=g).to(dtype)


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, tiling, launch arguments, registration

VARIANTS = [  # dtype, head_dim, rotary_dim, table, offsets, has_k, vec
    ("bfloat16", 128, 128, "float32", None, True, None),
    ("float16", 128, 128, "float32", "int64", True, None),
    ("float32", 128, 128, "float32", None, False, None),
    ("bfloat16", 20, 12, "bfloat16", "int32", False, None),  # pass-through channels, vec 2
    ("float16", 64, 32, "float16", None, True, None),  # half the channels rotate
    ("float32", 16, 16, "float32", "int64", True, 1),  # scalar accesses (misaligned strides)
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v)))
def test_every_variant_compiles_for_sm90(variant):
    dtype, head_dim, rotary_dim, table, offsets, has_k, vec = variant
    assert R.compile_all(dtype, head_dim, rotary_dim, ARCH, table, offsets, has_k, vec) == 2


@pytest.mark.parametrize("half, head_dim, vec", [(64, 128, 8), (6, 20, 2), (16, 64, 4),
                                                 (8, 16, 1), (512, 1024, 1)])
@pytest.mark.parametrize("seq", [1, 3, 2048])
def test_tiling_fits_a_cta(half, head_dim, vec, seq):
    t = R.rotary_tiling(vec, vec, half, head_dim, False, 8, seq)
    assert t.rotation_slots * vec == half
    assert (t.slots - t.rotation_slots) * vec == head_dim - 2 * half
    assert t.cta_threads <= 1024 and t.positions <= max(1, seq) * 2
    assert t.heads == 4
    assert R.rotary_tiling(vec, vec, half, head_dim, False, 1, seq).heads == 1


def _cpu(shape, dtype=torch.float32, offset=0):
    return torch.empty(int(torch.tensor(shape).prod()) + offset, dtype=dtype)[offset:].view(shape)


def test_vector_widths_follow_channels_strides_and_addresses():
    cos, sin = tables(16, 64, "cpu")
    q = torch.empty(2, 4, 16, 128, dtype=torch.bfloat16)
    assert R.vector_widths(q, q, q, q, cos, sin) == (8, 4)
    assert R.vector_widths(q, None, q, None, cos.bfloat16(), sin.bfloat16()) == (8, 8)
    qkv = torch.empty(2, 16, 3, 4, 128, dtype=torch.bfloat16)
    assert R.vector_widths(qkv[:, :, 0], qkv[:, :, 1], q, q, cos, sin) == (8, 4)
    odd = torch.empty(2, 16, 4, 130, dtype=torch.bfloat16)[..., 1:129]  # base off by 1 element
    assert R.vector_widths(odd, None, q, None, cos, sin)[0] == 1
    c6, s6 = tables(16, 6, "cpu")  # 12 of 20 channels rotate: 6 pairs, 8 passed through
    q20 = torch.empty(1, 2, 16, 20)
    assert R.vector_widths(q20, None, q20, None, c6, s6) == (2, 2)
    wide_cos, wide_sin = tables(16, 66, "cpu")  # a strided table: row stride 66
    assert R.vector_widths(q, None, q, None, wide_cos[:, :64], wide_sin[:, :64]) == (8, 2)


@pytest.mark.parametrize("offsets, has_k", [(None, True), ("int32", False)])
def test_fast_launch_arguments_match_the_dsl_marshalling(offsets, has_k):
    tiling = R.rotary_tiling(8, 4, 64, 128, False, 8, 2048)
    kernel = R._compiled(tiling, "bfloat16", "float32", "float32", offsets, has_k, ARCH)
    assert_launch_arguments_match(kernel)


class _Recorder:
    """Stands in for the compiled kernel: records (tiling, keys, values) of each launch."""

    def __init__(self, monkeypatch):
        self.launches = []
        monkeypatch.setattr(R, "_compiled", self.compiled)
        monkeypatch.setattr(C, "device_index", lambda t: 0)
        monkeypatch.setattr(C, "stream_handle", lambda t: 7)

    def compiled(self, tiling, *keys):
        def launch(device, *values):
            self.launches.append((tiling, keys, values))
        return launch


def _named(values):
    names = ("q", "qo", "k", "ko", "cos", "sin", "off", "batch", "heads_q", "heads_k", "seq",
             "max_pos", "sqb", "sqh", "sqs", "sob", "soh", "sos", "skb", "skh", "sks", "spb",
             "sph", "sps", "scs", "sss", "soff", "offset", "sign", "stream")
    return dict(zip(names, values, strict=True))


def test_launcher_passes_layout_strides_offsets_and_sign(monkeypatch):
    rec = _Recorder(monkeypatch)
    cos, sin = tables(32, 8, "cpu")
    qkv = torch.empty(2, 6, 3, 4, 16)  # (batch, seq, q|k|v, heads, head_dim)
    q, k = qkv[:, :, 0], qkv[:, :, 1]
    q_out, k_out = R._forward(q, k, cos, sin, 5, True, "bshd")
    tiling, keys, values = rec.launches[-1]
    v = _named(values)
    assert keys == ("float32", "float32", "float32", None, True)
    assert (tiling.vec, tiling.half, tiling.head_dim, tiling.interleaved) == (4, 8, 16, True)
    assert (v["q"], v["k"], v["qo"], v["ko"]) == (q.data_ptr(), k.data_ptr(), q_out.data_ptr(),
                                                  k_out.data_ptr())
    assert (v["batch"], v["heads_q"], v["heads_k"], v["seq"], v["max_pos"]) == (2, 4, 4, 6, 32)
    # (batch, heads, seq) strides of the inputs (in place) and of the contiguous bshd outputs
    assert (v["sqb"], v["sqh"], v["sqs"]) == (6 * 3 * 4 * 16, 16, 3 * 4 * 16)
    assert (v["skb"], v["skh"], v["sks"]) == (6 * 3 * 4 * 16, 16, 3 * 4 * 16)
    assert (v["sob"], v["soh"], v["sos"]) == (6 * 4 * 16, 16, 4 * 16)
    assert q_out.shape == q.shape and q_out.is_contiguous() and k_out.is_contiguous()
    assert (v["scs"], v["sss"], v["off"], v["soff"], v["offset"], v["sign"], v["stream"]) == \
        (8, 8, None, 0, 5, 1.0, 7)
    # backward: -sin; no k; per-sequence offsets; bhsd
    qb = torch.empty(3, 2, 1, 16)
    offsets = torch.tensor([4, 0, 9], dtype=torch.int32)
    dq, none = R._backward(qb, None, cos, sin, offsets, False, "bhsd")
    tiling, keys, values = rec.launches[-1]
    v = _named(values)
    assert none is None and dq.shape == qb.shape
    assert keys == ("float32", "float32", "float32", "int32", False)
    assert (v["k"], v["ko"], v["skb"], v["spb"], v["heads_k"]) == (None, None, 0, 0, 2)
    assert (v["off"], v["soff"], v["offset"], v["sign"]) == (offsets.data_ptr(), 1, 0, -1.0)
    assert (v["sqb"], v["sqh"], v["sqs"]) == (32, 16, 0)  # one position: its stride is unused
    assert tiling.positions == 1  # decode: one position per CTA
    # nothing to rotate: no launch
    count = len(rec.launches)
    R._forward(torch.empty(2, 0, 4, 16), None, cos, sin, 0, False, "bhsd")
    assert len(rec.launches) == count


def emulate(tiling, q, k, cos, sin, offsets, layout, sign):
    """The kernel's walk in torch: CTA -> (tensor, batch, head block, position block), thread
    -> (position, slot), slot -> channels and table columns. Returns (outputs, write counts)."""
    outs = []
    for x in (q, k):
        if x is None:
            outs.append((None, None))
            continue
        xb = x if layout == "bhsd" else x.transpose(1, 2)  # (batch, heads, seq, head_dim)
        batch, heads, seq, _ = xb.shape
        y = torch.zeros_like(xb)
        writes = torch.zeros(xb.shape, dtype=torch.int32)
        seq_blocks = -(-seq // tiling.positions)
        head_blocks = -(-heads // tiling.heads)
        w, half = tiling.vec, tiling.half
        for cta in range(batch * head_blocks * seq_blocks):
            b = cta // (seq_blocks * head_blocks)
            head0 = cta // seq_blocks % head_blocks * tiling.heads
            for tidx in range(tiling.cta_threads):
                s = cta % seq_blocks * tiling.positions + tidx // tiling.slots
                slot = tidx % tiling.slots
                pos = s + (offsets if isinstance(offsets, int) else int(offsets[b]))
                for h in range(head0, min(head0 + tiling.heads, heads)):
                    if s >= seq:
                        continue
                    if slot < tiling.rotation_slots:
                        pairs = torch.arange(slot * w, slot * w + w)
                        if tiling.interleaved:
                            i1, i2 = 2 * pairs, 2 * pairs + 1
                        else:
                            i1, i2 = pairs, pairs + half
                        inside = 0 <= pos < cos.shape[0]
                        c = cos[pos, pairs] if inside else torch.zeros(w)
                        sn = sin[pos, pairs] * sign if inside else torch.zeros(w)
                        x1, x2 = xb[b, h, s, i1], xb[b, h, s, i2]
                        y[b, h, s, i1], y[b, h, s, i2] = x1 * c - x2 * sn, x2 * c + x1 * sn
                        writes[b, h, s, i1] += 1
                        writes[b, h, s, i2] += 1
                    else:
                        d = 2 * half + (slot - tiling.rotation_slots) * w + torch.arange(w)
                        y[b, h, s, d] = xb[b, h, s, d]
                        writes[b, h, s, d] += 1
        if layout == "bshd":
            y, writes = y.transpose(1, 2), writes.transpose(1, 2)
        outs.append((y, writes))
    return outs


@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("head_dim, rotary_dim, vec", [(16, 16, 4), (20, 12, 2), (12, 8, 1)])
def test_emulated_walk_matches_the_composite(layout, interleaved, head_dim, rotary_dim, vec):
    q = make(layout, 2, 5, 3, head_dim, "cpu", torch.float32, 0)  # 5 heads: a partial block
    k = make(layout, 2, 2, 3, head_dim, "cpu", torch.float32, 1)
    cos, sin = tables(8, rotary_dim // 2, "cpu")
    tiling = R.rotary_tiling(vec, vec, rotary_dim // 2, head_dim, interleaved, 2, 3)
    for offsets in (4, torch.tensor([0, 5])):
        for x, (y, writes) in zip((q, k), emulate(tiling, q, k, cos, sin, offsets, layout, 1.0)):
            assert bool((writes == 1).all())
            assert_close(y, composite(x, cos, sin, offsets, interleaved, layout))
        (dq, _), _ = emulate(tiling, q, None, cos, sin, offsets, layout, -1.0)
        assert_close(dq, composite(q, cos, -sin, offsets, interleaved, layout))


def test_backend_is_registered_and_declines_what_it_cannot_run():
    assert "cutedsl" in vk.implementations("rotary")
    q = torch.randn(1, 2, 4, 8)
    cos, sin = tables(4, 4, "cpu")
    assert "CUDA" in R._supports(q, None, cos, sin, 0, False, "bhsd")
    assert "CUDA" in dict(_registry.explain("rotary", q, None, cos, sin, 0, False, "bhsd"))[
        "cutedsl"]


# ---------------------------------------------------------------------------------------------
# on a GPU: values and gradients against the composite


def _impl(*args):
    with vk.use_impl("cutedsl"):
        impl = _registry.select("rotary", *args)
    assert impl.backend == "cutedsl"
    return impl


def check(q, k, cos, sin, offsets, interleaved, layout, dtype):
    impl = _impl(q, k, cos, sin, offsets, interleaved, layout)
    q_out, k_out = impl.forward(q, k, cos, sin, offsets, interleaved, layout)
    dq_out = torch.randn_like(q)
    dk_out = torch.randn_like(k) if k is not None else None
    dq, dk = impl.backward(dq_out, dk_out, cos, sin, offsets, interleaved, layout)
    for x, y, dy, dx in ((q, q_out, dq_out, dq), (k, k_out, dk_out, dk)):
        if x is None:
            assert y is None and dx is None
            continue
        x2 = x.detach().float().requires_grad_(True)
        y2 = composite(x2, cos, sin, offsets, interleaved, layout)
        y2.backward(dy.float())
        assert y.dtype == dtype and y.shape == x.shape and y.is_contiguous()
        assert dx.shape == x.shape and dx.is_contiguous()
        assert_close(y, y2, dtype)
        assert_close(dx, x2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("head_dim, rotary_dim", [(128, 128), (64, 32), (20, 12), (80, 80)])
def test_q_and_gqa_k_match_the_composite(dtype, layout, interleaved, head_dim, rotary_dim):
    q = make(layout, 2, 6, 37, head_dim, "cuda", dtype, 0)  # 6 heads: a partial head block
    k = make(layout, 2, 2, 37, head_dim, "cuda", dtype, 1)
    cos, sin = tables(64, rotary_dim // 2, "cuda")
    check(q, k, cos, sin, 3, interleaved, layout, dtype)
    check(q, None, cos, sin, 0, interleaved, layout, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("offset_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
def test_per_sequence_offsets_and_decode(layout, offset_dtype):
    cos, sin = tables(40, 32, "cuda")
    offsets = torch.tensor([0, 7, 33], device="cuda", dtype=offset_dtype)
    for seq in (1, 7):  # decode and a short prefill
        q = make(layout, 3, 8, seq, 64, "cuda", torch.bfloat16, 0)
        k = make(layout, 3, 1, seq, 64, "cuda", torch.bfloat16, 1)
        for interleaved in (False, True):
            check(q, k, cos, sin, offsets, interleaved, layout, torch.bfloat16)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_inputs_and_tables(dtype):
    g = torch.Generator(device="cuda").manual_seed(3)
    qkv = torch.randn(2, 50, 3, 4, 64, device="cuda", generator=g).to(dtype)
    q, k = qkv[:, :, 0], qkv[:, :, 1]
    cos, sin = tables(64, 32, "cuda")
    check(q, k, cos, sin, 0, False, "bshd", dtype)
    check(q.transpose(1, 2), k.transpose(1, 2), cos, sin, 5, True, "bhsd", dtype)
    wide_cos, wide_sin = tables(64, 40, "cuda", dtype)  # strided tables in the input dtype
    check(q, k, wide_cos[:, :32], wide_sin[:, :32], 0, True, "bshd", dtype)
    # a base address off by one element: scalar accesses
    odd = torch.randn(2, 50, 4, 66, device="cuda", generator=g).to(dtype)[..., 1:65]
    check(odd, None, cos, sin, 1, False, "bshd", dtype)


@pytest.mark.cuda
def test_positions_past_the_table_match_triton():
    q = make("bhsd", 2, 4, 9, 32, "cuda", torch.float32, 0)
    cos, sin = tables(10, 16, "cuda")
    offsets = torch.tensor([0, 5], device="cuda")  # the second sequence runs past 10 rows
    outputs = {}
    for backend in ("triton", "cutedsl"):
        with vk.use_impl(backend):
            impl = _registry.select("rotary", q, None, cos, sin, offsets, False, "bhsd")
        assert impl.backend == backend
        outputs[backend] = impl.forward(q, None, cos, sin, offsets, False, "bhsd")[0]
    assert_close(outputs["cutedsl"], outputs["triton"])


@pytest.mark.cuda
def test_public_api_runs_on_cutedsl_and_falls_back_when_unsupported():
    q = make("bshd", 2, 8, 64, 128, "cuda", torch.bfloat16, 0).requires_grad_(True)
    k = make("bshd", 2, 2, 64, 128, "cuda", torch.bfloat16, 1).requires_grad_(True)
    cos, sin = tables(128, 64, "cuda")
    with vk.use_impl("cutedsl"):
        assert vk.explain("rotary", q, k, cos, sin, 0, False, "bshd")[0] == ("cutedsl", None)
        q_out, k_out = apply_rotary(q, k, cos, sin, 0, False, "bshd")
        # bf16-exact upstream weights: both sides receive the same gradient
        weight = torch.randn(q.shape, device="cuda").bfloat16().float()
        ((q_out.float() * weight).sum() + k_out.float().sum()).backward()
        # channels not at unit stride: the registry falls back to Triton
        spread = make("bhsd", 1, 2, 4, 16, "cuda", torch.float32, 2)[..., ::2]
        c8, s8 = tables(4, 4, "cuda")
        reasons = dict(vk.explain("rotary", spread, None, c8, s8, 0, False, "bhsd"))
        assert "unit stride" in reasons["cutedsl"] and reasons["triton"] is None
        assert_close(apply_rotary(spread, None, c8, s8)[0],
                     composite(spread, c8, s8, 0, False, "bhsd"))
    q2, k2 = (t.detach().float().requires_grad_(True) for t in (q, k))
    q_ref = composite(q2, cos, sin, 0, False, "bshd")
    k_ref = composite(k2, cos, sin, 0, False, "bshd")
    ((q_ref * weight).sum() + k_ref.sum()).backward()
    assert_close(q_out, q_ref, torch.bfloat16)
    assert_close(k_out, k_ref, torch.bfloat16)
    assert_close(q.grad, q2.grad, torch.bfloat16)
    assert_close(k.grad, k2.grad, torch.bfloat16)
