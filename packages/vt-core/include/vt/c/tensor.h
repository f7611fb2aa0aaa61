/* Tensors: create, describe, share. Sizes and strides are in elements. */
#ifndef VT_C_TENSOR_H
#define VT_C_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/device.h"
#include "vt/c/dtype.h"
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

#define VT_MAX_DIMS 64

/* Filled by vt_tensor_describe. The caller sets struct_size; sizes/strides point into the
   tensor and stay valid while the caller holds a reference and does not resize it. */
typedef struct vt_tensor_desc {
  size_t struct_size;
  int64_t ndim;
  const int64_t* sizes;   /* borrowed */
  const int64_t* strides; /* borrowed, in elements */
  int32_t dtype;          /* vt_dtype_t */
  vt_device_t device;
  int64_t storage_offset; /* in elements */
  int64_t numel;
} vt_tensor_desc_t;

/* Called once when the last tensor over a from_blob buffer is released. */
typedef void (*vt_deleter_fn)(void* data, void* context);

VT_EXTERN_C_BEGIN
/* out (new reference): an uninitialized contiguous tensor. strides == NULL means contiguous. */
VT_API vt_status_t vt_tensor_empty(const int64_t* sizes, int64_t ndim, int32_t dtype,
                                   vt_device_t device, vt_tensor_t* out);
/* out (new reference): a tensor over memory the caller owns; deleter (may be NULL) runs when the
   last reference goes. strides may be NULL (contiguous). */
VT_API vt_status_t vt_tensor_from_blob(void* data, const int64_t* sizes, const int64_t* strides,
                                       int64_t ndim, int32_t dtype, vt_device_t device,
                                       vt_deleter_fn deleter, void* deleter_context,
                                       vt_tensor_t* out);
VT_API vt_status_t vt_tensor_retain(vt_tensor_t tensor);
VT_API vt_status_t vt_tensor_release(vt_tensor_t tensor); /* NULL is accepted and ignored */
VT_API vt_status_t vt_tensor_describe(vt_tensor_t tensor, vt_tensor_desc_t* out);
/* out (borrowed): address of element 0 (storage base + offset * itemsize). */
VT_API vt_status_t vt_tensor_data_ptr(vt_tensor_t tensor, void** out);
VT_API vt_status_t vt_tensor_is_contiguous(vt_tensor_t tensor, int32_t* out);
/* Copies src into dst with broadcasting and dtype conversion, across devices through the
   device's stream hooks. */
VT_API vt_status_t vt_tensor_copy_(vt_tensor_t dst, vt_tensor_t src);
/* out (new reference): a view with the given geometry over the same storage. */
VT_API vt_status_t vt_tensor_as_strided(vt_tensor_t tensor, const int64_t* sizes,
                                        const int64_t* strides, int64_t ndim,
                                        int64_t storage_offset, vt_tensor_t* out);
/* out: the version counter shared by all views of the storage (bumped by in-place ops). */
VT_API vt_status_t vt_tensor_version(vt_tensor_t tensor, uint32_t* out);
VT_API vt_status_t vt_tensor_bump_version(vt_tensor_t tensor);
/* out: the size in bytes of the storage the tensor views (ABI 1.1): a tensor whose elements
   cover less than that is a view of a larger one. */
VT_API vt_status_t vt_tensor_storage_nbytes(vt_tensor_t tensor, size_t* out);
/* ABI 1.2. out: 1 when the tensor's storage was created inside inference mode. */
VT_API vt_status_t vt_tensor_is_inference(vt_tensor_t tensor, int32_t* out);
/* ABI 1.2. Inference mode of the calling thread: storages created inside it are inference
   storages, whose tensors may be updated in place only inside it. out_previous may be NULL. */
VT_API vt_status_t vt_inference_mode_set(int32_t enabled, int32_t* out_previous);
VT_API int32_t vt_inference_mode_enabled(void);

/* The slot vt-core reserves for the autograd engine: an opaque pointer destroyed with the
   tensor. Setting replaces (and destroys) the previous value. */
typedef void (*vt_slot_destructor_fn)(void* value);
VT_API vt_status_t vt_tensor_set_autograd_slot(vt_tensor_t tensor, void* value,
                                               vt_slot_destructor_fn destructor);
VT_API vt_status_t vt_tensor_get_autograd_slot(vt_tensor_t tensor, void** out);
/* Bit set of wrapper layers (vt_layer_t bits) this tensor asks the dispatcher to visit. */
VT_API vt_status_t vt_tensor_set_layer_mask(vt_tensor_t tensor, uint32_t mask);
VT_API vt_status_t vt_tensor_get_layer_mask(vt_tensor_t tensor, uint32_t* out);
VT_EXTERN_C_END

#endif /* VT_C_TENSOR_H */
