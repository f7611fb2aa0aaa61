// The reduction engine shared by the reduce_*.cpp kernels (internal, not installed).
//
// A reduction is out[o] = R over r of in[o, r]: o walks the kept dims in logical order (the
// output is contiguous), r walks the reduced dims. Reduced dims are coalesced and ordered by
// memory stride so each slice is read as long runs. Two loop shapes:
//  - rows: the innermost reduced dim is the run; a reducer folds a whole run into one
//    accumulator with independent lanes (vectorizes for sum, max, ...);
//  - columns: the innermost kept dim is contiguous and every reduced stride is larger; a
//    reducer folds one input row into a block of accumulators at once (vectorizes across outputs).
// Work splits over outputs; when there are fewer outputs than threads, over the reduced range
// with per-thread partial accumulators merged at the end.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/scalar_type.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/cast.h"
#include "ops/reduce_simd.h"

namespace vt::reduce {

// Wrapped, sorted, unique dims. nullopt reduces everything; an empty list reduces everything
// when empty_means_all (sum, amax, ...) and nothing otherwise (all, any).
DimVector reduction_dims(const Tensor& self, std::optional<IntArrayRef> dims, const char* op,
                         bool empty_means_all = true);
DimVector reduced_shape(const Tensor& self, const DimVector& dims, bool keepdim);
// IndexError like torch when a reduced dim is empty for an op without an identity.
void check_nonempty(const Tensor& self, const DimVector& dims, const char* op);

struct ReducePlan {
  const char* data = nullptr;         // input element 0
  DimVector out_shape;                // result shape (keepdim applied)
  DimVector kept_sizes, kept_strides;  // in elements; logical order, coalesced
  DimVector red_sizes, red_strides;    // in elements; innermost last, coalesced
  int64_t out_numel = 1, red_numel = 1;
  bool columns = false;

  // Input offsets of the slices of outputs [ob, oe), one division per call, not per output.
  void slice_offsets(int64_t ob, int64_t oe, int64_t* out) const {
    const int64_t nd = kept_sizes.size();
    int64_t coord[VT_MAX_DIMS];
    int64_t off = 0;
    for (int64_t d = nd - 1, rem = ob; d >= 0; --d) {
      coord[d] = rem % kept_sizes[d];
      rem /= kept_sizes[d];
      off += coord[d] * kept_strides[d];
    }
    for (int64_t o = ob; o < oe; ++o) {
      out[o - ob] = off;
      for (int64_t d = nd - 1; d >= 0; --d) {
        off += kept_strides[d];
        if (++coord[d] < kept_sizes[d]) break;
        off -= kept_sizes[d] * kept_strides[d];
        coord[d] = 0;
      }
    }
  }
};

// logical_order keeps the reduced dims in logical order, so reduced indices are positions in
// the flattened slice (argmax, argmin).
ReducePlan make_plan(const Tensor& self, const DimVector& dims, bool keepdim,
                     bool logical_order = false);

// Calls f(ptr, n, stride, index) for the runs covering reduced indices [b, e) of one slice.
template <class In, class F>
void walk_runs(const ReducePlan& p, const In* base, int64_t b, int64_t e, F&& f) {
  const int64_t nd = p.red_sizes.size();
  if (b >= e) return;
  if (nd == 0) return f(base, int64_t(1), int64_t(1), int64_t(0));
  const int64_t inner = p.red_sizes[nd - 1], istride = p.red_strides[nd - 1];
  if (nd == 1) return f(base + b * istride, e - b, istride, b);
  int64_t coord[VT_MAX_DIMS] = {};
  int64_t i = 0;
  const In* row = base;
  if (b != 0) {
    i = b % inner;
    int64_t rem = b / inner;
    for (int64_t d = nd - 2; d >= 0; --d) {
      coord[d] = rem % p.red_sizes[d];
      rem /= p.red_sizes[d];
      row += coord[d] * p.red_strides[d];
    }
  }
  for (;;) {
    int64_t n = std::min(inner - i, e - b);
    f(row + i * istride, n, istride, b);
    b += n;
    if (b >= e) return;
    i = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      row += p.red_strides[d];
      if (++coord[d] < p.red_sizes[d]) break;
      row -= p.red_sizes[d] * p.red_strides[d];
      coord[d] = 0;
    }
  }
}

inline constexpr int64_t kBlock = 512;  // accumulators per block: a few KiB, stays in L1

// Reducer interface (R):
//   using In, Acc;
//   Acc  init(int64_t o, const In* slice) const;   slice is nullptr when the slice is empty
//   void run(Acc&, const In* x, int64_t n, int64_t stride, int64_t index, int64_t o) const;
//   void cols(Acc* acc, const In* x, int64_t n, int64_t index, int64_t o) const;
//        acc[j] (output o + j) takes x[j], all at reduced index `index`
//   void merge(Acc& a, const Acc& b) const;        b may cover earlier or later indices
//   void write(int64_t o, const Acc&) const;
// Folds reduced indices [rb, re) of outputs [ob, oe) into acc; offs[k] is the input offset of
// output ob + k's slice.
template <class R>
void accumulate(const ReducePlan& p, const R& r, int64_t ob, int64_t oe, int64_t rb, int64_t re,
                typename R::Acc* acc, const int64_t* offs) {
  using In = typename R::In;
  const In* in = reinterpret_cast<const In*>(p.data);
  if (p.columns) {
    const int64_t inner = p.kept_sizes.back();
    for (int64_t o = ob; o < oe;) {
      const int64_t n = std::min(inner - o % inner, oe - o);
      typename R::Acc* a = acc + (o - ob);
      walk_runs(p, in + offs[o - ob], rb, re,
                [&](const In* x, int64_t len, int64_t stride, int64_t idx) {
                  for (int64_t k = 0; k < len; ++k) r.cols(a, x + k * stride, n, idx + k, o);
                });
      o += n;
    }
  } else {
    for (int64_t o = ob; o < oe; ++o)
      walk_runs(p, in + offs[o - ob], rb, re,
                [&](const In* x, int64_t len, int64_t stride, int64_t idx) {
                  r.run(acc[o - ob], x, len, stride, idx, o);
                });
  }
}

template <class R>
void run(const ReducePlan& p, const R& r) {
  using Acc = typename R::Acc;
  using In = typename R::In;
  const int64_t K = p.out_numel, N = p.red_numel;
  if (K == 0) return;
  const In* in = reinterpret_cast<const In*>(p.data);
  auto init = [&](int64_t ob, int64_t oe, Acc* acc, const int64_t* offs) {
    for (int64_t o = ob; o < oe; ++o) acc[o - ob] = r.init(o, N ? in + offs[o - ob] : nullptr);
  };
  auto outputs = [&](int64_t b, int64_t e) {
    Acc acc[kBlock];
    int64_t offs[kBlock];
    for (int64_t ob = b; ob < e; ob += kBlock) {
      const int64_t oe = std::min(e, ob + kBlock);
      p.slice_offsets(ob, oe, offs);
      init(ob, oe, acc, offs);
      accumulate(p, r, ob, oe, 0, N, acc, offs);
      for (int64_t o = ob; o < oe; ++o) r.write(o, acc[o - ob]);
    }
  };
  const int threads = num_threads();
  if (threads <= 1 || K * N < 2 * kGrainSize || in_parallel_region()) return outputs(0, K);
  if (K >= 2 * threads)
    return parallel_for(0, K, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(N, 1)), outputs);
  // Few long slices: threads split the reduced range and merge their partials in order.
  const int64_t parts = std::min<int64_t>(threads, K * N / kGrainSize);
  std::unique_ptr<Acc[]> partial(new Acc[size_t(parts * K)]);  // not vector: Acc may be bool
  std::vector<int64_t> offs(size_t(K), 0);
  p.slice_offsets(0, K, offs.data());
  parallel_for(0, parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      Acc* acc = partial.get() + t * K;
      init(0, K, acc, offs.data());
      accumulate(p, r, 0, K, t * N / parts, (t + 1) * N / parts, acc, offs.data());
    }
  });
  for (int64_t o = 0; o < K; ++o) {
    for (int64_t t = 1; t < parts; ++t) r.merge(partial[size_t(o)], partial[size_t(t * K + o)]);
    r.write(o, partial[size_t(o)]);
  }
}

// A reducer from an Op that maps each element to an accumulator value and combines them:
//   A identity(); map(x, p); combine(a, b); Out finish(A, int64_t o);
// map and combine are generic so they take scalars and vectors alike (reduce_simd.h). An op
// with per-output parameters (a mean, a shift) declares `using Param = P; const P* param;`
// and gets param[o] (or a vector of consecutive ones) as p. `using Lane = L;` lets contiguous
// runs accumulate in a narrower vector type (flushed into A every kChunk elements), and
// `static constexpr bool kVector = false` keeps an op scalar (it calls pow, say).
template <class T, class Out, class Op>
struct FoldReducer {
  using In = T;
  using Acc = decltype(std::declval<const Op&>().identity());
  using Lane = decltype([] {
    if constexpr (requires { typename Op::Lane; }) return typename Op::Lane{};
    else return Acc{};
  }());
  static constexpr bool kHasParam = requires { typename Op::Param; };
  static constexpr bool kVector = simd_elem_v<T> && simd_elem_v<Lane> &&
                                  [] { if constexpr (requires { Op::kVector; }) return Op::kVector;
                                       else return true; }();
  static constexpr int N = simd_lanes_v<T, Lane>;   // lanes of a run
  static constexpr int NC = simd_lanes_v<T, Acc>;   // lanes of a column block
  static constexpr int64_t kChunk = 4096;
  Op op;
  Out* out;

  auto param(int64_t o) const {
    if constexpr (kHasParam) return op.param[o];
    else return 0;
  }
  auto params(int64_t o) const {
    if constexpr (kHasParam) return load<vec<typename Op::Param, NC>>(op.param + o);
    else return 0;
  }

  Acc init(int64_t, const T*) const { return op.identity(); }
  void run(Acc& a, const T* x, int64_t n, int64_t s, int64_t, int64_t o) const {
    const auto p = param(o);
    int64_t i = 0;
    if constexpr (kVector) {
      if (s == 1 && n >= N) {
        using VT = vec<T, N>;
        using VL = vec<Lane, N>;
        const VL id = splat<VL>(Lane(op.identity()));
        while (i + N <= n) {
          // Four vector accumulators keep the combines pipelined; each chunk is flushed into a.
          const int64_t end = i + std::min(kChunk, (n - i) / N * N);
          VL acc[4] = {id, id, id, id};
          for (; i + 4 * N <= end; i += 4 * N) {
            prefetch_ahead(x + i, 4 * N * sizeof(T));
            for (int k = 0; k < 4; ++k) acc[k] = op.combine(acc[k], op.map(load<VT>(x + i + k * N), p));
          }
          for (; i < end; i += N) acc[0] = op.combine(acc[0], op.map(load<VT>(x + i), p));
          acc[0] = op.combine(op.combine(acc[0], acc[1]), op.combine(acc[2], acc[3]));
          for (int l = 0; l < N; ++l) a = op.combine(a, cvt<Acc>(acc[0][l]));
        }
      }
    }
    if (n - i >= 16) {
      // Strided runs and 16-bit floats: independent scalar lanes.
      constexpr int L = 8;
      Acc lanes[L];
      for (int l = 0; l < L; ++l) lanes[l] = op.identity();
      for (; i + L <= n; i += L)
        for (int l = 0; l < L; ++l) lanes[l] = op.combine(lanes[l], cvt<Acc>(op.map(x[(i + l) * s], p)));
      for (int l = 0; l < L; ++l) a = op.combine(a, lanes[l]);
    }
    for (; i < n; ++i) a = op.combine(a, cvt<Acc>(op.map(x[i * s], p)));
  }
  void cols(Acc* a, const T* x, int64_t n, int64_t, int64_t o) const {
    int64_t j = 0;
    if constexpr (kVector && simd_elem_v<Acc>) {
      using VT = vec<T, NC>;
      using VA = vec<Acc, NC>;
      for (; j + NC <= n; j += NC)
        store(a + j, op.combine(load<VA>(a + j), cvt<Acc>(op.map(load<VT>(x + j), params(o + j)))));
    }
    for (; j < n; ++j) a[j] = op.combine(a[j], cvt<Acc>(op.map(x[j], param(o + j))));
  }
  void merge(Acc& a, const Acc& b) const { a = op.combine(a, b); }
  void write(int64_t o, const Acc& a) const { out[o] = cast_value<Out>(op.finish(a, o)); }
};

// Sum, or mean when divisor != 0, accumulated in A.
template <class A>
struct SumOp {
  A divisor = 0;
  A identity() const { return A(0); }
  auto map(auto x, auto) const { return cvt<A>(x); }
  auto combine(auto a, auto b) const { return a + b; }
  A finish(A a, int64_t) const {
    if constexpr (std::is_floating_point_v<A>) return divisor != 0 ? a / divisor : a;
    else return a;
  }
};

// Accumulation types: sums of float32 and float64 in double, 16-bit floats in float, integers
// and bool in int64 (docs/design/0001).
template <class T>
using sum_acc_t = std::conditional_t<std::is_floating_point_v<opmath_t<T>>,
                                     std::conditional_t<is_reduced_float_v<T>, float, double>,
                                     int64_t>;

// Per-file registration, called from register_reduce_ops().
void register_sum_ops();
void register_minmax_ops();
void register_moment_ops();
void register_norm_ops();
void register_logic_ops();
void register_scan_ops();

}  // namespace vt::reduce
