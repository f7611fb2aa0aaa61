// index_add and index_copy: source slice i lands on self slice index[i] along dim, added or
// copied. The 1-D index is seen with source's shape and handed to the scatter machinery.
#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"

namespace vt {
namespace {

using namespace index_detail;

// index_add_ / index_copy_: source slice i lands on self slice index[i] along dim.
void index_accumulate(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                      const Scalar& alpha, bool copy) {
  const char* name = copy ? "index_copy_" : "index_add_";
  int64_t d = wrap_dim(dim, self.dim(), name);
  if (copy) {
    VT_CHECK_INDEX(index.dim() <= 1, "index_copy_(): Index should have dimension 1 or 0 (got ",
                   index.dim(), ")");
    VT_CHECK(index.dtype() == ScalarType::Int64, "index_copy_(): Expected a long tensor for index, "
             "but got ", legacy_name(index.dtype()));
    VT_CHECK(self.dtype() == source.dtype(), "index_copy_(): self and source expected to have the "
             "same dtype, but got (self) ", legacy_name(self.dtype()), " and (source) ",
             legacy_name(source.dtype()));
  } else {
    VT_CHECK_INDEX(index.dim() <= 1, "index_add_(): Index is supposed to be a vector, but got dim: ",
                   index.dim(), " with type: ", legacy_name(index.dtype()), " and size: ",
                   shape_string(index.sizes()));
    VT_CHECK(index.dtype() == ScalarType::Int64 || index.dtype() == ScalarType::Int32,
             "index_add_(): Expected dtype int32/int64 for index");
    VT_CHECK(self.dtype() == source.dtype(), "index_add_(): self (", legacy_name(self.dtype()),
             ") and source (", legacy_name(source.dtype()), ") must have the same scalar type");
  }
  Tensor s1 = as_1d(self), src1 = as_1d(source), idx1 = as_1d(as_long(index));
  bool same_slices = s1.dim() == src1.dim();
  for (int64_t k = 0; same_slices && k < s1.dim(); ++k)
    same_slices = k == d || s1.sizes()[k] == src1.sizes()[k];
  if (!same_slices)
    fail(copy ? VT_ERROR_INDEX : VT_ERROR_INVALID_ARGUMENT, copy ? "index_copy_(): " : "",
         "source tensor shape must match self tensor shape, excluding the specified dimension. "
         "Got self.shape = ", shape_string(self.sizes()), " source.shape = ",
         shape_string(source.sizes()));
  if (src1.sizes()[d] != idx1.numel())
    fail(copy ? VT_ERROR_INDEX : VT_ERROR_INVALID_ARGUMENT, name, "(): Number of indices (",
         idx1.numel(), ") should be equal to source.size(dim)", copy ? " (" : ": (",
         src1.sizes()[d], ")", copy ? "" : ", for dim: ", copy ? std::string() : std::to_string(d));
  check_index_range(idx1, s1.sizes()[d], d, false, copy ? VT_ERROR_INDEX : VT_ERROR_INVALID_ARGUMENT,
                    copy ? "index_copy_(): " : "");
  check_writable(self, name);
  // The 1-D index seen with source's shape: it varies along dim only.
  DimVector strides(src1.dim(), 0);
  strides[d] = idx1.strides()[0];
  Tensor idx = idx1.view_as_strided(src1.sizes(), strides, idx1.storage_offset());
  scatter_reduce_into(name, s1, d, idx, src1, Scalar(), copy ? ScatterReduce::Assign : ScatterReduce::Sum,
                      true, alpha);
  self.bump_version();
}

Tensor index_add_inplace(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                         const Scalar& alpha) {
  index_accumulate(self, dim, index, source, alpha, false);
  return self;
}
Tensor index_copy_inplace(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  index_accumulate(self, dim, index, source, Scalar(int64_t(1)), true);
  return self;
}
Tensor index_add_kernel(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                        const Scalar& alpha) {
  return on_copy(self, [&](const Tensor& o) { vt::index_add_(o, dim, index, source, alpha); });
}
Tensor index_copy_kernel(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  return on_copy(self, [&](const Tensor& o) { vt::index_copy_(o, dim, index, source); });
}

}  // namespace

namespace index_detail {

void register_accumulate_kernels() {
  auto both = [](const char* functional, auto fn, const char* inplace, auto fn_) {
    define_kernel(functional, VT_DEVICE_ANY, fn);
    define_kernel(inplace, VT_DEVICE_CPU, fn_);
  };
  both("vt::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor",
       &index_add_kernel,
       "vt::index_add_(Tensor(a!) self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor(a!)",
       &index_add_inplace);
  both("vt::index_copy(Tensor self, int dim, Tensor index, Tensor source) -> Tensor", &index_copy_kernel,
       "vt::index_copy_(Tensor(a!) self, int dim, Tensor index, Tensor source) -> Tensor(a!)",
       &index_copy_inplace);
}

}  // namespace index_detail
}  // namespace vt
