import pytest
import torch
import torch.nn.functional as F
from activation_reference import gelu_composite, silu_composite
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.activations import (
    geglu,
    geglu_backward,
    geglu_forward,
    gelu,
    gelu_backward,
    gelu_forward,
    swiglu,
    swiglu_backward,
    swiglu_forward,
)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def gated_composite(kernel, approximate):
    if kernel == "swiglu":
        return lambda g, u: silu_composite(g) * u
    return lambda g, u: gelu_composite(g, approximate) * u


def call(kernel, approximate, *inputs):
    if kernel == "swiglu":
        return swiglu(*inputs)
    return geglu(*inputs, approximate=approximate)


# (1,) and 0-d are single elements, (5, 3000) takes several blocks per row, the rest are odd sizes
SHAPES = [(), (1,), (3, 37), (2, 3, 5), (5, 3000)]


# sigmoid(2u) of a large negative u overflows exp to inf in the interpreter: the result is exact 0
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gelu_matches_composite(device, dtype, approximate, shape):
    torch.manual_seed(0)
    x = torch.randn(shape, device=device, dtype=dtype) * 3
    dy = torch.randn(shape, device=device, dtype=dtype)
    x1, = leaves(x)
    y = gelu(x1, approximate)
    y.backward(dy)
    x2, = leaves(x.float())
    y2 = gelu_composite(x2, approximate)
    y2.backward(dy.float())
    assert y.dtype == dtype and y.shape == x.shape
    assert_close(y, y2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, approximate", [("swiglu", None), ("geglu", "none"),
                                                 ("geglu", "tanh")])
@pytest.mark.parametrize("shape", [(1,), (3, 37), (4, 2, 1100)])
def test_gated_with_separate_inputs_matches_composite(device, dtype, kernel, approximate, shape):
    torch.manual_seed(1)
    g, u = (torch.randn(shape, device=device, dtype=dtype) * 2 for _ in range(2))
    dout = torch.randn(shape, device=device, dtype=dtype)
    g1, u1 = leaves(g, u)
    out = call(kernel, approximate, g1, u1)
    out.backward(dout)
    g2, u2 = leaves(g.float(), u.float())
    out2 = gated_composite(kernel, approximate)(g2, u2)
    out2.backward(dout.float())
    assert out.dtype == dtype and out.shape == g.shape
    assert_close(out, out2, dtype)
    assert_close(g1.grad, g2.grad, dtype)
    assert_close(u1.grad, u2.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, approximate", [("swiglu", None), ("geglu", "tanh")])
@pytest.mark.parametrize("shape", [(2,), (3, 74), (2, 3, 2200)])
def test_gated_with_packed_input_matches_composite(device, dtype, kernel, approximate, shape):
    torch.manual_seed(2)
    x = torch.randn(shape, device=device, dtype=dtype) * 2
    half = shape[-1] // 2
    dout = torch.randn(shape[:-1] + (half,), device=device, dtype=dtype)
    x1, = leaves(x)
    out = call(kernel, approximate, x1)
    out.backward(dout)
    x2, = leaves(x.float())
    out2 = gated_composite(kernel, approximate)(x2[..., :half], x2[..., half:])
    out2.backward(dout.float())
    assert out.dtype == dtype and out.shape == dout.shape
    assert_close(out, out2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


def test_non_contiguous_inputs(device):
    torch.manual_seed(3)
    base = torch.randn(40, 24, device=device)
    # a strided last dim: copied once to contiguous rows
    x1, x2 = leaves(base, base)
    y = gelu(x1.t(), "tanh")
    y.sum().backward()
    gelu_composite(x2.t(), "tanh").sum().backward()
    assert_close(y, gelu_composite(base.t(), "tanh"))
    assert_close(x1.grad, x2.grad)
    # row slices with unit last stride are read in place: gate and up with different row strides
    wide, tall = torch.randn(6, 50, device=device), torch.randn(12, 17, device=device)
    w1, t1, w2, t2 = leaves(wide, tall, wide, tall)
    out = swiglu(w1[:, 3:20], t1[::2])
    out.backward(torch.ones_like(out))
    out2 = silu_composite(w2[:, 3:20]) * t2[::2]
    out2.backward(torch.ones_like(out2))
    assert_close(out, out2)
    assert_close(w1.grad, w2.grad)
    assert_close(t1.grad, t2.grad)
    # packed [gate | up] rows with a row stride of 54
    packed = torch.randn(5, 3, 18, device=device)
    p1, p2 = leaves(packed, packed)
    out = geglu(p1[:, 1])
    out.backward(torch.ones_like(out))
    out2 = gelu_composite(p2[:, 1, :9], "none") * p2[:, 1, 9:]
    out2.backward(torch.ones_like(out2))
    assert_close(out, out2)
    assert_close(p1.grad, p2.grad)


def test_empty_inputs(device):
    x = torch.randn(3, 0, device=device, requires_grad=True)
    assert gelu(x).shape == (3, 0)
    assert swiglu(torch.randn(0, 8, device=device)).shape == (0, 4)
    assert geglu(x, x).shape == (3, 0)


def test_explicit_forward_and_backward(device):
    torch.manual_seed(4)
    x = torch.randn(4, 30, device=device)
    dy = torch.randn(4, 15, device=device)
    out = swiglu_forward(x)
    dx, none = swiglu_backward(dy, x)
    assert none is None and dx.shape == x.shape
    x1, = leaves(x)
    (silu_composite(x1[:, :15]) * x1[:, 15:]).backward(dy)
    assert_close(out, swiglu(x))
    assert_close(dx, x1.grad)
    dg, du = geglu_backward(dy, x[:, :15], x[:, 15:].contiguous(), "tanh")
    g1, u1 = leaves(x[:, :15], x[:, 15:])
    (gelu_composite(g1, "tanh") * u1).backward(dy)
    assert_close(geglu_forward(x[:, :15], x[:, 15:].contiguous(), "tanh"),
                 gelu_composite(x[:, :15], "tanh") * x[:, 15:])
    assert_close(dg, g1.grad)
    assert_close(du, u1.grad)
    y = gelu_forward(x)
    assert_close(y, F.gelu(x))
    x2, = leaves(x)
    F.gelu(x2).backward(dy.repeat(1, 2))
    assert_close(gelu_backward(dy.repeat(1, 2), x), x2.grad)


@pytest.mark.parametrize("kernel", ["gelu", "swiglu", "geglu"])
def test_triton_and_reference_backends_agree(device, kernel):
    torch.manual_seed(5)
    x = torch.randn(7, 66, device=device) * 3
    dy = torch.randn(7, 66 if kernel == "gelu" else 33, device=device)
    fn = {"gelu": lambda t: gelu(t, "tanh"), "swiglu": swiglu, "geglu": geglu}[kernel]
    results = []
    for backend in ("reference", "triton"):
        with vk.use_impl(backend):
            x1, = leaves(x)
            y = fn(x1)
            y.backward(dy)
            results.append((y, x1.grad))
    args = (x, "none") if kernel == "gelu" else (x, None, "none")
    assert vk.explain(kernel, *args)[0] == ("triton", None)
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])


def test_bad_input_raises_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    with pytest.raises(RuntimeError, match="gelu: approximate must be 'none' or 'tanh'"):
        gelu(x, "fast")
    with pytest.raises(RuntimeError, match="geglu: approximate"):
        geglu(x, approximate="sigmoid")
    with pytest.raises(TypeError, match="gelu: x must be float32.*int64"):
        gelu(torch.ones(3, dtype=torch.int64, device=device))
    with pytest.raises(RuntimeError, match=r"swiglu: a single input needs an even last dim"):
        swiglu(torch.randn(4, 7, device=device))
    with pytest.raises(RuntimeError, match=r"gate has shape \(4, 8\) but up has shape \(4, 9\)"):
        swiglu(x, torch.randn(4, 9, device=device))
    with pytest.raises(TypeError, match="up dtype float16 differs from gate dtype float32"):
        geglu(x, x.half())


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_shapes_on_gpu(dtype):
    torch.manual_seed(6)
    x = torch.randn(512, 2 * 11008, device="cuda", dtype=dtype)
    x1, = leaves(x)
    out = swiglu(x1)
    dout = torch.randn_like(out)
    out.backward(dout)
    x2, = leaves(x.float())
    out2 = silu_composite(x2[:, :11008]) * x2[:, 11008:]
    out2.backward(dout.float())
    assert_close(out, out2, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    for approximate in ("none", "tanh"):
        y = torch.randn(1000, 8192, device="cuda", dtype=dtype)
        assert_close(gelu(y, approximate), gelu_composite(y.float(), approximate), dtype)
