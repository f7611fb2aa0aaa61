// The index family's registration and its mask ops: masked_fill, masked_select, nonzero.
#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

using namespace index_detail;

Tensor masked_fill_scalar_inplace(const Tensor& self, const Tensor& mask, const Scalar& value) {
  VT_CHECK(mask.dtype() == ScalarType::Bool, "masked_fill_ only supports boolean masks, but got "
           "mask with dtype ", dtype_name(mask.dtype()));
  // The mask broadcasts to self, never the other way round (the iterator sizes by inputs).
  VT_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill_") == DimVector(self.sizes()),
           "masked_fill_: output with shape ", shape_string(self.sizes()),
           " doesn't match the broadcast shape ", shape_string(broadcast_shapes(self.sizes(), mask.sizes(), "")));
  IterConfig c;
  c.op_name = "masked_fill_";
  c.outputs = {self};
  c.inputs = {vt::expand(mask, self.sizes())};
  c.promote_inputs = false;
  c.compute_dtype = self.dtype();
  c.cast_outputs = false;
  TensorIterator it(std::move(c));
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = checked_scalar<T>(value);
    it.for_each([v](char** data, const int64_t* st, int64_t n) {
      if (st[0] == int64_t(sizeof(T)) && st[1] == 1) {
        T* out = reinterpret_cast<T*>(data[0]);
        const bool* m = reinterpret_cast<const bool*>(data[1]);
        for (int64_t i = 0; i < n; ++i) out[i] = m[i] ? v : out[i];
      } else {
        for (int64_t i = 0; i < n; ++i)
          if (*reinterpret_cast<const bool*>(data[1] + i * st[1]))
            *reinterpret_cast<T*>(data[0] + i * st[0]) = v;
      }
    }, kGrainSize);
  });
  self.bump_version();
  return self;
}

Scalar value_of(const Tensor& value, const char* op) {
  VT_CHECK(value.dim() == 0, op, " only supports a 0-dimensional value tensor, but got tensor "
           "with ", value.dim(), " dimension(s).");
  return item_scalar(value);
}

Tensor masked_fill_tensor_inplace(const Tensor& self, const Tensor& mask, const Tensor& value) {
  return vt::masked_fill_(self, mask, value_of(value, "masked_fill_"));
}

// torch broadcasts self with the mask and returns a contiguous result.
Tensor masked_fill_scalar(const Tensor& self, const Tensor& mask, const Scalar& value) {
  Tensor out = Tensor::empty(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill"),
                             self.dtype(), self.device());
  vt::copy_(out, self);
  return vt::masked_fill_(out, mask, value);
}

Tensor masked_fill_tensor(const Tensor& self, const Tensor& mask, const Tensor& value) {
  return masked_fill_scalar(self, mask, value_of(value, "masked_fill_"));
}

Tensor masked_select_kernel(const Tensor& self, const Tensor& mask) {
  VT_CHECK(mask.dtype() == ScalarType::Bool, "masked_select: expected BoolTensor for mask");
  DimVector shape = broadcast_shapes(self.sizes(), mask.sizes(), "masked_select");
  Tensor m = vt::contiguous(vt::expand(mask, shape));
  Tensor x = vt::contiguous(vt::expand(self, shape));
  MaskCompaction compaction(m.data_as<bool>(), m.numel());
  Tensor out = Tensor::empty(DimVector{compaction.total()}, self.dtype(), self.device());
  const bool* mp = m.data_as<bool>();
  const char* src = x.data();
  char* dst = out.data();
  const int64_t item = self.itemsize();
  compaction.write([&](int64_t b, int64_t e, int64_t pos) {
    for (int64_t i = b; i < e; ++i)
      if (mp[i]) std::memcpy(dst + item * pos++, src + item * i, size_t(item));
  });
  return out;
}

// [count, ndim] with the layout torch gives it: each coordinate column is contiguous.
Tensor nonzero_kernel(const Tensor& self) {
  Tensor x = vt::contiguous(self);
  const int64_t n = x.numel(), nd = x.dim();
  Tensor mask = Tensor::empty(x.sizes(), ScalarType::Bool, x.device());
  bool* mp = mask.data_as<bool>();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data_as<T>();
    parallel_for(0, n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) mp[i] = static_cast<opmath_t<T>>(p[i]) != 0;
    });
  });
  MaskCompaction compaction(mp, n);
  const int64_t count = compaction.total();
  Tensor out = Tensor::empty(DimVector{nd, count}, ScalarType::Int64, x.device());
  int64_t* op = out.data_as<int64_t>();
  compaction.write([&](int64_t b, int64_t e, int64_t pos) {
    if (b >= e || nd == 0) return;
    int64_t coords[VT_MAX_DIMS];
    for (int64_t d = nd - 1, rem = b; d >= 0; --d) coords[d] = rem % x.sizes()[d], rem /= x.sizes()[d];
    for (int64_t i = b; i < e; ++i) {
      if (mp[i]) {
        for (int64_t d = 0; d < nd; ++d) op[d * count + pos] = coords[d];
        ++pos;
      }
      for (int64_t d = nd - 1; d >= 0 && ++coords[d] == x.sizes()[d]; --d) coords[d] = 0;
    }
  });
  return vt::transpose(out, 0, 1);
}

}  // namespace

void register_index_ops() {
  define_kernel("vt::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor",
                VT_DEVICE_ANY, &masked_fill_scalar);
  define_kernel("vt::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor",
                VT_DEVICE_ANY, &masked_fill_tensor);
  define_kernel("vt::masked_fill_.Scalar(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)",
                VT_DEVICE_CPU, &masked_fill_scalar_inplace);
  define_kernel("vt::masked_fill_.Tensor(Tensor(a!) self, Tensor mask, Tensor value) -> Tensor(a!)",
                VT_DEVICE_ANY, &masked_fill_tensor_inplace);
  define_kernel("vt::masked_select(Tensor self, Tensor mask) -> Tensor", VT_DEVICE_CPU,
                &masked_select_kernel);
  define_kernel("vt::nonzero(Tensor self) -> Tensor", VT_DEVICE_CPU, &nonzero_kernel);
  index_detail::register_gather_kernels();
  index_detail::register_scatter_kernels();
  index_detail::register_accumulate_kernels();
  index_detail::register_advanced_kernels();
  index_detail::register_sort_kernels();
  index_detail::register_unique_kernels();
}

}  // namespace vt
