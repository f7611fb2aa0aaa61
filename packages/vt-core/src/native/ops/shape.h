// Shape ops: joining, splitting, reordering and padding tensors. Views where torch gives views
// (split, chunk, unbind, narrow, movedim, flatten and unflatten when possible), copies otherwise.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "core/device.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "dispatch/boxing.h"

namespace vt {

// Joining: dtypes promote as in torch; 1-D empty tensors are skipped by cat.
Tensor cat(TensorList tensors, int64_t dim = 0);
Tensor stack(TensorList tensors, int64_t dim = 0);

// Splitting into views.
std::vector<Tensor> split(const Tensor& self, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& self, IntArrayRef split_sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& self, int64_t chunks, int64_t dim = 0);
std::vector<Tensor> unbind(const Tensor& self, int64_t dim = 0);
Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length);

// Reshaping views (flatten and unflatten copy only when strides do not allow a view).
Tensor flatten(const Tensor& self, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& self, int64_t dim, IntArrayRef sizes);
Tensor movedim(const Tensor& self, IntArrayRef source, IntArrayRef destination);

// Copies that rearrange elements.
Tensor flip(const Tensor& self, IntArrayRef dims);
Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims = {});
Tensor repeat(const Tensor& self, IntArrayRef repeats);
Tensor tile(const Tensor& self, IntArrayRef dims);
Tensor tril(const Tensor& self, int64_t diagonal = 0);
Tensor triu(const Tensor& self, int64_t diagonal = 0);
const Tensor& tril_(const Tensor& self, int64_t diagonal = 0);
const Tensor& triu_(const Tensor& self, int64_t diagonal = 0);

// torch.nn.functional.pad: pad lists (left, right) pairs from the last dim backwards; modes
// "constant" (negative pads crop), "reflect", "replicate" and "circular".
Tensor pad(const Tensor& self, IntArrayRef pad, std::string_view mode = "constant",
           std::optional<double> value = std::nullopt);

}  // namespace vt
