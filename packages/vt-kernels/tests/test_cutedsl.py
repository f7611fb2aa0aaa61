"""The CuTeDSL backends (rms_norm, layer_norm, softmax, log_softmax).

Without a GPU (CI) every kernel is compiled for sm_90a and its launch arguments are checked
against the DSL's own marshalling; with a GPU the values and gradients are compared with torch.
"""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
import vt.kernels.cutedsl  # noqa: F401  (registers the backend)
from vt.kernels import _registry
from vt.kernels.cutedsl import _common as C
from vt.kernels.cutedsl import layer_norm as ln
from vt.kernels.cutedsl import rms_norm as rms
from vt.kernels.cutedsl import softmax as sm
from vt.kernels.layer_norm import layer_norm
from vt.kernels.rms_norm import rms_norm
from vt.kernels.softmax import log_softmax, softmax

ARCH = None if ON_GPU else "sm_90a"
FAMILIES = {"rms_norm": rms, "layer_norm": ln, "softmax": sm}


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, tiling, launch arguments, registration


@pytest.mark.parametrize("n", [200, 8192])  # many rows per CTA / one row over 8 warps
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_kernel_compiles_for_sm90(family, dtype, n):
    assert FAMILIES[family].compile_all(dtype, n, ARCH, every_option=False) >= 2


@pytest.mark.parametrize("family", ["rms_norm", "layer_norm"])
def test_weight_bias_and_residual_options_compile(family):
    assert FAMILIES[family].compile_all("float16", 37, ARCH) == 8  # odd n: one element a vector


@pytest.mark.parametrize("n", [1, 8, 37, 200, 1000, 4096, 5000, 8192, 16384])
@pytest.mark.parametrize("vec", [1, 2, 4, 8])
def test_row_tiling_covers_the_row_with_bounded_registers(n, vec):
    t = C.row_tiling(n, vec)
    assert t.cols >= n and t.cols - n < t.vec * t.threads_per_row  # no wholly idle vector column
    assert t.vec * t.vecs_per_thread <= 32
    assert 128 <= t.cta_threads <= 512 and t.threads_per_row & (t.threads_per_row - 1) == 0


def test_vector_width_follows_length_strides_and_addresses():
    x = torch.empty(4, 64, dtype=torch.bfloat16)
    assert C.vector_width(64, (x,), ()) == 8
    assert C.vector_width(64, (x,), (torch.empty(64, dtype=torch.float32),)) == 4  # widest dtype
    assert C.vector_width(60, (x[:, :60],), ()) == 4  # n = 60 allows 4
    assert C.vector_width(63, (torch.empty(4, 63, dtype=torch.bfloat16),), ()) == 1
    assert C.vector_width(62, (x[:, 1:63],), ()) == 1  # base address off by one element
    assert C.vector_width(64, (torch.empty(4, 66, dtype=torch.bfloat16)[:, :64],), ()) == 2
    assert C.vector_width(64, (torch.empty(1, 64, dtype=torch.bfloat16),), ()) == 8


@pytest.mark.parametrize("build", [
    lambda: rms._compiled_forward(C.row_tiling(512, 8), "bfloat16", "bfloat16", None, ARCH),
    lambda: rms._compiled_backward(C.row_tiling(512, 8), "bfloat16", "bfloat16", "bfloat16",
                                   "bfloat16", ARCH),
    lambda: ln._compiled_backward(C.row_tiling(512, 8), "bfloat16", "bfloat16", "bfloat16", True,
                                  None, ARCH),
    lambda: sm._compiled_forward(C.row_tiling(512, 8), "bfloat16", True, ARCH),
], ids=["rms_norm_fwd", "rms_norm_bwd", "layer_norm_bwd", "log_softmax_fwd"])
def test_fast_launch_arguments_match_the_dsl_marshalling(build):
    kernel = build()
    assert_launch_arguments_match(kernel)


def _run_python(code):
    env = dict(os.environ, CUTE_DSL_ARCH=os.environ.get("CUTE_DSL_ARCH", "sm_90a"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_importing_vt_kernels_defers_cutlass_until_the_backend_is_asked_for():
    out = _run_python("""
        import sys
        import torch
        import vt.kernels as vk
        from vt.kernels import _registry
        print("cutlass" in sys.modules, "cutedsl" in vk.implementations("rms_norm"))
        vk.explain("rms_norm", torch.randn(2, 8), None, None, 1e-6)
        from vt.kernels.cutedsl import rms_norm
        real = _registry._table("rms_norm")["cutedsl"].forward is rms_norm._forward
        print("cutlass" in sys.modules, real)
    """)
    assert out.split() == ["False", "True", "True", "True"]


def test_a_cutlass_that_does_not_import_is_a_reason_not_an_error():
    out = _run_python("""
        import sys
        import torch
        import vt.kernels as vk
        sys.modules["cutlass"] = None  # its import now raises ModuleNotFoundError
        x = torch.randn(2, 8)
        reasons = dict(vk.explain("rms_norm", x, None, None, 1e-6))
        print(reasons["cutedsl"])
        with vk.use_impl("cutedsl", "rms_norm"):
            y = vk.rms_norm(x, None, 1e-6)  # falls back to the next backend
        print(torch.allclose(y, x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)))
    """)
    assert "nvidia-cutlass-dsl does not import: ModuleNotFoundError" in out
    assert out.strip().endswith("True")


def test_backend_is_registered_and_declines_what_it_cannot_run():
    for kernel in ("rms_norm", "layer_norm", "softmax", "log_softmax"):
        assert "cutedsl" in vk.implementations(kernel)
    x = torch.randn(4, 64)
    assert "CUDA" in rms._supports(x, None, None, 1e-6)
    assert "CUDA" in ln._supports(x, None, None, None, 1e-5)
    assert "CUDA" in sm._supports(x, False)
    assert "torch tensors" in C.tensors_reason(x.numpy())
    assert "16384" in C.rows_reason(torch.empty(2, C.MAX_N + 1))
    assert "length 0" in C.rows_reason(torch.empty(2, 0))
    reasons = dict(_registry.explain("rms_norm", x, None, None, 1e-6))
    assert "CUDA" in reasons["cutedsl"]


# ---------------------------------------------------------------------------------------------
# on a GPU: values and gradients against torch composites (float32 math on the same inputs)

SHAPES = [(1, 8), (3, 37), (17, 256), (4, 1000), (64, 4096), (5, 16384)]


def leaves(*tensors):
    return [t.detach().clone().float().requires_grad_(True) if t is not None else None
            for t in tensors]


def rms_reference(x, w, eps, residual=None):
    h = x + residual if residual is not None else x
    y = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return y * w if w is not None else y


def ln_reference(x, w, b, eps, residual=None):
    h = x + residual if residual is not None else x
    mean = h.mean(-1, keepdim=True)
    y = (h - mean) * torch.rsqrt((h - mean).pow(2).mean(-1, keepdim=True) + eps)
    if w is not None:
        y = y * w
    return y + b if b is not None else y


def _random(shape, dtype, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(shape, device="cuda", dtype=torch.float32, generator=g).to(dtype)


def _leaf_grads(reference, h, params, dy, dh):
    """float32 reference output and gradients (dh_in, *dparams) from the rounded h; the gradient
    that reaches x (and residual) is the one of h plus the incoming dh."""
    h2, *p2 = leaves(h, *params)
    y2 = reference(h2, *p2)
    y2.backward(dy.float())
    dx = h2.grad + dh.float() if dh is not None else h2.grad
    return y2, dx, [p.grad if p is not None else None for p in p2]


@pytest.mark.cuda
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_rms_norm_matches_torch(shape, dtype, weight, residual):
    x, dy, dh = (_random(shape, dtype, s) for s in (0, 1, 2))
    w = _random(shape[-1], dtype, 3) if weight else None
    r = _random(shape, dtype, 4) if residual else None
    dh = dh if residual else None
    assert rms._supports(x, w, r, 1e-6) is None
    y, h, rstd = rms._forward(x, w, r, 1e-6)
    h_ref = x + r if residual else x  # rounded to dtype, as the kernel stores it
    dx, dw = rms._backward(dy, h_ref, w, rstd, dh)

    y2, dx2, (dw2,) = _leaf_grads(lambda h, w: rms_reference(h, w, 1e-6), h_ref, [w], dy, dh)
    assert y.dtype == dtype and y.shape == x.shape and rstd.dtype == torch.float32
    assert_close(y, y2, dtype)
    assert_close(rstd, torch.rsqrt(h_ref.float().pow(2).mean(-1) + 1e-6), torch.float32)
    if residual:
        assert_close(h, h_ref, dtype, atol=0, rtol=0)
    assert_close(dx, dx2, dtype)
    if weight:
        assert dw.dtype == dtype
        assert_close(dw, dw2, dtype, reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_matches_torch(shape, dtype, affine, residual):
    x, dy, dh = (_random(shape, dtype, s) for s in (0, 1, 2))
    x = x + 3  # a mean far from 0: the variance must not cancel
    w = _random(shape[-1], dtype, 3) if affine else None
    b = _random(shape[-1], dtype, 5) if affine else None
    r = _random(shape, dtype, 4) if residual else None
    dh = dh if residual else None
    assert ln._supports(x, w, b, r, 1e-5) is None
    y, h, mean, rstd = ln._forward(x, w, b, r, 1e-5)
    h_ref = x + r if residual else x
    dx, dw, db = ln._backward(dy, h_ref, w, b, mean, rstd, dh)

    y2, dx2, (dw2, db2) = _leaf_grads(lambda h, w, b: ln_reference(h, w, b, 1e-5), h_ref, [w, b],
                                      dy, dh)
    hf = h_ref.float()
    assert_close(y, y2, dtype)
    assert_close(mean, hf.mean(-1), torch.float32)
    assert_close(rstd, torch.rsqrt(hf.var(-1, unbiased=False) + 1e-5), torch.float32)
    if residual:
        assert_close(h, h_ref, dtype, atol=0, rtol=0)
    assert_close(dx, dx2, dtype)
    if affine:
        assert dw.dtype == db.dtype == dtype
        assert_close(dw, dw2, dtype, reduced=True)
        assert_close(db, db2, dtype, reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_matches_torch(shape, dtype, log):
    x, dy = _random(shape, dtype, 0) * 4, _random(shape, dtype, 1)
    kernel = "log_softmax" if log else "softmax"
    with vk.use_impl("cutedsl"):
        impl = _registry.select(kernel, x, log)
    assert impl.backend == "cutedsl"
    y = impl.forward(x, log)
    dx = impl.backward(y, dy, log)
    x2, = leaves(x)
    y2 = torch.log_softmax(x2, -1) if log else torch.softmax(x2, -1)
    y2.backward(dy.float())
    assert_close(y, y2, dtype)
    # The backward reads the rounded y, as autograd would from a low-precision forward.
    yf = y.float()
    dyf = dy.float()
    if log:
        expected = dyf - yf.exp() * dyf.sum(-1, keepdim=True)
    else:
        expected = yf * (dyf - (dyf * yf).sum(-1, keepdim=True))
    assert_close(dx, expected, dtype)
    if dtype == torch.float32:
        assert_close(dx, x2.grad, dtype, atol=1e-4, rtol=1e-4)


@pytest.mark.cuda
def test_softmax_of_rows_with_minus_inf():
    x = _random((3, 300), torch.float32, 0)
    x[0, :150] = float("-inf")
    y = sm._forward(x, False)
    assert_close(y, torch.softmax(x, -1))
    assert_close(sm._forward(x, True)[0, 150:], torch.log_softmax(x, -1)[0, 150:])


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_and_misaligned_rows_take_narrower_vectors(dtype):
    base = _random((40, 1030), dtype, 0)
    # row stride 1030; base address off by 2 elements; odd length off by 3
    for x, vec in ((base[:, :1024], 2), (base[:, 2:1026], 2), (base[:, 3:1030], 1)):
        n = x.shape[1]
        w, dy = _random(n, dtype, 1), _random((40, n), dtype, 2)
        assert C.vector_width(n, (x,), (w,)) == vec
        y, _, rstd = rms._forward(x, w, None, 1e-6)
        dx, dw = rms._backward(dy, x, w, rstd, None)
        x2, w2 = leaves(x, w)
        y2 = rms_reference(x2, w2, 1e-6)
        y2.backward(dy.float())
        assert_close(y, y2, dtype)
        assert_close(dx, x2.grad, dtype)
        assert_close(dw, w2.grad, dtype, reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("n", [24, 96, 3000])  # 128 / 32 / 1 rows per CTA
def test_backward_with_many_tiles_per_cta_sums_every_row(n):
    m = 70001 if n < 1000 else 9001  # more row tiles than CTAs, and a partial last tile
    assert -(-m // C.row_tiling(n, 4).rows_per_cta) > C.backward_grid(torch.empty(1, device="cuda"),
                                                                     m, C.row_tiling(n, 4))
    x, dy = _random((m, n), torch.float32, 0), _random((m, n), torch.float32, 1)
    w, b = _random(n, torch.float32, 2), _random(n, torch.float32, 3)
    _, _, mean, rstd = ln._forward(x, w, b, None, 1e-5)
    dx, dw, db = ln._backward(dy, x, w, b, mean, rstd, None)
    x2, w2, b2 = leaves(x, w, b)
    ln_reference(x2, w2, b2, 1e-5).backward(dy)
    assert_close(dx, x2.grad)
    assert_close(dw, w2.grad, reduced=True, atol=1e-3, rtol=1e-3)
    assert_close(db, b2.grad, reduced=True, atol=1e-3, rtol=1e-3)


@pytest.mark.cuda
def test_mixed_weight_dtype_and_empty_input():
    x = _random((6, 512), torch.bfloat16, 0)
    w = _random(512, torch.float32, 1)
    y, _, _ = rms._forward(x, w, None, 1e-6)
    x2, w2 = leaves(x, w)
    assert_close(y, rms_reference(x2, w2, 1e-6), torch.bfloat16)
    y, _, rstd = rms._forward(x[:0], w, None, 1e-6)
    assert y.shape == (0, 512) and rstd.shape == (0,)
    dx, dw = rms._backward(x[:0], x[:0], w, rstd, None)
    assert dx.shape == (0, 512) and bool((dw == 0).all())


@pytest.mark.cuda
def test_public_rms_norm_runs_on_cutedsl_and_long_rows_fall_back():
    x = _random((8, 4096), torch.bfloat16, 0).requires_grad_(True)
    w = _random(4096, torch.bfloat16, 1).requires_grad_(True)
    with vk.use_impl("cutedsl"):
        assert vk.explain("rms_norm", x, w, None, 1e-6)[0] == ("cutedsl", None)
        y = rms_norm(x, w)
        y.float().sum().backward()
        long = _random((2, C.MAX_N + 8), torch.bfloat16, 2)
        assert "cluster" in dict(vk.explain("rms_norm", long, None, None, 1e-6))["cutedsl"]
        rms_norm(long)  # runs on the next backend
    x2, w2 = leaves(x, w)
    rms_reference(x2, w2, 1e-6).sum().backward()
    assert_close(y, rms_reference(x2, w2, 1e-6), torch.bfloat16)
    assert_close(x.grad, x2.grad, torch.bfloat16)
    assert_close(w.grad, w2.grad, torch.bfloat16, reduced=True)


@pytest.mark.cuda
def test_public_layer_norm_and_softmax_run_on_cutedsl():
    x = _random((2, 5, 768), torch.float32, 0).requires_grad_(True)
    w = _random(768, torch.float32, 1).requires_grad_(True)
    b = _random(768, torch.float32, 2).requires_grad_(True)
    with vk.use_impl("cutedsl"):
        assert vk.explain("layer_norm", x.view(-1, 768), w, b, None, 1e-5)[0] == ("cutedsl", None)
        assert vk.explain("softmax", x.view(-1, 768), False)[0] == ("cutedsl", None)
        y = layer_norm(x, w, b)
        p = softmax(y, -1) + log_softmax(y, -1).exp()
        p.square().sum().backward()
    x2, w2, b2 = leaves(x, w, b)
    y2 = torch.nn.functional.layer_norm(x2, (768,), w2, b2, 1e-5)
    p2 = torch.softmax(y2, -1) + torch.log_softmax(y2, -1).exp()
    p2.square().sum().backward()
    assert_close(y, y2)
    assert_close(p, p2)
    for got, want in ((x.grad, x2.grad), (w.grad, w2.grad), (b.grad, b2.grad)):
        assert_close(got, want, reduced=True)


@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_second_device_gets_its_own_module():
    for device in ("cuda:0", "cuda:1"):
        x = torch.randn(4, 256, device=device)
        with torch.cuda.device(device):
            assert_close(sm._forward(x, False), torch.softmax(x, -1))


@pytest.mark.cuda
def test_inference_forwards_default_to_cutedsl_where_it_measured_faster():
    x = _random((8, 1024), torch.bfloat16, 40)
    w, b = _random((1024,), torch.bfloat16, 41), _random((1024,), torch.bfloat16, 42)
    assert _registry.select("rms_norm", x, w, None, 1e-6).backend == "cutedsl"
    assert _registry.select("layer_norm", x, w, b, None, 1e-5).backend == "cutedsl"
    # Training, residuals, float32 rows, rows past the measured range and backward selections
    # keep Triton; an explicit choice still wins.
    trained = w.detach().clone().requires_grad_(True)
    assert _registry.select("rms_norm", x, trained, None, 1e-6).backend == "triton"
    assert _registry.select("rms_norm", x, w, x, 1e-6).backend == "triton"
    assert _registry.select("rms_norm", x.float(), w.float(), None, 1e-6).backend == "triton"
    wide = _random((2, 32768), torch.bfloat16, 43)
    assert _registry.select("rms_norm", wide, None, None, 1e-6).backend == "triton"
    assert _registry.select("layer_norm", wide[:, :16384], None, None, None, 1e-5).backend == \
        "triton"
    assert _registry.select("rms_norm", x, w, None, None).backend == "triton"
    with vk.use_impl("triton", "rms_norm"):
        assert _registry.select("rms_norm", x, w, None, 1e-6).backend == "triton"


@pytest.mark.cuda
@pytest.mark.parametrize("family", ["rms_norm", "layer_norm"])
def test_a_cutedsl_forward_and_the_triton_backward_it_feeds_match_torch(family):
    # The explicit forward of inference inputs runs on CuTeDSL, the backward on Triton: the
    # saved statistics must mean the same to both.
    module = importlib.import_module(f"vt.kernels.{family}")
    x = _random((16, 2048), torch.bfloat16, 44)
    w = _random((2048,), torch.bfloat16, 45)
    dy = _random((16, 2048), torch.bfloat16, 46)
    x2, w2 = leaves(x, w)
    if family == "rms_norm":
        y, h, rstd = module.rms_norm_forward(x, w, 1e-6)
        dx, dw = module.rms_norm_backward(dy, x, w, rstd)
        y2 = torch.nn.functional.rms_norm(x2, (2048,), w2, 1e-6)
    else:
        y, h, mean, rstd = module.layer_norm_forward(x, w, None, 1e-5)
        dx, dw, _ = module.layer_norm_backward(dy, x, w, None, mean, rstd)
        y2 = torch.nn.functional.layer_norm(x2, (2048,), w2, None, 1e-5)
    y2.backward(dy)
    assert_close(y, y2, torch.bfloat16)
    assert_close(dx, x2.grad, torch.bfloat16)
    assert_close(dw, w2.grad, torch.bfloat16, reduced=True)
