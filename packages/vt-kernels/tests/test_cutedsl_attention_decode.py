"""The CuTeDSL decode-attention backend.

Without a GPU (CI) the split and combine kernels are compiled for sm_90a for every dtype and head
dim, their launch arguments are checked against the DSL's own marshalling, and numpy models check
the thread -> (key, 16-byte run) maps of the copies (every run of a CTA's chunk read once, each
warp access whole 128-byte lines) and the split / merge / combine arithmetic against a direct
softmax.
With a GPU the outputs are compared with a float64 composite.
"""

import math
import os

import numpy as np
import pytest
import torch
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.attention_decode import attention_decode
from vt.kernels.cutedsl import attention_decode as cd  # registers the backend

ARCH = None if ON_GPU else "sm_90a"
HEAD_DIMS = (64, 128, 256)


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, launch arguments, the index maps, the arithmetic, registration


@pytest.mark.parametrize("head_dim", HEAD_DIMS)
@pytest.mark.parametrize("dtype, group", [
    ("bfloat16", 4), ("float16", 16),  # tensor cores: one kernel for every group up to 16
    ("float32", 1), ("float32", 2), ("float32", 5),  # CUDA cores: 1, 2 and 4 heads a CTA
])
def test_every_dtype_head_dim_and_group_compiles_for_sm90(dtype, head_dim, group):
    assert cd.compile_all(dtype, head_dim, group, ARCH) == 2


@pytest.mark.parametrize("dtype, align", [("bfloat16", 2), ("float16", 4), ("float32", 1)])
def test_narrower_copies_compile_for_misaligned_caches(dtype, align):
    assert cd.compile_all(dtype, 128, 4, ARCH, align) == 2


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_fast_launch_arguments_match_the_dsl_marshalling(dtype):
    plan = cd._plan(128, dtype, 4, 16 // (4 if dtype == "float32" else 2))
    assert_launch_arguments_match(cd._compiled_split(plan, dtype, ARCH))
    assert_launch_arguments_match(cd._compiled_combine(128, dtype, ARCH))


@pytest.mark.parametrize("head_dim", HEAD_DIMS)
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_plans_fit_the_shared_memory_of_the_ctas_they_count_on(dtype, head_dim):
    plan = cd._plan(head_dim, dtype, 8, 16 // (4 if dtype == "float32" else 2))
    assert plan.merge_bytes <= plan.ring_bytes  # the merge reuses the rings
    assert plan.ctas_per_sm * (plan.smem_bytes + 1024) <= 228 * 1024
    assert plan.ctas_per_sm >= 3  # 6 warps an SM at least
    assert plan.threads % 32 == 0


# The copies of one split CTA, modelled as (key, 16-byte run of the key row) per thread and
# access; `order` lists each warp access as the (key, run) of its 32 lanes in lane order.

def _tensor_core_copies(plan, start, steps):
    runs = plan.head_dim // 8
    order = []
    for i in range(steps):
        for w in range(plan.warps):
            first = start + w * plan.keys + i * plan.block  # mine + i * block (kernel)
            for t in range(plan.keys * runs // 32):
                lanes = []
                for lane in range(32):
                    c = t * 32 + lane
                    lanes.append((first + c // runs, c % runs))
                order.append(lanes)
    return order


def _cuda_core_copies(plan, start, steps):
    order = []
    for i in range(steps):
        for u in range(plan.unroll):
            for j in range(plan.runs):
                for warp in range(plan.threads // 32):
                    lanes = []
                    for tidx in range(warp * 32, warp * 32 + 32):
                        slot, lane = divmod(tidx, plan.lanes)
                        lanes.append((start + slot + i * plan.block + u * plan.slots,
                                      j * plan.lanes + lane))
                    order.append(lanes)
    return order


@pytest.mark.parametrize("head_dim", HEAD_DIMS)
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_copies_read_every_run_of_the_chunk_once_and_each_warp_access_whole_lines(
        dtype, head_dim):
    plan = cd._plan(head_dim, dtype, 4, 16 // (4 if dtype == "float32" else 2))
    runs = head_dim * (4 if dtype == "float32" else 2) // 16
    start, steps = 3 * plan.block, 3
    copies = (_cuda_core_copies if dtype == "float32" else _tensor_core_copies)(plan, start,
                                                                                steps)
    seen = [pair for access in copies for pair in access]
    expected = [(key, run) for key in range(start, start + steps * plan.block)
                for run in range(runs)]
    assert sorted(seen) == expected  # each once
    for access in copies:
        # Coalesced: the 32 lanes' runs fill whole 128-byte lines of the key rows (8 runs).
        lines = {}
        for key, run in access:
            lines.setdefault((key, run // 8), set()).add(run % 8)
        assert len(lines) == 4 and all(len(r) == 8 for r in lines.values())


@pytest.mark.parametrize("batch, heads_kv, chunks, max_seq, block, wave", [
    (1, 8, 1, 32768, 64, 396), (32, 8, 1, 4096, 64, 396), (1, 1, 2, 100, 64, 12),
    (4, 2, 1, 1, 16, 16), (7, 3, 1, 1000, 32, 264), (1, 1, 1, 5000, 16, 528),
    (300, 8, 1, 2048, 64, 396), (2, 4, 3, 777, 8, 16)])
def test_splits_cover_the_cache_in_whole_blocks_within_one_wave(batch, heads_kv, chunks,
                                                                  max_seq, block, wave):
    chunk, num_splits = cd._splits(batch, heads_kv, chunks, max_seq, block, wave)
    assert chunk % block == 0
    assert (num_splits - 1) * chunk < max_seq <= num_splits * chunk  # the last holds a key
    ctas = batch * heads_kv * chunks
    assert num_splits == 1 or ctas * num_splits <= wave
    if ctas * 2 <= wave and -(-max_seq // block) >= wave // ctas:
        assert ctas * num_splits > wave // 4  # chunks of whole blocks round the split count


def test_the_benchmark_shapes_split_into_one_wave_on_an_h200():
    plan = cd._plan(128, "bfloat16", 4, 8)
    wave = plan.ctas_per_sm * 132
    assert (plan.block, plan.ctas_per_sm) == (64, 3)
    assert cd._splits(1, 8, 1, 32768, plan.block, wave) == (704, 47)  # 376 CTAs of 396
    assert cd._splits(32, 8, 1, 4096, plan.block, wave) == (4096, 1)  # 256 CTAs


def _used(length, max_seq, chunk):
    """The combine's count of splits that hold keys (they wrote partials)."""
    return -(-min(max(length, 0), max_seq) // chunk)


@pytest.mark.parametrize("max_seq, chunk", [(100, 64), (4096, 704), (1, 16), (640, 64)])
def test_the_combine_reads_exactly_the_splits_that_hold_keys(max_seq, chunk):
    num_splits = -(-max_seq // chunk)
    for length in [-5, 0, 1, chunk - 1, chunk, chunk + 1, max_seq - 1, max_seq, max_seq + 9]:
        seqlen = min(length, max_seq)
        wrote = [s for s in range(num_splits) if s * chunk < min(s * chunk + chunk, seqlen)]
        assert wrote == list(range(_used(length, max_seq, chunk)))


def _state_keys(plan, start, end):
    """The keys of each per-warp (tensor cores) or per-slot (CUDA cores) softmax state of the
    CTA whose chunk is [start, end), step by step; a key >= end is masked."""
    steps = -(-(end - start) // plan.block)
    if isinstance(plan, cd.MmaPlan):
        return [[[start + w * plan.keys + i * plan.block + row for row in range(plan.keys)]
                 for i in range(steps)] for w in range(plan.warps)]
    return [[[start + r + i * plan.block + u * plan.slots for u in range(plan.unroll)]
             for i in range(steps)] for r in range(plan.slots)]


def _model(q, k, v, lens, scale, plan, sms):
    """The kernels' arithmetic in float64: online softmax per state, the CTA's merge into
    partials and log2 logsumexps, then the combine over the splits that hold keys. Partials
    of splits past a sequence stay NaN: reading one would show."""
    batch, heads_q, d = q.shape
    heads_kv, max_seq = k.shape[1], k.shape[2]
    group = heads_q // heads_kv
    chunks = -(-group // plan.heads)
    chunk, num_splits = cd._splits(batch, heads_kv, chunks, max_seq, plan.block,
                                   plan.ctas_per_sm * sms)
    c = scale * math.log2(math.e)
    part = np.full((batch, heads_q, num_splits, d), np.nan)
    lse = np.full((batch, heads_q, num_splits), np.nan)
    for b in range(batch):
        seqlen = min(int(lens[b]), max_seq)
        for kv in range(heads_kv):
            for x in range(num_splits * chunks):
                split, head_chunk = divmod(x, chunks)
                start = split * chunk
                end = min(start + chunk, seqlen)
                if start >= end:
                    continue
                for g in range(head_chunk * plan.heads, min(group, (head_chunk + 1) * plan.heads)):
                    h = kv * group + g
                    states = []
                    for steps in _state_keys(plan, start, end):
                        m, s, acc = cd._NO_MAX, 0.0, np.zeros(d)
                        for keys in steps:
                            rows = np.minimum(keys, end - 1)  # the clamped copies
                            x_ = np.where(np.array(keys) < end,
                                          k[b, kv, rows] @ q[b, h] * c, -np.inf)
                            top = max(m, x_.max())
                            alpha, p = 2.0 ** (m - top), 2.0 ** (x_ - top)
                            s, acc, m = s * alpha + p.sum(), acc * alpha + p @ v[b, kv, rows], top
                        states.append((m, s, acc))
                    top = max(m for m, _, _ in states)
                    total = sum(2.0 ** (m - top) * s for m, s, _ in states)
                    part[b, h, split] = sum(2.0 ** (m - top) / total * acc for m, _, acc in states)
                    lse[b, h, split] = top + math.log2(total)
    out = np.zeros((batch, heads_q, d))
    for b in range(batch):
        used = _used(int(lens[b]), max_seq, chunk)
        for h in range(heads_q):
            top = lse[b, h, :used].max() if used else -np.inf
            weight = 2.0 ** (lse[b, h, :used] - top)
            total = weight.sum()
            out[b, h] = weight @ part[b, h, :used] / (total if total > 0 else 1.0)
    return out, num_splits


def _softmax_attention(q, k, v, lens, scale):
    batch, heads_q, d = q.shape
    heads_kv = k.shape[1]
    out = np.zeros((batch, heads_q, d))
    for b in range(batch):
        n = max(0, min(int(lens[b]), k.shape[2]))
        for h in range(heads_q):
            if n:
                kv = h // (heads_q // heads_kv)
                x = k[b, kv, :n] @ q[b, h] * scale
                p = np.exp(x - x.max())
                out[b, h] = p @ v[b, kv, :n] / p.sum()
    return out


@pytest.mark.parametrize("dtype, head_dim, heads_q, heads_kv", [
    ("bfloat16", 64, 8, 2), ("float32", 64, 8, 2), ("float32", 64, 6, 1), ("float16", 64, 4, 4),
    ("float32", 256, 3, 3)])
def test_the_split_merge_and_combine_arithmetic_is_a_softmax(dtype, head_dim, heads_q,
                                                            heads_kv):
    rng = np.random.default_rng(head_dim + heads_q)
    max_seq = 150
    lens = np.array([0, 1, 37, max_seq, max_seq + 20, -3, 64, 65])
    batch = len(lens)
    q = rng.standard_normal((batch, heads_q, head_dim))
    k = rng.standard_normal((batch, heads_kv, max_seq, head_dim))
    v = rng.standard_normal((batch, heads_kv, max_seq, head_dim))
    plan = cd._plan(head_dim, dtype, heads_q // heads_kv, 4)
    got, num_splits = _model(q, k, v, lens, 0.3, plan, sms=16)
    assert num_splits > 1  # several splits, some past the short sequences
    np.testing.assert_allclose(got, _softmax_attention(q, k, v, lens, 0.3), atol=1e-12)


def test_backend_is_registered_and_declines_what_it_cannot_run():
    assert "cutedsl" in vk.implementations("attention_decode")
    q, cache = torch.randn(2, 4, 128), torch.randn(2, 2, 16, 128)
    lens = torch.full((2,), 16, dtype=torch.int32)
    assert "CUDA" in cd._supports(q, cache, cache, lens, 0.1)
    reasons = dict(_registry.explain("attention_decode", q, cache, cache, lens, 0.1))
    assert "CUDA" in reasons["cutedsl"]
    with vk.use_impl("cutedsl"):  # falls back to the next backend that takes CPU tensors
        assert _registry.select("attention_decode", q, cache, cache, lens, 0.1).backend != \
            "cutedsl"
    # What the kernels cannot take on any device:
    assert cd._input_reason(q, cache, cache, lens, 0.1) is None
    odd = torch.randn(2, 4, 96), torch.randn(2, 2, 16, 96)
    assert "head_dim 96" in cd._input_reason(odd[0], odd[1], odd[1], lens, 0.1)
    assert "positive" in cd._input_reason(q, cache, cache, lens, 0.0)
    strided_lens = torch.zeros(4, dtype=torch.int32)[::2]
    assert "contiguous" in cd._input_reason(q, cache, cache, strided_lens, 0.1)
    half = torch.randn(2, 2, 16, 129, dtype=torch.bfloat16)[..., 1:]  # 2-byte aligned rows
    half_q = torch.randn(2, 4, 128, dtype=torch.bfloat16)
    assert "multiples of 4 bytes" in cd._input_reason(half_q, half, half, lens, 0.1)
    wide = torch.randn(2, 2, 16, 130, dtype=torch.bfloat16)[..., 2:]  # 4 bytes: narrower copies
    assert cd._input_reason(half_q, wide, wide, lens, 0.1) is None
    assert cd._alignment(8, (half_q, wide)) == 2


# ---------------------------------------------------------------------------------------------
# on a GPU: outputs against a float64 composite

def _cache(batch, heads, max_seq, head_dim, dtype, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn((batch, heads, max_seq, head_dim), device="cuda", generator=g).to(dtype)


def _expected(q, k_cache, v_cache, lens, scale):
    """softmax(q k^T * scale) v over the first min(len, max_seq) positions, in float64."""
    batch, heads_q, head_dim = q.shape
    heads_kv, max_seq = k_cache.shape[1], k_cache.shape[2]
    grouped = q.double().view(batch, heads_kv, heads_q // heads_kv, head_dim)
    scores = grouped @ k_cache.double().transpose(-1, -2) * scale
    valid = torch.arange(max_seq, device=q.device) < lens.long()[:, None]
    scores = scores.masked_fill(~valid[:, None, None, :], -math.inf)
    probs = torch.softmax(scores, -1).nan_to_num(0.0)
    return (probs @ v_cache.double()).reshape(batch, heads_q, head_dim)


def _lengths(batch, max_seq, seed):
    """Random lengths with 0, 1, max_seq and one past max_seq among them."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    lens = torch.randint(0, max_seq + 1, (batch,), device="cuda", generator=g, dtype=torch.int32)
    for i, n in enumerate([0, 1, max_seq, max_seq + 7][:batch]):
        lens[i] = n
    return lens


def _check(q, k_cache, v_cache, lens, scale=None):
    scale = scale if scale is not None else q.shape[-1] ** -0.5
    assert cd._supports(q, k_cache, v_cache, lens, scale) is None
    out = cd._forward(q, k_cache, v_cache, lens, scale)
    assert out.dtype == q.dtype and out.shape == q.shape
    assert_close(out, _expected(q, k_cache, v_cache, lens, scale), dtype=q.dtype)
    return out


GPU_SHAPES = [  # batch, heads_q, heads_kv, max_seq: GQA groups 1, 4, 8, 16 and MQA
    (5, 8, 8, 300), (4, 16, 4, 1000), (4, 16, 2, 517), (4, 32, 2, 700), (5, 32, 1, 129)]


@pytest.mark.cuda
@pytest.mark.parametrize("shape", GPU_SHAPES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("head_dim", HEAD_DIMS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_match_a_float64_composite(dtype, head_dim, shape):
    batch, heads_q, heads_kv, max_seq = shape
    g = torch.Generator(device="cuda").manual_seed(max_seq + head_dim)
    q = torch.randn((batch, heads_q, head_dim), device="cuda", generator=g).to(dtype)
    k_cache = _cache(batch, heads_kv, max_seq, head_dim, dtype, 1)
    v_cache = _cache(batch, heads_kv, max_seq, head_dim, dtype, 2)
    out = _check(q, k_cache, v_cache, _lengths(batch, max_seq, 3))
    assert not out[0].any()  # length 0: zeros, not NaN


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_slices_of_bigger_caches_and_strided_q(dtype):
    head_dim, max_seq = 128, 333
    big_k = _cache(6, 4, max_seq + 50, head_dim, dtype, 4)
    big_v = _cache(7, 4, max_seq + 3, head_dim, dtype, 5)
    q = torch.randn((3, 8, 2 * head_dim), device="cuda").to(dtype)[..., :head_dim]
    lens = _lengths(3, max_seq, 6)
    # along max_seq (k) and along batch (v): outer strides differ between k and v
    _check(q, big_k[::2, :, :max_seq], big_v[1:4, :, :max_seq], lens)
    # heads of a (batch, max_seq, heads, head_dim) cache
    bshd = _cache(3, max_seq, 4, head_dim, dtype, 7).transpose(1, 2)
    _check(q, bshd, bshd, lens, 0.05)


@pytest.mark.cuda
def test_caches_aligned_to_4_bytes_take_narrower_copies():
    for dtype, offset in ((torch.float32, 1), (torch.bfloat16, 2), (torch.float16, 6)):
        big = _cache(2, 2, 64, 128 + offset, dtype, 8)[..., offset:]
        q = torch.randn((2, 8, 128), device="cuda").to(dtype)
        assert cd._alignment(16 // big.element_size(), (q, big)) * big.element_size() < 16
        _check(q, big, big, torch.tensor([64, 17], dtype=torch.int32, device="cuda"))


@pytest.mark.cuda
def test_a_long_cache_of_batch_one_and_an_empty_batch():
    dtype = torch.bfloat16
    q = torch.randn((1, 32, 128), device="cuda").to(dtype)
    k_cache, v_cache = (_cache(1, 8, 32768, 128, dtype, s) for s in (9, 10))
    _check(q, k_cache, v_cache, torch.tensor([32768], dtype=torch.int32, device="cuda"))
    _check(q, k_cache, v_cache, torch.tensor([20001], dtype=torch.int32, device="cuda"))
    empty = cd._forward(q[:0], k_cache[:0], v_cache[:0],
                        torch.zeros(0, dtype=torch.int32, device="cuda"), 0.1)
    assert empty.shape == (0, 32, 128)


@pytest.mark.cuda
def test_registry_selects_cutedsl_and_falls_back_where_it_declines():
    q = torch.randn((2, 8, 128), device="cuda", dtype=torch.bfloat16)
    k_cache, v_cache = (_cache(2, 2, 100, 128, torch.bfloat16, s) for s in (11, 12))
    lens = torch.tensor([100, 3], dtype=torch.int32, device="cuda")
    with vk.use_impl("cutedsl"):
        assert _registry.explain("attention_decode", q, k_cache, v_cache, lens, 0.1)[0] == \
            ("cutedsl", None)
        assert _registry.select("attention_decode", q, k_cache, v_cache, lens, 0.1).backend == \
            "cutedsl"
        out = attention_decode(q, k_cache, v_cache, lens, softmax_scale=0.1)
        assert_close(out, _expected(q, k_cache, v_cache, lens, 0.1), dtype=torch.bfloat16)
        # 2-byte aligned rows: Triton's
        odd = _cache(2, 2, 100, 129, torch.bfloat16, 13)[..., 1:]
        assert "multiples of 4 bytes" in cd._supports(q, odd, odd, lens, 0.1)
        assert _registry.select("attention_decode", q, odd, odd, lens, 0.1).backend == "triton"
