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
  std::vector<Tensor> out(next_edges.size());
  if (grads.empty() || !grads[0].defined()) return out;
  Tensor result = ops::contiguous(ops::call<"vt::clone">(grads[0]));
  std::vector<Tensor> res;
  if (grad_enabled()) {
    // create_graph: every step goes through the dispatcher so it is recorded. The region is
    // read from its own copy, because `result` is written below and the read must keep the
    // value from before the write.
    Tensor source = ops::contiguous(ops::call<"vt::clone">(grads[0]));
    res = fn_->apply({ops::call<"vt::clone">(ops::call<"vt::as_strided">(source, sizes_, strides_, offset_))});
    validate_outputs(*fn_, res);
    Tensor region = ops::call<"vt::as_strided">(result, sizes_, strides_, offset_);
    if (!res.empty() && res[0].defined()) ops::call<"vt::copy_">(region, res[0]);
    else ops::call<"vt::fill_">(region, 0.0);
  } else {
    vt_tensor_t region_handle = nullptr;
    check(api().tensor_as_strided(result.get(), sizes_.data(), strides_.data(), int64_t(sizes_.size()),
                                  offset_, &region_handle));
    Tensor region = Tensor::adopt(region_handle);
    res = fn_->apply({ops::call<"vt::clone">(region)});
    validate_outputs(*fn_, res);
    if (!res.empty() && res[0].defined()) check(api().tensor_copy_(region.get(), res[0].get()));
    else ops::call<"vt::fill_">(region, 0.0);
  }
  out[0] = result;
  for (size_t i = 1; i < res.size() && i < out.size(); ++i) out[i] = res[i];
  return out;
}

}  // namespace vt::autograd
