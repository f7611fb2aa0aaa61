/* Operators: boxed values, definition by schema, kernels per device, wrapper layers, calls. */
#ifndef VT_C_OP_H
#define VT_C_OP_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/device.h"
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

typedef enum vt_value_tag {
  VT_VALUE_NONE = 0, /* an absent optional */
  VT_VALUE_TENSOR = 1,
  VT_VALUE_INT = 2,
  VT_VALUE_DOUBLE = 3,
  VT_VALUE_BOOL = 4,
  VT_VALUE_INT_LIST = 5,
  VT_VALUE_STRING = 6,
  VT_VALUE_DTYPE = 7,
  VT_VALUE_DEVICE = 8,
  VT_VALUE_TENSOR_LIST = 9
} vt_value_tag_t;

/* A tagged value. In kernel arguments everything is borrowed. In results a kernel writes new
   references (tensors) and arrays from vt_host_alloc; the receiver frees them with
   vt_value_release. A Scalar argument arrives as INT, DOUBLE or BOOL. */
typedef struct vt_value {
  int32_t tag; /* vt_value_tag_t */
  int32_t reserved;
  union {
    vt_tensor_t tensor;
    int64_t i;
    double d;
    int32_t b;
    int32_t dtype;
    vt_device_t device;
    struct { const int64_t* data; int64_t size; } ints;
    struct { const char* data; int64_t size; } str;
    struct { const vt_tensor_t* data; int64_t size; } tensors;
  } u;
} vt_value_t;

/* A kernel or layer in boxed form. args are borrowed; outs are filled with owned values. */
typedef vt_status_t (*vt_boxed_kernel_fn)(void* context, vt_op_t op, const vt_value_t* args,
                                          int64_t nargs, vt_value_t* outs, int64_t nouts);

/* Wrapper layers. When several apply, the higher value wraps the lower (trace, then Python, then
   autograd, then the kernel). A tensor asks for a layer by setting its bit (1u << layer) in its
   layer mask; a thread can force or exclude layers. */
typedef enum vt_layer {
  VT_LAYER_AUTOGRAD = 0,
  VT_LAYER_PYTHON = 1,
  VT_LAYER_TRACE = 2,
  VT_LAYER_COUNT = 3
} vt_layer_t;

/* The pseudo device type for a kernel that serves every device (views, composites). */
#define VT_DEVICE_ANY 0

/* Op flags given at definition. */
#define VT_OP_FLAG_MIXED_DEVICES 1u /* skip the one-device check (copies between devices) */

VT_EXTERN_C_BEGIN
/* Defines an op from a schema such as
   "myns::scale(Tensor self, float factor=1.0) -> Tensor". Redefining the same schema is a no-op;
   a different schema under the same name fails. out (may be NULL): the op handle. */
VT_API vt_status_t vt_op_define(const char* schema, uint32_t flags, vt_op_t* out);
/* out: the op handle for "ns::name"; VT_ERROR_VALUE when no such op exists. Handles live for the
   process, so callers look up once and cache. */
VT_API vt_status_t vt_op_lookup(const char* qualified_name, vt_op_t* out);
/* out (borrowed): the schema string and the name. */
VT_API vt_status_t vt_op_schema(vt_op_t op, const char** out_schema);
VT_API vt_status_t vt_op_name(vt_op_t op, const char** out_name);
VT_API vt_status_t vt_op_num_returns(vt_op_t op, int64_t* out);
/* Registers a kernel for one device type (or VT_DEVICE_ANY); replaces a previous one. */
VT_API vt_status_t vt_op_register_kernel(vt_op_t op, int32_t device_type,
                                         vt_boxed_kernel_fn fn, void* context);
/* Registers a wrapper layer for one op, or for every op when op is NULL (a fallback). */
VT_API vt_status_t vt_op_register_layer(vt_op_t op, int32_t layer, vt_boxed_kernel_fn fn,
                                        void* context);
/* Calls the op through every layer that applies. outs receive owned values. */
VT_API vt_status_t vt_op_call(vt_op_t op, const vt_value_t* args, int64_t nargs,
                              vt_value_t* outs, int64_t nouts);
/* Calls the op skipping `layer` and every layer above it: how a layer redispatches. */
VT_API vt_status_t vt_op_call_below(vt_op_t op, int32_t layer, const vt_value_t* args,
                                    int64_t nargs, vt_value_t* outs, int64_t nouts);
/* Thread-local layer state; returns the previous mask so a caller can restore it. */
VT_API uint32_t vt_layers_set_excluded(uint32_t mask);
VT_API uint32_t vt_layers_set_included(uint32_t mask);
/* Releases what a value owns (tensor references, lists from vt_host_alloc) and sets it NONE. */
VT_API void vt_value_release(vt_value_t* value);
/* Host memory for result lists handed across the ABI. */
VT_API void* vt_host_alloc(size_t nbytes);
VT_API void vt_host_free(void* ptr);
VT_EXTERN_C_END

#endif /* VT_C_OP_H */
