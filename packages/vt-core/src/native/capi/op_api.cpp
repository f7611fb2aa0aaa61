#include <cstdlib>

#include "capi/guard.h"
#include "dispatch/dispatcher.h"
#include "vt/c/op.h"

using vt::capi::guard;
using vt::Op;

namespace {
Op& op_of(vt_op_t op, const char* fn) {
  VT_CHECK_VALUE(op != nullptr, fn, ": op handle is NULL");
  return *Op::from_c(op);
}
}  // namespace

extern "C" {

VT_API vt_status_t vt_op_define(const char* schema, uint32_t flags, vt_op_t* out) {
  return guard([&] {
    VT_CHECK_ARG(schema, "vt_op_define");
    VT_CHECK_VALUE((flags & ~uint32_t(VT_OP_FLAG_MIXED_DEVICES)) == 0,
                   "vt_op_define: unknown flags ", flags);
    Op& op = vt::define_op(schema, flags);
    if (out) *out = op.to_c();
  });
}

VT_API vt_status_t vt_op_lookup(const char* name, vt_op_t* out) {
  return guard([&] {
    VT_CHECK_ARG(name, "vt_op_lookup");
    VT_CHECK_ARG(out, "vt_op_lookup");
    *out = vt::get_op(name).to_c();
  });
}

VT_API vt_status_t vt_op_schema(vt_op_t op, const char** out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_op_schema");
    *out = op_of(op, "vt_op_schema").schema().text.c_str();
  });
}

VT_API vt_status_t vt_op_name(vt_op_t op, const char** out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_op_name");
    *out = op_of(op, "vt_op_name").name().c_str();
  });
}

VT_API vt_status_t vt_op_num_returns(vt_op_t op, int64_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_op_num_returns");
    *out = int64_t(op_of(op, "vt_op_num_returns").schema().returns.size());
  });
}

VT_API vt_status_t vt_op_register_kernel(vt_op_t op, int32_t device_type, vt_boxed_kernel_fn fn,
                                         void* context) {
  return guard([&] {
    VT_CHECK_ARG(fn, "vt_op_register_kernel");
    op_of(op, "vt_op_register_kernel").set_kernel(device_type, {fn, context, nullptr, nullptr});
  });
}

VT_API vt_status_t vt_op_register_layer(vt_op_t op, int32_t layer, vt_boxed_kernel_fn fn,
                                        void* context) {
  return guard([&] {
    VT_CHECK_ARG(fn, "vt_op_register_layer");
    if (op) Op::from_c(op)->set_layer(layer, {fn, context, nullptr, nullptr});
    else vt::set_fallback_layer(layer, {fn, context, nullptr, nullptr});
  });
}

VT_API vt_status_t vt_op_call(vt_op_t op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
                              int64_t nouts) {
  return guard([&] {
    VT_CHECK_VALUE(nargs == 0 || args, "vt_op_call: args is NULL");
    VT_CHECK_VALUE(nouts == 0 || outs, "vt_op_call: outs is NULL");
    vt::call_boxed(op_of(op, "vt_op_call"), args, nargs, outs, nouts);
  });
}

VT_API vt_status_t vt_op_call_below(vt_op_t op, int32_t layer, const vt_value_t* args,
                                    int64_t nargs, vt_value_t* outs, int64_t nouts) {
  return guard([&] {
    VT_CHECK_VALUE(layer >= 0 && layer < VT_LAYER_COUNT, "vt_op_call_below: no layer ", layer);
    VT_CHECK_VALUE(nargs == 0 || args, "vt_op_call_below: args is NULL");
    VT_CHECK_VALUE(nouts == 0 || outs, "vt_op_call_below: outs is NULL");
    vt::call_boxed(op_of(op, "vt_op_call_below"), args, nargs, outs, nouts, (1u << layer) - 1);
  });
}

VT_API uint32_t vt_layers_set_excluded(uint32_t mask) {
  return std::exchange(vt::layer_state().excluded, mask);
}

VT_API uint32_t vt_layers_set_included(uint32_t mask) {
  return std::exchange(vt::layer_state().included, mask);
}

VT_API void vt_value_release(vt_value_t* v) {
  if (!v) return;
  if (v->tag == VT_VALUE_TENSOR) {
    vt_tensor_release(v->u.tensor);
  } else if (v->tag == VT_VALUE_TENSOR_LIST) {
    for (int64_t i = 0; i < v->u.tensors.size; ++i) vt_tensor_release(v->u.tensors.data[i]);
    vt_host_free(const_cast<vt_tensor_t*>(v->u.tensors.data));
  } else if (v->tag == VT_VALUE_INT_LIST) {
    vt_host_free(const_cast<int64_t*>(v->u.ints.data));
  } else if (v->tag == VT_VALUE_STRING) {
    vt_host_free(const_cast<char*>(v->u.str.data));
  }
  *v = vt_value_t{};
}

VT_API void* vt_host_alloc(size_t nbytes) { return std::malloc(nbytes ? nbytes : 1); }
VT_API void vt_host_free(void* ptr) { std::free(ptr); }

}  // extern "C"
