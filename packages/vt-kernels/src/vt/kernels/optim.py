"""Fused multi-tensor optimizer steps: AdamW and SGD (momentum, Nesterov), in place.

One call updates a whole list of tensors with one launch per (device, dtypes) group: the host
writes a small int64 table of every tensor's pointers and size once (cached on the data pointers,
so repeated steps on the same buffers reuse it) and each program finds its tensor and its chunk of
elements in that table. Optional float32 master weights: the update runs on the master copy and
writes the rounded value into the (bf16 / fp16) param. Math in float32, equal to torch.optim.

Impl signatures (registry kernels "adamw" and "sgd"; `backward` is None):
  adamw: forward(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, lr, beta1, beta2, eps,
                 weight_decay, maximize[, max_exp_avg_sqs])
  sgd:   forward(group, params, grads, momentum_buffers, masters, lr, momentum, dampening,
                 weight_decay, nesterov, maximize, first_step)
  `group` is the cached `_Group` of these tensors (dtypes, sizes, the Triton table); the lists
  hold only its tensors; `masters` is None or a float32 list; `step` is a number, a float32 scalar
  tensor or a list of them (one per tensor); `max_exp_avg_sqs` (amsgrad's running maxima of
  exp_avg_sq) is passed only with amsgrad. supports(group, ...) takes the same arguments.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict

import triton
import triton.language as tl

from . import _registry
from ._arrays import empty
from ._checks import FLOAT_DTYPES, device_name, dtype_name
from ._compat import is_torch_tensor, torch
from ._fast_launch import fast_launch
from ._foreign import foreign_arrays
from ._launch import reference_reason, triton_reason

ADAMW_KERNEL = "adamw"
SGD_KERNEL = "sgd"

# The table: `num_tensors` first-chunk indices, then one row of _FIELDS int64 per tensor holding
# (the kernels read these positions): param, grad, exp_avg or momentum buffer, exp_avg_sq,
# master param, step tensor, amsgrad's max_exp_avg_sq (pointers, 0 when absent), numel.
_FIELDS = tl.constexpr(8)
_PARAM, _GRAD, _STATE1, _STATE2, _MASTER, _STEP, _NUMEL, _MAX_STATE = range(8)
_BLOCK = 1024
_BLOCKS_PER_CHUNK = 8
_CHUNK = _BLOCK * _BLOCKS_PER_CHUNK
_PLAN_CACHE_SIZE = 16

_TL_DTYPES = {"float32": tl.float32, "float16": tl.float16, "bfloat16": tl.bfloat16}


# ---------------------------------------------------------------------------------------------
# Triton kernels


@triton.jit
def _locate(TABLE, num_tensors, BLOCK: tl.constexpr, BLOCKS_PER_CHUNK: tl.constexpr,
            TENSORS_POW2: tl.constexpr):
    """This program's tensor: (its table row, its first element, its full blocks)."""
    pid = tl.program_id(0)
    t = tl.arange(0, TENSORS_POW2)
    live = t < num_tensors
    first_chunk = tl.load(TABLE + t, mask=live, other=0)
    which = tl.sum((live & (first_chunk <= pid)).to(tl.int32), axis=0) - 1
    row = TABLE + num_tensors + which * _FIELDS
    start = (pid - tl.load(TABLE + which)) * (BLOCK * BLOCKS_PER_CHUNK)
    full_blocks = tl.minimum((tl.load(row + 6) - start) // BLOCK, BLOCKS_PER_CHUNK)
    return row, start, full_blocks


# The update of one block. `mask` and `other` are None on full blocks: unmasked loads and stores
# vectorize, masked ones (whose mask the compiler cannot prove uniform) do not.
@triton.jit
def _adamw_block(P, G, M, V, VMAX, W, offs, mask, other, decay, beta1, one_minus_beta1, beta2,
                 one_minus_beta2, eps, step_size, bc2_sqrt, HAS_MASTER: tl.constexpr,
                 MAXIMIZE: tl.constexpr, AMSGRAD: tl.constexpr):
    # W is the master copy when there is one, else P itself; VMAX is read only with AMSGRAD.
    g = tl.load(G + offs, mask=mask, other=other).to(tl.float32)
    if MAXIMIZE:
        g = -g
    x = tl.load(W + offs, mask=mask, other=other).to(tl.float32) * decay
    m = beta1 * tl.load(M + offs, mask=mask, other=other).to(tl.float32) + one_minus_beta1 * g
    v = beta2 * tl.load(V + offs, mask=mask, other=other).to(tl.float32) + one_minus_beta2 * (g * g)
    v_denom = v
    if AMSGRAD:  # the denominator takes the largest exp_avg_sq so far
        v_denom = tl.maximum(tl.load(VMAX + offs, mask=mask, other=other).to(tl.float32), v)
        tl.store(VMAX + offs, v_denom.to(VMAX.dtype.element_ty), mask=mask)
    x = x - step_size * tl.div_rn(m, tl.div_rn(tl.sqrt_rn(v_denom), bc2_sqrt) + eps)
    tl.store(M + offs, m.to(M.dtype.element_ty), mask=mask)
    tl.store(V + offs, v.to(V.dtype.element_ty), mask=mask)
    tl.store(W + offs, x.to(W.dtype.element_ty), mask=mask)
    if HAS_MASTER:
        tl.store(P + offs, x.to(P.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _adamw_kernel(TABLE, num_tensors, STEP, lr, decay, beta1, one_minus_beta1, beta2,
                  one_minus_beta2, log2_beta1, log2_beta2, eps, step_size, bc2_sqrt,
                  P_TYPE: tl.constexpr, G_TYPE: tl.constexpr, S_TYPE: tl.constexpr,
                  HAS_MASTER: tl.constexpr, STEP_MODE: tl.constexpr, MAXIMIZE: tl.constexpr,
                  AMSGRAD: tl.constexpr, ALIGNED: tl.constexpr, TENSORS_POW2: tl.constexpr,
                  BLOCK: tl.constexpr, BLOCKS_PER_CHUNK: tl.constexpr):
    row, start, full_blocks = _locate(TABLE, num_tensors, BLOCK, BLOCKS_PER_CHUNK, TENSORS_POW2)
    p = tl.load(row + 0).to(tl.pointer_type(P_TYPE))
    g = tl.load(row + 1).to(tl.pointer_type(G_TYPE))
    m = tl.load(row + 2).to(tl.pointer_type(S_TYPE))
    v = tl.load(row + 3).to(tl.pointer_type(S_TYPE))
    if HAS_MASTER:
        w = tl.load(row + 4).to(tl.pointer_type(tl.float32))
    else:
        w = p
    if AMSGRAD:
        vmax = tl.load(row + 7).to(tl.pointer_type(S_TYPE))
    else:
        vmax = v
    if ALIGNED:  # every base is 16-byte aligned: full blocks get vector loads
        p = tl.multiple_of(p, 16)
        g = tl.multiple_of(g, 16)
        m = tl.multiple_of(m, 16)
        v = tl.multiple_of(v, 16)
        w = tl.multiple_of(w, 16)
        vmax = tl.multiple_of(vmax, 16)
    # STEP_MODE 0: bias corrections came from the host; 1: one step tensor; 2: one per tensor.
    if STEP_MODE != 0:
        if STEP_MODE == 1:
            step = tl.load(STEP).to(tl.float32)
        else:
            step = tl.load(tl.load(row + 5).to(tl.pointer_type(tl.float32)))
        step_size = lr / (1.0 - tl.exp2(step * log2_beta1))
        bc2_sqrt = tl.sqrt_rn(1.0 - tl.exp2(step * log2_beta2))
    for i in range(0, full_blocks):
        offs = start + i * BLOCK + tl.arange(0, BLOCK)
        _adamw_block(p, g, m, v, vmax, w, offs, None, None, decay, beta1, one_minus_beta1,
                     beta2, one_minus_beta2, eps, step_size, bc2_sqrt, HAS_MASTER, MAXIMIZE,
                     AMSGRAD)
    if full_blocks < BLOCKS_PER_CHUNK:  # the tensor's tail
        offs = start + full_blocks * BLOCK + tl.arange(0, BLOCK)
        _adamw_block(p, g, m, v, vmax, w, offs, offs < tl.load(row + 6), 0.0, decay, beta1,
                     one_minus_beta1, beta2, one_minus_beta2, eps, step_size, bc2_sqrt,
                     HAS_MASTER, MAXIMIZE, AMSGRAD)


@triton.jit
def _sgd_block(P, G, B, W, offs, mask, other, lr, momentum, one_minus_dampening, weight_decay,
               HAS_MASTER: tl.constexpr, HAS_WEIGHT_DECAY: tl.constexpr, HAS_MOMENTUM: tl.constexpr,
               FIRST_STEP: tl.constexpr, NESTEROV: tl.constexpr, MAXIMIZE: tl.constexpr):
    g = tl.load(G + offs, mask=mask, other=other).to(tl.float32)
    if MAXIMIZE:
        g = -g
    x = tl.load(W + offs, mask=mask, other=other).to(tl.float32)
    if HAS_WEIGHT_DECAY:
        g = g + weight_decay * x
    if HAS_MOMENTUM:
        if FIRST_STEP:
            buf = g
        else:
            buf = momentum * tl.load(B + offs, mask=mask, other=other).to(tl.float32)
            buf = buf + one_minus_dampening * g
        tl.store(B + offs, buf.to(B.dtype.element_ty), mask=mask)
        if NESTEROV:
            g = g + momentum * buf
        else:
            g = buf
    x = x - lr * g
    tl.store(W + offs, x.to(W.dtype.element_ty), mask=mask)
    if HAS_MASTER:
        tl.store(P + offs, x.to(P.dtype.element_ty), mask=mask)


@fast_launch
@triton.jit
def _sgd_kernel(TABLE, num_tensors, lr, momentum, one_minus_dampening, weight_decay,
                P_TYPE: tl.constexpr, G_TYPE: tl.constexpr, S_TYPE: tl.constexpr,
                HAS_MASTER: tl.constexpr, HAS_WEIGHT_DECAY: tl.constexpr,
                HAS_MOMENTUM: tl.constexpr, FIRST_STEP: tl.constexpr, NESTEROV: tl.constexpr,
                MAXIMIZE: tl.constexpr, ALIGNED: tl.constexpr, TENSORS_POW2: tl.constexpr,
                BLOCK: tl.constexpr, BLOCKS_PER_CHUNK: tl.constexpr):
    row, start, full_blocks = _locate(TABLE, num_tensors, BLOCK, BLOCKS_PER_CHUNK, TENSORS_POW2)
    p = tl.load(row + 0).to(tl.pointer_type(P_TYPE))
    g = tl.load(row + 1).to(tl.pointer_type(G_TYPE))
    if HAS_MOMENTUM:
        b = tl.load(row + 2).to(tl.pointer_type(S_TYPE))
    else:
        b = p
    if HAS_MASTER:
        w = tl.load(row + 4).to(tl.pointer_type(tl.float32))
    else:
        w = p
    if ALIGNED:  # every base is 16-byte aligned: full blocks get vector loads
        p = tl.multiple_of(p, 16)
        g = tl.multiple_of(g, 16)
        b = tl.multiple_of(b, 16)
        w = tl.multiple_of(w, 16)
    for i in range(0, full_blocks):
        offs = start + i * BLOCK + tl.arange(0, BLOCK)
        _sgd_block(p, g, b, w, offs, None, None, lr, momentum, one_minus_dampening, weight_decay,
                   HAS_MASTER, HAS_WEIGHT_DECAY, HAS_MOMENTUM, FIRST_STEP, NESTEROV, MAXIMIZE)
    if full_blocks < BLOCKS_PER_CHUNK:  # the tensor's tail
        offs = start + full_blocks * BLOCK + tl.arange(0, BLOCK)
        _sgd_block(p, g, b, w, offs, offs < tl.load(row + 6), 0.0, lr, momentum,
                   one_minus_dampening, weight_decay, HAS_MASTER, HAS_WEIGHT_DECAY, HAS_MOMENTUM,
                   FIRST_STEP, NESTEROV, MAXIMIZE)


_INT64_ARGS = 16


@fast_launch
@triton.jit(do_not_specialize=["start", "count"] + [f"v{i}" for i in range(16)])
def _write_int64(OUT, start, count, v0: tl.int64, v1: tl.int64, v2: tl.int64, v3: tl.int64,
                 v4: tl.int64, v5: tl.int64, v6: tl.int64, v7: tl.int64, v8: tl.int64,
                 v9: tl.int64, v10: tl.int64, v11: tl.int64, v12: tl.int64, v13: tl.int64,
                 v14: tl.int64, v15: tl.int64):
    # Typed, unspecialized arguments: one compiled kernel whatever the values are.
    OUT += start
    tl.store(OUT + 0, v0, mask=0 < count)
    tl.store(OUT + 1, v1, mask=1 < count)
    tl.store(OUT + 2, v2, mask=2 < count)
    tl.store(OUT + 3, v3, mask=3 < count)
    tl.store(OUT + 4, v4, mask=4 < count)
    tl.store(OUT + 5, v5, mask=5 < count)
    tl.store(OUT + 6, v6, mask=6 < count)
    tl.store(OUT + 7, v7, mask=7 < count)
    tl.store(OUT + 8, v8, mask=8 < count)
    tl.store(OUT + 9, v9, mask=9 < count)
    tl.store(OUT + 10, v10, mask=10 < count)
    tl.store(OUT + 11, v11, mask=11 < count)
    tl.store(OUT + 12, v12, mask=12 < count)
    tl.store(OUT + 13, v13, mask=13 < count)
    tl.store(OUT + 14, v14, mask=14 < count)
    tl.store(OUT + 15, v15, mask=15 < count)


# ---------------------------------------------------------------------------------------------
# the host side: validation, grouping and the cached pointer tables


def _data_ptr(t) -> int:
    return 0 if t is None else t.data_ptr()


def _pointers(items) -> tuple:
    if torch is not None:
        try:
            return tuple(map(torch.Tensor.data_ptr, items))  # the fast path: all torch tensors
        except TypeError:
            pass
    return tuple(map(_data_ptr, items))


def _sizes(items) -> tuple:
    if torch is not None:
        try:
            return tuple(map(torch.Tensor.numel, items))
        except TypeError:
            pass
    return tuple(t.numel() for t in items)


def _device_int64(values: list[int], like):
    """A device int64 array holding `values` (the launchers' only host-to-device copy)."""
    if is_torch_tensor(like):
        host = torch.tensor(values, dtype=torch.int64)
        if like.device.type != "cuda":
            return host
        return host.pin_memory().to(like.device, non_blocking=True)  # no host sync
    out = empty((len(values),), "int64", like=like)
    for start in range(0, len(values), _INT64_ARGS):
        part = values[start:start + _INT64_ARGS]
        _write_int64[(1,)](out, start, len(part), *(part + [0] * (_INT64_ARGS - len(part))))
    return out


class _Group:
    """The tensors of one call that share a device and dtypes: one launch.

    Holds no tensors (a cached plan must not keep gradients alive), only their positions in the
    call's lists, dtypes and sizes, and the Triton table once a Triton launch has built it.
    """

    def __init__(self, indices, dtypes, numels, contiguous):
        self.indices = indices
        self.param_dtype, self.grad_dtype, self.state_dtype, self.has_master = dtypes
        self.numels = numels
        self.contiguous = contiguous
        self.table = None
        self.num_chunks = 0
        self.aligned = False

    def take(self, items):
        return None if items is None else [items[i] for i in self.indices]

    def build_table(self, tensors_by_field: dict, like):
        """The int64 table: first-chunk index per tensor, then rows of pointers and size."""
        starts, rows, chunk = [], [], 0
        for k, numel in enumerate(self.numels):
            starts.append(chunk)
            chunk += triton.cdiv(numel, _CHUNK)
            row = [0] * _FIELDS.value
            for field, tensors in tensors_by_field.items():
                row[field] = _data_ptr(tensors[k])
            row[_NUMEL] = numel
            rows.extend(row)
        arrays = [f for f in tensors_by_field if f != _STEP]
        self.aligned = all(rows[r + f] % 16 == 0 for r in range(0, len(rows), _FIELDS.value)
                           for f in arrays)
        self.num_chunks = chunk
        self.table = _device_int64(starts + rows, like)


_plans: OrderedDict = OrderedDict()


def _plan(op: str, params, grads, states: dict, masters, steps) -> list[_Group]:
    """The groups of one call, cached on every data pointer the call touches (and on the sizes
    and dtypes, so that new tensors at old addresses get a new plan).

    `states` maps a name (for messages) to a list of per-param state tensors.
    """
    lists = (params, grads, *states.values(), masters or (), steps or ())
    key = (op, tuple(len(x) for x in lists), tuple(map(_pointers, lists)),
           _sizes(params), tuple(p.dtype for p in params))
    groups = _plans.get(key)
    if groups is not None:
        _plans.move_to_end(key)
        return groups
    groups = _make_groups(op, params, grads, states, masters, steps)
    _plans[key] = groups
    if len(_plans) > _PLAN_CACHE_SIZE:
        _plans.popitem(last=False)
    return groups


def _make_groups(op, params, grads, states, masters, steps) -> list[_Group]:
    by_key: dict = {}
    for i, p in enumerate(params):
        g = grads[i]
        named = [("param", p), ("grad", g)]
        named += [(name, s[i]) for name, s in states.items()]
        master = masters[i] if masters is not None else None
        if master is not None:
            named.append(("master param", master))
        shape = tuple(p.shape)
        for name, t in named:
            if t is None:
                raise RuntimeError(f"{op}: {name} {i} is None")
            if dtype_name(t) not in FLOAT_DTYPES:
                raise TypeError(f"{op}: {name} {i} must be float32, float16 or bfloat16, "
                                f"got {dtype_name(t)}")
            if tuple(t.shape) != shape:
                raise RuntimeError(f"{op}: {name} {i} has shape {tuple(t.shape)}, expected "
                                   f"{shape} (the shape of param {i})")
            if device_name(t) != device_name(p):
                raise RuntimeError(f"{op}: expected all tensors on one device, got param {i} on "
                                   f"{device_name(p)} and {name} {i} on {device_name(t)}")
        if master is not None and dtype_name(master) != "float32":
            raise TypeError(f"{op}: master param {i} must be float32, got {dtype_name(master)}")
        if steps is not None:
            _check_step_tensor(op, steps[i], p, f"step {i}")
        state_dtypes = {dtype_name(s[i]) for s in states.values()}
        if len(state_dtypes) > 1:
            raise TypeError(f"{op}: the states of param {i} have different dtypes "
                            f"{sorted(state_dtypes)}")
        dtypes = (dtype_name(p), dtype_name(g), state_dtypes.pop() if states else dtype_name(p),
                  master is not None)
        group_key = (device_name(p), dtypes)
        entry = by_key.setdefault(group_key, ([], []))
        if p.numel():
            entry[0].append(i)
            entry[1].append(all(t.is_contiguous() for _, t in named))
    return [_Group(indices, key[1], [params[i].numel() for i in indices], all(contiguous))
            for key, (indices, contiguous) in by_key.items() if indices]


def _check_step_tensor(op, step, p, name):
    if step.numel() != 1:
        raise RuntimeError(f"{op}: {name} must hold one value, got shape {tuple(step.shape)}")
    if dtype_name(step) != "float32":
        raise TypeError(f"{op}: {name} must be a float32 tensor, got {dtype_name(step)}")
    if device_name(step) != device_name(p):
        raise RuntimeError(f"{op}: expected all tensors on one device, got param on "
                           f"{device_name(p)} and {name} on {device_name(step)}")


def _scalar(op: str, name: str, value) -> float:
    """A hyperparameter as a Python float (a CPU scalar tensor is read without a device sync)."""
    if is_torch_tensor(value):
        if value.device.type != "cpu":
            raise NotImplementedError(f"{op}: {name} as a {value.device.type} tensor; pass a "
                                      "Python number or a CPU tensor")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def _same_length(op: str, params, **lists):
    for name, items in lists.items():
        if items is not None and len(items) != len(params):
            raise RuntimeError(f"{op}: got {len(params)} params and {len(items)} {name}")


def _triton_group_reason(group: _Group, *tensors):
    if not group.contiguous:
        return "non-contiguous tensors in the group"
    return triton_reason(*tensors)


def _first(items):
    return items[0] if items else None


# ---------------------------------------------------------------------------------------------
# AdamW


def _triton_adamw(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, lr, beta1, beta2,
                  eps, weight_decay, maximize, max_exp_avg_sqs=None):
    step_mode = 2 if isinstance(step, (list, tuple)) else 0 if isinstance(step, (int, float)) else 1
    if group.table is None:
        fields = {_PARAM: params, _GRAD: grads, _STATE1: exp_avgs, _STATE2: exp_avg_sqs}
        if masters is not None:
            fields[_MASTER] = masters
        if max_exp_avg_sqs is not None:
            fields[_MAX_STATE] = max_exp_avg_sqs
        if step_mode == 2:  # the plan's cache key holds these pointers too
            fields[_STEP] = step
        group.build_table(fields, like=params[0])
    step_size = bc2_sqrt = 1.0
    if step_mode == 0:
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    num_tensors = len(group.numels)
    _adamw_kernel[(group.num_chunks,)](
        group.table, num_tensors, step if step_mode == 1 else None, lr, 1.0 - lr * weight_decay,
        beta1, 1.0 - beta1, beta2, 1.0 - beta2, math.log2(beta1) if beta1 > 0 else -math.inf,
        math.log2(beta2) if beta2 > 0 else -math.inf, eps, step_size, bc2_sqrt,
        P_TYPE=_TL_DTYPES[group.param_dtype], G_TYPE=_TL_DTYPES[group.grad_dtype],
        S_TYPE=_TL_DTYPES[group.state_dtype], HAS_MASTER=group.has_master, STEP_MODE=step_mode,
        MAXIMIZE=maximize, AMSGRAD=max_exp_avg_sqs is not None, ALIGNED=group.aligned,
        TENSORS_POW2=triton.next_power_of_2(num_tensors), BLOCK=_BLOCK,
        BLOCKS_PER_CHUNK=_BLOCKS_PER_CHUNK, num_warps=4)


def _triton_adamw_supports(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, *args):
    one_step_tensor = step if not isinstance(step, (int, float, list, tuple)) else None
    return _triton_group_reason(group, params[0], grads[0], exp_avgs[0], exp_avg_sqs[0],
                                _first(masters), one_step_tensor)


def _reference_adamw(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, lr, beta1, beta2,
                     eps, weight_decay, maximize, max_exp_avg_sqs=None):
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        s = step[i] if isinstance(step, (list, tuple)) else step
        target = masters[i] if masters is not None else p
        g = -g.float() if maximize else g.float()
        x = target.float() * (1.0 - lr * weight_decay)
        m32 = beta1 * m.float() + (1.0 - beta1) * g
        v32 = beta2 * v.float() + (1.0 - beta2) * g * g
        step_size = lr / (1.0 - beta1 ** s)
        bc2_sqrt = (1.0 - beta2 ** s) ** 0.5
        v_denom = v32
        if max_exp_avg_sqs is not None:
            v_denom = torch.maximum(max_exp_avg_sqs[i].float(), v32)
            max_exp_avg_sqs[i].copy_(v_denom)
        x = x - step_size * m32 / (v_denom.sqrt() / bc2_sqrt + eps)
        m.copy_(m32)
        v.copy_(v32)
        target.copy_(x)
        if masters is not None:
            p.copy_(x)


def _reference_adamw_supports(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, *args):
    return reference_reason(params[0], grads[0], exp_avgs[0], exp_avg_sqs[0], _first(masters))


_registry.register(ADAMW_KERNEL, "triton", _triton_adamw, None, _triton_adamw_supports)
_registry.register(ADAMW_KERNEL, "reference", _reference_adamw, None, _reference_adamw_supports)


def _check_adam_hyper(op, lr, beta1, beta2, eps, weight_decay):
    if lr < 0:
        raise ValueError(f"{op}: invalid learning rate {lr}")
    if eps < 0:
        raise ValueError(f"{op}: invalid epsilon {eps}")
    if not 0.0 <= beta1 < 1.0 or not 0.0 <= beta2 < 1.0:
        raise ValueError(f"{op}: invalid betas ({beta1}, {beta2}); each must be in [0, 1)")
    if weight_decay < 0:
        raise ValueError(f"{op}: invalid weight_decay {weight_decay}")


@foreign_arrays
def adamw_step(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps, weight_decay,
               maximize=False, master_params=None, amsgrad=False, max_exp_avg_sqs=None):
    """One AdamW step (torch.optim.AdamW's math) on lists of tensors, in place.

    `step` is the step number after this update's increment: a Python number, a float32 scalar
    tensor on the params' device (read in the kernel: no sync) or a list of such tensors, one per
    param. `master_params`: None, or a list of float32 tensors (None entries for params updated
    in place); the update runs on the master and the param receives its rounded value.
    `amsgrad=True` needs `max_exp_avg_sqs` (states like exp_avg_sqs, zeros at the first step):
    each becomes max(itself, exp_avg_sq) and takes exp_avg_sq's place in the denominator.
    """
    op = "adamw_step"
    lr, beta1, beta2, eps, weight_decay = (
        _scalar(op, name, value) for name, value in
        (("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps),
         ("weight_decay", weight_decay)))
    _check_adam_hyper(op, lr, beta1, beta2, eps, weight_decay)
    steps = list(step) if isinstance(step, (list, tuple)) else None
    states = {"exp_avg": exp_avgs, "exp_avg_sq": exp_avg_sqs}
    if amsgrad:
        if max_exp_avg_sqs is None:
            raise RuntimeError(f"{op}: amsgrad needs max_exp_avg_sqs")
        states["max_exp_avg_sq"] = max_exp_avg_sqs
    else:
        max_exp_avg_sqs = None  # torch ignores them without amsgrad
    _same_length(op, params, grads=grads, exp_avgs=exp_avgs, exp_avg_sqs=exp_avg_sqs,
                 max_exp_avg_sqs=max_exp_avg_sqs, master_params=master_params, steps=steps)
    if steps is None:
        if isinstance(step, bool):
            raise TypeError(f"{op}: step must be a number or a float32 tensor, got bool")
        if isinstance(step, (int, float)):
            if step < 1:
                raise ValueError(f"{op}: step must be >= 1 (bias corrections divide by "
                                 f"1 - beta ** step), got {step}")
            step = float(step)
        elif params:
            _check_step_tensor(op, step, params[0], "step")
    groups = _plan(op, params, grads, states, master_params, steps)
    for group in groups:
        args = (group, group.take(params), group.take(grads), group.take(exp_avgs),
                group.take(exp_avg_sqs), group.take(master_params) if group.has_master else None,
                group.take(steps) if steps is not None else step, lr, beta1, beta2, eps,
                weight_decay, bool(maximize))
        if max_exp_avg_sqs is not None:
            args += (group.take(max_exp_avg_sqs),)
        _registry.select(ADAMW_KERNEL, *args).forward(*args)


# ---------------------------------------------------------------------------------------------
# SGD


def _triton_sgd(group, params, grads, momentum_buffers, masters, lr, momentum, dampening,
                weight_decay, nesterov, maximize, first_step):
    if group.table is None:
        fields = {_PARAM: params, _GRAD: grads}
        if momentum != 0:
            fields[_STATE1] = momentum_buffers
        if masters is not None:
            fields[_MASTER] = masters
        group.build_table(fields, like=params[0])
    num_tensors = len(group.numels)
    state_dtype = group.state_dtype if momentum != 0 else group.param_dtype
    _sgd_kernel[(group.num_chunks,)](
        group.table, num_tensors, lr, momentum, 1.0 - dampening, weight_decay,
        P_TYPE=_TL_DTYPES[group.param_dtype], G_TYPE=_TL_DTYPES[group.grad_dtype],
        S_TYPE=_TL_DTYPES[state_dtype], HAS_MASTER=group.has_master,
        HAS_WEIGHT_DECAY=weight_decay != 0, HAS_MOMENTUM=momentum != 0, FIRST_STEP=first_step,
        NESTEROV=nesterov, MAXIMIZE=maximize, ALIGNED=group.aligned,
        TENSORS_POW2=triton.next_power_of_2(num_tensors), BLOCK=_BLOCK,
        BLOCKS_PER_CHUNK=_BLOCKS_PER_CHUNK, num_warps=4)


def _triton_sgd_supports(group, params, grads, momentum_buffers, masters, *args):
    return _triton_group_reason(group, params[0], grads[0], _first(momentum_buffers),
                                _first(masters))


def _reference_sgd(group, params, grads, momentum_buffers, masters, lr, momentum, dampening,
                   weight_decay, nesterov, maximize, first_step):
    for i, (p, g) in enumerate(zip(params, grads)):
        target = masters[i] if masters is not None else p
        x = target.float()
        g = -g.float() if maximize else g.float()
        if weight_decay != 0:
            g = g + weight_decay * x
        if momentum != 0:
            buf = momentum_buffers[i]
            b = g if first_step else momentum * buf.float() + (1.0 - dampening) * g
            buf.copy_(b)
            g = g + momentum * b if nesterov else b
        x = x - lr * g
        target.copy_(x)
        if masters is not None:
            p.copy_(x)


def _reference_sgd_supports(group, params, grads, momentum_buffers, masters, *args):
    return reference_reason(params[0], grads[0], _first(momentum_buffers), _first(masters))


_registry.register(SGD_KERNEL, "triton", _triton_sgd, None, _triton_sgd_supports)
_registry.register(SGD_KERNEL, "reference", _reference_sgd, None, _reference_sgd_supports)


@foreign_arrays
def sgd_step(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay, nesterov,
             maximize=False, master_params=None, first_step=False):
    """One SGD step (torch.optim.SGD's math) on lists of tensors, in place.

    With momentum, `first_step=True` initializes every buffer to the gradient (torch's first step;
    the buffers must be allocated); otherwise the buffers are updated. `master_params` as in
    adamw_step (momentum buffers then float32 too).
    """
    op = "sgd_step"
    lr, momentum, dampening, weight_decay = (
        _scalar(op, name, value) for name, value in
        (("lr", lr), ("momentum", momentum), ("dampening", dampening),
         ("weight_decay", weight_decay)))
    if lr < 0 or momentum < 0 or weight_decay < 0:
        raise ValueError(f"{op}: invalid lr {lr}, momentum {momentum} or weight_decay "
                         f"{weight_decay}; each must be >= 0")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{op}: Nesterov momentum requires a momentum and zero dampening")
    if momentum != 0 and momentum_buffers is None:
        raise RuntimeError(f"{op}: momentum {momentum} needs momentum_buffers")
    buffers = momentum_buffers if momentum != 0 else None
    _same_length(op, params, grads=grads, momentum_buffers=buffers, master_params=master_params)
    states = {"momentum_buffer": buffers} if buffers is not None else {}
    groups = _plan(op, params, grads, states, master_params, None)
    for group in groups:
        args = (group, group.take(params), group.take(grads), group.take(buffers),
                group.take(master_params) if group.has_master else None, lr, momentum, dampening,
                weight_decay, bool(nesterov), bool(maximize), bool(first_step))
        _registry.select(SGD_KERNEL, *args).forward(*args)


# ---------------------------------------------------------------------------------------------
# drop-in torch.optim optimizers

if torch is not None:

    class _FusedOptimizer(torch.optim.Optimizer):
        """Shared by AdamW and SGD: optional float32 master weights for low-precision params."""

        _FLOAT32_STATE: tuple = ()

        def __setstate__(self, state):
            super().__setstate__(state)
            # groups loaded from another optimizer's state dict lack our options
            for group in self.param_groups:
                for key, value in self.defaults.items():
                    group.setdefault(key, value)

        def _master(self, group, p, state):
            if not group["master_weights"] or p.dtype == torch.float32:
                return None
            if "master_param" not in state:
                state["master_param"] = p.detach().float()
            return state["master_param"]

        def load_state_dict(self, state_dict):
            super().load_state_dict(state_dict)
            # torch casts floating state to the param dtype; master copies and their states stay
            # float32.
            chain = itertools.chain.from_iterable
            saved_ids = chain(g["params"] for g in state_dict["param_groups"])
            params = chain(g["params"] for g in self.param_groups)
            for saved_id, p in zip(saved_ids, params):
                saved = state_dict["state"].get(saved_id, {})
                if "master_param" in saved:
                    for key in ("master_param", *self._FLOAT32_STATE):
                        if key in saved:
                            self.state[p][key] = saved[key].to(device=p.device, dtype=torch.float32,
                                                               copy=True)

        def _grads(self, group):
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                yield p, p.grad

    class AdamW(_FusedOptimizer):
        """torch.optim.AdamW with the fused multi-tensor step.

        `master_weights=True` keeps a float32 copy (and float32 states) for bf16/fp16 params.
        """

        _FLOAT32_STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                     amsgrad=False, *, maximize=False, master_weights=False):
            _check_adam_hyper("AdamW", float(lr), betas[0], betas[1], eps, weight_decay)
            defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                        "amsgrad": amsgrad, "maximize": maximize, "master_weights": master_weights}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                amsgrad = group["amsgrad"]
                params, grads, avgs, avg_sqs, steps, masters = [], [], [], [], [], []
                max_avg_sqs = [] if amsgrad else None
                for p, grad in self._grads(group):
                    state = self.state[p]
                    master = self._master(group, p, state)
                    if "step" not in state:
                        state_dtype = torch.float32 if master is not None else p.dtype
                        state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                        state["exp_avg"] = torch.zeros_like(p, dtype=state_dtype)
                        state["exp_avg_sq"] = torch.zeros_like(p, dtype=state_dtype)
                        if amsgrad:
                            state["max_exp_avg_sq"] = torch.zeros_like(p, dtype=state_dtype)
                    elif state["step"].device != p.device or state["step"].dtype != torch.float32:
                        # a state dict from torch's AdamW keeps step on the CPU
                        state["step"] = state["step"].to(device=p.device, dtype=torch.float32)
                    params.append(p)
                    grads.append(grad)
                    avgs.append(state["exp_avg"])
                    avg_sqs.append(state["exp_avg_sq"])
                    steps.append(state["step"])
                    masters.append(master)
                    if amsgrad:
                        max_avg_sqs.append(state["max_exp_avg_sq"])
                if not params:
                    continue
                torch._foreach_add_(steps, 1.0)
                beta1, beta2 = group["betas"]
                adamw_step(params, grads, avgs, avg_sqs, steps, group["lr"], beta1, beta2,
                           group["eps"], group["weight_decay"], maximize=group["maximize"],
                           master_params=masters if any(m is not None for m in masters) else None,
                           amsgrad=amsgrad, max_exp_avg_sqs=max_avg_sqs)
            return loss

    class SGD(_FusedOptimizer):
        """torch.optim.SGD with the fused multi-tensor step.

        `master_weights=True` keeps a float32 copy (and float32 momentum) for bf16/fp16 params.
        """

        _FLOAT32_STATE = ("momentum_buffer",)

        def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                     nesterov=False, *, maximize=False, master_weights=False):
            if lr < 0 or momentum < 0 or weight_decay < 0:
                raise ValueError(f"SGD: invalid lr {lr}, momentum {momentum} or weight_decay "
                                 f"{weight_decay}")
            if nesterov and (momentum <= 0 or dampening != 0):
                raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
            defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                        "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                        "master_weights": master_weights}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                # Params whose buffer starts now take a separate launch with first_step=True.
                lists = {False: ([], [], [], []), True: ([], [], [], [])}
                for p, grad in self._grads(group):
                    state = self.state[p]
                    master = self._master(group, p, state)
                    first = False
                    buf = None
                    if group["momentum"] != 0:
                        buf = state.get("momentum_buffer")
                        first = buf is None
                        if first:
                            buf = torch.empty_like(p, dtype=torch.float32 if master is not None
                                                   else p.dtype)
                            state["momentum_buffer"] = buf
                    for items, t in zip(lists[first], (p, grad, buf, master)):
                        items.append(t)
                for first, (params, grads, bufs, masters) in lists.items():
                    if not params:
                        continue
                    sgd_step(params, grads, bufs if group["momentum"] != 0 else None, group["lr"],
                             group["momentum"], group["dampening"], group["weight_decay"],
                             group["nesterov"], maximize=group["maximize"],
                             master_params=masters if any(m is not None for m in masters) else None,
                             first_step=first)
            return loss
