// Gathering along one dim: index_select and gather. Both restride the input so the indexed
// dim has stride 0 and let take() add index * stride, over every output element in parallel.
#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"

namespace vt {
namespace {

using namespace index_detail;

Tensor index_select_kernel(const Tensor& self, int64_t dim, const Tensor& index) {
  VT_CHECK_INDEX(index.dim() <= 1, "index_select(): Index is supposed to be a vector");
  VT_CHECK(index.dtype() == ScalarType::Int64 || index.dtype() == ScalarType::Int32,
           "index_select(): Expected dtype int32 or int64 for index");
  int64_t d = wrap_dim(dim, self.dim(), "index_select");
  if (self.dim() == 0)
    VT_CHECK(index.numel() == 1, "index_select(): Index to scalar can have only 1 value, got ",
             index.numel(), " value(s)");
  Tensor src = as_1d(self);
  Tensor idx = as_1d(as_long(index));
  check_index_range(idx, src.sizes()[d], d, false, VT_ERROR_INDEX, "index_select(): ");
  DimVector shape = src.sizes();
  shape[d] = idx.numel();
  Tensor out = Tensor::empty(shape, self.dtype(), self.device());
  DimVector src_strides = src.strides(), idx_strides(src.dim(), 0);
  src_strides[d] = 0;
  idx_strides[d] = idx.strides()[0];
  take(out, src.view_as_strided(shape, src_strides, src.storage_offset()),
       idx.view_as_strided(shape, idx_strides, idx.storage_offset()),
       src.strides()[d] * src.itemsize(), 0);
  return self.dim() == 0 ? vt::view(out, DimVector{}) : out;
}

Tensor gather_kernel(const Tensor& self, int64_t dim, const Tensor& index, bool sparse_grad) {
  VT_CHECK(index.dtype() == ScalarType::Int64 || index.dtype() == ScalarType::Int32,
           "gather(): Expected dtype int64 for index");
  int64_t d = wrap_dim(dim, self.dim(), "gather");
  Tensor src = as_1d(self), idx = as_1d(as_long(index));
  VT_CHECK(src.dim() == idx.dim(), "Index tensor must have the same number of dimensions as input tensor");
  for (int64_t k = 0; k < src.dim(); ++k)
    VT_CHECK(k == d || idx.sizes()[k] <= src.sizes()[k], "Size does not match at dimension ", k,
             " expected index ", shape_string(index.sizes()), " to be no larger than self ",
             shape_string(self.sizes()), " apart from dimension ", d);
  check_index_range(idx, src.sizes()[d], d, false, VT_ERROR_INVALID_ARGUMENT);
  Tensor out = Tensor::empty(index.sizes(), self.dtype(), self.device());
  DimVector src_strides = src.strides();
  src_strides[d] = 0;
  take(as_1d(out), src.view_as_strided(idx.sizes(), src_strides, src.storage_offset()), idx,
       src.strides()[d] * src.itemsize(), 0);
  return out;
}

}  // namespace

namespace index_detail {

void register_gather_kernels() {
  define_kernel("vt::index_select(Tensor self, int dim, Tensor index) -> Tensor", VT_DEVICE_CPU,
                &index_select_kernel);
  define_kernel("vt::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor",
                VT_DEVICE_CPU, &gather_kernel);
}

}  // namespace index_detail
}  // namespace vt
