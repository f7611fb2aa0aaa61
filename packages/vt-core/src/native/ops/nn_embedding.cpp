// embedding: a row gather from a (num_embeddings, dim) table by integer indices of any shape.
#include <cstring>

#include "dispatch/dispatcher.h"
#include "ops/nn.h"
#include "ops/nn_internal.h"
#include "ops/ops.h"

namespace vt {
namespace nn {
namespace {

Tensor embedding_kernel(const Tensor& weight, const Tensor& indices, int64_t padding_idx,
                        bool scale_grad_by_freq, bool sparse) {
  VT_CHECK(weight.dim() == 2, "'weight' must be 2-D");
  VT_CHECK(indices.dtype() == ScalarType::Int64 || indices.dtype() == ScalarType::Int32,
           "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
           "int64, int32; but got ", dtype_name(indices.dtype()), " instead (while checking "
           "arguments for embedding)");
  const int64_t rows = weight.sizes()[0], dim = weight.sizes()[1];
  DimVector out_shape(indices.sizes());
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  const Tensor idx = contiguous(indices);
  const int64_t n = idx.numel(), item = weight.itemsize();
  const int64_t row_stride = weight.strides()[0] * item, col_stride = weight.strides()[1] * item;
  const char* src = weight.data();
  char* dst = out.data();
  visit_dtype(idx.dtype(), [&](auto tag) {
    using I = decltype(tag);
    if constexpr (std::is_same_v<I, int64_t> || std::is_same_v<I, int32_t>) {
      const I* ip = idx.data_as<I>();
      const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(dim, 1));
      parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const int64_t r = int64_t(ip[k]);
          VT_CHECK_INDEX(r >= 0 && r < rows, "index out of range in self");
          const char* row = src + r * row_stride;
          char* to = dst + k * dim * item;
          if (col_stride == item) {
            std::memcpy(to, row, size_t(dim * item));
          } else {
            for (int64_t j = 0; j < dim; ++j) std::memcpy(to + j * item, row + j * col_stride, size_t(item));
          }
        }
      });
    }
  });
  return out;
}

}  // namespace

void register_embedding_ops() {
  define_kernel("vt::embedding(Tensor weight, Tensor indices, int padding_idx=-1, "
                "bool scale_grad_by_freq=False, bool sparse=False) -> Tensor",
                VT_DEVICE_CPU, &embedding_kernel);
}

}  // namespace nn

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  static const OpHandle<Tensor(const Tensor&, const Tensor&, int64_t, bool, bool)> op("vt::embedding");
  return op(weight, indices, padding_idx, false, false);
}

}  // namespace vt
