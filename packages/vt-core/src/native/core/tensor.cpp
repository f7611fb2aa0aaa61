#include "core/tensor.h"

#include <limits>

#include "core/error.h"

namespace vt {

TensorImpl::TensorImpl(intrusive_ptr<Storage> storage, ScalarType dtype, IntArrayRef sizes,
                       IntArrayRef strides, int64_t storage_offset)
    : storage_(std::move(storage)), sizes_(sizes), strides_(strides),
      storage_offset_(storage_offset), dtype_(dtype) {
  refresh_derived();
}

TensorImpl::~TensorImpl() {
  if (autograd_slot_destructor_) autograd_slot_destructor_(autograd_slot_);
}

void TensorImpl::set_autograd_slot(void* value, vt_slot_destructor_fn destructor) {
  void* old = autograd_slot_;
  auto old_destructor = autograd_slot_destructor_;
  autograd_slot_ = value;
  autograd_slot_destructor_ = destructor;
  if (old_destructor && old != value) old_destructor(old);
}

void TensorImpl::set_geometry(IntArrayRef sizes, IntArrayRef strides, int64_t storage_offset) {
  sizes_.assign(sizes);
  strides_.assign(strides);
  storage_offset_ = storage_offset;
  refresh_derived();
}

void TensorImpl::refresh_derived() {
  numel_ = compute_numel(sizes_);
  // Contiguous means row-major; dims of size 1 may have any stride, as in torch.
  is_contiguous_ = true;
  int64_t expected = 1;
  for (int64_t d = sizes_.size() - 1; d >= 0; --d) {
    if (sizes_[d] == 1) continue;
    if (strides_[d] != expected) { is_contiguous_ = numel_ == 0; break; }
    expected *= sizes_[d];
  }
}

Tensor Tensor::empty(IntArrayRef sizes, ScalarType dtype, Device device) {
  for (int64_t s : sizes) VT_CHECK(s >= 0, "Trying to create tensor with negative dimension ", s,
                                   ": ", shape_string(sizes));
  int64_t n = compute_numel(sizes);
  auto storage = Storage::allocate(size_t(n) * size_t(vt::itemsize(dtype)), device);
  DimVector strides = contiguous_strides(sizes);
  return Tensor(intrusive_ptr<TensorImpl>::make(std::move(storage), dtype, sizes, strides, 0));
}

Tensor Tensor::empty_strided(IntArrayRef sizes, IntArrayRef strides, ScalarType dtype,
                             Device device) {
  VT_CHECK(sizes.size() == strides.size(), "empty_strided: sizes ", shape_string(sizes),
           " and strides ", shape_string(strides), " differ in length");
  int64_t extent = 1;  // elements needed: 1 + sum((size-1)*stride)
  for (size_t d = 0; d < sizes.size(); ++d) {
    VT_CHECK(sizes[d] >= 0, "Trying to create tensor with negative dimension ", sizes[d], ": ",
             shape_string(sizes));
    VT_CHECK(strides[d] >= 0, "empty_strided: negative strides are not supported: ",
             shape_string(strides));
    if (sizes[d] == 0) { extent = 0; break; }
    int64_t span;
    VT_CHECK(!__builtin_mul_overflow(sizes[d] - 1, strides[d], &span) &&
                 !__builtin_add_overflow(extent, span, &extent) &&
                 !__builtin_mul_overflow(extent, vt::itemsize(dtype), &span),
             "empty_strided: sizes ", shape_string(sizes), " with strides ",
             shape_string(strides), " overflow the addressable size");
  }
  auto storage = Storage::allocate(size_t(extent) * size_t(vt::itemsize(dtype)), device);
  return Tensor(intrusive_ptr<TensorImpl>::make(std::move(storage), dtype, sizes, strides, 0));
}

Tensor Tensor::view_as_strided(IntArrayRef sizes, IntArrayRef strides,
                               int64_t storage_offset) const {
  return Tensor(intrusive_ptr<TensorImpl>::make(impl_->storage(), dtype(), sizes, strides,
                                                storage_offset));
}

int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;  // 0-dim accepts -1 and 0
  if (dim < lo || dim > hi) [[unlikely]]
    fail(VT_ERROR_INDEX, op, ": Dimension out of range (expected to be in range of [", lo, ", ",
         hi, "], but got ", dim, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

int64_t compute_numel(IntArrayRef sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (__builtin_mul_overflow(n, s, &n)) [[unlikely]]
      fail(VT_ERROR_INVALID_ARGUMENT, "the number of elements of shape ", shape_string(sizes),
           " overflows int64");
  }
  return n;
}

DimVector contiguous_strides(IntArrayRef sizes) {
  DimVector strides(int64_t(sizes.size()));
  int64_t s = 1;
  for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    s *= std::max<int64_t>(sizes[d], 1);
  }
  return strides;
}

std::string shape_string(IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(sizes[i]);
  }
  return out + "]";
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined tensor";
  return std::string(dtype_name(t.dtype())) + shape_string(t.sizes()) + " on " +
         device_string(t.device());
}

}  // namespace vt
