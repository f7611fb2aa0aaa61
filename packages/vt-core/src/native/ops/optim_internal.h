// Internals of the fused optimizer ops: registration of ops with no results, input checks,
// staging of each parameter's tensors as flat arrays, the parallel walk over a whole group, and
// the vector arithmetic the update rules are written in (one template serves vector and scalar).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "dispatch/dispatcher.h"
#include "ops/nn_vec.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace vt::optim {

void register_adam_ops();
void register_sgd_ops();

// Ops that update their arguments and return nothing ("-> ()"): a boxed kernel that unboxes
// with the typed kernel's signature (kept in the slot's context) and reports errors as a status.
template <typename... Args>
vt_status_t boxed_no_result(void* context, vt_op_t, const vt_value_t* args, int64_t nargs,
                            vt_value_t*, int64_t nouts) {
  auto fn = reinterpret_cast<void (*)(Args...)>(context);
  try {
    if (nargs != int64_t(sizeof...(Args)) || nouts != 0) [[unlikely]]
      fail(VT_ERROR_INTERNAL, "boxed call with ", nargs, " args / ", nouts,
           " outs does not match the kernel");
    [&]<size_t... I>(std::index_sequence<I...>) {
      fn(boxer_for<Args>::unbox(args[I])...);
    }(std::index_sequence_for<Args...>{});
    return VT_OK;
  } catch (const Error& e) {
    vt_set_last_error(e.status(), e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    vt_set_last_error(VT_ERROR_OUT_OF_MEMORY, "out of memory");
    return VT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    vt_set_last_error(VT_ERROR_INTERNAL, e.what());
    return VT_ERROR_INTERNAL;
  }
}

template <typename... Args>
void define_cpu_kernel_no_result(std::string_view schema, void (*fn)(Args...)) {
  Op& op = define_op(schema);
  detail::check_signature(op, {{boxer_for<Args>::type, boxer_for<Args>::optional}...}, 0);
  op.set_kernel(VT_DEVICE_CPU,
                {&boxed_no_result<Args...>, reinterpret_cast<void*>(fn), nullptr, nullptr});
}

// Calls such an op through the dispatcher, so that layers see it.
template <typename... Args>
void call_no_result(const Op& op, const Args&... args) {
  const vt_value_t boxed[] = {boxer_for<Args>::box(args)...};
  call_boxed(op, boxed, int64_t(sizeof...(Args)), nullptr, 0);
}

// A list argument checked against params: one tensor per param, each with its param's shape
// and dtype, on the CPU.
struct NamedList {
  const char* name;
  TensorList tensors;
};
void check_group(const char* op, TensorList params, std::initializer_list<NamedList> lists);

// Makes one parameter's tensors (row[0] the param) walkable as flat arrays of the same layout:
// when they do not already share one dense layout, the non-contiguous ones are replaced by
// contiguous copies, which `copies` keeps alive until the update is done (with the original
// to write back to, except for row[read_only]).
using StagedCopies = std::vector<std::pair<Tensor, Tensor>>;  // (original or undefined, copy)
void stage_row(std::span<Tensor> row, size_t read_only, StagedCopies& copies);
// Copies the computed values back into the originals and bumps the written tensors' versions.
void finish_rows(const StagedCopies& copies, std::initializer_list<TensorList> written);

// fn(row, begin, end) over the elements of every row (numels[row] each), split evenly by
// element count over the thread pool when the group is large enough to be worth it.
void for_each_span(std::span<const int64_t> numels,
                   const std::function<void(size_t, int64_t, int64_t)>& fn);

// fma / sqrt / NaN-propagating max for a compute type C (float, double) and its vector; the
// scalar and vector forms round identically, so chunk boundaries never change a result.
using nn::kWidth;
using nn::vec;

template <typename C> requires std::is_floating_point_v<C>
inline C fmadd(C a, C b, C c) { return std::fma(a, b, c); }
template <typename C> requires std::is_floating_point_v<C>
inline C sqrt_of(C x) { return std::sqrt(x); }

// The target's whole-vector instruction where it has one, else lane by lane.
#if defined(__AVX__)
inline __m256 raw(nn::floatv v) { return std::bit_cast<__m256>(v); }
inline __m256d raw(nn::doublev v) { return std::bit_cast<__m256d>(v); }
#elif defined(__SSE2__)
inline __m128 raw(nn::floatv v) { return std::bit_cast<__m128>(v); }
inline __m128d raw(nn::doublev v) { return std::bit_cast<__m128d>(v); }
#endif

template <typename V> requires(!std::is_floating_point_v<V>)
inline V fmadd(V a, V b, V c) {
#if defined(__AVX__) && defined(__FMA__)
  if constexpr (sizeof(a[0]) == 4) return std::bit_cast<V>(_mm256_fmadd_ps(raw(a), raw(b), raw(c)));
  else return std::bit_cast<V>(_mm256_fmadd_pd(raw(a), raw(b), raw(c)));
#else
  V r;
  for (int l = 0; l < int(sizeof(V) / sizeof(a[0])); ++l) r[l] = std::fma(a[l], b[l], c[l]);
  return r;
#endif
}

template <typename V> requires(!std::is_floating_point_v<V>)
inline V sqrt_of(V v) {
#if defined(__AVX__)
  if constexpr (sizeof(v[0]) == 4) return std::bit_cast<V>(_mm256_sqrt_ps(raw(v)));
  else return std::bit_cast<V>(_mm256_sqrt_pd(raw(v)));
#elif defined(__SSE2__)
  if constexpr (sizeof(v[0]) == 4) return std::bit_cast<V>(_mm_sqrt_ps(raw(v)));
  else return std::bit_cast<V>(_mm_sqrt_pd(raw(v)));
#else
  V r;
  for (int l = 0; l < int(sizeof(V) / sizeof(v[0])); ++l) r[l] = std::sqrt(v[l]);
  return r;
#endif
}

// torch.maximum: NaN in either argument wins.
template <typename V> inline V max_nan(V a, V b) {
  V m = b > a ? b : a;
  m = a != a ? a : m;
  return b != b ? b : m;
}

// A value of compute type C as V (C itself, or a vector of C).
template <typename V, typename C> inline V splat_as(C x) { return V{} + x; }

// kWidth<C> elements of T widened to C, and rounded back on store.
template <typename C, typename T> inline vec<C> load_vec(const T* p) { return nn::load<C>(p); }
template <typename C, typename T> inline void store_vec(T* p, vec<C> v) {
  if constexpr (std::is_same_v<T, C>) {
    nn::store(p, v);
  } else {
    for (int l = 0; l < kWidth<C>; ++l) p[l] = T(v[l]);
  }
}

}  // namespace vt::optim
