"""The CuTeDSL cross-entropy backend.

Without a GPU (CI) every variant is compiled for sm_90a and its launch arguments are checked
against the DSL's own marshalling; with a GPU the losses, lse and gradients are compared with
torch (F.cross_entropy and an independent z-loss composite, float32 math on the same inputs).
"""

import importlib
import os

import pytest
import torch
import torch.nn.functional as F
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.cutedsl import cross_entropy as ce  # registers the backend

# The Triton family module (vt.kernels.cross_entropy is also the name of the function).
family = importlib.import_module("vt.kernels.cross_entropy")

ARCH = None if ON_GPU else "sm_90a"
# One length per way of walking a row: registers, staged in shared memory, streamed.
BUCKETS = {"registers": 1000, "staged": 16384, "streamed": 131072}


# ---------------------------------------------------------------------------------------------
# everywhere: plans, compilation, launch arguments, registration


# float16 shares every code path with bfloat16 but the conversion: compiled in one bucket.
@pytest.mark.parametrize("dtype, bucket", [
    (dtype, bucket) for bucket in sorted(BUCKETS) for dtype in ("float32", "bfloat16")] + [
    ("float16", "registers")])
def test_every_mode_compiles_for_sm90(dtype, bucket):
    # fwd, in-place fwd without and with a gradient scale, bwd (int64 targets, smoothing, z)
    assert ce.compile_all(dtype, BUCKETS[bucket], ARCH, every_option=False) == 4


def test_target_dtypes_smoothing_and_z_loss_options_compile():
    assert ce.compile_all("bfloat16", 1000, ARCH) == 16
    # The options change the same code in the staged and streamed walks: one each there.
    for n in (BUCKETS["staged"], BUCKETS["streamed"]):
        plan = ce._plan(n, 8, 2)
        ce._compiled(plan, "fwd_grad", "float16", "int32", None, False, False, ARCH)
        ce._compiled(plan, "fwd", "float16", "int32", None, True, False, ARCH)


@pytest.mark.parametrize("n", [1, 7, 50257])  # one element per access: registers / streamed
def test_odd_vocabularies_compile(n):
    assert ce.compile_all("bfloat16", n, ARCH, every_option=False) == 4


def _covered_columns(plan, n):
    """Every column each thread of a row touches, from the tiling's thread -> vector map (the
    tv_layout of _common: vector j of lane l starts at (l + j * threads) * vec)."""
    t = plan.tiling
    chunks = plan.chunks or -(-n // t.cols)
    cols = []
    for k in range(chunks):
        for lane in range(t.threads_per_row):
            for j in range(t.vecs_per_thread):
                start = k * t.cols + (lane + j * t.threads_per_row) * t.vec
                cols += range(start, start + t.vec)
    return cols


@pytest.mark.parametrize("n", [1, 7, 8, 1000, 8192, 8200, 32768, 49152, 50000, 50257, 131072])
@pytest.mark.parametrize("itemsize", [2, 4])
def test_plans_cover_each_row_once_within_the_register_and_shared_memory_budgets(n, itemsize):
    vec = 16 // itemsize
    while n % vec:
        vec //= 2
    plan = ce._plan(n, vec, itemsize)
    t = plan.tiling
    cols = _covered_columns(plan, n)
    assert sorted(cols) == list(range(len(cols))) and n <= len(cols) < n + t.cols
    assert t.vec * t.vecs_per_thread <= 32 and t.threads_per_row <= 256
    if n <= 8192:
        assert plan.chunks == 1 and not plan.staged
    elif plan.staged:
        assert plan.chunks * t.cols * itemsize <= 96 * 1024 and t.vec * itemsize >= 4
        assert t.rows_per_cta == 1
    else:
        assert plan.chunks == 0 and t.rows_per_cta == 1
    if itemsize == 2 and n == 32768:
        assert plan.staged and plan.chunks == 4  # the TARGETS.md row: 64 KB in shared memory


@pytest.mark.parametrize("mode, g_key, t_key", [
    ("fwd", None, "int64"), ("fwd_grad", None, "int32"), ("fwd_grad", "float32", "int64"),
    ("bwd", "float32", "int32")])
def test_fast_launch_arguments_match_the_dsl_marshalling(mode, g_key, t_key):
    kernel = ce._compiled(ce._plan(1000, 8, 2), mode, "bfloat16", t_key, g_key, True, True, ARCH)
    assert_launch_arguments_match(kernel)


def test_backend_is_registered_and_declines_what_it_cannot_run():
    assert "cutedsl" in vk.implementations("cross_entropy")
    x, t = torch.randn(4, 64), torch.zeros(4, dtype=torch.long)
    assert "CUDA" in ce._supports(x, t, -100, 0.0, 0.0)
    reasons = dict(_registry.explain("cross_entropy", x, t, -100, 0.0, 0.0))
    assert "CUDA" in reasons["cutedsl"]
    with vk.use_impl("cutedsl"):  # falls back to the next backend that takes CPU tensors
        assert _registry.select("cross_entropy", x, t, -100, 0.0, 0.0).backend != "cutedsl"


# ---------------------------------------------------------------------------------------------
# on a GPU: values and gradients against torch

VOCABS = [1, 7, 1000, 32768, 50000, 131072]


def reference(x, t, ignore_index=-100, label_smoothing=0.0, z_loss=0.0):
    """Per-row F.cross_entropy in float32 plus PaLM's z-loss, written apart from the kernels."""
    xf = x.float()
    loss = F.cross_entropy(xf, t.long(), ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction="none")
    valid = t != ignore_index
    lse = torch.where(valid, torch.logsumexp(xf, -1), 0.0)
    return loss + torch.where(valid, z_loss * lse.square(), 0.0), lse


def _random(shape, dtype, seed, scale=3.0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.randn(shape, device="cuda", generator=g) * scale).to(dtype)


def _targets(m, v, seed, ignored=(1,), dtype=torch.int64):
    g = torch.Generator(device="cuda").manual_seed(seed)
    t = torch.randint(0, v, (m,), device="cuda", generator=g)
    for i in ignored:
        if i < m:
            t[i] = -100
    return t.to(dtype)


def _reference_grad(x, t, g_rows, **options):
    """d sum(loss * g_rows) / dx in float32."""
    x2 = x.detach().float().requires_grad_(True)
    loss, _ = reference(x2, t, **options)
    (loss * g_rows).sum().backward()
    return x2.grad


def _check(x, t, g_rows, dtype, **options):
    """Forward, backward and the in-place forward of the cutedsl backend against torch."""
    ignore_index = options.get("ignore_index", -100)
    smoothing, z = options.get("label_smoothing", 0.0), options.get("z_loss", 0.0)
    assert ce._supports(x, t, ignore_index, smoothing, z) is None
    loss, lse = ce._forward(x, t, ignore_index, smoothing, z)
    loss2, lse2 = reference(x, t, **options)
    tol = {"atol": 1e-4, "rtol": 1e-5}  # float32 results of float32 math: summation order
    assert loss.dtype == lse.dtype == torch.float32
    assert_close(loss, loss2, torch.float32, **tol)
    assert_close(lse, lse2, torch.float32, **tol)
    dx = ce._backward(x, t, lse, g_rows, ignore_index, smoothing, z)
    dx2 = _reference_grad(x, t, g_rows.float().expand(x.shape[0]), **options)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    assert_close(dx, dx2, dtype)
    buffer = _same_layout_copy(x)
    loss3, lse3 = ce._forward(buffer, t, ignore_index, smoothing, z, inplace_backward=True,
                              grad_scale=g_rows)
    assert_close(loss3, loss2, torch.float32, **tol)
    assert_close(lse3, lse2, torch.float32, **tol)
    assert_close(buffer, dx2, dtype)


def _same_layout_copy(x):
    """A copy of x with its strides and its offset in the storage (so the same alignment)."""
    storage = torch.empty(x.untyped_storage().nbytes() // x.element_size(), dtype=x.dtype,
                          device=x.device)
    copy = storage.as_strided(x.shape, x.stride(), x.storage_offset())
    return copy.copy_(x)


@pytest.mark.cuda
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1, "z_loss": 1e-3}],
                         ids=["plain", "smoothing_z"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", VOCABS)
def test_matches_torch(vocab, dtype, options):
    m = 6 if vocab > 8192 else 37  # several rows per CTA for short rows, a partial last CTA
    x = _random((m, vocab), dtype, 0)
    t = _targets(m, vocab, 1, ignored=(1, 4))
    g_rows = torch.rand(m, device="cuda") + 0.5  # per-row upstream gradient, not 1
    _check(x, t, g_rows, dtype, **options)


@pytest.mark.cuda
@pytest.mark.parametrize("vocab", [1000, 32768, 131072])
def test_gradient_scale_kinds(vocab):
    x = _random((5, vocab), torch.bfloat16, 2)
    t = _targets(5, vocab, 3)
    _, lse = ce._forward(x, t, -100, 0.0, 0.0)
    unit = _reference_grad(x, t, torch.ones(5, device="cuda"))
    for scale in (None, torch.full((1,), 0.25, device="cuda"),
                  torch.tensor(0.25, device="cuda"), torch.linspace(0.5, 2, 5, device="cuda")):
        buffer = x.clone()
        ce._forward(buffer, t, -100, 0.0, 0.0, inplace_backward=True, grad_scale=scale)
        factor = 1.0 if scale is None else scale.reshape(-1, 1)
        assert_close(buffer, unit * factor, torch.bfloat16)
        if scale is not None:
            assert_close(ce._backward(x, t, lse, scale, -100, 0.0, 0.0), unit * factor,
                         torch.bfloat16)


@pytest.mark.cuda
@pytest.mark.parametrize("vocab", [7, 1000, 32768, 131072])
def test_ignored_and_out_of_range_targets(vocab):
    x = _random((4, vocab), torch.float32, 4)
    ones = torch.ones(4, device="cuda")
    everything_ignored = torch.full((4,), -100, device="cuda")
    loss, lse = ce._forward(x, everything_ignored, -100, 0.1, 1e-3)
    assert bool((loss == 0).all()) and bool((lse == 0).all())
    buffer = x.clone()
    ce._forward(buffer, everything_ignored, -100, 0.1, 1e-3, inplace_backward=True)
    assert bool((buffer == 0).all())
    assert bool((ce._backward(x, everything_ignored, lse, ones, -100, 0.1, 1e-3) == 0).all())
    # Out-of-range targets cannot raise without a host sync: their rows give NaN instead.
    bad = torch.tensor([3, vocab, -1, -100], device="cuda")
    loss, lse = ce._forward(x, bad, -100, 0.0, 0.0)
    assert torch.isfinite(loss[0]) and loss[3].item() == 0.0 and lse[3].item() == 0.0
    assert torch.isnan(loss[1]) and torch.isnan(loss[2])
    assert_close(lse[:3], torch.logsumexp(x[:3], -1))
    buffer = x.clone()
    ce._forward(buffer, bad, -100, 0.0, 0.0, inplace_backward=True)
    for dx in (ce._backward(x, bad, lse, ones, -100, 0.0, 0.0), buffer):
        assert torch.isnan(dx[1]).all() and torch.isnan(dx[2]).all()
        assert torch.isfinite(dx[0]).all() and bool((dx[3] == 0).all())


@pytest.mark.cuda
@pytest.mark.parametrize("vocab", [1000, 32768, 131072])
def test_minus_inf_logits_and_rows(vocab):
    x = _random((3, vocab), torch.float32, 5)
    x[0, : vocab // 2] = float("-inf")  # whole chunks of -inf before the running max...
    x[2, vocab // 2:] = float("-inf")  # ...and after it
    t = torch.tensor([vocab - 1, -100, 0], device="cuda")
    _check(x, t, torch.ones(3, device="cuda"), torch.float32, z_loss=1e-3)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", [1000, 32768, 131072])
def test_int32_targets_and_a_custom_ignore_index(vocab, dtype):
    x = _random((6, vocab), dtype, 6)
    t = _targets(6, vocab, 7, ignored=(), dtype=torch.int32)
    t[2] = t[5] = 7  # ignore_index inside [0, V): those rows are ignored, not class 7
    _check(x, t, torch.rand(6, device="cuda") + 0.5, dtype, ignore_index=7, label_smoothing=0.2)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", [1000, 32768, 131072])
def test_strided_and_misaligned_rows_take_narrower_vectors(vocab, dtype):
    base = _random((7, vocab + 10), dtype, 8)
    t = _targets(7, vocab, 9)
    g_rows = torch.rand(7, device="cuda") + 0.5
    # a row stride of vocab + 10; the base address one element off (one element an access)
    for x in (base[:, :vocab], base[:, 1:vocab + 1]):
        assert x.stride(0) == vocab + 10
        _check(x, t, g_rows, dtype, label_smoothing=0.1)
    # a non-unit target stride
    wide = torch.stack([t, t]).t()
    _check(base[:, :vocab], wide[:, 0], g_rows, dtype)


@pytest.mark.cuda
def test_empty_batch():
    x = torch.empty(0, 1000, device="cuda")
    t = torch.empty(0, dtype=torch.long, device="cuda")
    loss, lse = ce._forward(x, t, -100, 0.0, 0.0)
    assert loss.shape == lse.shape == (0,)
    assert ce._backward(x, t, lse, torch.ones(1, device="cuda"), -100, 0.0, 0.0).shape == (0, 1000)


@pytest.mark.cuda
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("vocab", [1000, 32768, 131072])
def test_public_cross_entropy_runs_on_cutedsl(vocab, inplace):
    x = _random((4, 3, vocab), torch.bfloat16, 10)
    t = _targets(12, vocab, 11).view(4, 3)
    x1 = x.clone().requires_grad_(True)
    with vk.use_impl("cutedsl"):
        assert vk.explain("cross_entropy", x.view(-1, vocab), t.view(-1), -100, 0.1,
                          1e-4)[0] == ("cutedsl", None)
        loss = family.cross_entropy(x1 * 1, t, label_smoothing=0.1, z_loss=1e-4,
                                    inplace_backward=inplace)
        loss.backward()
    x2 = x.float().requires_grad_(True)
    rows, _ = reference(x2.view(-1, vocab), t.view(-1), label_smoothing=0.1, z_loss=1e-4)
    expected = rows.sum() / (t != -100).sum()
    expected.backward()
    assert_close(loss, expected, torch.bfloat16)
    assert_close(x1.grad, x2.grad, torch.bfloat16)


@pytest.mark.cuda
def test_registry_falls_back_for_inputs_it_cannot_take():
    x = _random((4, 100), torch.float32, 12)
    t = _targets(4, 100, 13)
    with vk.use_impl("cutedsl"):
        assert _registry.select("cross_entropy", x, t, -100, 0.0, 0.0).backend == "cutedsl"
        float_targets = t.float()
        assert "int32 or int64" in ce._supports(x, float_targets, -100, 0.0, 0.0)
        strided = _random((4, 100, 2), torch.float32, 14)[..., 0]  # stride 2 along the vocab
        assert "unit stride" in dict(vk.explain("cross_entropy", strided, t, -100, 0.0,
                                                0.0))["cutedsl"]
        assert _registry.select("cross_entropy", strided, t, -100, 0.0, 0.0).backend == "triton"
        loss = family.cross_entropy(x, t)
    assert_close(loss, F.cross_entropy(x, t))


def test_default_order_tries_the_faster_backend_first_and_choices_still_win(monkeypatch,
                                                                            device):
    x = torch.randn(4, 64, device=device)
    t = torch.zeros(4, dtype=torch.long, device=device)
    monkeypatch.setitem(_registry._faster, "cross_entropy", ("cutedsl", lambda *args: True))
    order = [backend for backend, _ in vk.explain("cross_entropy", x, t, -100, 0.0, 0.0)]
    assert order[:2] == ["cutedsl", "triton"]
    # On CPU tensors the preferred backend declines and the next one runs.
    expected = "cutedsl" if ON_GPU else "triton"
    assert _registry.select("cross_entropy", x, t, -100, 0.0, 0.0).backend == expected
    with vk.use_impl("reference", "cross_entropy"):
        assert vk.explain("cross_entropy", x, t, -100, 0.0, 0.0)[0] == ("reference", None)


@pytest.mark.cuda
def test_cutedsl_is_the_default_where_it_measured_faster():
    t = _targets(4, 32768, 15)
    even = _random((4, 32768), torch.bfloat16, 16)
    assert _registry.select("cross_entropy", even, t, -100, 0.0, 0.0).backend == "cutedsl"
    odd = _random((4, 32767), torch.bfloat16, 17)  # one 2-byte element per access
    assert _registry.select("cross_entropy", odd, t, -100, 0.0, 0.0).backend == "triton"
    with vk.use_impl("triton", "cross_entropy"):
        assert _registry.select("cross_entropy", even, t, -100, 0.0, 0.0).backend == "triton"
