// TensorImpl (a strided view over a Storage) and Tensor, the one-pointer handle to it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "core/device.h"
#include "core/dim_vector.h"
#include "core/intrusive_ptr.h"
#include "core/scalar_type.h"
#include "core/storage.h"
#include "vt/c/tensor.h"

namespace vt {

class TensorImpl final : public RefCounted {
 public:
  TensorImpl(intrusive_ptr<Storage> storage, ScalarType dtype, IntArrayRef sizes,
             IntArrayRef strides, int64_t storage_offset);
  ~TensorImpl();

  const DimVector& sizes() const { return sizes_; }
  const DimVector& strides() const { return strides_; }
  int64_t dim() const { return sizes_.size(); }
  int64_t numel() const { return numel_; }
  int64_t storage_offset() const { return storage_offset_; }
  ScalarType dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  bool is_contiguous() const { return is_contiguous_; }
  const intrusive_ptr<Storage>& storage() const { return storage_; }
  char* data() const {
    return static_cast<char*>(storage_->data()) + storage_offset_ * itemsize(dtype_);
  }

  // A Python number turned into a 0-dim tensor ranks below real tensors in promotion.
  bool is_wrapped_number() const { return wrapped_number_; }
  void set_wrapped_number(bool v) { wrapped_number_ = v; }

  uint32_t layer_mask() const { return layer_mask_; }
  void set_layer_mask(uint32_t mask) { layer_mask_ = mask; }

  void* autograd_slot() const { return autograd_slot_; }
  void set_autograd_slot(void* value, vt_slot_destructor_fn destructor);

  // Changes the geometry in place (as_strided_, squeeze_ and friends).
  void set_geometry(IntArrayRef sizes, IntArrayRef strides, int64_t storage_offset);

 private:
  void refresh_derived();

  intrusive_ptr<Storage> storage_;
  DimVector sizes_;
  DimVector strides_;
  int64_t storage_offset_;
  int64_t numel_ = 1;
  ScalarType dtype_;
  bool is_contiguous_ = true;
  bool wrapped_number_ = false;
  uint32_t layer_mask_ = 0;
  void* autograd_slot_ = nullptr;
  vt_slot_destructor_fn autograd_slot_destructor_ = nullptr;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(intrusive_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // A new contiguous tensor from the device's allocator.
  static Tensor empty(IntArrayRef sizes, ScalarType dtype, Device device = kCPU);
  static Tensor empty_strided(IntArrayRef sizes, IntArrayRef strides, ScalarType dtype,
                              Device device = kCPU);
  // A view sharing this tensor's storage.
  Tensor view_as_strided(IntArrayRef sizes, IntArrayRef strides, int64_t storage_offset) const;

  // Handles crossing the C ABI: the same pointer, reference counted.
  vt_tensor_t to_c_borrowed() const { return reinterpret_cast<vt_tensor_t>(impl_.get()); }
  vt_tensor_t to_c_owned() && { return reinterpret_cast<vt_tensor_t>(impl_.release()); }
  static Tensor from_c_borrowed(vt_tensor_t t) {
    return Tensor(intrusive_ptr<TensorImpl>::borrow(reinterpret_cast<TensorImpl*>(t)));
  }
  static Tensor from_c_owned(vt_tensor_t t) {
    return Tensor(intrusive_ptr<TensorImpl>::adopt(reinterpret_cast<TensorImpl*>(t)));
  }

  bool defined() const { return bool(impl_); }
  TensorImpl* impl() const { return impl_.get(); }
  const DimVector& sizes() const { return impl_->sizes(); }
  const DimVector& strides() const { return impl_->strides(); }
  int64_t size(int64_t d) const;  // wraps negative dims
  int64_t stride(int64_t d) const;
  int64_t dim() const { return impl_->dim(); }
  int64_t numel() const { return impl_->numel(); }
  ScalarType dtype() const { return impl_->dtype(); }
  Device device() const { return impl_->device(); }
  bool is_contiguous() const { return impl_->is_contiguous(); }
  int64_t storage_offset() const { return impl_->storage_offset(); }
  char* data() const { return impl_->data(); }
  template <typename T> T* data_as() const { return reinterpret_cast<T*>(impl_->data()); }
  int64_t itemsize() const { return vt::itemsize(dtype()); }
  int64_t nbytes() const { return numel() * itemsize(); }
  uint32_t version() const { return impl_->storage()->version(); }
  void bump_version() const { impl_->storage()->bump_version(); }
  bool is_inference() const { return impl_->storage()->is_inference(); }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  intrusive_ptr<TensorImpl> impl_;
};

// Dimension and shape helpers shared by ops and bindings.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);  // IndexError when out of range
int64_t compute_numel(IntArrayRef sizes);
inline bool same_shape(IntArrayRef a, IntArrayRef b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
DimVector contiguous_strides(IntArrayRef sizes);
std::string shape_string(IntArrayRef sizes);  // "[2, 3]"
std::string describe(const Tensor& t);         // "float32[2, 3] on cpu"

}  // namespace vt
