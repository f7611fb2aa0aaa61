import pytest
import torch
import torch.nn.functional as F
from conftest import ON_GPU
from foreign_producers import DLPackOnly
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.layer_norm import layer_norm, layer_norm_backward, layer_norm_forward


def reference(x, w, b, eps, residual=None):
    """torch's own layer_norm in float32 on the same (rounded) inputs."""
    h = x + residual if residual is not None else x
    wf = w.float() if w is not None else None
    bf = b.float() if b is not None else None
    return F.layer_norm(h.float(), (x.shape[-1],), wf, bf, eps), h


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


# (70, 64): every backward program walks several rows; (5, 9000): dweight and dbias in a pass
# of their own; (2, 20000): rows walked in blocks
SHAPES = [(1, 8), (3, 37), (17, 256), (70, 64), (4, 1000), (5, 9000), (2, 20000)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_torch(device, dtype, shape):
    torch.manual_seed(0)
    x = torch.randn(shape, device=device, dtype=dtype)
    w = torch.randn(shape[-1], device=device, dtype=dtype)
    b = torch.randn(shape[-1], device=device, dtype=dtype)
    dy = torch.randn(shape, device=device, dtype=dtype)
    x1, w1, b1 = leaves(x, w, b)
    y = layer_norm(x1, w1, b1, 1e-5)
    y.backward(dy)
    x2, w2, b2 = leaves(x.float(), w.float(), b.float())
    y2, _ = reference(x2, w2, b2, 1e-5)
    y2.backward(dy.float())
    assert y.dtype == dtype and y.shape == x.shape
    assert_close(y, y2, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(w1.grad, w2.grad, dtype, reduced=True)
    assert_close(b1.grad, b2.grad, dtype, reduced=True)
    assert w1.grad.dtype == dtype and b1.grad.dtype == dtype


# The long row runs once and without weight and bias: the interpreter spends seconds on each
# column_sum of 20000 columns.
@pytest.mark.parametrize("dtype, n", [(dtype, 48) for dtype in DTYPES] + [(torch.float32, 20000)])
def test_fused_residual_returns_the_sum_and_routes_both_gradients(device, dtype, n):
    torch.manual_seed(1)
    x, r = (torch.randn(3, n, device=device, dtype=dtype) for _ in range(2))
    w, b = (torch.randn(n, device=device, dtype=dtype) if n < 16384 else None for _ in range(2))
    dy, dh = (torch.randn(3, n, device=device, dtype=dtype) for _ in range(2))
    x1, r1, w1, b1 = leaves(x, r, w, b)
    y, h = layer_norm(x1, w1, b1, 1e-5, residual=r1)
    torch.autograd.backward([y, h], [dy, dh])
    x2, r2, w2, b2 = leaves(x, r, w, b)
    y2, h2 = reference(x2, w2, b2, 1e-5, residual=r2)
    torch.autograd.backward([y2, h2], [dy.float(), dh])
    # The same rounded sum (the interpreter's bfloat16 rounding can differ by one ulp, so y is
    # checked against torch's layer_norm of the kernel's own h).
    exact = ON_GPU or dtype != torch.bfloat16
    assert_close(h, h2, dtype, atol=0, rtol=0 if exact else 8e-3)
    assert_close(y, reference(h.detach(), w, b, 1e-5)[0], dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(r1.grad, r2.grad, dtype)
    if w is not None:
        assert_close(w1.grad, w2.grad, dtype, reduced=True)
        assert_close(b1.grad, b2.grad, dtype, reduced=True)


@pytest.mark.parametrize("affine, n", [("none", 100), ("weight", 100), ("bias", 100),
                                       ("none", 20000), ("weight", 20000), ("bias", 20000)])
def test_optional_weight_and_bias(device, n, affine):
    # 9 rows: without a GPU 8 backward programs run, so one walks 2 rows and one a masked row.
    torch.manual_seed(2)
    x = torch.randn(9, n, device=device)
    w = torch.randn(n, device=device) if affine == "weight" else None
    b = torch.randn(n, device=device) if affine == "bias" else None
    dy = torch.randn(9, n, device=device)
    x1, w1, b1 = leaves(x, w, b)
    layer_norm(x1, w1, b1).backward(dy)
    x2, w2, b2 = leaves(x, w, b)
    y2, _ = reference(x2, w2, b2, 1e-5)
    y2.backward(dy)
    assert_close(layer_norm(x, w, b), y2)
    assert_close(x1.grad, x2.grad)
    for got, want in ((w1, w2), (b1, b2)):
        if got is not None:
            assert_close(got.grad, want.grad, reduced=True)


@pytest.mark.parametrize("n", [300, 20000])
def test_large_mean_small_spread_keeps_its_variance(device, n):
    # sum/sumsq statistics would cancel to noise here; the float32 mean itself is off by about
    # ulp(1000) = 6e-5, half a percent of the spread, which bounds the agreement.
    torch.manual_seed(3)
    x = 1000.0 + 0.01 * torch.randn(4, n, device=device)
    expected = reference(x.double(), None, None, 1e-9)[0]
    assert_close(layer_norm(x, eps=1e-9), expected, torch.float32, atol=2e-2, rtol=0)


def test_non_contiguous_and_three_dim_inputs(device):
    torch.manual_seed(4)
    base = torch.randn(64, 24, device=device)
    x = base.t()  # rows are strided: the launcher copies them to unit stride
    w = torch.rand(64, device=device)
    x1, = leaves(x)
    y = layer_norm(x1, w)
    y.sum().backward()
    x2, = leaves(x)
    y2, _ = reference(x2, w, None, 1e-5)
    y2.sum().backward()
    assert_close(y, y2)
    assert_close(x1.grad, x2.grad)
    x3 = torch.randn(2, 3, 40, device=device)
    b = torch.randn(40, device=device)
    out = layer_norm(x3, None, b)
    assert out.shape == x3.shape
    assert_close(out, reference(x3, None, b, 1e-5)[0])


def test_explicit_forward_and_backward_without_autograd(device):
    torch.manual_seed(5)
    x, r, dy, dh = (torch.randn(7, 90, device=device) for _ in range(4))
    w, b = torch.randn(90, device=device), torch.randn(90, device=device)
    y, h, mean, rstd = layer_norm_forward(x, w, b, 1e-5, residual=r)
    dx, dw, db = layer_norm_backward(dy, h, w, b, mean, rstd, dh)
    x1, r1, w1, b1 = leaves(x, r, w, b)
    y2, h2 = reference(x1, w1, b1, 1e-5, residual=r1)
    torch.autograd.backward([y2, h2], [dy, dh])
    assert mean.dtype == rstd.dtype == torch.float32 and mean.shape == (7,)
    assert_close(mean, (x + r).mean(-1))
    assert_close(rstd, torch.rsqrt((x + r).var(-1, correction=0) + 1e-5))
    assert_close(y, y2)
    assert_close(dx, x1.grad)
    assert_close(dw, w1.grad, reduced=True)
    assert_close(db, b1.grad, reduced=True)


def test_triton_and_reference_backends_agree(device):
    torch.manual_seed(6)
    x = torch.randn(6, 100, device=device)
    w, b, dy = torch.randn(100, device=device), torch.randn(100, device=device), torch.randn(6, 100, device=device)
    assert vk.explain("layer_norm", x, w, b, None, 1e-5)[0] == ("triton", None)
    results = {}
    for backend in ("triton", "reference"):
        with vk.use_impl(backend, "layer_norm"):
            assert _registry.select("layer_norm", x, w, b, None, 1e-5).backend == backend
            y, _, mean, rstd = layer_norm_forward(x, w, b, 1e-5)
            results[backend] = (y, mean, rstd, *layer_norm_backward(dy, x, w, b, mean, rstd))
    assert results["triton"][1] is not None
    for got, want in zip(results["triton"], results["reference"]):
        assert_close(got, want, reduced=True)


def test_bad_input_raises_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    with pytest.raises(RuntimeError, match=r"layer_norm: weight has shape \(7,\), expected \(8,\)"):
        layer_norm(x, torch.ones(7, device=device))
    with pytest.raises(RuntimeError, match=r"layer_norm: bias has shape \(9,\), expected \(8,\)"):
        layer_norm(x, None, torch.ones(9, device=device))
    with pytest.raises(TypeError, match="layer_norm: x must be float32.*int64"):
        layer_norm(torch.ones(4, 8, dtype=torch.int64, device=device))
    with pytest.raises(TypeError, match="layer_norm: bias must be float32.*int32"):
        layer_norm(x, None, torch.ones(8, dtype=torch.int32, device=device))
    with pytest.raises(RuntimeError, match="residual has shape"):
        layer_norm(x, residual=torch.randn(4, 9, device=device))
    with pytest.raises(TypeError, match="residual dtype"):
        layer_norm(x, residual=torch.randn(4, 8, device=device, dtype=torch.float16))
    with pytest.raises(RuntimeError, match="0-d"):
        layer_norm(torch.tensor(1.0, device=device))
    if ON_GPU:
        with pytest.raises(RuntimeError, match="one device"):
            layer_norm(x, torch.ones(8))


@pytest.mark.cuda
def test_foreign_arrays_without_torch_autograd():
    torch.manual_seed(7)
    dtype = torch.bfloat16
    x, r, dy, dh = (torch.randn(6, 300, device="cuda", dtype=dtype) for _ in range(4))
    w, b = (torch.randn(300, device="cuda", dtype=dtype) for _ in range(2))
    y, h = layer_norm(DLPackOnly(x.view(2, 3, 300)), DLPackOnly(w), DLPackOnly(b), 1e-5,
                      residual=DLPackOnly(r.view(2, 3, 300)))
    assert isinstance(y, DLPackOnly) and tuple(y.t.shape) == (2, 3, 300)
    y2d, h2d, mean, rstd = layer_norm_forward(DLPackOnly(x), DLPackOnly(w), DLPackOnly(b), 1e-5,
                                              residual=DLPackOnly(r))
    dx, dw, db = layer_norm_backward(DLPackOnly(dy), h2d, DLPackOnly(w), DLPackOnly(b), mean, rstd,
                                     DLPackOnly(dh))
    x1, r1, w1, b1 = leaves(x, r, w, b)
    y_ref, h_ref = reference(x1, w1, b1, 1e-5, residual=r1)
    torch.autograd.backward([y_ref, h_ref], [dy.float(), dh])
    assert_close(y.t.view(6, 300), y_ref, dtype)
    assert_close(h.t.view(6, 300), h_ref, dtype, atol=0, rtol=0)
    assert_close(y2d.t, y_ref, dtype)
    assert_close(dx.t, x1.grad, dtype)
    assert_close(dw.t, w1.grad, dtype, reduced=True)
    assert_close(db.t, b1.grad, dtype, reduced=True)
