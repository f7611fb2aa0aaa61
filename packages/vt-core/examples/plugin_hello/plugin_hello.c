/* hello: the smallest vt operator plugin, in C11. It defines hello::scale_add and a CPU kernel
   through the function table handed to vt_plugin_init, so it needs vt-core's headers but never
   links against libvt_core. */
#include <stdint.h>
#include <stdio.h>

#include "vt/c/vt.h"

#ifdef VT_PLUGIN_TEST_ABI_MAJOR
/* Test builds claim another ABI major, to prove that the loader refuses them before init runs. */
VT_API const vt_plugin_info_t* vt_plugin_info(void) {
  static const vt_plugin_info_t info = {sizeof(vt_plugin_info_t), VT_PLUGIN_TEST_ABI_MAJOR, 0,
                                        "hello", "0.1.0"};
  return &info;
}
#else
VT_DEFINE_PLUGIN_INFO("hello", "0.1.0")
#endif

static const vt_api_t* g_api; /* set once by vt_plugin_init */

/* out = self + alpha * other over one strided run; strides are in bytes and may be 0
   (broadcast) or anything else a view has, so no contiguity is assumed. */
static void scale_add_loop(void* context, char** data, const int64_t* strides, int64_t n) {
  const float alpha = *(const float*)context;
  char* out = data[0];
  const char* self = data[1];
  const char* other = data[2];
  for (int64_t i = 0; i < n; ++i) {
    const float a = *(const float*)(self + i * strides[1]);
    const float b = *(const float*)(other + i * strides[2]);
    *(float*)(out + i * strides[0]) = a + alpha * b;
  }
}

static vt_status_t fail(vt_status_t status, const char* message) {
  g_api->set_last_error(status, message);
  return status;
}

/* Boxed kernel: args are (self, other, alpha) with the schema's default already filled in. */
static vt_status_t scale_add_kernel(void* context, vt_op_t op, const vt_value_t* args,
                                    int64_t nargs, vt_value_t* outs, int64_t nouts) {
  (void)context;
  (void)op;
  if (nargs != 3 || nouts != 1)
    return fail(VT_ERROR_INTERNAL, "hello::scale_add: called with the wrong number of values");
  /* A float argument also accepts a Python int, which arrives as VT_VALUE_INT. */
  const float alpha = args[2].tag == VT_VALUE_INT ? (float)args[2].u.i : (float)args[2].u.d;

  vt_tensor_t outputs[1] = {NULL}; /* NULL: the iterator allocates the broadcast result */
  vt_tensor_t inputs[2] = {args[0].u.tensor, args[1].u.tensor};
  vt_iter_config_t config = {.struct_size = sizeof(vt_iter_config_t),
                             .outputs = outputs,
                             .num_outputs = 1,
                             .inputs = inputs,
                             .num_inputs = 2,
                             .promote_inputs = 1};
  vt_iter_t iter = NULL;
  vt_status_t status = g_api->iter_build(&config, &iter);
  if (status != VT_OK) return status;

  int32_t dtype = 0;
  status = g_api->iter_common_dtype(iter, &dtype);
  if (status == VT_OK && dtype != VT_DTYPE_FLOAT32) {
    const char* name = "?";
    char message[160];
    g_api->dtype_name(dtype, &name);
    snprintf(message, sizeof message,
             "hello::scale_add: only float32 is implemented, but the inputs promote to %s", name);
    status = fail(VT_ERROR_NOT_IMPLEMENTED, message);
  }
  if (status == VT_OK) status = g_api->iter_for_each(iter, scale_add_loop, (void*)&alpha, 0);
  if (status == VT_OK) {
    vt_tensor_t result = NULL;
    status = g_api->iter_output(iter, 0, &result);
    if (status == VT_OK) {
      outs[0].tag = VT_VALUE_TENSOR;
      outs[0].u.tensor = result; /* a new reference, owned by the caller */
    }
  }
  g_api->iter_destroy(iter);
  return status;
}

VT_API vt_status_t vt_plugin_init(const vt_api_t* api) {
  if (!api || api->struct_size < sizeof(vt_api_t)) return VT_ERROR_VERSION_MISMATCH;
  g_api = api;
  vt_op_t op = NULL;
  vt_status_t status = api->op_define(
      "hello::scale_add(Tensor self, Tensor other, float alpha=1.0) -> Tensor", 0, &op);
  if (status != VT_OK) return status;
  return api->op_register_kernel(op, VT_DEVICE_CPU, scale_add_kernel, NULL);
}
