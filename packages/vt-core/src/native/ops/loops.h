// Loop templates shared by the elementwise CPU kernels: contiguous runs are plain indexed
// loops the compiler vectorizes; anything else walks byte strides.
#pragma once

#include <cstdint>

#include "core/scalar_type.h"
#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"

namespace vt {

// out = f(a) with a of the same dtype T; f works on opmath values.
template <typename T, typename F>
void unary_loop(const TensorIterator& it, F f) {
  using M = opmath_t<T>;
  it.for_each([&f](char** data, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
      T* out = reinterpret_cast<T*>(data[0]);
      const T* a = reinterpret_cast<const T*>(data[1]);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(static_cast<M>(a[i])));
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(data[0] + i * s[0]) =
            static_cast<T>(f(static_cast<M>(*reinterpret_cast<const T*>(data[1] + i * s[1]))));
    }
  }, kGrainSize);
}

// out = f(a, b), all of dtype T.
template <typename T, typename F>
void binary_loop(const TensorIterator& it, F f) {
  using M = opmath_t<T>;
  it.for_each([&f](char** data, const int64_t* s, int64_t n) {
    T* out = reinterpret_cast<T*>(data[0]);
    const T* a = reinterpret_cast<const T*>(data[1]);
    const T* b = reinterpret_cast<const T*>(data[2]);
    constexpr int64_t z = sizeof(T);
    if (s[0] == z && s[1] == z && s[2] == z) {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(M(a[i]), M(b[i])));
    } else if (s[0] == z && s[1] == z && s[2] == 0) {
      const M bv = M(*b);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(M(a[i]), bv));
    } else if (s[0] == z && s[1] == 0 && s[2] == z) {
      const M av = M(*a);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(av, M(b[i])));
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(data[0] + i * s[0]) =
            static_cast<T>(f(M(*reinterpret_cast<const T*>(data[1] + i * s[1])),
                             M(*reinterpret_cast<const T*>(data[2] + i * s[2]))));
    }
  }, kGrainSize);
}

}  // namespace vt
