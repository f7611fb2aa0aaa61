import pytest
import torch
from conftest import ON_GPU
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.rms_norm import rms_norm


def reference(x, w, eps, residual=None):
    h = x + residual if residual is not None else x
    hf = h.float()
    y = hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + eps)
    if w is not None:
        y = y * w.float()
    return y.to(x.dtype), h


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


# (70, 64): every backward program walks several rows; (2, 20000): rows walked in blocks
SHAPES = [(1, 8), (3, 37), (17, 256), (70, 64), (4, 1000), (2, 20000)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_torch(device, dtype, shape):
    torch.manual_seed(0)
    x = torch.randn(shape, device=device, dtype=dtype)
    w = torch.randn(shape[-1], device=device, dtype=dtype)
    dy = torch.randn(shape, device=device, dtype=dtype)
    x1, w1 = leaves(x, w)
    y = rms_norm(x1, w1, 1e-6)
    y.backward(dy)
    x2, w2 = leaves(x.float(), w.float())
    y2, _ = reference(x2, w2, 1e-6)
    y2.backward(dy.float())
    assert y.dtype == dtype and y.shape == x.shape
    assert_close(y, y2, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(w1.grad, w2.grad, dtype, reduced=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_residual_returns_the_sum_and_routes_both_gradients(device, dtype):
    torch.manual_seed(1)
    x, r = (torch.randn(5, 48, device=device, dtype=dtype) for _ in range(2))
    w = torch.randn(48, device=device, dtype=dtype)
    dy, dh = (torch.randn(5, 48, device=device, dtype=dtype) for _ in range(2))
    x1, r1, w1 = leaves(x, r, w)
    y, h = rms_norm(x1, w1, 1e-5, residual=r1)
    torch.autograd.backward([y, h], [dy, dh])
    x2, r2, w2 = leaves(x, r, w)
    y2, h2 = reference(x2, w2, 1e-5, residual=r2)
    torch.autograd.backward([y2, h2], [dy, dh])
    # The same rounded sum (the interpreter's bfloat16 rounding can differ by one ulp).
    exact = ON_GPU or dtype != torch.bfloat16
    assert_close(h, h2, dtype, atol=0, rtol=0 if exact else 8e-3)
    assert_close(y, y2, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(r1.grad, r2.grad, dtype)
    assert_close(w1.grad, w2.grad, dtype, reduced=True)


def test_without_weight_and_on_non_contiguous_input(device):
    torch.manual_seed(2)
    base = torch.randn(64, 24, device=device)
    x = base.t()  # rows are strided: the launcher copies them to unit stride
    x1, = leaves(x)
    y = rms_norm(x1, None, 1e-6)
    y.sum().backward()
    x2, = leaves(x)
    y2, _ = reference(x2, None, 1e-6)
    y2.sum().backward()
    assert_close(y, y2)
    assert_close(x1.grad, x2.grad)


def test_three_dim_input_keeps_its_shape(device):
    x = torch.randn(2, 3, 40, device=device)
    w = torch.rand(40, device=device)
    assert_close(rms_norm(x, w), reference(x, w, 1e-6)[0])


def test_triton_and_reference_backends_agree(device):
    x = torch.randn(6, 100, device=device)
    w = torch.randn(100, device=device)
    with vk.use_impl("reference"):
        assert vk.get_impl("rms_norm") == "reference"
        ref = rms_norm(x, w)
    assert vk.explain("rms_norm", x, w, None, 1e-6)[0] == ("triton", None)
    assert_close(rms_norm(x, w), ref)


def test_bad_input_raises_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    with pytest.raises(RuntimeError, match=r"rms_norm: weight has shape \(7,\), expected \(8,\)"):
        rms_norm(x, torch.ones(7, device=device))
    with pytest.raises(TypeError, match="rms_norm: x must be float32.*int64"):
        rms_norm(torch.ones(4, 8, dtype=torch.int64, device=device), None)
    with pytest.raises(RuntimeError, match="residual has shape"):
        rms_norm(x, None, residual=torch.randn(4, 9, device=device))
    with pytest.raises(RuntimeError, match="0-d"):
        rms_norm(torch.tensor(1.0, device=device), None)
