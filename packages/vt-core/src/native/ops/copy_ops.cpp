// copy_, _to_copy, clone and fill_: the CPU kernels that move and convert elements.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/device_hooks.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/cast.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

// Strides that cover the storage once without gaps, in some dimension order.
bool is_non_overlapping_and_dense(const Tensor& t) {
  if (t.is_contiguous()) return true;
  const int64_t nd = t.dim();
  std::vector<int64_t> order(static_cast<size_t>(nd));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return t.strides()[a] < t.strides()[b];
  });
  int64_t expected = 1;
  for (int64_t d : order) {
    if (t.sizes()[d] == 1) continue;
    if (t.strides()[d] != expected) return false;
    expected *= t.sizes()[d];
  }
  return true;
}

// torch's preserve_format: a dense layout keeps its exact strides, anything else is contiguous.
Tensor empty_like_preserving(const Tensor& self, ScalarType dtype) {
  if (is_non_overlapping_and_dense(self))
    return Tensor::empty_strided(self.sizes(), self.strides(), dtype, self.device());
  return Tensor::empty(self.sizes(), dtype, self.device());
}

void copy_cross_device(const Tensor& dst, const Tensor& src) {
  // Bytes move between devices in the destination's dtype and a contiguous layout.
  Device host_side = dst.device().is_cpu() ? dst.device() : src.device();
  Device device_side = dst.device().is_cpu() ? src.device() : dst.device();
  const vt_device_hooks_t* hooks = device_hooks_for(device_side.type);
  VT_CHECK(hooks && hooks->copy_bytes, "copy_: no copy hooks registered for device ",
           device_string(device_side), " (is its plugin loaded?)");
  (void)host_side;
  Tensor s = src.dtype() == dst.dtype() ? vt::contiguous(src) : vt::contiguous(to_dtype(src, dst.dtype()));
  if (s.sizes() != dst.sizes()) s = vt::contiguous(vt::expand(s, dst.sizes()));
  Tensor d = dst.is_contiguous() ? dst : Tensor::empty(dst.sizes(), dst.dtype(), dst.device());
  int32_t kind = dst.device().is_cpu()   ? VT_COPY_DEVICE_TO_HOST
                 : src.device().is_cpu() ? VT_COPY_HOST_TO_DEVICE
                                         : VT_COPY_DEVICE_TO_DEVICE;
  vt_status_t st = hooks->copy_bytes(hooks->context, d.data(), d.device().to_c(), s.data(),
                                     s.device().to_c(), size_t(d.nbytes()), kind);
  if (st != VT_OK) fail(st, "copy_: ", vt_last_error_message());
  if (!d.is_same(dst)) copy_(dst, d);
}

Tensor copy_kernel(const Tensor& dst, const Tensor& src) {
  if (dst.device() != src.device()) {
    copy_cross_device(dst, src);
    dst.bump_version();
    return dst;
  }
  if (dst.numel() == 0) {
    VT_CHECK(src.numel() <= 1 || src.sizes() == dst.sizes(), "copy_: cannot copy ",
             describe(src), " into ", describe(dst));
    return dst;
  }
  Tensor s = src.sizes() == dst.sizes() ? src : vt::expand(src, dst.sizes());
  if (s.dtype() == dst.dtype() && s.is_contiguous() && dst.is_contiguous()) {
    if (s.data() != dst.data()) {
      char* d = dst.data();
      const char* p = s.data();
      int64_t item = dst.itemsize();
      parallel_for(0, dst.numel(), 4 * kGrainSize, [&](int64_t b, int64_t e) {
        std::memcpy(d + b * item, p + b * item, size_t((e - b) * item));
      });
    }
    dst.bump_version();
    return dst;
  }
  IterConfig c;
  c.op_name = "copy_";
  c.outputs = {dst};
  c.inputs = {s};
  c.promote_inputs = false;
  c.compute_dtype = dst.dtype();
  c.cast_outputs = false;
  TensorIterator it(std::move(c));
  visit_dtype(dst.dtype(), [&](auto out_tag) {
    using To = decltype(out_tag);
    visit_dtype(it.dtype(1), [&](auto in_tag) {
      using From = decltype(in_tag);
      it.for_each([](char** data, const int64_t* st, int64_t n) {
        char* o = data[0];
        const char* i = data[1];
        if (st[0] == sizeof(To) && st[1] == sizeof(From)) {
          auto* out = reinterpret_cast<To*>(o);
          auto* in = reinterpret_cast<const From*>(i);
          for (int64_t k = 0; k < n; ++k) out[k] = cast_value<To>(in[k]);
        } else {
          for (int64_t k = 0; k < n; ++k)
            *reinterpret_cast<To*>(o + k * st[0]) =
                cast_value<To>(*reinterpret_cast<const From*>(i + k * st[1]));
        }
      }, kGrainSize);
    });
  });
  dst.bump_version();
  return dst;
}

Tensor to_copy_kernel(const Tensor& self, ScalarType dtype) {
  Tensor out = empty_like_preserving(self, dtype);
  vt::copy_(out, self);
  return out;
}

Tensor clone_kernel(const Tensor& self) { return to_copy_kernel(self, self.dtype()); }

// contiguous() and the copying path of reshape() need row-major strides, not a preserved layout.
Tensor contiguous_copy_kernel(const Tensor& self) {
  if (self.is_contiguous()) return self;
  Tensor out = Tensor::empty(self.sizes(), self.dtype(), self.device());
  vt::copy_(out, self);
  return out;
}

Tensor fill_kernel(const Tensor& self, const Scalar& value) {
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    if (self.is_contiguous()) {
      T* p = self.data_as<T>();
      parallel_for(0, self.numel(), kGrainSize, [&](int64_t b, int64_t e) {
        std::fill(p + b, p + e, v);
      });
      return;
    }
    IterConfig c;
    c.op_name = "fill_";
    c.outputs = {self};
    c.check_overlap = false;  // writing one value through aliased elements is well defined
    c.compute_dtype = self.dtype();
    TensorIterator it(std::move(c));
    it.for_each([v](char** data, const int64_t* st, int64_t n) {
      for (int64_t k = 0; k < n; ++k) *reinterpret_cast<T*>(data[0] + k * st[0]) = v;
    }, kGrainSize);
  });
  self.bump_version();
  return self;
}

}  // namespace

void register_copy_ops() {
  define_kernel("vt::copy_(Tensor(a!) self, Tensor src) -> Tensor(a!)",
                VT_DEVICE_CPU, &copy_kernel, VT_OP_FLAG_MIXED_DEVICES);
  define_kernel("vt::_to_copy(Tensor self, ScalarType dtype) -> Tensor",
                VT_DEVICE_ANY, &to_copy_kernel);
  define_kernel("vt::clone(Tensor self) -> Tensor",
                VT_DEVICE_ANY, &clone_kernel);
  define_kernel("vt::contiguous(Tensor(a) self) -> Tensor(a)",
                VT_DEVICE_ANY, &contiguous_copy_kernel);
  define_kernel("vt::fill_(Tensor(a!) self, Scalar value) -> Tensor(a!)",
                VT_DEVICE_CPU, &fill_kernel);
}

}  // namespace vt
