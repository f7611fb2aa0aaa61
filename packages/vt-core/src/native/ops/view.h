// Views: new geometry over the same storage, never a copy.
#pragma once

#include <optional>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// Views: share storage, never copy.
Tensor as_strided(const Tensor& self, IntArrayRef size, IntArrayRef stride,
                  std::optional<int64_t> storage_offset = std::nullopt);
Tensor view(const Tensor& self, IntArrayRef size);
Tensor reshape(const Tensor& self, IntArrayRef size);  // a view when possible, else a copy
Tensor permute(const Tensor& self, IntArrayRef dims);
Tensor transpose(const Tensor& self, int64_t dim0, int64_t dim1);
Tensor expand(const Tensor& self, IntArrayRef size);
Tensor squeeze(const Tensor& self, std::optional<IntArrayRef> dims = std::nullopt);
Tensor unsqueeze(const Tensor& self, int64_t dim);
Tensor slice(const Tensor& self, int64_t dim, std::optional<int64_t> start,
             std::optional<int64_t> end, int64_t step = 1);
Tensor select(const Tensor& self, int64_t dim, int64_t index);
Tensor contiguous(const Tensor& self);
Tensor clone(const Tensor& self);

}  // namespace vt
