#include <algorithm>

#include "capi/guard.h"
#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"
#include "vt/c/iterator.h"

using vt::capi::guard;
using vt::Tensor;
using vt::TensorIterator;

namespace {
TensorIterator& iter_of(vt_iter_t it, const char* fn) {
  VT_CHECK_VALUE(it != nullptr, fn, ": iterator handle is NULL");
  return *reinterpret_cast<TensorIterator*>(it);
}
}  // namespace

extern "C" {

VT_API vt_status_t vt_iter_build(const vt_iter_config_t* config, vt_iter_t* out) {
  return guard([&] {
    VT_CHECK_ARG(config, "vt_iter_build");
    VT_CHECK_ARG(out, "vt_iter_build");
    VT_CHECK_VALUE(config->struct_size >= sizeof(vt_iter_config_t),
                   "vt_iter_build: struct_size is too small");
    VT_CHECK_VALUE(config->num_outputs >= 1 && config->num_inputs >= 0 &&
                       config->num_outputs + config->num_inputs <= vt::kMaxOperands,
                   "vt_iter_build: between 1 and ", vt::kMaxOperands,
                   " operands with at least one output are supported");
    VT_CHECK_VALUE(config->outputs && (config->num_inputs == 0 || config->inputs),
                   "vt_iter_build: operand arrays are NULL");
    vt::IterConfig c;
    c.op_name = "plugin iterator";
    for (int32_t i = 0; i < config->num_outputs; ++i)
      c.outputs.push_back(config->outputs[i] ? Tensor::from_c_borrowed(config->outputs[i]) : Tensor());
    for (int32_t i = 0; i < config->num_inputs; ++i) {
      VT_CHECK_VALUE(config->inputs[i], "vt_iter_build: input ", i, " is NULL");
      c.inputs.push_back(Tensor::from_c_borrowed(config->inputs[i]));
    }
    c.promote_inputs = config->promote_inputs != 0;
    c.promote_int_to_float = config->promote_int_to_float != 0;
    if (config->output_dtype) c.output_dtype = vt::checked_dtype(config->output_dtype);
    c.check_same_dtype = config->check_same_dtype != 0;
    if (config->reduce_dims) {
      VT_CHECK_VALUE(config->num_inputs == 1, "vt_iter_build: a reduction takes exactly one input");
      const Tensor& in = c.inputs[0];
      for (int32_t i = 0; i < config->num_reduce_dims; ++i)
        c.reduce_dims.push_back(vt::wrap_dim(config->reduce_dims[i], in.dim(), "vt_iter_build"));
      std::sort(c.reduce_dims.begin(), c.reduce_dims.end());
      for (int64_t i = 1; i < c.reduce_dims.size(); ++i)
        VT_CHECK_VALUE(c.reduce_dims[i] != c.reduce_dims[i - 1], "vt_iter_build: duplicate dim ",
                       c.reduce_dims[i]);
      c.is_reduction = true;
      c.keepdim = config->keepdim != 0;
    }
    *out = reinterpret_cast<vt_iter_t>(new TensorIterator(std::move(c)));
  });
}

VT_API void vt_iter_destroy(vt_iter_t it) { delete reinterpret_cast<TensorIterator*>(it); }

VT_API vt_status_t vt_iter_common_dtype(vt_iter_t it, int32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_iter_common_dtype");
    *out = int32_t(iter_of(it, "vt_iter_common_dtype").compute_dtype());
  });
}

VT_API vt_status_t vt_iter_output(vt_iter_t it, int32_t index, vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_iter_output");
    TensorIterator& i = iter_of(it, "vt_iter_output");
    VT_CHECK_INDEX(index >= 0 && index < i.num_outputs(), "vt_iter_output: index ", index,
                   " out of range for ", i.num_outputs(), " outputs");
    Tensor t = i.output(index);
    *out = std::move(t).to_c_owned();
  });
}

VT_API vt_status_t vt_iter_numel(vt_iter_t it, int64_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_iter_numel");
    *out = iter_of(it, "vt_iter_numel").numel();
  });
}

VT_API vt_status_t vt_iter_for_each(vt_iter_t it, vt_iter_loop_fn fn, void* context,
                                    int64_t grain_size) {
  return guard([&] {
    VT_CHECK_ARG(fn, "vt_iter_for_each");
    TensorIterator& i = iter_of(it, "vt_iter_for_each");
    i.for_each([fn, context](char** data, const int64_t* strides, int64_t n) {
      fn(context, data, strides, n);
    }, grain_size > 0 ? grain_size : vt::kGrainSize);
    i.finish();
  });
}

}  // extern "C"
