"""Elementwise activations: GELU, and the gated SwiGLU / GeGLU of transformer MLPs.

gelu(x) = x * Phi(x) (erf form) or its tanh approximation, as torch.nn.functional.gelu;
swiglu(gate, up) = silu(gate) * up; geglu(gate, up) = gelu(gate) * up. A gated op also takes one
tensor whose last dim holds [gate | up] (the fused up-projection's output): the kernel reads the
two halves in place. Math in float32; each output is rounded once. The backward recomputes the
activation from the saved inputs and writes both gate and up gradients in one pass.

Kernels walk 2-D rows (rows, n) with unit stride along n: contiguous data is one flat row (a 1-D
grid of 1024-4096 element blocks); other layouts keep their row stride, and data strided along
its last dim is copied once to contiguous rows (as_rows).

Impl signatures (2-D rows in, contiguous 2-D rows out):
  gelu:   forward(x, approximate) -> y;  backward(dy, x, approximate) -> dx
  swiglu: forward(x, up) -> out;         backward(dout, x, up) -> (dgate, dup)
  geglu:  forward(x, up, approximate);   backward(dout, x, up, approximate) -> (dgate, dup)
where up=None means x is (rows, 2n) packed [gate | up]; its backward returns (dx (rows, 2n), None).
"""

from __future__ import annotations

import functools

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import check_float, check_same_device, dtype_name
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._compat import compiling, needs_autograd, torch
from ._launch import as_rows, reference_reason, triton_reason

APPROXIMATIONS = ("none", "tanh")
# Activation codes, compile-time constants of the kernels.
SILU, GELU, GELU_TANH = 0, 1, 2
_GELU_CODES = {"none": GELU, "tanh": GELU_TANH}


# ---------------------------------------------------------------------------------------------
# Triton kernels


@triton.jit
def _activation(x, ACT: tl.constexpr):
    # ACT: SILU (0), GELU (1), GELU_TANH (2); jit code cannot read the module's plain ints.
    if ACT == 0:
        y = x * tl.sigmoid(x)
    elif ACT == 1:
        y = 0.5 * x * (1.0 + tl.math.erf(x * 0.7071067811865476))
    else:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u): no tanh needed, and stable for large |u|.
        u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        y = x * tl.sigmoid(2.0 * u)
    return y


@triton.jit
def _activation_and_grad(x, ACT: tl.constexpr):
    if ACT == 0:
        s = tl.sigmoid(x)
        y = x * s
        dy = s * (1.0 + x * (1.0 - s))
    elif ACT == 1:
        cdf = 0.5 * (1.0 + tl.math.erf(x * 0.7071067811865476))
        y = x * cdf
        dy = cdf + x * 0.3989422804014327 * tl.exp(-0.5 * x * x)
    else:
        u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        s = tl.sigmoid(2.0 * u)
        y = x * s
        dy = s + 2.0 * x * s * (1.0 - s) * 0.7978845608028654 * (1.0 + 0.134145 * x * x)
    return y, dy


@triton.jit
def _block(blocks_per_row, BLOCK: tl.constexpr):
    """(row, columns) of this program's block: programs walk the rows block by block."""
    pid = tl.program_id(0)
    row = (pid // blocks_per_row).to(tl.int64)
    cols = (pid % blocks_per_row).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    return row, cols


@fast_launch
@triton.jit
def _unary_fwd(X, Y, stride_x, stride_y, n, blocks_per_row, ACT: tl.constexpr, BLOCK: tl.constexpr):
    row, cols = _block(blocks_per_row, BLOCK)
    mask = cols < n
    x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(Y + row * stride_y + cols, _activation(x, ACT).to(Y.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _unary_bwd(DY, X, DX, stride_dy, stride_x, stride_dx, n, blocks_per_row, ACT: tl.constexpr,
               BLOCK: tl.constexpr):
    row, cols = _block(blocks_per_row, BLOCK)
    mask = cols < n
    x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
    dy = tl.load(DY + row * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
    _, grad = _activation_and_grad(x, ACT)
    tl.store(DX + row * stride_dx + cols, (dy * grad).to(DX.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _gated_fwd(G, U, OUT, stride_g, stride_u, stride_o, up_col, n, blocks_per_row,
               ACT: tl.constexpr, BLOCK: tl.constexpr):
    # up_col: where up starts in its row (n when gate and up share one packed row, else 0).
    row, cols = _block(blocks_per_row, BLOCK)
    mask = cols < n
    g = tl.load(G + row * stride_g + cols, mask=mask, other=0.0).to(tl.float32)
    u = tl.load(U + row * stride_u + up_col + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(OUT + row * stride_o + cols, (_activation(g, ACT) * u).to(OUT.dtype.element_ty),
             mask=mask)


@fast_launch
@triton.jit
def _gated_bwd(DOUT, G, U, DG, DU, stride_do, stride_g, stride_u, stride_dg, stride_du, up_col,
               dup_col, n, blocks_per_row, ACT: tl.constexpr, BLOCK: tl.constexpr):
    row, cols = _block(blocks_per_row, BLOCK)
    mask = cols < n
    dout = tl.load(DOUT + row * stride_do + cols, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(G + row * stride_g + cols, mask=mask, other=0.0).to(tl.float32)
    u = tl.load(U + row * stride_u + up_col + cols, mask=mask, other=0.0).to(tl.float32)
    a, grad = _activation_and_grad(g, ACT)
    tl.store(DG + row * stride_dg + cols, (dout * u * grad).to(DG.dtype.element_ty), mask=mask)
    tl.store(DU + row * stride_du + dup_col + cols, (dout * a).to(DU.dtype.element_ty), mask=mask)


@functools.lru_cache(maxsize=256)
def _elementwise_launch(n: int) -> tuple[int, int]:
    """(block, num_warps) for rows of n elements: 4096-element blocks, smaller when a row's last
    block would leave more than 1/16 of its lanes idle (e.g. n = 11008 takes 1024)."""
    block = min(4096, triton.next_power_of_2(max(n, 1)))
    while block > 1024 and triton.cdiv(n, block) * block - n > n // 16:
        block //= 2
    return block, 8 if block >= 2048 else 4


def _row_stride(t):
    """0 for a single row: its stride is never used, and 0 lets Triton prove rows aligned (a flat
    row's stride is its length, which need not be a multiple of 16)."""
    return t.stride(0) if t.shape[0] > 1 else 0


def _grid(m, n):
    block, warps = _elementwise_launch(n)
    blocks_per_row = triton.cdiv(n, block)
    return (m * blocks_per_row,), blocks_per_row, block, warps


def _unary_forward(x, act):
    m, n = x.shape
    y = empty((m, n), dtype_name(x), like=x)
    if m * n:
        grid, blocks_per_row, block, warps = _grid(m, n)
        _unary_fwd[grid](x, y, _row_stride(x), _row_stride(y), n, blocks_per_row, ACT=act,
                         BLOCK=block, num_warps=warps)
    return y


def _unary_backward(dy, x, act):
    m, n = x.shape
    dx = empty((m, n), dtype_name(x), like=x)
    if m * n:
        grid, blocks_per_row, block, warps = _grid(m, n)
        _unary_bwd[grid](dy, x, dx, _row_stride(dy), _row_stride(x), _row_stride(dx), n,
                         blocks_per_row, ACT=act, BLOCK=block, num_warps=warps)
    return dx


def _gated_forward(x, up, act):
    m = x.shape[0]
    n = x.shape[1] // 2 if up is None else x.shape[1]
    # Packed rows: gate and up are the two halves of x's rows.
    u, up_col = (x, n) if up is None else (up, 0)
    out = empty((m, n), dtype_name(x), like=x)
    if m * n:
        grid, blocks_per_row, block, warps = _grid(m, n)
        _gated_fwd[grid](x, u, out, _row_stride(x), _row_stride(u), _row_stride(out), up_col, n,
                         blocks_per_row, ACT=act, BLOCK=block, num_warps=warps)
    return out


def _gated_backward(dout, x, up, act):
    m = x.shape[0]
    n = x.shape[1] // 2 if up is None else x.shape[1]
    dx = empty(tuple(x.shape), dtype_name(x), like=x)
    if up is None:
        u, up_col, dup, dup_col = x, n, dx, n  # both gradients land in dx's two halves
    else:
        u, up_col, dup, dup_col = up, 0, empty((m, n), dtype_name(up), like=up), 0
    if m * n:
        grid, blocks_per_row, block, warps = _grid(m, n)
        _gated_bwd[grid](dout, x, u, dx, dup, _row_stride(dout), _row_stride(x), _row_stride(u),
                         _row_stride(dx), _row_stride(dup), up_col, dup_col, n, blocks_per_row,
                         ACT=act, BLOCK=block, num_warps=warps)
    return dx, (dup if up is not None else None)


def _triton_gelu_forward(x, approximate):
    return _unary_forward(x, _GELU_CODES[approximate])


def _triton_gelu_backward(dy, x, approximate):
    return _unary_backward(dy, x, _GELU_CODES[approximate])


def _triton_swiglu_forward(x, up):
    return _gated_forward(x, up, SILU)


def _triton_swiglu_backward(dout, x, up):
    return _gated_backward(dout, x, up, SILU)


def _triton_geglu_forward(x, up, approximate):
    return _gated_forward(x, up, _GELU_CODES[approximate])


def _triton_geglu_backward(dout, x, up, approximate):
    return _gated_backward(dout, x, up, _GELU_CODES[approximate])


def _triton_unary_supports(x, approximate):
    return triton_reason(x)


def _triton_gated_supports(x, up, *args):
    return triton_reason(x, up)


# ---------------------------------------------------------------------------------------------
# torch reference


def _reference_activation(x, act):
    if act == SILU:
        return torch.nn.functional.silu(x)
    return torch.nn.functional.gelu(x, approximate="tanh" if act == GELU_TANH else "none")


def _reference_activation_grad(dy, x, act):
    if act == SILU:
        return torch.ops.aten.silu_backward(dy, x)
    return torch.ops.aten.gelu_backward(dy, x, approximate="tanh" if act == GELU_TANH else "none")


def _split(x, up):
    if up is not None:
        return x.float(), up.float()
    n = x.shape[1] // 2
    return x[:, :n].float(), x[:, n:].float()


def _reference_gated_forward(x, up, act):
    g, u = _split(x, up)
    return (_reference_activation(g, act) * u).to(x.dtype)


def _reference_gated_backward(dout, x, up, act):
    g, u = _split(x, up)
    dout = dout.float()
    dg = _reference_activation_grad(dout * u, g, act)
    du = dout * _reference_activation(g, act)
    if up is None:
        return torch.cat((dg, du), 1).to(x.dtype), None
    return dg.to(x.dtype), du.to(up.dtype)


def _reference_gelu_forward(x, approximate):
    return _reference_activation(x.float(), _GELU_CODES[approximate]).to(x.dtype)


def _reference_gelu_backward(dy, x, approximate):
    return _reference_activation_grad(dy.float(), x.float(), _GELU_CODES[approximate]).to(x.dtype)


def _reference_swiglu_forward(x, up):
    return _reference_gated_forward(x, up, SILU)


def _reference_swiglu_backward(dout, x, up):
    return _reference_gated_backward(dout, x, up, SILU)


def _reference_geglu_forward(x, up, approximate):
    return _reference_gated_forward(x, up, _GELU_CODES[approximate])


def _reference_geglu_backward(dout, x, up, approximate):
    return _reference_gated_backward(dout, x, up, _GELU_CODES[approximate])


def _reference_unary_supports(x, approximate):
    return reference_reason(x)


def _reference_gated_supports(x, up, *args):
    return reference_reason(x, up)


_registry.register("gelu", "triton", _triton_gelu_forward, _triton_gelu_backward,
                   _triton_unary_supports)
_registry.register("gelu", "reference", _reference_gelu_forward, _reference_gelu_backward,
                   _reference_unary_supports)
_registry.register("swiglu", "triton", _triton_swiglu_forward, _triton_swiglu_backward,
                   _triton_gated_supports)
_registry.register("swiglu", "reference", _reference_swiglu_forward, _reference_swiglu_backward,
                   _reference_gated_supports)
_registry.register("geglu", "triton", _triton_geglu_forward, _triton_geglu_backward,
                   _triton_gated_supports)
_registry.register("geglu", "reference", _reference_geglu_forward, _reference_geglu_backward,
                   _reference_gated_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API


def _rows_as(t, shape):
    """t as rows of `shape` with unit stride along the last dim (copying only if needed)."""
    rows = t.reshape(shape)
    if rows.stride(-1) != 1 or (rows.shape[0] > 1 and rows.stride(0) < rows.shape[1]):
        rows = rows.contiguous()
    return rows


def _is_dense(rows) -> bool:
    return rows.shape[0] <= 1 or rows.stride(0) == rows.shape[1]


def _rows(x):
    """as_rows, except that empty data (which as_rows cannot reshape) is one empty row."""
    return x.reshape(1, 0) if 0 in tuple(x.shape) else as_rows(x)


def _flat_or_rows(x):
    """Contiguous data as one flat row; anything else as unit-stride rows."""
    rows = _rows(x)
    return rows.reshape(1, -1) if _is_dense(rows) else rows


if torch is not None:

    class GeluFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, approximate, impl):
            ctx.save_for_backward(x)
            ctx.approximate = approximate
            ctx.impl = impl
            return impl.forward(x, approximate)

        @staticmethod
        def backward(ctx, dy):
            x, = ctx.saved_tensors
            return ctx.impl.backward(_rows_as(dy, x.shape), x, ctx.approximate), None, None

    class GatedFunction(torch.autograd.Function):
        """swiglu / geglu: `args` are the impl's arguments after (x, up)."""

        @staticmethod
        def forward(ctx, x, up, args, impl):
            out = impl.forward(x, up, *args)
            ctx.save_for_backward(x, up)
            ctx.args = args
            ctx.impl = impl
            ctx.out_shape = tuple(out.shape)
            return out

        @staticmethod
        def backward(ctx, dout):
            x, up = ctx.saved_tensors
            dx, dup = ctx.impl.backward(_rows_as(dout, ctx.out_shape), x, up, *ctx.args)
            return dx, dup, None, None


def _check_approximate(op, approximate):
    if approximate not in APPROXIMATIONS:
        raise RuntimeError(f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}")


@foreign_arrays
def gelu(x, approximate: str = "none"):
    """GELU like torch.nn.functional.gelu (approximate "none": erf form, "tanh")."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.gelu(x, approximate)
    _check_approximate("gelu", approximate)
    check_float("gelu", "x", x)
    rows = _flat_or_rows(x)
    impl = _registry.select("gelu", rows, approximate)
    if needs_autograd(x):
        y = GeluFunction.apply(rows, approximate, impl)
    else:
        y = impl.forward(rows, approximate)
    return y.view(x.shape)


def _gated_rows(op, x, up):
    """(x rows, up rows or None, output shape); packed x keeps its row stride (no copy)."""
    check_float(op, "x", x)
    if up is None:
        if x.dim() == 0 or x.shape[-1] % 2:
            raise RuntimeError(f"{op}: a single input needs an even last dim holding [gate | up], "
                               f"got shape {tuple(x.shape)}")
        return _rows(x), None, tuple(x.shape[:-1]) + (x.shape[-1] // 2,)
    check_float(op, "up", up)
    check_same_device(op, gate=x, up=up)
    if tuple(up.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: gate has shape {tuple(x.shape)} but up has shape "
                           f"{tuple(up.shape)}")
    if up.dtype != x.dtype:
        raise TypeError(f"{op}: up dtype {dtype_name(up)} differs from gate dtype {dtype_name(x)}")
    gate_rows, up_rows = _rows(x), _rows(up)
    if _is_dense(gate_rows) and _is_dense(up_rows):
        gate_rows, up_rows = gate_rows.reshape(1, -1), up_rows.reshape(1, -1)
    return gate_rows, up_rows, tuple(x.shape)


def _gated(kernel, x, up, args):
    x_rows, up_rows, shape = _gated_rows(kernel, x, up)
    impl = _registry.select(kernel, x_rows, up_rows, *args)
    if needs_autograd(x, up):
        out = GatedFunction.apply(x_rows, up_rows, args, impl)
    else:
        out = impl.forward(x_rows, up_rows, *args)
    return out.view(shape)


@foreign_arrays
def swiglu(x, up=None):
    """silu(gate) * up, with gate = x; or, when up is None, x's last dim holds [gate | up]."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.swiglu(x, up)
    return _gated("swiglu", x, up, ())


@foreign_arrays
def geglu(x, up=None, approximate: str = "none"):
    """gelu(gate) * up, with gate = x; or, when up is None, x's last dim holds [gate | up]."""
    if compiling():
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.geglu(x, up, approximate)
    _check_approximate("geglu", approximate)
    return _gated("geglu", x, up, (approximate,))


@foreign_arrays
def gelu_forward(x2d, approximate: str = "none"):
    """gelu of unit-stride rows without autograd."""
    _check_approximate("gelu", approximate)
    return _registry.select("gelu", x2d, approximate).forward(x2d, approximate)


@foreign_arrays
def gelu_backward(dy2d, x2d, approximate: str = "none"):
    """dx of gelu from dy and the saved input rows."""
    _check_approximate("gelu", approximate)
    return _registry.select("gelu", x2d, approximate).backward(dy2d, x2d, approximate)


@foreign_arrays
def swiglu_forward(x2d, up2d=None):
    """swiglu of unit-stride rows without autograd; up2d=None: x2d is (rows, 2n) [gate | up]."""
    return _registry.select("swiglu", x2d, up2d).forward(x2d, up2d)


@foreign_arrays
def swiglu_backward(dout2d, x2d, up2d=None):
    """(dgate, dup), or (dx, None) for packed rows, from dout and the saved inputs."""
    return _registry.select("swiglu", x2d, up2d).backward(dout2d, x2d, up2d)


@foreign_arrays
def geglu_forward(x2d, up2d=None, approximate: str = "none"):
    """geglu of unit-stride rows without autograd; up2d=None: x2d is (rows, 2n) [gate | up]."""
    _check_approximate("geglu", approximate)
    return _registry.select("geglu", x2d, up2d, approximate).forward(x2d, up2d, approximate)


@foreign_arrays
def geglu_backward(dout2d, x2d, up2d=None, approximate: str = "none"):
    """(dgate, dup), or (dx, None) for packed rows, from dout and the saved inputs."""
    _check_approximate("geglu", approximate)
    return _registry.select("geglu", x2d, up2d, approximate).backward(dout2d, x2d, up2d,
                                                                      approximate)
