// View ops: new geometry over the same storage. One kernel serves every device.
#include <algorithm>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {
namespace {

void check_in_bounds(const Tensor& self, IntArrayRef size, IntArrayRef stride, int64_t offset,
                     const char* op) {
  VT_CHECK(size.size() == stride.size(), op, ": mismatch in length of strides and shape (",
           size.size(), " vs ", stride.size(), ")");
  VT_CHECK(offset >= 0, op, ": negative storage offset ", offset);
  int64_t last = offset;
  bool empty = false, overflow = false;
  for (size_t d = 0; d < size.size(); ++d) {
    VT_CHECK(size[d] >= 0, op, ": negative size ", size[d], " in ", shape_string(size));
    VT_CHECK(stride[d] >= 0, op, ": negative stride ", stride[d], " in ", shape_string(stride));
    empty |= size[d] == 0;
    int64_t span;  // a wrapped sum could pass the bounds check below
    overflow |= __builtin_mul_overflow(size[d] - 1, stride[d], &span) ||
                __builtin_add_overflow(last, span, &last);
  }
  if (empty) return;
  VT_CHECK(!overflow, op, ": sizes ", shape_string(size), " with strides ", shape_string(stride),
           " and storage offset ", offset, " overflow int64");
  int64_t available = int64_t(self.impl()->storage()->nbytes()) / self.itemsize();
  VT_CHECK(last < available, op, ": setStorage: sizes ", shape_string(size), ", strides ",
           shape_string(stride), ", storage offset ", offset, " require a storage of ",
           (last + 1) * self.itemsize(), " bytes, but the storage has only ",
           self.impl()->storage()->nbytes());
}

Tensor as_strided_kernel(const Tensor& self, IntArrayRef size, IntArrayRef stride,
                         std::optional<int64_t> storage_offset) {
  int64_t offset = storage_offset.value_or(self.storage_offset());
  check_in_bounds(self, size, stride, offset, "as_strided");
  return self.view_as_strided(size, stride, offset);
}

// Resolves one -1 and checks the element count, as torch's infer_size.
DimVector infer_size(IntArrayRef shape, int64_t numel, const char* op) {
  DimVector out(shape);
  int64_t known = 1;
  int64_t infer = -1;
  for (int64_t d = 0; d < out.size(); ++d) {
    if (out[d] == -1) {
      VT_CHECK(infer < 0, op, ": only one dimension can be inferred");
      infer = d;
    } else {
      VT_CHECK(out[d] >= 0, op, ": invalid shape dimension ", out[d]);
      known *= out[d];
    }
  }
  if (infer >= 0) {
    VT_CHECK(known != 0 && numel % known == 0, op, ": shape '", shape_string(shape),
             "' is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    VT_CHECK(known == numel, op, ": shape '", shape_string(shape), "' is invalid for input of size ",
             numel);
  }
  return out;
}

// Strides for viewing (sizes, strides) as new_sizes without a copy, or nullopt (torch's
// computeStride): each run of merged old dims must be contiguous within itself.
std::optional<DimVector> view_strides(IntArrayRef old_sizes, IntArrayRef old_strides,
                                      IntArrayRef new_sizes) {
  DimVector out(int64_t(new_sizes.size()));
  if (old_sizes.empty()) {
    for (auto& s : out) s = 1;
    return out;
  }
  int64_t numel = compute_numel(old_sizes);
  if (numel == 0) {
    if (same_shape(old_sizes, new_sizes)) return DimVector(old_strides);
    return contiguous_strides(new_sizes);
  }
  int64_t view_d = int64_t(new_sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[size_t(d)];
    if (d == 0 || (old_sizes[size_t(d - 1)] != 1 &&
                   old_strides[size_t(d - 1)] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[size_t(view_d)] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[size_t(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[size_t(d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor view_kernel(const Tensor& self, IntArrayRef size) {
  DimVector shape = infer_size(size, self.numel(), "view");
  auto strides = view_strides(self.sizes(), self.strides(), shape);
  VT_CHECK(strides.has_value(), "view size is not compatible with input tensor's size and stride "
           "(at least one dimension spans across two contiguous subspaces). Use .reshape(...) "
           "instead. (input shape ", shape_string(self.sizes()), ", strides ",
           shape_string(self.strides()), ", requested ", shape_string(size), ")");
  return self.view_as_strided(shape, *strides, self.storage_offset());
}

Tensor reshape_kernel(const Tensor& self, IntArrayRef size) {
  DimVector shape = infer_size(size, self.numel(), "reshape");
  if (auto strides = view_strides(self.sizes(), self.strides(), shape))
    return vt::view(self, shape);
  return vt::view(vt::contiguous(self), shape);
}

Tensor permute_kernel(const Tensor& self, IntArrayRef dims) {
  VT_CHECK(int64_t(dims.size()) == self.dim(), "permute(): number of dimensions in the tensor "
           "input (", self.dim(), ") does not match the length of the desired ordering of "
           "dimensions (", dims.size(), ")");
  DimVector sizes(self.dim()), strides(self.dim());
  std::vector<bool> seen(size_t(self.dim()), false);
  for (int64_t i = 0; i < self.dim(); ++i) {
    int64_t d = wrap_dim(dims[size_t(i)], self.dim(), "permute");
    VT_CHECK(!seen[size_t(d)], "permute(): duplicate dims are not allowed.");
    seen[size_t(d)] = true;
    sizes[i] = self.sizes()[d];
    strides[i] = self.strides()[d];
  }
  return self.view_as_strided(sizes, strides, self.storage_offset());
}

Tensor transpose_kernel(const Tensor& self, int64_t dim0, int64_t dim1) {
  int64_t a = wrap_dim(dim0, self.dim(), "transpose"), b = wrap_dim(dim1, self.dim(), "transpose");
  if (self.dim() == 0) return self.view_as_strided(self.sizes(), self.strides(), self.storage_offset());
  DimVector sizes = self.sizes(), strides = self.strides();
  std::swap(sizes[a], sizes[b]);
  std::swap(strides[a], strides[b]);
  return self.view_as_strided(sizes, strides, self.storage_offset());
}

Tensor expand_kernel(const Tensor& self, IntArrayRef size) {
  int64_t nd = int64_t(size.size());
  VT_CHECK(nd >= self.dim(), "expand(", describe(self), ", size=", shape_string(size),
           "): the number of sizes provided (", nd, ") must be greater or equal to the number of "
           "dimensions in the tensor (", self.dim(), ")");
  DimVector sizes(nd), strides(nd);
  for (int64_t i = nd - 1; i >= 0; --i) {
    int64_t off = nd - 1 - i;
    int64_t d = self.dim() - 1 - off;
    int64_t want = size[size_t(i)];
    if (d >= 0) {
      int64_t have = self.sizes()[d];
      if (want == -1) want = have;
      VT_CHECK(have == want || have == 1, "The expanded size of the tensor (", want,
               ") must match the existing size (", have, ") at non-singleton dimension ", i,
               ".  Target sizes: ", shape_string(size), ".  Tensor sizes: ",
               shape_string(self.sizes()));
      sizes[i] = want;
      strides[i] = have == want ? self.strides()[d] : 0;
    } else {
      VT_CHECK(want >= 0, "The expanded size of the tensor (", want,
               ") isn't allowed in a leading, non-existing dimension ", i);
      sizes[i] = want;
      strides[i] = 0;
    }
  }
  return self.view_as_strided(sizes, strides, self.storage_offset());
}

Tensor squeeze_kernel(const Tensor& self, std::optional<IntArrayRef> dims) {
  std::vector<bool> drop(size_t(self.dim()), false);
  if (!dims) {
    for (int64_t d = 0; d < self.dim(); ++d) drop[size_t(d)] = self.sizes()[d] == 1;
  } else {
    for (int64_t d : *dims) {
      int64_t w = wrap_dim(d, self.dim(), "squeeze");
      if (self.dim() > 0) drop[size_t(w)] = self.sizes()[w] == 1;
    }
  }
  DimVector sizes, strides;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (drop[size_t(d)]) continue;
    sizes.push_back(self.sizes()[d]);
    strides.push_back(self.strides()[d]);
  }
  return self.view_as_strided(sizes, strides, self.storage_offset());
}

Tensor unsqueeze_kernel(const Tensor& self, int64_t dim) {
  int64_t d = wrap_dim(dim, self.dim() + 1, "unsqueeze");
  DimVector sizes = self.sizes(), strides = self.strides();
  int64_t stride = d >= self.dim() ? 1 : self.sizes()[d] * self.strides()[d];
  sizes.insert(d, 1);
  strides.insert(d, stride);
  return self.view_as_strided(sizes, strides, self.storage_offset());
}

Tensor slice_kernel(const Tensor& self, int64_t dim, std::optional<int64_t> start,
                    std::optional<int64_t> end, int64_t step) {
  VT_CHECK(self.dim() > 0, "slice() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, self.dim(), "slice");
  VT_CHECK_VALUE(step > 0, "slice step must be positive, got ", step);
  int64_t n = self.sizes()[d];
  int64_t b = start.value_or(0), e = end.value_or(n);
  if (b < 0) b += n;
  if (e < 0) e += n;
  b = std::clamp<int64_t>(b, 0, n);
  e = std::clamp<int64_t>(e, b, n);
  DimVector sizes = self.sizes(), strides = self.strides();
  sizes[d] = (e - b + step - 1) / step;
  strides[d] *= step;
  return self.view_as_strided(sizes, strides, self.storage_offset() + b * self.strides()[d]);
}

Tensor select_kernel(const Tensor& self, int64_t dim, int64_t index) {
  VT_CHECK_INDEX(self.dim() > 0, "select() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, self.dim(), "select");
  int64_t n = self.sizes()[d];
  VT_CHECK_INDEX(index >= -n && index < n, "select(): index ", index,
                 " out of range for tensor of size ", shape_string(self.sizes()),
                 " at dimension ", d);
  if (index < 0) index += n;
  DimVector sizes = self.sizes(), strides = self.strides();
  int64_t offset = self.storage_offset() + index * strides[d];
  sizes.erase(d);
  strides.erase(d);
  return self.view_as_strided(sizes, strides, offset);
}

}  // namespace

void register_view_ops() {
  define_kernel("vt::as_strided(Tensor(a) self, int[] size, int[] stride, int? storage_offset=None) -> Tensor(a)",
                VT_DEVICE_ANY, &as_strided_kernel);
  define_kernel("vt::view(Tensor(a) self, int[] size) -> Tensor(a)",
                VT_DEVICE_ANY, &view_kernel);
  define_kernel("vt::reshape(Tensor(a) self, int[] shape) -> Tensor(a)",
                VT_DEVICE_ANY, &reshape_kernel);
  define_kernel("vt::permute(Tensor(a) self, int[] dims) -> Tensor(a)",
                VT_DEVICE_ANY, &permute_kernel);
  define_kernel("vt::transpose(Tensor(a) self, int dim0, int dim1) -> Tensor(a)",
                VT_DEVICE_ANY, &transpose_kernel);
  define_kernel("vt::expand(Tensor(a) self, int[] size) -> Tensor(a)",
                VT_DEVICE_ANY, &expand_kernel);
  define_kernel("vt::squeeze(Tensor(a) self, int[]? dim=None) -> Tensor(a)",
                VT_DEVICE_ANY, &squeeze_kernel);
  define_kernel("vt::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)",
                VT_DEVICE_ANY, &unsqueeze_kernel);
  define_kernel("vt::slice(Tensor(a) self, int dim=0, int? start=None, int? end=None, int step=1) -> Tensor(a)",
                VT_DEVICE_ANY, &slice_kernel);
  define_kernel("vt::select(Tensor(a) self, int dim, int index) -> Tensor(a)",
                VT_DEVICE_ANY, &select_kernel);
}

}  // namespace vt
