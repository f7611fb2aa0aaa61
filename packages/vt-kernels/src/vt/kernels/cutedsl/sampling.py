"""Token sampling in CuTeDSL: the "cutedsl" backend of the sample kernel.

Same impl signature and semantics as the Triton family (vt.kernels.sampling): forward(logits2d,
temperature, top_k, top_p, uniform, seed) -> int64 tokens; top-k keeps every token at or above
the k-th largest value (ties stay), top-p keeps the smallest set of the most likely tokens whose
mass reaches top_p of the kept mass, the draw inverts the CDF of the kept tokens in vocabulary
order with the row's uniform number, temperature == 0 is greedy argmax (first maximum). The
Philox seed path (uniform None) is not implemented here: `_supports` declines it (Triton runs).

One CTA per row walks the row from global memory several times (it stays in L1/L2 between
passes). The thresholds come from a radix select over the order-preserving int32 keys of the
values: 8 passes of 4 bits each, and in each pass every thread adds a count (top-k) or a
probability mass (top-p) to one of 16 bins of its own in shared memory. That costs one
shared-memory add per element and pass, where comparing against 16 candidate thresholds (the
Triton kernel's search) costs 16; the bins are then summed over the CTA once per pass.
Top-k searches the keys of x (x / T is monotone in x, so the k-th largest of x / T is the k-th
largest x divided by T); top-p searches the keys of z = x / T, binning exp(z - max).
The draw gives each thread a contiguous segment of the row: one pass sums each segment's kept
mass, a block scan finds the segment where the running mass passes u * total, and that segment's
thread walks it again to the token.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

import cuda.bindings.driver as cuda_driver
import cutlass
from cutlass import Float32, Int32, Int64, const_expr, cute
from cutlass.cute.runtime import make_ptr
from cutlass.memory import SmemAllocator

from .. import _registry
from .._arrays import empty
from . import _common as C

KERNEL = "sample"
_BINS = 16  # one radix digit: 4 bits
_DIGIT_BITS = 4
_PASSES = 8  # 8 digits of 4 bits: all 32 bits of a key
_MAX_THREADS = 512
_MIN_THREADS = 32
_ELEMENTS_PER_THREAD = 16  # per pass, before the CTA grows to _MAX_THREADS
# Counts are summed in float32: exact below 2**24 tokens.
MAX_VOCAB = 2 ** 24
_LOG2_E = math.log2(math.e)
_SIGN = -2147483648  # 0x80000000 as int32: flips keys into unsigned order
_LOW31 = 0x7FFFFFFF


# ---------------------------------------------------------------------------------------------
# in-kernel helpers


@cute.jit
def _ordered(x: Float32) -> Int32:
    """The key of x with unsigned order in int32 bits: keys of larger floats compare larger as
    unsigned (a negative float's low 31 bits count down, then the sign bit is flipped)."""
    bits = x.bitcast(Int32)
    key = cutlass.select_(bits < 0, bits ^ _LOW31, bits)
    return Int32(key ^ _SIGN)


@cute.jit
def _float_of(ordered: Int32) -> Float32:
    """The inverse of _ordered."""
    key = ordered ^ _SIGN
    bits = cutlass.select_(key < 0, key ^ _LOW31, key)
    return Int32(bits).bitcast(Float32)


@cute.jit
def _block_reduce(value, op: cutlass.Constexpr, red: cute.Tensor, warps: cutlass.Constexpr):
    """`op` over every thread's value, returned to every thread (slot 0 of `red`)."""
    value = cute.arch.warp_reduction(value, op)
    if const_expr(warps > 1):
        warp = cute.arch.warp_idx()  # a full-warp shuffle: never inside a lane branch
        cute.arch.barrier()  # an earlier reduction may still be reading the slots
        if cute.arch.lane_idx() == 0:
            red[warp, 0] = value
        cute.arch.barrier()
        value = red[0, 0]
        for w in cutlass.range_constexpr(1, warps):
            value = op(value, red[w, 0])
    return value


def _imin(a, b):
    return cutlass.select_(a < b, a, b)


def _imax(a, b):
    return cutlass.select_(a > b, a, b)


@cute.jit
def _bin_totals(bins: cute.Tensor, red: cute.Tensor, totals: cute.Tensor, tidx,
                warps: cutlass.Constexpr):
    """The CTA's sum of each of the 16 bins (every thread's own bins), in shared memory `totals`.
    Callers read `totals` before their next call: its two barriers order the reuse."""
    warp = cute.arch.warp_idx()  # a full-warp shuffle: never inside a lane branch
    for d in cutlass.range_constexpr(_BINS):
        v = cute.arch.warp_reduction(bins[d, tidx], operator.add)
        if cute.arch.lane_idx() == 0:
            red[warp, d] = v
    cute.arch.barrier()
    if tidx < _BINS:
        s = Float32(0.0)
        for w in cutlass.range_constexpr(warps):
            s += red[w, tidx]
        totals[tidx] = s
    cute.arch.barrier()


@cute.jit
def _pick_digit(totals: cute.Tensor, above: Float32, goal: Float32):
    """The largest digit d whose bins d..15 plus `above` (what lies above the prefix) reach
    `goal`, and the new `above` (plus bins d+1..15). The suffix sums only grow as d falls, so
    d = the number of digits 1..15 whose suffix reaches the goal."""
    digit = Int32(0)
    new_above = above
    suffix = above
    for j in cutlass.range_constexpr(_BINS - 1):
        d = _BINS - 1 - j
        suffix = suffix + totals[d]
        reached = suffix >= goal
        digit = digit + cutlass.select_(reached, Int32(1), Int32(0))
        new_above = cutlass.select_(reached, new_above, suffix)
    return digit, new_above


# ---------------------------------------------------------------------------------------------
# plan: threads of a row's CTA, elements per load, loads in flight


@dataclass(frozen=True)
class Plan:
    threads: int  # one CTA per row
    vec: int  # elements per load (128 bits when the row allows it)
    unroll: int  # loads each thread issues before using them (a round)


@functools.lru_cache(maxsize=1024)
def _plan(n: int, vec: int, itemsize: int) -> Plan:
    """About 16 elements a thread and pass, a power of two in [32, 512] threads; rounds of 32
    (2-byte) or 16 (4-byte) elements a thread, all loads of a round in flight at once."""
    want = -(-n // _ELEMENTS_PER_THREAD)
    threads = max(_MIN_THREADS, min(_MAX_THREADS, 1 << max(0, (want - 1).bit_length())))
    return Plan(threads, vec, max(1, (64 // itemsize) // vec))


# ---------------------------------------------------------------------------------------------
# in-kernel element walks


@cute.jit
def _vectors(mV: cute.Tensor, row, first, stride, count: cutlass.Constexpr,
             vec: cutlass.Constexpr) -> cute.Tensor:
    """Vectors first, first + stride, ... (count of them) of the row as a float32 (vec, count)
    fragment; every load is issued before any value is used."""
    raw = cute.make_rmem_tensor(cute.make_layout((vec, count)), mV.element_type)
    for u in cutlass.range_constexpr(count):
        cute.autovec_copy(mV[row, first + u * stride, None], raw[None, u])
    out = cute.make_rmem_tensor(cute.make_layout((vec, count)), Float32)
    out.store(raw.load().to(Float32))
    return out


@cute.jit
def _scaled(x: Float32, scale: Float32, divide: cutlass.Constexpr) -> Float32:
    """z = x / T: a division by scale = T, or (T a power of two) a product with scale = 1 / T,
    which rounds the same and costs one instruction instead of a division sequence."""
    if const_expr(divide):
        return x / scale
    return x * scale


@cute.jit
def _bin(bins: cute.Tensor, tidx, x: Float32, prefix: Int32, mask: Int32, shift: Int32,
         scale: Float32, keep_from: Float32, z_max: Float32, mass: cutlass.Constexpr,
         divide: cutlass.Constexpr):
    """Adds x's count (top-k, keys of x) or probability mass (top-p, keys of z = x / T, kept
    tokens only) to this thread's bin of x's digit, if x's higher digits match the prefix."""
    if const_expr(mass):
        z = _scaled(x, scale, divide)
        u = _ordered(z)
        if (z >= keep_from) & ((u & mask) == prefix):
            d = (u >> shift) & (_BINS - 1)
            bins[d, tidx] = bins[d, tidx] + cute.math.exp2((z - z_max) * _LOG2_E, fastmath=True)
    else:
        u = _ordered(x)
        if (u & mask) == prefix:
            d = (u >> shift) & (_BINS - 1)
            bins[d, tidx] = bins[d, tidx] + Float32(1.0)


@cute.jit
def _drawn(x: Float32, col, scale: Float32, keep_from: Float32, z_max: Float32,
           mass: Float32, last_kept, token, exclusive: Float32, target: Float32,
           walk: cutlass.Constexpr, divide: cutlass.Constexpr):
    """One token of the draw: the running kept mass, the last kept column and (walk) the first
    kept column where exclusive + running mass passes the target."""
    z = _scaled(x, scale, divide)
    kept = z >= keep_from
    mass = mass + cutlass.select_(kept, cute.math.exp2((z - z_max) * _LOG2_E, fastmath=True),
                                  Float32(0.0))
    last_kept = cutlass.select_(kept, col, last_kept)
    if const_expr(walk):
        token = cutlass.select_(kept & (token < 0) & (exclusive + mass > target), col, token)
    return mass, last_kept, token


# ---------------------------------------------------------------------------------------------
# the kernel


class _Sample:
    def __init__(self, plan: Plan, greedy: bool, has_top_k: bool, has_top_p: bool,
                 divide: bool):
        self.plan = plan
        self.divide = divide  # z = x / scale, else z = x * scale (1 / T, exact for T = 2**i)
        self.greedy = greedy
        self.has_top_k = has_top_k
        self.has_top_p = has_top_p

    @cute.jit
    def __call__(self, px: cute.Pointer, pu: cute.Pointer, pout: cute.Pointer, m: Int32,
                 n: Int32, ldx: Int64, scale: Float32, top_k: Int32, top_p: Float32,
                 stream: cuda_driver.CUstream):
        vec = self.plan.vec
        # The row as (vectors, vec): one load per vector.
        mV = cute.make_tensor(px, cute.make_layout(
            (m, n // vec, vec), stride=(cute.assume(ldx, divby=vec), vec, 1)))
        mU = None
        if const_expr(not self.greedy):
            mU = cute.make_tensor(pu, cute.make_layout((m,)))
        mOut = cute.make_tensor(pout, cute.make_layout((m,)))
        self.kernel(mV, mU, mOut, scale, top_k, top_p).launch(
            grid=[m, 1, 1], block=[self.plan.threads, 1, 1], stream=stream)

    @cute.kernel
    def kernel(self, mV: cute.Tensor, mU, mOut: cute.Tensor, scale: Float32, top_k: Int32,
               top_p: Float32):
        warps = self.plan.threads // C.WARP
        tidx, _, _ = cute.arch.thread_idx()
        row, _, _ = cute.arch.block_idx()
        n = mV.shape[1] * self.plan.vec
        smem = SmemAllocator()
        red = smem.allocate_tensor(Float32, cute.make_layout((warps, _BINS), stride=(_BINS, 1)),
                                   byte_alignment=16)
        red_f = smem.allocate_tensor(Float32, cute.make_layout((warps, 1)), byte_alignment=16)
        red_i = smem.allocate_tensor(Int32, cute.make_layout((warps, 1)), byte_alignment=16)

        if const_expr(self.greedy):
            # The first index of the maximum: strict > along a thread's increasing columns,
            # then the smallest column among the threads that hold the row's maximum.
            best, token = self._greedy(mV, row, tidx, n)
            row_best = _block_reduce(best, C.fmax, red_f, warps)
            token = cutlass.select_(best == row_best, token, n)
            token = _block_reduce(token, _imin, red_i, warps)
            if tidx == 0:
                mOut[row] = Int64(cutlass.select_(token == n, Int32(0), token))  # all -inf: 0
        else:
            bins = smem.allocate_tensor(
                Float32, cute.make_layout((_BINS, self.plan.threads),
                                          stride=(self.plan.threads, 1)), byte_alignment=16)
            totals = smem.allocate_tensor(Float32, cute.make_layout((_BINS,)), byte_alignment=16)
            # max(x / T) == max(x) / T: division by T > 0 is monotone.
            z_max = _scaled(_block_reduce(self._max(mV, row, tidx), C.fmax, red_f, warps),
                            scale, self.divide)

            keep_from = -Float32.inf  # tokens with z >= keep_from are kept
            if const_expr(self.has_top_k):
                # The k-th largest x: a radix select over its keys, counting in the bins.
                k = Float32(top_k)
                prefix = Int32(0)
                above = Float32(0.0)
                for p in cutlass.range(_PASSES, unroll=1):
                    shift = (_PASSES - 1 - p) * _DIGIT_BITS
                    mask = ~((Int32(_BINS) << shift) - 1)  # the digits chosen so far (0 at first)
                    self._bins(mV, row, tidx, bins, prefix, mask, shift, scale, keep_from,
                               z_max, False)
                    _bin_totals(bins, red, totals, tidx, warps)
                    digit, above = _pick_digit(totals, above, k)
                    prefix = prefix | (digit << shift)
                keep_from = _scaled(_float_of(prefix), scale, self.divide)

            if const_expr(self.has_top_p):
                # The largest z whose kept tokens at or above it hold top_p of the kept mass.
                prefix = Int32(0)
                above = Float32(0.0)
                goal = Float32(0.0)
                for p in cutlass.range(_PASSES, unroll=1):
                    shift = (_PASSES - 1 - p) * _DIGIT_BITS
                    mask = ~((Int32(_BINS) << shift) - 1)
                    self._bins(mV, row, tidx, bins, prefix, mask, shift, scale, keep_from,
                               z_max, True)
                    _bin_totals(bins, red, totals, tidx, warps)
                    if p == 0:
                        # The first pass bins every kept token: the kept mass, summed in the
                        # order _pick_digit sums it (its full suffix then reaches the goal).
                        kept_mass = Float32(0.0)
                        for j in cutlass.range_constexpr(_BINS):
                            kept_mass = kept_mass + totals[_BINS - 1 - j]
                        goal = top_p * kept_mass
                    digit, above = _pick_digit(totals, above, goal)
                    prefix = prefix | (digit << shift)
                keep_from = _float_of(prefix)

            self._draw(mV, mU, mOut, row, tidx, n, scale, z_max, keep_from, red, red_i)

    # Passes over the row in coalesced order: round r, load u of thread t reads vector
    # (r * unroll + u) * threads + t; the vectors past the last whole round come one by one.

    @cute.jit
    def _max(self, mV: cute.Tensor, row, tidx) -> Float32:
        plan = self.plan
        per_round = plan.threads * plan.unroll
        rounds = mV.shape[1] // per_round
        best = -Float32.inf
        for r in cutlass.range(rounds, unroll=1):
            f = _vectors(mV, row, r * per_round + tidx, plan.threads, plan.unroll, plan.vec)
            best = cute.arch.fmax(best, f.load().reduce(cute.ReductionOp.MAX,
                                                        init_val=-Float32.inf,
                                                        reduction_profile=0))
        for j in cutlass.range(rounds * per_round + tidx, mV.shape[1], plan.threads, unroll=1):
            f = _vectors(mV, row, j, plan.threads, 1, plan.vec)
            best = cute.arch.fmax(best, f.load().reduce(cute.ReductionOp.MAX,
                                                        init_val=-Float32.inf,
                                                        reduction_profile=0))
        return best

    @cute.jit
    def _greedy(self, mV: cute.Tensor, row, tidx, n):
        """This thread's maximum and its first column (n when it holds nothing above -inf)."""
        plan = self.plan
        per_round = plan.threads * plan.unroll
        rounds = mV.shape[1] // per_round
        best = -Float32.inf
        token = n
        for r in cutlass.range(rounds, unroll=1):
            first = r * per_round + tidx
            f = _vectors(mV, row, first, plan.threads, plan.unroll, plan.vec)
            for u in cutlass.range_constexpr(plan.unroll):
                for e in cutlass.range_constexpr(plan.vec):
                    better = f[e, u] > best
                    token = cutlass.select_(better, (first + u * plan.threads) * plan.vec + e,
                                            token)
                    best = cutlass.select_(better, f[e, u], best)
        for j in cutlass.range(rounds * per_round + tidx, mV.shape[1], plan.threads, unroll=1):
            f = _vectors(mV, row, j, plan.threads, 1, plan.vec)
            for e in cutlass.range_constexpr(plan.vec):
                better = f[e, 0] > best
                token = cutlass.select_(better, j * plan.vec + e, token)
                best = cutlass.select_(better, f[e, 0], best)
        return best, token

    @cute.jit
    def _bins(self, mV: cute.Tensor, row, tidx, bins: cute.Tensor, prefix: Int32, mask: Int32,
              shift: Int32, scale: Float32, keep_from: Float32, z_max: Float32,
              mass: cutlass.Constexpr):
        """One radix pass: this thread's 16 bins (zeroed first) over its share of the row."""
        plan = self.plan
        for d in cutlass.range_constexpr(_BINS):
            bins[d, tidx] = Float32(0.0)
        per_round = plan.threads * plan.unroll
        rounds = mV.shape[1] // per_round
        for r in cutlass.range(rounds, unroll=1):
            f = _vectors(mV, row, r * per_round + tidx, plan.threads, plan.unroll, plan.vec)
            for u in cutlass.range_constexpr(plan.unroll):
                for e in cutlass.range_constexpr(plan.vec):
                    _bin(bins, tidx, f[e, u], prefix, mask, shift, scale, keep_from, z_max,
                         mass, self.divide)
        for j in cutlass.range(rounds * per_round + tidx, mV.shape[1], plan.threads, unroll=1):
            f = _vectors(mV, row, j, plan.threads, 1, plan.vec)
            for e in cutlass.range_constexpr(plan.vec):
                _bin(bins, tidx, f[e, 0], prefix, mask, shift, scale, keep_from, z_max,
                     mass, self.divide)

    @cute.jit
    def _segment(self, mV: cute.Tensor, row, tidx, scale: Float32, keep_from: Float32,
                 z_max: Float32, exclusive: Float32, target: Float32, walk: cutlass.Constexpr):
        """Thread t's contiguous segment of the row (vectors t * s ... t * s + s - 1) in column
        order: its kept mass, last kept column and (walk) the drawn column (-1: none)."""
        plan = self.plan
        nv = mV.shape[1]
        segment = (nv + plan.threads - 1) // plan.threads
        begin = tidx * segment
        end = cutlass.select_(begin + segment < nv, begin + segment, nv)
        rounds = cutlass.select_(end > begin, (end - begin) // plan.unroll, 0)
        mass = Float32(0.0)
        last_kept = Int32(-1)
        token = Int32(-1)
        for r in cutlass.range(rounds, unroll=1):
            first = begin + r * plan.unroll
            f = _vectors(mV, row, first, 1, plan.unroll, plan.vec)
            for u in cutlass.range_constexpr(plan.unroll):
                for e in cutlass.range_constexpr(plan.vec):
                    mass, last_kept, token = _drawn(
                        f[e, u], (first + u) * plan.vec + e, scale, keep_from, z_max, mass,
                        last_kept, token, exclusive, target, walk, self.divide)
        for j in cutlass.range(begin + rounds * plan.unroll, end, 1, unroll=1):
            f = _vectors(mV, row, j, 1, 1, plan.vec)
            for e in cutlass.range_constexpr(plan.vec):
                mass, last_kept, token = _drawn(
                    f[e, 0], j * plan.vec + e, scale, keep_from, z_max, mass, last_kept,
                    token, exclusive, target, walk, self.divide)
        return mass, last_kept, token

    @cute.jit
    def _draw(self, mV: cute.Tensor, mU: cute.Tensor, mOut: cute.Tensor, row, tidx, n,
              scale: Float32, z_max: Float32, keep_from: Float32, red: cute.Tensor,
              red_i: cute.Tensor):
        """The first kept token whose running mass passes u * kept mass (vocabulary order);
        if rounding leaves none, the last kept token."""
        threads = self.plan.threads
        warps = threads // C.WARP
        zero = Float32(0.0)
        mass, last_kept, _ = self._segment(mV, row, tidx, scale, keep_from, z_max, zero,
                                           zero, False)
        # Inclusive scan of the segment masses in thread (= vocabulary) order.
        lane = cute.arch.lane_idx()
        warp = cute.arch.warp_idx()
        running = mass
        for j in cutlass.range_constexpr(5):
            other = cute.arch.shuffle_sync_up(running, offset=1 << j)
            running = cutlass.select_(lane >= (1 << j), running + other, running)
        before_lane = cute.arch.shuffle_sync_up(running, offset=1)
        before_lane = cutlass.select_(lane == 0, zero, before_lane)
        warp_before = Float32(0.0)
        total = running
        if const_expr(warps > 1):
            if lane == C.WARP - 1:
                red[warp, 0] = running
            cute.arch.barrier()
            total = Float32(0.0)
            for w in cutlass.range_constexpr(warps):
                warp_before += cutlass.select_(w < warp, red[w, 0], zero)
                total += red[w, 0]
        else:
            total = cute.arch.shuffle_sync(running, offset=C.WARP - 1)
        target = mU[row] * total
        first = cutlass.select_(warp_before + running > target, tidx, Int32(threads))
        first = _block_reduce(first, _imin, red_i, warps)
        row_last = _block_reduce(last_kept, _imax, red_i, warps)
        if tidx == first:
            # Walks its segment again, the running mass summed in the same order as above.
            _, last_kept, token = self._segment(mV, row, tidx, scale, keep_from, z_max,
                                                warp_before + before_lane, target, True)
            # Rounding may leave no token in the segment (or, with an empty segment, nothing
            # kept in it): the segment's, else the row's last kept token.
            last_kept = cutlass.select_(last_kept < 0, row_last, last_kept)
            mOut[row] = Int64(cutlass.select_(token < 0, last_kept, token))
        if (first == threads) & (tidx == 0):
            mOut[row] = Int64(row_last)


# ---------------------------------------------------------------------------------------------
# compilation


def _index_arg():
    return make_ptr(cutlass.Int64, 0, cute.AddressSpace.gmem, assumed_align=8)


def _compiled(plan, x_key, greedy, has_top_k, has_top_p, divide=True, arch=None):
    """The kernel; divide False: z = x * (1 / T), exact when T is a power of two."""
    divide = divide or greedy  # greedy never scales
    def build():
        args = (C.pointer_arg(x_key, plan.vec), C.pointer_arg(None if greedy else "float32"),
                _index_arg(), Int32(1), Int32(plan.vec), Int64(plan.vec), Float32(1.0), Int32(1),
                Float32(1.0), C.stream_arg())
        kernel = _Sample(plan, greedy, has_top_k, has_top_p, divide)
        return kernel, args, C.arch_options(arch)
    return C.compile_once((KERNEL, plan, x_key, greedy, has_top_k, has_top_p, divide, arch),
                          build)


def variants(every_option: bool = True):
    """(greedy, has_top_k, has_top_p, divide) of the kernels: greedy and both filters with a
    division, or also every filter combination with an exact product (T a power of two)."""
    out = [(True, False, False, True), (False, True, True, True)]
    if every_option:
        out += [(False, has_top_k, has_top_p, False) for has_top_k in (False, True)
                for has_top_p in (False, True)]
    return out


def compile_all(dtype: str, n: int, arch: str | None = None, every_option: bool = True) -> int:
    """Compiles the kernels for contiguous rows of n logits of `dtype`; returns the count."""
    vec = C.widest_vector(dtype)
    while n % vec:  # as vector_width picks for contiguous rows
        vec //= 2
    plan = _plan(n, vec, C.CUTE_DTYPES[dtype].width // 8)
    options = variants(every_option)
    for greedy, has_top_k, has_top_p, divide in options:
        _compiled(plan, dtype, greedy, has_top_k, has_top_p, divide, arch)
    return len(options)


# ---------------------------------------------------------------------------------------------
# launcher (the registry impl signature of the Triton family)


def _scale(temperature: float) -> tuple[float, bool]:
    """(scale, divide): x * (1 / T) rounds as x / T does when T is a power of two whose
    inverse is a normal float32; otherwise the kernel divides by T."""
    mantissa, exponent = math.frexp(temperature)
    if mantissa == 0.5 and -125 <= exponent - 1 <= 126:
        return 2.0 ** (1 - exponent), False
    return temperature, True


def _launch_values(logits, temperature, top_k, top_p, uniform, out):
    """(compiled kernel, its launch values in signature order)."""
    m, n = logits.shape
    greedy = temperature == 0
    has_top_k = top_k is not None and not greedy
    has_top_p = top_p is not None and not greedy
    scale, divide = _scale(float(temperature)) if not greedy else (1.0, True)
    plan = _plan(n, C.vector_width(n, (logits,), ()), logits.element_size())
    kernel = _compiled(plan, C.key_of(logits), greedy, has_top_k, has_top_p, divide)
    k = min(int(top_k), n) if has_top_k else 1  # k beyond the vocabulary keeps every token
    values = (C.address(logits), None if greedy else C.address(uniform), C.address(out), m, n,
              C.row_stride(logits), scale, k, float(top_p) if has_top_p else 1.0,
              C.stream_handle(logits))
    return kernel, values


def _forward(logits, temperature, top_k, top_p, uniform, seed):
    out = empty((logits.shape[0],), "int64", like=logits)
    if logits.shape[0]:
        kernel, values = _launch_values(logits, temperature, top_k, top_p, uniform, out)
        kernel(C.device_index(logits), *values)
    return out


def _supports(logits, temperature, top_k, top_p, uniform, seed):
    reason = C.tensors_reason(logits, uniform)
    if reason is not None:
        return reason
    if logits.dim() != 2:
        return f"the CuTeDSL kernels take 2-D rows, got {logits.dim()}-D"
    m, n = logits.shape
    if n == 0:
        return "rows of length 0"
    if n >= MAX_VOCAB:
        return f"vocabularies of {n} tokens reach {MAX_VOCAB} (float32 bin counts)"
    if m >= 2 ** 31:
        return "more than 2**31 - 1 rows"
    if temperature != 0:
        if uniform is None:
            return "the in-kernel Philox draw (uniform None, an integer seed) is not implemented"
        if C.key_of(uniform) != "float32":
            return "uniform numbers must be float32"
        if m > 1 and uniform.stride(0) != 1:
            return "uniform numbers must be contiguous"
    return None


def _faster(logits, temperature, top_k, top_p, uniform, seed):
    """Where this backend beats Triton (the registry's per-input preference, declared in
    __init__): every input it takes. One H100, same run: (64, 32768) top-k 50 + top-p 0.9 in
    0.100 / 0.088 ms (float32 / bfloat16) against Triton's 0.463 / 0.546 and torch's 0.52;
    (64, 128256) 0.31 / 0.25 ms against 2.02 / 2.29 and 1.6; greedy 0.009 against 0.031."""
    return _supports(logits, temperature, top_k, top_p, uniform, seed) is None


_registry.register(KERNEL, "cutedsl", _forward, None, _supports)
