import math

import pytest
import torch
import triton
from tolerances import DTYPES, REDUCED_TOLERANCES, assert_close

import vt.kernels as vk
from vt.kernels import gemm
from vt.kernels.gemm import matmul, matmul_backward, matmul_forward

# The interpreter's float32 sigmoid overflows exp() for very negative inputs (the result, 0, is right).
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")

ACTIVATIONS = [None, "relu", "gelu", "gelu_tanh", "silu"]
# The interpreter's bfloat16 tl.dot is wrong and its float16 one slow: CPU runs float32 only.
GPU_DTYPES = [d if d == torch.float32 else pytest.param(d, marks=pytest.mark.cuda) for d in DTYPES]


def reference(a, b, bias, activation):
    """The unfused composite, in float32: matmul, bias add, activation."""
    z = a.float() @ b.float()
    if bias is not None:
        z = z + bias.float()
    if activation == "relu":
        return torch.relu(z)
    if activation == "gelu":
        return 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))
    if activation == "gelu_tanh":
        return 0.5 * z * (1 + torch.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    if activation == "silu":
        return z * torch.sigmoid(z)
    return z


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def operands(m, n, k, dtype, device, transposed_b, bias=True, seed=0):
    torch.manual_seed(seed)
    a = torch.randn(m, k, device=device, dtype=dtype)
    # Weight-like scaling keeps the products O(1) whatever K is.
    if transposed_b:
        b = (torch.randn(n, k, device=device) / math.sqrt(k)).to(dtype).T  # the F.linear layout
    else:
        b = (torch.randn(k, n, device=device) / math.sqrt(k)).to(dtype)
    c = torch.randn(n, device=device, dtype=dtype) if bias else None
    return a, b, c


def assert_close_gradient(actual, expected, dtype):
    """Gradients sum hundreds of products of the rounded dz: the reduced tolerances, with the
    absolute one relative to the largest entry (rounding errors grow with the sum's length)."""
    atol = REDUCED_TOLERANCES[dtype]["atol"] * max(1.0, expected.abs().max().item())
    assert_close(actual, expected, dtype, reduced=True, atol=atol)


def check_against_reference(a, b, bias, activation, dtype, backend="triton"):
    dy = torch.randn(a.shape[0], b.shape[1], device=a.device, dtype=dtype)
    a1, b1, c1 = leaves(a, b, bias)
    with vk.use_impl(backend, "gemm"):
        y = matmul(a1, b1, c1, activation)
    y.backward(dy)
    a2, b2, c2 = leaves(a.float(), b.float(), bias.float() if bias is not None else None)
    y2 = reference(a2, b2, c2, activation)
    y2.backward(dy.float())
    assert y.dtype == dtype and y.shape == (a.shape[0], b.shape[1])
    assert_close(y, y2, dtype)
    assert_close_gradient(a1.grad, a2.grad, dtype)
    assert_close_gradient(b1.grad, b2.grad, dtype)
    if bias is not None:
        assert_close_gradient(c1.grad, c2.grad, dtype)
    return a1, b1


@pytest.mark.parametrize("dtype", GPU_DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("has_bias", [False, True], ids=["no_bias", "bias"])
@pytest.mark.parametrize("transposed_b", [False, True], ids=["b", "bT"])
def test_values_and_gradients_match_torch(device, dtype, activation, has_bias, transposed_b):
    a, b, bias = operands(37, 53, 29, dtype, device, transposed_b, has_bias)
    a1, b1 = check_against_reference(a, b, bias, activation, dtype)
    # Each gradient comes back in its operand's layout: weight.T's gradient is weight-major.
    assert b1.grad.stride() == b.stride()
    assert a1.grad.stride() == a.stride()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_backend_values_and_gradients(device, activation):
    a, b, bias = operands(37, 53, 29, torch.float32, device, True)
    check_against_reference(a, b, bias, activation, torch.float32, backend="reference")


def test_many_tiles_with_a_k_tail_and_a_column_major_a(device):
    # 5 x 3 tiles in groups of 2 row tiles under the interpreter; K = 70 is not a multiple of
    # BLOCK_K; a is a transposed view, so da is written column-major.
    torch.manual_seed(3)
    a = torch.randn(70, 130, device=device).T
    _, b, bias = operands(130, 70, 70, torch.float32, device, False)
    a1, _ = check_against_reference(a, b, bias, "gelu", torch.float32)
    assert a1.grad.stride() == a.stride()


def test_linear_layout_on_three_dim_input(device):
    torch.manual_seed(4)
    x = torch.randn(2, 3, 40, device=device)
    weight = torch.randn(24, 40, device=device) / math.sqrt(40)
    bias = torch.randn(24, device=device)
    with vk.use_impl("triton", "gemm"):
        y = matmul(x, weight.T, bias, "silu")
    assert y.shape == (2, 3, 24)
    assert_close(y, torch.nn.functional.silu(torch.nn.functional.linear(x, weight, bias)))


def test_without_autograd_explicit_forward_and_backward_match_autograd(device):
    a, b, bias = operands(19, 33, 21, torch.float32, device, True)
    dy = torch.randn(19, 33, device=device)
    for activation in ("relu", "gelu_tanh"):
        with vk.use_impl("triton", "gemm"):
            c, saved = matmul_forward(a, b, bias, activation)
            da, db, dbias = matmul_backward(dy, a, b, saved, activation, has_bias=True)
        if activation == "relu":
            assert saved is c  # relu's derivative reads the output
        a1, b1, c1 = leaves(a, b, bias)
        y = reference(a1, b1, c1, activation)
        y.backward(dy)
        assert_close(c, y)
        assert_close(da, a1.grad, reduced=True)
        assert_close(db, b1.grad, reduced=True)
        assert_close(dbias, c1.grad, reduced=True)


def test_gradients_only_for_the_inputs_that_need_them(device):
    a, b, bias = operands(9, 17, 12, torch.float32, device, False)
    b1, = leaves(b)
    with vk.use_impl("triton", "gemm"):
        matmul(a, b1, bias, "gelu").sum().backward()  # an expanded dc with zero strides
    a2, b2 = leaves(a, b)
    reference(a2, b2, bias, "gelu").sum().backward()
    assert_close(b1.grad, b2.grad, reduced=True)


def test_empty_inner_dimension_gives_the_epilogue_of_zero(device):
    a = torch.empty(4, 0, device=device)
    b = torch.empty(0, 6, device=device)
    bias = torch.randn(6, device=device)
    with vk.use_impl("triton", "gemm"):
        y = matmul(a, b, bias, "relu")
    assert_close(y, torch.relu(bias).expand(4, 6))


@pytest.mark.parametrize("m, n, k", [(0, 6, 5), (4, 0, 5), (4, 6, 0)])
def test_empty_dimensions_give_empty_or_zero_gradients(device, m, n, k):
    a, b, bias = leaves(torch.randn(m, k, device=device), torch.randn(k, n, device=device),
                        torch.randn(n, device=device))
    with vk.use_impl("triton", "gemm"):
        y = matmul(a, b, bias, "gelu")
    y.backward(torch.ones_like(y))
    assert y.shape == (m, n)
    assert a.grad.shape == (m, k) and b.grad.shape == (k, n) and bias.grad.shape == (n,)
    assert not a.grad.any() and not b.grad.any()
    a2, b2, bias2 = leaves(a, b, bias)
    reference(a2, b2, bias2, "gelu").sum().backward()  # the pre-activation is the bias
    assert_close(bias.grad, bias2.grad)


def test_reference_is_the_default_and_the_backends_agree(device):
    a, b, bias = operands(21, 18, 26, torch.float32, device, True)
    assert vk.get_impl("gemm") == "reference"
    assert [backend for backend, _ in vk.explain("gemm", a, b, bias, "gelu", False, False)][0] == "reference"
    ref = matmul(a, b, bias, "gelu")
    with vk.use_impl("triton"):
        assert vk.get_impl("gemm") == "triton"
        assert vk.explain("gemm", a, b, bias, "gelu", False, False)[0] == ("triton", None)
        assert_close(matmul(a, b, bias, "gelu"), ref)


def test_bad_input_raises_torch_exception_types(device):
    a = torch.randn(4, 8, device=device)
    b = torch.randn(8, 5, device=device)
    with pytest.raises(RuntimeError, match=r"matmul: a of shape \(4, 8\) and b of shape \(7, 5\) cannot be multiplied"):
        matmul(a, torch.randn(7, 5, device=device))
    with pytest.raises(RuntimeError, match=r"matmul: bias has shape \(4,\), expected \(5,\)"):
        matmul(a, b, torch.randn(4, device=device))
    with pytest.raises(RuntimeError, match="2-D b"):
        matmul(a, torch.randn(2, 8, 5, device=device))
    with pytest.raises(TypeError, match="matmul: b dtype float16 differs from a dtype float32"):
        matmul(a, b.half())
    with pytest.raises(TypeError, match="matmul: a must be float32.*int64"):
        matmul(torch.ones(4, 8, dtype=torch.int64, device=device), b)
    with pytest.raises(ValueError, match="matmul: unknown activation 'tanh'"):
        matmul(a, b, activation="tanh")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(512, 384, 1024), (1000, 257, 333), (128, 4096, 512)])
def test_tuned_kernel_at_larger_shapes(dtype, shape):
    m, n, k = shape
    a, b, bias = operands(m, n, k, dtype, "cuda", True)
    check_against_reference(a, b, bias, "gelu", dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_autotune_config_is_correct(dtype):
    # The autotuner keeps only the fastest config; run each one directly.
    m, n, k = 300, 260, 200  # partial tiles and a K tail in every config
    a, b, bias = operands(m, n, k, dtype, "cuda", True)
    expected = reference(a, b, bias, "gelu_tanh")
    fn = gemm._gemm.fn  # below the autotuner: the heuristics and the kernel
    for config in gemm._gemm.configs:
        c = torch.empty(m, n, device="cuda", dtype=dtype)
        meta = config.all_kwargs()
        grid = (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)
        try:
            fn[grid](a, b, bias, c, None, m, n, k, a.stride(0), a.stride(1), b.stride(0),
                     b.stride(1), c.stride(0), c.stride(1), 0, 0, 0, 0, HAS_BIAS=True,
                     ACTIVATION=3, SAVE_PRE=False,
                     INPUT_PRECISION="ieee" if dtype == torch.float32 else "tf32", **meta)
        except Exception as exc:  # a tile too large for shared memory is pruned, not wrong
            if "out of resource" in str(exc).lower():
                continue
            raise
        assert_close(c, expected, dtype, reduced=True)


@pytest.mark.cuda
def test_tf32_is_opt_in():
    a, b, _ = operands(256, 256, 2048, torch.float32, "cuda", False, bias=False)
    exact = reference(a.double(), b.double(), None, None)
    with vk.use_impl("triton", "gemm"):
        ieee = matmul(a, b)
        tf32 = matmul(a, b, allow_tf32=True)
    assert (ieee.double() - exact).abs().max() < 1e-4
    assert_close(tf32, exact.float(), atol=5e-2, rtol=5e-2)


class _CudaArray:
    """A foreign array over torch memory that speaks only __cuda_array_interface__ and
    allocates through its own namespace (as CuPy would)."""

    def __init__(self, tensor):
        self.t = tensor

    @property
    def __cuda_array_interface__(self):
        return self.t.__cuda_array_interface__

    def __array_namespace__(self):
        return _CudaNamespace()


class _CudaNamespace:
    float32, float16 = torch.float32, torch.float16

    def empty(self, shape, dtype):
        return _CudaArray(torch.empty(shape, dtype=dtype, device="cuda"))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_foreign_arrays_through_the_explicit_forward_and_backward(dtype):
    a, b, bias = operands(70, 90, 50, dtype, "cuda", True)  # b: a transposed view, by strides
    dy = torch.randn(70, 90, device="cuda", dtype=dtype)
    c, saved = matmul_forward(_CudaArray(a), _CudaArray(b), _CudaArray(bias), "gelu")
    da, db, dbias = matmul_backward(_CudaArray(dy), _CudaArray(a), _CudaArray(b), saved, "gelu",
                                    has_bias=True)
    torch.cuda.synchronize()
    a1, b1, c1 = leaves(a.float(), b.float(), bias.float())
    y = reference(a1, b1, c1, "gelu")
    y.backward(dy.float())
    assert_close(c.t, y, dtype)
    assert_close_gradient(da.t, a1.grad, dtype)
    assert_close_gradient(db.t, b1.grad, dtype)  # row-major: foreign arrays have no .T views
    assert_close_gradient(dbias.t, c1.grad, dtype)
