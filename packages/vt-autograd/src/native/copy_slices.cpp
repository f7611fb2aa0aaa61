#include "copy_slices.h"

#include "engine.h"
#include "grad_mode.h"
#include "meta.h"
#include "ops.h"

namespace vt::autograd {

CopySlices::CopySlices(const Tensor& base, const Tensor& view, std::shared_ptr<Node> fn)
    : fn_(std::move(fn)) {
  vt_tensor_desc_t b{}, v{};
  b.struct_size = v.struct_size = sizeof(vt_tensor_desc_t);
  check(api().tensor_describe(base.get(), &b));
  check(api().tensor_describe(view.get(), &v));
  sizes_.assign(v.sizes, v.sizes + v.ndim);
  strides_.assign(v.strides, v.strides + v.ndim);
  offset_ = v.storage_offset - b.storage_offset;
  next_edges.push_back(gradient_edge(base));
  input_meta.push_back(TensorMeta::of(base.get()));
  output_meta.push_back(input_meta.back());
  for (size_t i = 1; i < fn_->next_edges.size(); ++i) {
    next_edges.push_back(fn_->next_edges[i]);
    input_meta.push_back(fn_->input_meta[i]);
  }
}

std::vector<Tensor> CopySlices::apply(std::vector<Tensor>&& grads) {
  if (grad_enabled())
    fail(VT_ERROR_NOT_IMPLEMENTED, "create_graph through an in-place operation on a view is not "
         "implemented");
  std::vector<Tensor> out(next_edges.size());
  if (grads.empty() || !grads[0].defined()) return out;
  Tensor result = ops::contiguous(ops::call<"vt::clone">(grads[0]));
  vt_tensor_t slice_handle = nullptr;
  check(api().tensor_as_strided(result.get(), sizes_.data(), strides_.data(), int64_t(sizes_.size()),
                                offset_, &slice_handle));
  Tensor slice = Tensor::adopt(slice_handle);
  std::vector<Tensor> res = fn_->apply({ops::call<"vt::clone">(slice)});
  validate_outputs(*fn_, res);
  if (!res.empty() && res[0].defined()) check(api().tensor_copy_(slice.get(), res[0].get()));
  else ops::call<"vt::fill_">(slice, 0.0);
  out[0] = result;
  for (size_t i = 1; i < res.size() && i < out.size(); ++i) out[i] = res[i];
  return out;
}

}  // namespace vt::autograd
