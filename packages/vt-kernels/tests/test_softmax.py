import math

import pytest
import torch
from foreign_producers import DLPackOnly
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.softmax import (log_softmax, log_softmax_backward, log_softmax_forward, softmax,
                                softmax_backward, softmax_forward)

OPS = {"softmax": (softmax, torch.softmax), "log_softmax": (log_softmax, torch.log_softmax)}


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def run_both(op, x, dy, dim=-1):
    """(y, dx) from vt.kernels on x, and torch's float32 result from the same rounded inputs."""
    ours, theirs = OPS[op]
    x1, = leaves(x)
    y1 = ours(x1, dim)
    y1.backward(dy)
    x2, = leaves(x.float())
    y2 = theirs(x2, dim)
    y2.backward(dy.float())
    return (y1, x1.grad), (y2, x2.grad)


SHAPES = [(1, 8), (3, 37), (17, 256), (4, 1000), (2, 40000)]  # the last takes the online path


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_torch(device, op, dtype, shape):
    torch.manual_seed(0)
    x = 3 * torch.randn(shape, device=device, dtype=dtype)
    dy = torch.randn(shape, device=device, dtype=dtype)
    (y, dx), (y2, dx2) = run_both(op, x, dy)
    assert y.dtype == dtype and y.shape == x.shape and dx.dtype == dtype
    assert_close(y, y2, dtype)
    # The backward works from y rounded to dtype (torch's does too), so allow that rounding.
    assert_close(dx, dx2, dtype, reduced=dtype != torch.float32)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # -inf - -inf
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("n", [50, 40000])
def test_minus_inf_entries_and_a_fully_minus_inf_row(device, op, n):
    torch.manual_seed(1)
    x = torch.randn(3, n, device=device)
    x[0, ::3] = -math.inf
    x[1] = -math.inf  # torch gives NaN for the whole row
    x[2, 1:] = -math.inf  # one finite entry: probability 1
    dy = torch.randn(3, n, device=device)
    (y, dx), (y2, dx2) = run_both(op, x, dy)
    assert_close(y, y2, equal_nan=True)
    assert torch.isnan(y[1]).all()
    assert_close(dx[0], dx2[0])
    assert_close(dx[2], dx2[2])


@pytest.mark.parametrize("op", OPS)
# float16's scale keeps log-softmax's outputs (down to -2 * scale) representable.
@pytest.mark.parametrize("dtype, scale", [(torch.float32, 1e30), (torch.float16, 3e4),
                                          (torch.bfloat16, 1e30)])
def test_very_large_magnitudes(device, op, dtype, scale):
    torch.manual_seed(2)
    x = (torch.rand(4, 300, device=device) * 2 - 1).mul(scale).to(dtype)
    dy = torch.randn(4, 300, device=device, dtype=dtype)
    (y, dx), (y2, dx2) = run_both(op, x, dy)
    assert torch.isfinite(y.float()).all()
    assert_close(y, y2, dtype)
    assert_close(dx, dx2, dtype)


@pytest.mark.parametrize("op", OPS)
def test_dim_zero_non_contiguous_and_three_dim_inputs(device, op):
    torch.manual_seed(3)
    x = torch.randn(33, 6, device=device)
    dy = torch.randn(33, 6, device=device)
    (y, dx), (y2, dx2) = run_both(op, x, dy, dim=0)
    assert y.shape == x.shape
    assert_close(y, y2)
    assert_close(dx, dx2)
    base = torch.randn(40, 24, device=device)
    (y, dx), (y2, dx2) = run_both(op, base.t(), dy[:24, :1].expand(24, 40))
    assert_close(y, y2)
    assert_close(dx, dx2)
    x3 = torch.randn(2, 5, 7, device=device)
    for dim in (-1, 1, 0, -3):
        assert_close(OPS[op][0](x3, dim), OPS[op][1](x3, dim))
    assert_close(OPS[op][0](torch.tensor(2.0, device=device), 0), OPS[op][1](torch.tensor(2.0, device=device), 0))


@pytest.mark.parametrize("op", OPS)
def test_explicit_forward_and_backward_without_autograd(device, op):
    forward, backward = ((softmax_forward, softmax_backward) if op == "softmax"
                         else (log_softmax_forward, log_softmax_backward))
    torch.manual_seed(4)
    x, dy = torch.randn(5, 77, device=device), torch.randn(5, 77, device=device)
    y = forward(x)
    dx = backward(y, dy)
    (y2, dx2), _ = run_both(op, x, dy)
    assert_close(y, y2)
    assert_close(dx, dx2)


@pytest.mark.parametrize("n", [100, 40000])
def test_triton_and_reference_backends_agree(device, n):
    torch.manual_seed(5)
    x, dy = torch.randn(3, n, device=device), torch.randn(3, n, device=device)
    assert vk.explain("softmax", x, False)[0] == ("triton", None)
    assert vk.explain("log_softmax", x, True)[0] == ("triton", None)
    results = {}
    for backend in ("triton", "reference"):
        with vk.use_impl(backend, "softmax"), vk.use_impl(backend, "log_softmax"):
            y, ly = softmax_forward(x), log_softmax_forward(x)
            results[backend] = (y, ly, softmax_backward(y, dy), log_softmax_backward(ly, dy))
    for got, want in zip(results["triton"], results["reference"]):
        assert_close(got, want)


def test_softmax_and_log_softmax_are_separate_registry_kernels(device):
    x = torch.randn(2, 8, device=device)
    with vk.use_impl("reference", "log_softmax"):
        assert _registry.select("log_softmax", x, True).backend == "reference"
        assert _registry.select("softmax", x, False).backend == "triton"
        assert_close(log_softmax(x), torch.log_softmax(x, -1))


@pytest.mark.cuda
@pytest.mark.parametrize("op", OPS)
def test_foreign_arrays_without_torch_autograd(op):
    forward, backward = ((softmax_forward, softmax_backward) if op == "softmax"
                         else (log_softmax_forward, log_softmax_backward))
    torch.manual_seed(6)
    x, dy = (torch.randn(2, 3, 300, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    y = OPS[op][0](DLPackOnly(x))
    assert isinstance(y, DLPackOnly)
    assert_close(y.t, OPS[op][1](x.float(), -1), torch.bfloat16)
    y2d = forward(DLPackOnly(x.view(6, 300)))
    dx = backward(y2d, DLPackOnly(dy.view(6, 300)))
    _, (_, dx2) = run_both(op, x.view(6, 300), dy.view(6, 300))
    assert_close(dx.t, dx2, torch.bfloat16, reduced=True)
    with pytest.raises(NotImplementedError, match="transposed copy"):
        OPS[op][0](DLPackOnly(x), 1)


def test_bad_input_raises_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    with pytest.raises(TypeError, match="softmax: x must be float32.*int64"):
        softmax(torch.ones(4, 8, dtype=torch.int64, device=device))
    with pytest.raises(TypeError, match="log_softmax: x must be float32.*float64"):
        log_softmax(x.double())
    with pytest.raises(IndexError, match=r"softmax: dimension out of range .*\[-2, 1\], but got 2"):
        softmax(x, 2)
    with pytest.raises(RuntimeError, match=r"softmax: dy has shape \(4, 7\), expected \(4, 8\)"):
        softmax_backward(x, torch.randn(4, 7, device=device))
