"""GEMM with a fused epilogue: c = activation(a @ b + bias).

a (M, K) and b (K, N) are read through their strides, so b may be a transposed view such as
`weight.T` (the F.linear layout) and no operand is copied. Products accumulate in float32; the
bias and the activation apply to the float32 accumulator and the result is rounded once.

The Triton path is not the default: the "reference" backend (torch.matmul, i.e. cuBLAS, plus the
epilogue) is preferred for this kernel, and `use_impl("triton", "gemm")` asks for the Triton one.
benchmarks/cases_gemm.py measures where each wins.

Backward saves the pre-activation z = a @ b + bias (rounded to the output dtype, as torch's own
unfused composite saves it) instead of recomputing it, which would cost a third GEMM; relu needs
only the output. dz = dc * activation'(z), then da = dz @ b^T and db = a^T @ dz with the same GEMM
kernel, each written in the layout of its operand (db of `weight.T` lands contiguous in weight's
layout), and dbias = the column sums of dz.
"""

from __future__ import annotations

import triton
import triton.language as tl

from . import _registry
from ._arrays import column_sum, empty, zeros
from ._checks import check_float, check_same_device, dtype_name
from ._compat import is_torch_tensor, needs_autograd, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import interpreting, reference_reason, sm_count, triton_reason, tuned

KERNEL = "gemm"

ACTIVATIONS = (None, "relu", "gelu", "gelu_tanh", "silu")
_ACTIVATION_CODE = {None: 0, "relu": 1, "gelu": 2, "gelu_tanh": 3, "silu": 4}
# What backward needs to apply the activation's derivative: the pre-activation, or the output
# (relu' is 1 exactly where the output is positive).
_SAVES_PRE = ("gelu", "gelu_tanh", "silu")


# ---------------------------------------------------------------------------------------------
# Triton kernels


@triton.jit
def _activate(z, ACTIVATION: tl.constexpr):
    if ACTIVATION == 1:
        z = tl.maximum(z, 0.0)
    elif ACTIVATION == 2:
        z = 0.5 * z * (1.0 + tl.math.erf(z * 0.7071067811865476))
    elif ACTIVATION == 3:
        # tanh(u) = 2 * sigmoid(2u) - 1, so 0.5 * (1 + tanh(u)) = sigmoid(2u).
        u = 0.7978845608028654 * (z + 0.044715 * z * z * z)
        z = z * tl.sigmoid(2.0 * u)
    elif ACTIVATION == 4:
        z = z * tl.sigmoid(z)
    return z


@triton.jit
def _activation_grad(g, s, ACTIVATION: tl.constexpr):
    """g * activation'(z); `s` is the pre-activation z, or the output for relu."""
    if ACTIVATION == 1:
        g = tl.where(s > 0.0, g, 0.0)
    elif ACTIVATION == 2:
        cdf = 0.5 * (1.0 + tl.math.erf(s * 0.7071067811865476))
        pdf = 0.3989422804014327 * tl.exp(-0.5 * s * s)
        g = g * (cdf + s * pdf)
    elif ACTIVATION == 3:
        u = 0.7978845608028654 * (s + 0.044715 * s * s * s)
        half_one_plus_t = tl.sigmoid(2.0 * u)
        # d/ds tanh(u) = (1 - t^2) u', and 1 - t^2 = 4 h (1 - h) with h = (1 + t) / 2.
        du = 0.7978845608028654 * (1.0 + 0.134145 * s * s)
        g = g * (half_one_plus_t + s * 2.0 * half_one_plus_t * (1.0 - half_one_plus_t) * du)
    elif ACTIVATION == 4:
        sig = tl.sigmoid(s)
        g = g * (sig * (1.0 + s * (1.0 - sig)))
    return g


def _configs():
    if interpreting():
        # One small config: the interpreter runs one program at a time; GROUP_M=2 keeps the
        # grouped order exercised at test shapes.
        return [triton.Config({"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 2},
                              num_warps=4, num_stages=1)]
    # Few configs: each one compiles (seconds) for every epilogue and operand layout used.
    tiles = [
        # (BLOCK_M, BLOCK_N, BLOCK_K, stages, warps) for 2-byte inputs, wgmma-sized on Hopper:
        # large squares, the general tile, and two for skinny M (more tiles to fill the SMs).
        (128, 256, 64, 3, 8), (128, 128, 64, 4, 8), (64, 128, 64, 4, 4), (64, 64, 64, 5, 4),
        # float32 operands take twice the shared memory per tile: half the BLOCK_K.
        (128, 128, 32, 3, 8), (64, 64, 32, 4, 4),
    ]
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k, "GROUP_M": 8},
                          num_stages=s, num_warps=w) for m, n, k, s, w in tiles]


def _prune_configs(configs, named_args, **kwargs):
    """Keeps the configs for the operand width, and no row tile taller than M needs."""
    wide = dtype_name(named_args["A"]) == "float32"
    rows = max(64, triton.next_power_of_2(named_args["M"]))
    kept = [c for c in configs
            if (c.kwargs["BLOCK_K"] == 32) == wide and c.kwargs["BLOCK_M"] <= rows]
    return tuned(kept)


@triton.autotune(configs=_configs(), key=["M_BUCKET", "N_BUCKET", "K_BUCKET", "LAYOUT"],
                 prune_configs_by={"early_config_prune": _prune_configs}, cache_results=True)
@triton.heuristics({"EVEN_K": lambda args: args["K"] % args["BLOCK_K"] == 0})
@fast_launch
@triton.jit
def _gemm(A, B, BIAS, C, PRE, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm,
          stride_cn, M_BUCKET, N_BUCKET, K_BUCKET, LAYOUT, HAS_BIAS: tl.constexpr,
          ACTIVATION: tl.constexpr, SAVE_PRE: tl.constexpr, INPUT_PRECISION: tl.constexpr,
          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
          GROUP_M: tl.constexpr, EVEN_K: tl.constexpr):
    # M_BUCKET..LAYOUT only key the autotuner. PRE, when saved, has C's strides.
    # Grouped order: GROUP_M row tiles sweep the column tiles together, so each B panel they
    # load is reused from L2 GROUP_M times instead of once.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    tiles_per_group = GROUP_M * tiles_n
    first_m = (pid // tiles_per_group) * GROUP_M
    group_rows = tl.minimum(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (pid % tiles_per_group) % group_rows
    pid_n = (pid % tiles_per_group) // group_rows

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_m = offs_m < M
    mask_n = offs_n < N
    a_ptrs = A + offs_m[:, None].to(tl.int64) * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = B + offs_k[:, None] * stride_bk + offs_n[None, :].to(tl.int64) * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        if EVEN_K:
            a = tl.load(a_ptrs, mask=mask_m[:, None], other=0.0)
            b = tl.load(b_ptrs, mask=mask_n[None, :], other=0.0)
        else:
            k_left = K - k * BLOCK_K
            a = tl.load(a_ptrs, mask=mask_m[:, None] & (offs_k[None, :] < k_left), other=0.0)
            b = tl.load(b_ptrs, mask=(offs_k[:, None] < k_left) & mask_n[None, :], other=0.0)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    if HAS_BIAS:
        acc += tl.load(BIAS + offs_n, mask=mask_n, other=0.0).to(tl.float32)[None, :]
    offs_c = offs_m[:, None].to(tl.int64) * stride_cm + offs_n[None, :].to(tl.int64) * stride_cn
    mask_c = mask_m[:, None] & mask_n[None, :]
    if SAVE_PRE:
        tl.store(PRE + offs_c, acc.to(PRE.dtype.element_ty), mask=mask_c)
    acc = _activate(acc, ACTIVATION)
    tl.store(C + offs_c, acc.to(C.dtype.element_ty), mask=mask_c)


@fast_launch
@triton.jit
def _epilogue_bwd(DC, S, DZ, DBIAS_PARTIAL, M, N, stride_dcm, stride_dcn, stride_sm, stride_sn,
                  stride_dzm, blocks_per_program, ACTIVATION: tl.constexpr, STORE_DZ: tl.constexpr,
                  HAS_BIAS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    # dz = dc * activation'(s) over a column strip; each program walks `blocks_per_program`
    # row blocks and keeps its share of dbias in float32.
    pid_m = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    col_mask = cols < N
    dbias = tl.zeros([BLOCK_N], dtype=tl.float32)
    for i in range(0, blocks_per_program):
        rows = ((pid_m * blocks_per_program + i) * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
        mask = (rows[:, None] < M) & col_mask[None, :]
        g = tl.load(DC + rows[:, None] * stride_dcm + cols[None, :] * stride_dcn, mask=mask,
                    other=0.0).to(tl.float32)
        if ACTIVATION != 0:
            s = tl.load(S + rows[:, None] * stride_sm + cols[None, :] * stride_sn, mask=mask,
                        other=0.0).to(tl.float32)
            g = _activation_grad(g, s, ACTIVATION)
        if STORE_DZ:
            tl.store(DZ + rows[:, None] * stride_dzm + cols[None, :], g.to(DZ.dtype.element_ty),
                     mask=mask)
        if HAS_BIAS:
            dbias += tl.sum(g, axis=0)
    if HAS_BIAS:
        tl.store(DBIAS_PARTIAL + pid_m.to(tl.int64) * N + cols, dbias, mask=col_mask)


def _is_column_major(x) -> bool:
    return x.stride(0) == 1 and x.stride(1) != 1


def _empty_2d(rows, cols, dtype, like, column_major):
    """An uninitialized (rows, cols) array, column-major when asked of a torch tensor (a
    transposed buffer); foreign arrays, which have no transposed views, get row-major ones."""
    if column_major and is_torch_tensor(like):
        return empty((cols, rows), dtype, like=like).T
    return empty((rows, cols), dtype, like=like)


def _launch_gemm(a, a_strides, b, b_strides, c, m, n, k, bias=None, pre=None, activation=None,
                 allow_tf32=False):
    """c[m, n] = activation(sum_k a[m, k] b[k, n] + bias[n]), operands addressed by strides."""
    if m == 0 or n == 0:
        return c
    wide = dtype_name(c) == "float32" and dtype_name(a) == "float32"
    precision = "tf32" if allow_tf32 or not wide else "ieee"
    # Whether each operand is contiguous along K picks different tiles: part of the tuning key.
    layout = int(a_strides[1] == 1) * 2 + int(b_strides[1] == 1)

    def grid(meta):
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    _gemm[grid](
        a, b, bias, c, pre, m, n, k, a_strides[0], a_strides[1], b_strides[0], b_strides[1],
        c.stride(0), c.stride(1), triton.next_power_of_2(m), triton.next_power_of_2(n),
        triton.next_power_of_2(max(k, 1)), layout, HAS_BIAS=bias is not None,
        ACTIVATION=_ACTIVATION_CODE[activation], SAVE_PRE=pre is not None,
        INPUT_PRECISION=precision)
    return c


def _triton_forward(a, b, bias, activation, allow_tf32, save_pre):
    m, k = a.shape
    n = b.shape[1]
    dtype = dtype_name(a)
    c = empty((m, n), dtype, like=a)
    pre = empty((m, n), dtype, like=a) if save_pre and activation in _SAVES_PRE else None
    _launch_gemm(a, (a.stride(0), a.stride(1)), b, (b.stride(0), b.stride(1)), c, m, n, k,
                 bias, pre, activation, allow_tf32)
    return c, (c if activation == "relu" else pre)


def _epilogue_grad(dc, saved, activation, has_bias):
    """(dz, dbias or None): dz = dc * activation'(saved), dc itself when there is no activation."""
    m, n = dc.shape
    dtype = dtype_name(dc)
    store_dz = activation is not None
    if not store_dz and not has_bias:
        return dc, None
    if m == 0 or n == 0:
        dz = empty((m, n), dtype, like=dc) if store_dz else dc
        return dz, (zeros((n,), dtype, like=dc) if has_bias else None)
    block_m, block_n = 32, 128
    col_blocks = triton.cdiv(n, block_n)
    row_blocks = triton.cdiv(m, block_m)
    programs = max(1, min(row_blocks, 4 * sm_count(dc.device.index or 0) // col_blocks))
    blocks_per_program = triton.cdiv(row_blocks, programs)
    programs = triton.cdiv(row_blocks, blocks_per_program)
    dz = empty((m, n), dtype, like=dc) if store_dz else dc
    partial = empty((programs, n), "float32", like=dc) if has_bias else None
    s = saved if saved is not None else dc
    _epilogue_bwd[(programs, col_blocks)](
        dc, s, dz, partial, m, n, dc.stride(0), dc.stride(1), s.stride(0), s.stride(1),
        dz.stride(0), blocks_per_program, ACTIVATION=_ACTIVATION_CODE[activation],
        STORE_DZ=store_dz, HAS_BIAS=has_bias, BLOCK_M=block_m, BLOCK_N=block_n, num_warps=4)
    return dz, (column_sum(partial, dtype) if has_bias else None)


def _triton_backward(dc, a, b, saved, activation, has_bias, allow_tf32, need_da=True,
                     need_db=True):
    m, k = a.shape
    n = b.shape[1]
    dtype = dtype_name(a)
    dz, dbias = _epilogue_grad(dc, saved, activation, has_bias)
    dz_strides = (dz.stride(0), dz.stride(1))
    da = db = None
    if need_da:
        # da = dz @ b^T: b^T is b read with its strides swapped.
        da = _empty_2d(m, k, dtype, a, _is_column_major(a))
        _launch_gemm(dz, dz_strides, b, (b.stride(1), b.stride(0)), da, m, k, n,
                     allow_tf32=allow_tf32)
    if need_db:
        db = _empty_2d(k, n, dtype, a, _is_column_major(b))
        _launch_gemm(a, (a.stride(1), a.stride(0)), dz, dz_strides, db, k, n, m,
                     allow_tf32=allow_tf32)
    return da, db, dbias


def _triton_supports(a, b, bias, activation, allow_tf32, save_pre):
    return triton_reason(a, b, bias)


# ---------------------------------------------------------------------------------------------
# torch reference: cuBLAS (torch.matmul / addmm) and torch's own activation kernels. It follows
# torch's global TF32 setting for float32 rather than `allow_tf32`.


def _torch_activation(z, activation):
    if activation == "relu":
        return torch.relu(z)
    if activation == "gelu":
        return torch.nn.functional.gelu(z)
    if activation == "gelu_tanh":
        return torch.nn.functional.gelu(z, approximate="tanh")
    if activation == "silu":
        return torch.nn.functional.silu(z)
    return z


def _reference_forward(a, b, bias, activation, allow_tf32, save_pre):
    z = torch.addmm(bias, a, b) if bias is not None else torch.matmul(a, b)
    c = _torch_activation(z, activation)
    if activation == "relu":
        return c, c
    return c, (z if save_pre and activation in _SAVES_PRE else None)


def _reference_backward(dc, a, b, saved, activation, has_bias, allow_tf32, need_da=True,
                        need_db=True):
    aten = torch.ops.aten
    if activation == "relu":
        dz = aten.threshold_backward(dc, saved, 0)
    elif activation in ("gelu", "gelu_tanh"):
        dz = aten.gelu_backward(dc, saved, approximate="none" if activation == "gelu" else "tanh")
    elif activation == "silu":
        dz = aten.silu_backward(dc, saved)
    else:
        dz = dc
    da = dz @ b.T if need_da else None
    db = a.T @ dz if need_db else None
    dbias = dz.sum(0, dtype=torch.float32).to(dz.dtype) if has_bias else None
    return da, db, dbias


def _reference_supports(a, b, bias, activation, allow_tf32, save_pre):
    return reference_reason(a, b, bias)


_registry.register(KERNEL, "triton", _triton_forward, _triton_backward, _triton_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)
# cuBLAS is the faster GEMM at most shapes (see the benchmark report): prefer it unless a caller
# asks for Triton by name; foreign arrays still fall back to Triton.
_registry.set_impl("reference", KERNEL)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class MatmulFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, bias, activation, allow_tf32, impl):
            c, saved = impl.forward(a, b, bias, activation, allow_tf32, True)
            ctx.save_for_backward(a, b, saved)
            ctx.impl = impl
            ctx.activation = activation
            ctx.has_bias = bias is not None
            ctx.allow_tf32 = allow_tf32
            return c

        @staticmethod
        def backward(ctx, dc):
            a, b, saved = ctx.saved_tensors
            need_da, need_db, need_dbias = ctx.needs_input_grad[:3]
            da, db, dbias = ctx.impl.backward(dc, a, b, saved, ctx.activation,
                                              ctx.has_bias and need_dbias, ctx.allow_tf32,
                                              need_da, need_db)
            return da, db, dbias, None, None, None


def _check(a, b, bias, activation):
    op = "matmul"
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: unknown activation {activation!r}; expected one of "
                         f"{', '.join(repr(x) for x in ACTIVATIONS)}")
    if a.dim() < 2 or b.dim() != 2:
        raise RuntimeError(f"{op}: expected a with at least 2 dimensions and a 2-D b, got a of "
                           f"shape {tuple(a.shape)} and b of shape {tuple(b.shape)}")
    if a.shape[-1] != b.shape[0]:
        raise RuntimeError(f"{op}: a of shape {tuple(a.shape)} and b of shape {tuple(b.shape)} "
                           f"cannot be multiplied ({a.shape[-1]} != {b.shape[0]})")
    check_float(op, "a", a)
    check_same_device(op, a=a, b=b, bias=bias)
    named = [("b", b)] + ([("bias", bias)] if bias is not None else [])
    for name, t in named:
        if dtype_name(t) != dtype_name(a):
            raise TypeError(f"{op}: {name} dtype {dtype_name(t)} differs from a dtype {dtype_name(a)}")
    if bias is not None and tuple(bias.shape) != (b.shape[1],):
        raise RuntimeError(f"{op}: bias has shape {tuple(bias.shape)}, expected ({b.shape[1]},)")


@foreign_arrays
def matmul(a, b, bias=None, activation: str | None = None, allow_tf32: bool = False):
    """activation(a @ b + bias) for a (..., K) and a 2-D b (K, N), bias (N,) or None.

    activation: None, "relu", "gelu", "gelu_tanh" or "silu". `allow_tf32` lets the Triton path
    round float32 operands to TF32 (off: IEEE float32 products).
    """
    _check(a, b, bias, activation)
    rows = a if a.dim() == 2 else a.reshape(-1, a.shape[-1])
    allow_tf32 = bool(allow_tf32)
    impl = _registry.select(KERNEL, rows, b, bias, activation, allow_tf32, False)
    if needs_autograd(a, b, bias):
        c = MatmulFunction.apply(rows, b, bias, activation, allow_tf32, impl)
    else:
        c, _ = impl.forward(rows, b, bias, activation, allow_tf32, False)
    return c if a.dim() == 2 else c.reshape(*a.shape[:-1], b.shape[1])


@foreign_arrays
def matmul_forward(a2d, b, bias=None, activation=None, allow_tf32=False):
    """The forward without autograd: (c, saved), where `saved` is what matmul_backward needs
    for the activation (the pre-activation; c for relu; None without an activation)."""
    impl = _registry.select(KERNEL, a2d, b, bias, activation, allow_tf32, True)
    return impl.forward(a2d, b, bias, activation, allow_tf32, True)


@foreign_arrays
def matmul_backward(dc, a2d, b, saved=None, activation=None, has_bias=False, allow_tf32=False):
    """Gradients (da, db, dbias or None) from dc and matmul_forward's inputs and `saved`."""
    impl = _registry.select(KERNEL, a2d, b, None, activation, allow_tf32, True)
    return impl.backward(dc, a2d, b, saved, activation, has_bias, allow_tf32)
