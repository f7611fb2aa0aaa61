// The reduction family: dim handling and the plan every reduction kernel runs on, and the
// family's registration (the kernels live in reduce_sum, reduce_minmax, reduce_moments,
// reduce_norm, reduce_logic and reduce_scan).
#include <algorithm>
#include <numeric>

#include "ops/reduce_impl.h"
#include "ops/registration.h"

namespace vt {
namespace reduce {

DimVector reduction_dims(const Tensor& self, std::optional<IntArrayRef> dims, const char* op,
                         bool empty_means_all) {
  DimVector out;
  if (!dims || (dims->empty() && empty_means_all)) {
    for (int64_t d = 0; d < self.dim(); ++d) out.push_back(d);
    return out;
  }
  uint64_t seen = 0;  // VT_MAX_DIMS == 64
  for (int64_t d : *dims) {
    int64_t w = wrap_dim(d, self.dim(), op);
    VT_CHECK(!(seen >> w & 1), op, ": dim ", w, " appears multiple times in the list of dims");
    seen |= uint64_t(1) << w;
    if (self.dim() > 0) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

DimVector reduced_shape(const Tensor& self, const DimVector& dims, bool keepdim) {
  DimVector shape;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(self.sizes()[d]);
    else if (keepdim) shape.push_back(1);
  }
  return shape;
}

void check_nonempty(const Tensor& self, const DimVector& dims, const char* op) {
  for (int64_t d : dims)
    VT_CHECK_INDEX(self.sizes()[d] != 0, op, "(): Expected reduction dim ", d,
                   " to have non-zero size.");
}

namespace {

// Appends (size, stride) as the new innermost dim, merging it into the previous one when the
// two are one contiguous walk.
void push_dim(DimVector& sizes, DimVector& strides, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (!sizes.empty() && strides.back() == size * stride) {
    sizes[sizes.size() - 1] *= size;
    strides[strides.size() - 1] = stride;
    return;
  }
  sizes.push_back(size);
  strides.push_back(stride);
}

}  // namespace

ReducePlan make_plan(const Tensor& self, const DimVector& dims, bool keepdim, bool logical_order) {
  ReducePlan p;
  p.data = self.data();
  p.out_shape = reduced_shape(self, dims, keepdim);
  const int64_t nd = self.dim();
  DimVector order;  // reduced dims, outermost first
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t size = self.sizes()[d];
    if (std::binary_search(dims.begin(), dims.end(), d)) {
      p.red_numel *= size;
      order.push_back(d);
    } else {
      p.out_numel *= size;
      push_dim(p.kept_sizes, p.kept_strides, size, self.strides()[d]);
    }
  }
  if (!logical_order)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return self.strides()[a] > self.strides()[b];
    });
  for (int64_t d : order) push_dim(p.red_sizes, p.red_strides, self.sizes()[d], self.strides()[d]);
  // Columns when the outputs are the contiguous direction and no reduced dim is.
  p.columns = !p.kept_sizes.empty() && p.kept_strides.back() == 1 && !p.red_sizes.empty() &&
              p.red_strides.back() != 1;
  return p;
}

}  // namespace reduce

void register_reduce_ops() {
  reduce::register_sum_ops();
  reduce::register_minmax_ops();
  reduce::register_moment_ops();
  reduce::register_norm_ops();
  reduce::register_logic_ops();
  reduce::register_scan_ops();
}

}  // namespace vt
