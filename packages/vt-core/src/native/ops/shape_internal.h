// Shared by the shape family's files: their registration functions and small layout helpers.
#pragma once

#include "core/tensor.h"

namespace vt::shape_detail {

void register_view_kernels();  // shape_views.cpp
void register_copy_kernels();  // shape_copy.cpp
void register_pad_kernels();   // shape_pad.cpp

// Strides that cover memory once without gaps, in some dim order (torch's
// is_non_overlapping_and_dense).
bool is_non_overlapping_and_dense(const Tensor& t);

// torch's empty_like(preserve_format): a dense layout keeps its strides, anything else
// (expanded, sliced with gaps) gets a contiguous tensor.
Tensor empty_like_preserving(const Tensor& self);

// Wrapped dims, each at most once ("dim 0 appears multiple times in the list of dims").
DimVector unique_dims(IntArrayRef dims, int64_t ndim, const char* op);

}  // namespace vt::shape_detail
