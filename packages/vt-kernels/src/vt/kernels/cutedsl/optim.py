"""Fused multi-tensor AdamW and SGD steps in CuTeDSL: the "cutedsl" backend of the adamw and sgd
kernels (same impl signatures and math as vt.kernels.optim, whose docstring states them).

One launch per (device, dtypes) group. The host writes one int64 table per group (cached with
the group, which optim.py caches on the data pointers): a row per tensor
(param, grad, state 1, state 2, master, step, numel, first chunk; absent pointers 0), then one
entry per chunk naming its tensor. CTA b reads its chunk's entry, its tensor's row, turns the
loaded addresses into typed global pointers (cute.make_ptr on the loaded Int64) and updates
CHUNK elements with 128-bit accesses (narrower where a base address is not 16-byte aligned); a
tensor's last, partial chunk goes element by element.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_ptr

from .. import _registry
from .._checks import dtype_name
from ..optim import ADAMW_KERNEL, SGD_KERNEL, _device_int64
from . import _common as C

_FIELDS = 8
_PARAM, _GRAD, _STATE1, _STATE2, _MASTER, _STEP, _NUMEL, _FIRST_CHUNK = range(_FIELDS)
_THREADS = 256
_CHUNK = 8192  # elements per CTA: 8 (float32) or 4 (16-bit) vectors per thread
_UNROLL = 2  # vectors of each array loaded together before their results are stored
_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
_MAX_CHUNKS = 2 ** 31 - 1


@dataclass(frozen=True)
class Arrays:
    """The dtypes of a group and the vector width its addresses allow (compile-time)."""
    param: str
    grad: str
    state: str | None  # None: no state arrays (SGD without momentum)
    master: bool
    vec: int


# ---------------------------------------------------------------------------------------------
# in-kernel helpers


def _typed_pointer(address, dtype_key: str, vec: int):
    """A global pointer of `dtype_key` at an Int64 address read from the table."""
    dtype = C.CUTE_DTYPES[dtype_key]
    return cute.make_ptr(dtype, address, cute.AddressSpace.gmem,
                         assumed_align=vec * dtype.width // 8)


def _chunk_pointer(row: cute.Tensor, field: int, dtype_key: str, start, vec: int):
    """The typed pointer to element `start` of the array in `field` (a chunk start: aligned to
    a vector like the base)."""
    return _typed_pointer(row[field] + start * (C.CUTE_DTYPES[dtype_key].width // 8), dtype_key,
                          vec)


def _vectors(ptr, vec: int):
    """A full chunk as (vec, unroll, threads, groups): thread t's vectors of group k are
    [None, None, t, k]; consecutive threads touch consecutive 16 B and the unrolled vectors of a
    thread are a block of threads * vec elements apart."""
    block = vec * _THREADS
    layout = cute.make_layout((vec, _UNROLL, _THREADS, _CHUNK // (block * _UNROLL)),
                              stride=(1, block, vec, block * _UNROLL))
    return cute.make_tensor(ptr, layout)


class _Step:
    """The kernel skeleton shared by AdamW and SGD: locate the chunk, point at its arrays and
    run `update` (the subclass's math on float32 values) over it: full chunks with vectors, a
    tensor's last chunk element by element (coalesced: thread t takes elements t, t + threads...).
    """

    arrays: Arrays
    loads: tuple  # roles read: "g", "w" (the master or the param), "s1", "s2"
    stores: tuple  # roles written: "w", "p" (the param, with a master), "s1", "s2"

    def _pointers(self, mTable: cute.Tensor, num_tensors, bidx):
        """(this chunk's table row, its pointer per role, elements of the tensor from here)."""
        a, vec = self.arrays, self.arrays.vec
        mChunk = cute.make_tensor(mTable.iterator + num_tensors * _FIELDS,
                                  cute.make_layout((cute.arch.grid_dim()[0],)))
        row = mTable[mChunk[bidx], None]
        start = (Int64(bidx) - row[_FIRST_CHUNK]) * _CHUNK
        ptrs = {"p": _chunk_pointer(row, _PARAM, a.param, start, vec),
                "g": _chunk_pointer(row, _GRAD, a.grad, start, vec)}
        if const_expr(a.master):
            ptrs["w"] = _chunk_pointer(row, _MASTER, "float32", start, vec)
        else:
            ptrs["w"] = ptrs["p"]
        if const_expr("s1" in self.loads or "s1" in self.stores):
            ptrs["s1"] = _chunk_pointer(row, _STATE1, a.state, start, vec)
        if const_expr("s2" in self.loads):
            ptrs["s2"] = _chunk_pointer(row, _STATE2, a.state, start, vec)
        return row, ptrs, row[_NUMEL] - start

    @cute.jit
    def _run(self, ptrs: dict, left: Int64, tidx, scalars):
        """Updates the chunk; `left` counts the tensor's elements from the chunk's start."""
        vec = self.arrays.vec
        if left >= _CHUNK:
            views = {r: _vectors(p, vec) for r, p in ptrs.items()}
            for k in cutlass.range_constexpr(_CHUNK // (vec * _THREADS * _UNROLL)):
                self._apply({r: v[None, None, tidx, k] for r, v in views.items()}, scalars)
        else:
            for i in cutlass.range(_CHUNK // _THREADS, unroll=4):
                e = i * _THREADS + tidx
                if e < left:
                    self._apply({r: cute.make_tensor(p + e, cute.make_layout((1,)))
                                 for r, p in ptrs.items()}, scalars)

    def _apply(self, own: dict, scalars):
        """Loads the roles `update` reads, runs it, stores what it returns."""
        loaded = {}
        for role in self.loads:
            frag = cute.make_rmem_tensor_like(own[role])
            cute.autovec_copy(own[role], frag)
            loaded[role] = frag.load().to(Float32)
        for role, value in self.update(loaded, scalars).items():
            frag = cute.make_rmem_tensor_like(own[role])
            frag.store(value.to(own[role].element_type))
            cute.autovec_copy(frag, own[role])


class _AdamW(_Step):
    def __init__(self, arrays: Arrays, step_mode: int, maximize: bool):
        self.arrays = arrays
        self.step_mode = step_mode  # 0: bias corrections from the host; 1: one step tensor;
        self.maximize = maximize  # 2: one step tensor per param (its table field)
        self.loads = ("g", "w", "s1", "s2")
        self.stores = ("s1", "s2", "w", "p") if arrays.master else ("s1", "s2", "w")

    @cute.jit
    def __call__(self, ptable: cute.Pointer, pstep: cute.Pointer, num_tensors: Int32,
                 num_chunks: Int32, lr: Float32, decay: Float32, beta1: Float32,
                 one_minus_beta1: Float32, beta2: Float32, one_minus_beta2: Float32,
                 log2_beta1: Float32, log2_beta2: Float32, eps: Float32, step_size: Float32,
                 bc2_sqrt: Float32, stream: cuda_driver.CUstream):
        mTable = cute.make_tensor(ptable, cute.make_layout((num_tensors, _FIELDS),
                                                           stride=(_FIELDS, 1)))
        mStep = cute.make_tensor(pstep, cute.make_layout((1,))) if const_expr(
            self.step_mode == 1) else None
        self.kernel(mTable, mStep, num_tensors, lr, decay, beta1, one_minus_beta1, beta2,
                    one_minus_beta2, log2_beta1, log2_beta2, eps, step_size, bc2_sqrt).launch(
            grid=[num_chunks, 1, 1], block=[_THREADS, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mTable: cute.Tensor, mStep, num_tensors: Int32, lr: Float32, decay: Float32,
               beta1: Float32, one_minus_beta1: Float32, beta2: Float32, one_minus_beta2: Float32,
               log2_beta1: Float32, log2_beta2: Float32, eps: Float32, step_size: Float32,
               bc2_sqrt: Float32):
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        row, ptrs, left = self._pointers(mTable, num_tensors, bidx)
        if const_expr(self.step_mode != 0):
            if const_expr(self.step_mode == 1):
                step = mStep[0]
            else:
                step = cute.make_tensor(_typed_pointer(row[_STEP], "float32", 1),
                                        cute.make_layout((1,)))[0]
            step_size = lr / (1.0 - cute.math.exp2(step * log2_beta1))
            bc2_sqrt = cute.math.sqrt(1.0 - cute.math.exp2(step * log2_beta2))
        self._run(ptrs, left, tidx, (decay, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
                                      step_size, bc2_sqrt))

    def update(self, x: dict, scalars) -> dict:
        decay, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, bc2_sqrt = scalars
        g = 0.0 - x["g"] if const_expr(self.maximize) else x["g"]
        m = beta1 * x["s1"] + one_minus_beta1 * g
        v = beta2 * x["s2"] + one_minus_beta2 * (g * g)
        w = x["w"] * decay - step_size * (m / (cute.math.sqrt(v) / bc2_sqrt + eps))
        out = {"s1": m, "s2": v, "w": w}
        if const_expr(self.arrays.master):
            out["p"] = w
        return out


class _SGD(_Step):
    def __init__(self, arrays: Arrays, has_weight_decay: bool, has_momentum: bool,
                 first_step: bool, nesterov: bool, maximize: bool):
        self.arrays = arrays
        self.has_weight_decay = has_weight_decay
        self.has_momentum = has_momentum
        self.first_step = first_step
        self.nesterov = nesterov
        self.maximize = maximize
        self.loads = ("g", "w", "s1") if has_momentum and not first_step else ("g", "w")
        stores = ("s1", "w") if has_momentum else ("w",)
        self.stores = stores + ("p",) if arrays.master else stores

    @cute.jit
    def __call__(self, ptable: cute.Pointer, num_tensors: Int32, num_chunks: Int32, lr: Float32,
                 momentum: Float32, one_minus_dampening: Float32, weight_decay: Float32,
                 stream: cuda_driver.CUstream):
        mTable = cute.make_tensor(ptable, cute.make_layout((num_tensors, _FIELDS),
                                                           stride=(_FIELDS, 1)))
        self.kernel(mTable, num_tensors, lr, momentum, one_minus_dampening, weight_decay).launch(
            grid=[num_chunks, 1, 1], block=[_THREADS, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mTable: cute.Tensor, num_tensors: Int32, lr: Float32, momentum: Float32,
               one_minus_dampening: Float32, weight_decay: Float32):
        tidx, _, _ = cute.arch.thread_idx()
        bidx, _, _ = cute.arch.block_idx()
        _, ptrs, left = self._pointers(mTable, num_tensors, bidx)
        self._run(ptrs, left, tidx, (lr, momentum, one_minus_dampening, weight_decay))

    def update(self, x: dict, scalars) -> dict:
        lr, momentum, one_minus_dampening, weight_decay = scalars
        g = 0.0 - x["g"] if const_expr(self.maximize) else x["g"]
        w = x["w"]
        if const_expr(self.has_weight_decay):
            g = g + weight_decay * w
        out = {}
        if const_expr(self.has_momentum):
            buf = g if const_expr(self.first_step) else (
                momentum * x["s1"] + one_minus_dampening * g)
            out["s1"] = buf
            g = g + momentum * buf if const_expr(self.nesterov) else buf
        out["w"] = w - lr * g
        if const_expr(self.arrays.master):
            out["p"] = out["w"]
        return out


# ---------------------------------------------------------------------------------------------
# compile cache


def _table_arg():
    return make_ptr(Int64, 0, cute.AddressSpace.gmem, assumed_align=8)


def _compiled_adamw(arrays: Arrays, step_mode: int, maximize: bool, arch=None):
    def build():
        args = (_table_arg(), C.pointer_arg("float32") if step_mode == 1 else None, Int32(1),
                Int32(1), *(Float32(0.5) for _ in range(11)), C.stream_arg())
        return _AdamW(arrays, step_mode, maximize), args, C.arch_options(arch)
    return C.compile_once((ADAMW_KERNEL, arrays, step_mode, maximize, arch), build)


def _compiled_sgd(arrays: Arrays, has_weight_decay: bool, has_momentum: bool, first_step: bool,
                  nesterov: bool, maximize: bool, arch=None):
    def build():
        args = (_table_arg(), Int32(1), Int32(1), *(Float32(0.5) for _ in range(4)),
                C.stream_arg())
        program = _SGD(arrays, has_weight_decay, has_momentum, first_step, nesterov, maximize)
        return program, args, C.arch_options(arch)
    return C.compile_once((SGD_KERNEL, arrays, has_weight_decay, has_momentum, first_step,
                           nesterov, maximize, arch), build)


def compile_all(param: str, master: bool, arch: str | None = None) -> int:
    """Compiles every AdamW and SGD variant for `param` params (float32 states and master when
    `master`, else states of the param dtype, grads of the param dtype) at the widest vector;
    returns the count."""
    state = "float32" if master else param
    arrays = Arrays(param, param, state, master, _widest(param, param, state, master))
    count = 0
    for step_mode in (0, 1, 2):
        for maximize in (False, True):
            _compiled_adamw(arrays, step_mode, maximize, arch)
            count += 1
    no_state = Arrays(param, param, None, master, _widest(param, param, None, master))
    for has_momentum, first_step, nesterov in ((False, False, False), (True, True, False),
                                               (True, False, False), (True, False, True)):
        for has_weight_decay, maximize in ((False, False), (True, True)):
            _compiled_sgd(arrays if has_momentum else no_state, has_weight_decay, has_momentum,
                          first_step, nesterov, maximize, arch)
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# the per-group table and the launchers


def _widest(param, grad, state, master) -> int:
    keys = [param, grad] + ([state] if state else []) + (["float32"] if master else [])
    return 16 // max(_BYTES[k] for k in keys)


def _vector_width(widest: int, tensors_by_field: dict) -> int:
    """The widest access (at most `widest` elements) every base address allows."""
    vec = widest
    while vec > 1 and any(t.data_ptr() % (vec * t.element_size()) for tensors in
                          tensors_by_field.values() for t in tensors):
        vec //= 2
    return vec


class _Table:
    def __init__(self, group, tensors_by_field: dict, like):
        state = group.state_dtype if _STATE1 in tensors_by_field else None
        arrays = [f for f in tensors_by_field if f != _STEP]
        vec = _vector_width(_widest(group.param_dtype, group.grad_dtype, state,
                                    group.has_master),
                            {f: tensors_by_field[f] for f in arrays})
        self.arrays = Arrays(group.param_dtype, group.grad_dtype, state, group.has_master, vec)
        rows, chunks = [], []
        for k, numel in enumerate(group.numels):
            row = [0] * _FIELDS
            for field, tensors in tensors_by_field.items():
                row[field] = tensors[k].data_ptr()
            row[_NUMEL] = numel
            row[_FIRST_CHUNK] = len(chunks)
            rows.extend(row)
            chunks.extend([k] * -(-numel // _CHUNK))
        self.num_tensors = len(group.numels)
        self.num_chunks = len(chunks)
        self.values = _device_int64(rows + chunks, like)


# One table per (group, fields): optim.py's plan cache holds the groups, keyed on every data
# pointer of the call; a group dropped from it drops its tables.
_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _table(group, tensors_by_field: dict, like) -> _Table:
    per_group = _tables.setdefault(group, {})
    key = tuple(tensors_by_field)
    table = per_group.get(key)
    if table is None:
        table = per_group[key] = _Table(group, tensors_by_field, like)
    return table


def _adamw(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, lr, beta1, beta2, eps,
           weight_decay, maximize):
    step_mode = 2 if isinstance(step, (list, tuple)) else 0 if isinstance(step, (int, float)) else 1
    fields = {_PARAM: params, _GRAD: grads, _STATE1: exp_avgs, _STATE2: exp_avg_sqs}
    if masters is not None:
        fields[_MASTER] = masters
    if step_mode == 2:
        fields[_STEP] = step
    table = _table(group, fields, params[0])
    step_size = bc2_sqrt = 1.0
    if step_mode == 0:
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    fn = _compiled_adamw(table.arrays, step_mode, maximize)
    fn(C.device_index(params[0]), table.values.data_ptr(),
       step.data_ptr() if step_mode == 1 else None, table.num_tensors, table.num_chunks, lr,
       1.0 - lr * weight_decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2,
       math.log2(beta1) if beta1 > 0 else -math.inf, math.log2(beta2) if beta2 > 0 else -math.inf,
       eps, step_size, bc2_sqrt,
       C.stream_handle(params[0]))


def _sgd(group, params, grads, momentum_buffers, masters, lr, momentum, dampening, weight_decay,
         nesterov, maximize, first_step):
    fields = {_PARAM: params, _GRAD: grads}
    if momentum != 0:
        fields[_STATE1] = momentum_buffers
    if masters is not None:
        fields[_MASTER] = masters
    table = _table(group, fields, params[0])
    fn = _compiled_sgd(table.arrays, weight_decay != 0, momentum != 0, first_step, nesterov,
                       maximize)
    fn(C.device_index(params[0]), table.values.data_ptr(), table.num_tensors, table.num_chunks, lr,
       momentum, 1.0 - dampening, weight_decay, C.stream_handle(params[0]))


def _group_reason(group, *tensors) -> str | None:
    if not group.contiguous:
        return "non-contiguous tensors in the group"
    reason = C.tensors_reason(*tensors)
    if reason is None and sum(-(-n // _CHUNK) for n in group.numels) > _MAX_CHUNKS:
        reason = f"more than {_MAX_CHUNKS} chunks of {_CHUNK} elements"
    return reason


def _first(items):
    return items[0] if items else None


def _adamw_supports(group, params, grads, exp_avgs, exp_avg_sqs, masters, step, lr, beta1, beta2,
                    eps, weight_decay, maximize, max_exp_avg_sqs=None):
    if max_exp_avg_sqs is not None:
        return "amsgrad is not implemented in the CuTeDSL AdamW kernel"
    step_tensor = _first(step) if isinstance(step, (list, tuple)) else (
        None if isinstance(step, (int, float)) else step)
    reason = _group_reason(group, params[0], grads[0], exp_avgs[0], exp_avg_sqs[0],
                           _first(masters), step_tensor)
    if reason is None and step_tensor is not None and dtype_name(step_tensor) != "float32":
        reason = f"step tensors must be float32, not {dtype_name(step_tensor)}"
    return reason


def _sgd_supports(group, params, grads, momentum_buffers, masters, *args):
    return _group_reason(group, params[0], grads[0], _first(momentum_buffers), _first(masters))


_registry.register(ADAMW_KERNEL, "cutedsl", _adamw, None, _adamw_supports)
_registry.register(SGD_KERNEL, "cutedsl", _sgd, None, _sgd_supports)
