// The shape family's registration, its shared helpers, and the joining ops: cat and stack.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"
#include "ops/registration.h"
#include "ops/shape_internal.h"

namespace vt {

namespace shape_detail {

bool is_non_overlapping_and_dense(const Tensor& t) {
  if (t.is_contiguous()) return true;
  std::vector<int64_t> order(static_cast<size_t>(t.dim()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
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

Tensor empty_like_preserving(const Tensor& self) {
  if (!self.is_contiguous() && self.numel() > 0 && is_non_overlapping_and_dense(self))
    return Tensor::empty_strided(self.sizes(), self.strides(), self.dtype(), self.device());
  return Tensor::empty(self.sizes(), self.dtype(), self.device());
}

DimVector unique_dims(IntArrayRef dims, int64_t ndim, const char* op) {
  DimVector out;
  std::vector<bool> seen(size_t(std::max<int64_t>(ndim, 1)), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim, op);
    VT_CHECK(!seen[size_t(w)], "dim ", w, " appears multiple times in the list of dims");
    seen[size_t(w)] = true;
    out.push_back(w);
  }
  return out;
}

}  // namespace shape_detail

namespace {

// torch keeps channels-last layouts through cat when every input has one; the order lists the
// dims from the slowest to the fastest in memory.
DimVector memory_order(const Tensor& t) {
  DimVector order;
  if ((t.dim() != 4 && t.dim() != 5) || t.is_contiguous()) return order;
  order.push_back(0);
  for (int64_t d = 2; d < t.dim(); ++d) order.push_back(d);
  order.push_back(1);
  int64_t expected = 1;
  for (int64_t k = t.dim() - 1; k >= 0; --k) {
    int64_t d = order[k];
    if (t.sizes()[d] != 1 && t.strides()[d] != expected) return {};
    expected *= t.sizes()[d];
  }
  return order;
}

Tensor empty_in_order(IntArrayRef sizes, const DimVector& order, ScalarType dtype, Device device) {
  if (order.empty()) return Tensor::empty(sizes, dtype, device);
  DimVector strides(int64_t(sizes.size()));
  int64_t s = 1;
  for (int64_t k = order.size() - 1; k >= 0; --k) {
    strides[order[k]] = s;
    s *= std::max<int64_t>(sizes[size_t(order[k])], 1);
  }
  return Tensor::empty_strided(sizes, strides, dtype, device);
}

// torch skips 1-D empty tensors in cat, whatever their size elsewhere (a legacy rule).
bool skipped_by_cat(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

Tensor cat_kernel(TensorList tensors, int64_t dim) {
  VT_CHECK_VALUE(!tensors.empty(), "torch.cat(): expected a non-empty list of Tensors");
  ScalarType dtype = tensors[0].dtype();
  const Tensor* ref = nullptr;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    VT_CHECK(t.dim() > 0, "zero-dimensional tensor (at position ", i, ") cannot be concatenated");
    dtype = promote_types(dtype, t.dtype());
    if (!ref && !skipped_by_cat(t)) ref = &t;
  }
  if (!ref) {
    wrap_dim(dim, 1, "cat");
    return Tensor::empty(DimVector{0}, dtype, tensors[0].device());
  }
  const int64_t nd = ref->dim();
  const int64_t d = wrap_dim(dim, nd, "cat");
  DimVector sizes = ref->sizes();
  sizes[d] = 0;
  DimVector order = memory_order(*ref);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped_by_cat(t)) continue;
    VT_CHECK(t.dim() == nd, "Tensors must have same number of dimensions: got ", nd, " and ", t.dim());
    for (int64_t k = 0; k < nd; ++k)
      VT_CHECK(k == d || t.sizes()[k] == ref->sizes()[k], "Sizes of tensors must match except in "
               "dimension ", d, ". Expected size ", ref->sizes()[k], " but got size ", t.sizes()[k],
               " for tensor number ", i, " in the list.");
    sizes[d] += t.sizes()[d];
    if (!order.empty() && !(memory_order(t) == order)) order.clear();
  }
  Tensor out = empty_in_order(sizes, order, dtype, ref->device());
  if (out.numel() == 0) return out;

  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < d; ++k) outer *= sizes[k];
  for (int64_t k = d + 1; k < nd; ++k) inner *= sizes[k];
  bool plain = out.is_contiguous() && outer > 1;
  for (const Tensor& t : tensors)
    plain &= skipped_by_cat(t) || (t.is_contiguous() && t.dtype() == dtype);
  if (plain) {
    // Row r of the output is the concatenation of row r of every input: whole-row memcpys.
    const int64_t item = out.itemsize(), row = sizes[d] * inner;
    char* dst = out.data();
    int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(row, 1));
    parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        char* p = dst + r * row * item;
        for (const Tensor& t : tensors) {
          if (skipped_by_cat(t)) continue;
          int64_t n = t.sizes()[d] * inner * item;
          if (n > 0) std::memcpy(p, t.data() + r * n, size_t(n));
          p += n;
        }
      }
    });
    return out;
  }
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    if (skipped_by_cat(t)) continue;
    if (t.sizes()[d] > 0) vt::copy_(vt::narrow(out, d, offset, t.sizes()[d]), t);
    offset += t.sizes()[d];
  }
  return out;
}

Tensor stack_kernel(TensorList tensors, int64_t dim) {
  VT_CHECK(!tensors.empty(), "stack expects a non-empty TensorList");
  const Tensor& first = tensors[0];
  int64_t d = wrap_dim(dim, first.dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    VT_CHECK(tensors[i].sizes() == first.sizes(), "stack expects each tensor to be equal size, but "
             "got ", shape_string(first.sizes()), " at entry 0 and ",
             shape_string(tensors[i].sizes()), " at entry ", i);
    parts.push_back(vt::unsqueeze(tensors[i], d));
  }
  return vt::cat(parts, d);
}

}  // namespace

void register_shape_ops() {
  define_kernel("vt::cat(Tensor[] tensors, int dim=0) -> Tensor", VT_DEVICE_CPU, &cat_kernel);
  define_kernel("vt::stack(Tensor[] tensors, int dim=0) -> Tensor", VT_DEVICE_ANY, &stack_kernel);
  shape_detail::register_view_kernels();
  shape_detail::register_copy_kernels();
  shape_detail::register_pad_kernels();
}

}  // namespace vt
