/* The versioned function table. Plugins and bindings call vt-core through it, so they need not
   link against libvt_core. Entries are only ever appended; a changed signature gets a _v2 entry.
   Obtain it from vt_get_api() or from the Python capsule vt.core._C._api_capsule()
   (capsule name "vt.core.api"). */
#ifndef VT_C_API_H
#define VT_C_API_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/allocator.h"
#include "vt/c/device.h"
#include "vt/c/dlpack.h"
#include "vt/c/dtype.h"
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/iterator.h"
#include "vt/c/op.h"
#include "vt/c/safetensors.h"
#include "vt/c/status.h"
#include "vt/c/stream.h"
#include "vt/c/tensor.h"
#include "vt/c/version.h"

typedef struct vt_api {
  size_t struct_size; /* sizeof(vt_api_t) of the library that filled it */
  uint32_t abi_version; /* VT_ABI_VERSION of that library */

  /* status.h */
  const char* (*last_error_message)(void);
  vt_status_t (*last_error_status)(void);
  void (*clear_last_error)(void);
  void (*set_last_error)(vt_status_t status, const char* message);
  /* dtype.h, device.h */
  vt_status_t (*dtype_itemsize)(int32_t dtype, int64_t* out);
  vt_status_t (*dtype_name)(int32_t dtype, const char** out);
  vt_status_t (*dtype_promote)(int32_t a, int32_t b, int32_t* out);
  vt_status_t (*device_type_register)(int32_t type, const char* name);
  vt_status_t (*device_type_name)(int32_t type, const char** out);
  vt_status_t (*device_parse)(const char* text, vt_device_t* out);
  /* tensor.h */
  vt_status_t (*tensor_empty)(const int64_t* sizes, int64_t ndim, int32_t dtype,
                              vt_device_t device, vt_tensor_t* out);
  vt_status_t (*tensor_from_blob)(void* data, const int64_t* sizes, const int64_t* strides,
                                  int64_t ndim, int32_t dtype, vt_device_t device,
                                  vt_deleter_fn deleter, void* deleter_context, vt_tensor_t* out);
  vt_status_t (*tensor_retain)(vt_tensor_t tensor);
  vt_status_t (*tensor_release)(vt_tensor_t tensor);
  vt_status_t (*tensor_describe)(vt_tensor_t tensor, vt_tensor_desc_t* out);
  vt_status_t (*tensor_data_ptr)(vt_tensor_t tensor, void** out);
  vt_status_t (*tensor_is_contiguous)(vt_tensor_t tensor, int32_t* out);
  vt_status_t (*tensor_copy_)(vt_tensor_t dst, vt_tensor_t src);
  vt_status_t (*tensor_as_strided)(vt_tensor_t tensor, const int64_t* sizes,
                                   const int64_t* strides, int64_t ndim, int64_t storage_offset,
                                   vt_tensor_t* out);
  vt_status_t (*tensor_version)(vt_tensor_t tensor, uint32_t* out);
  vt_status_t (*tensor_bump_version)(vt_tensor_t tensor);
  vt_status_t (*tensor_set_autograd_slot)(vt_tensor_t tensor, void* value,
                                          vt_slot_destructor_fn destructor);
  vt_status_t (*tensor_get_autograd_slot)(vt_tensor_t tensor, void** out);
  vt_status_t (*tensor_set_layer_mask)(vt_tensor_t tensor, uint32_t mask);
  vt_status_t (*tensor_get_layer_mask)(vt_tensor_t tensor, uint32_t* out);
  /* dlpack.h */
  vt_status_t (*tensor_to_dlpack)(vt_tensor_t tensor, DLManagedTensorVersioned** out);
  vt_status_t (*tensor_from_dlpack)(DLManagedTensorVersioned* managed, vt_tensor_t* out);
  vt_status_t (*tensor_from_dlpack_legacy)(DLManagedTensor* managed, vt_tensor_t* out);
  /* op.h */
  vt_status_t (*op_define)(const char* schema, uint32_t flags, vt_op_t* out);
  vt_status_t (*op_lookup)(const char* qualified_name, vt_op_t* out);
  vt_status_t (*op_schema)(vt_op_t op, const char** out);
  vt_status_t (*op_name)(vt_op_t op, const char** out);
  vt_status_t (*op_num_returns)(vt_op_t op, int64_t* out);
  vt_status_t (*op_register_kernel)(vt_op_t op, int32_t device_type, vt_boxed_kernel_fn fn,
                                    void* context);
  vt_status_t (*op_register_layer)(vt_op_t op, int32_t layer, vt_boxed_kernel_fn fn,
                                   void* context);
  vt_status_t (*op_call)(vt_op_t op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
                         int64_t nouts);
  vt_status_t (*op_call_below)(vt_op_t op, int32_t layer, const vt_value_t* args, int64_t nargs,
                               vt_value_t* outs, int64_t nouts);
  uint32_t (*layers_set_excluded)(uint32_t mask);
  uint32_t (*layers_set_included)(uint32_t mask);
  void (*value_release)(vt_value_t* value);
  void* (*host_alloc)(size_t nbytes);
  void (*host_free)(void* ptr);
  /* allocator.h, stream.h */
  vt_status_t (*allocator_register)(int32_t device_type, const vt_allocator_t* allocator);
  vt_status_t (*allocator_get_stats)(int32_t device_type, int32_t device_index,
                                     vt_allocator_stats_t* out);
  vt_status_t (*device_register_hooks)(int32_t device_type, const vt_device_hooks_t* hooks);
  vt_status_t (*device_count)(int32_t device_type, int32_t* out);
  vt_status_t (*device_synchronize)(vt_device_t device);
  /* iterator.h */
  vt_status_t (*iter_build)(const vt_iter_config_t* config, vt_iter_t* out);
  void (*iter_destroy)(vt_iter_t iter);
  vt_status_t (*iter_common_dtype)(vt_iter_t iter, int32_t* out);
  vt_status_t (*iter_output)(vt_iter_t iter, int32_t index, vt_tensor_t* out);
  vt_status_t (*iter_numel)(vt_iter_t iter, int64_t* out);
  vt_status_t (*iter_for_each)(vt_iter_t iter, vt_iter_loop_fn fn, void* context,
                               int64_t grain_size);
  /* safetensors.h */
  vt_status_t (*safetensors_open)(const char* path, vt_safetensors_t* out);
  vt_status_t (*safetensors_open_buffer)(const void* data, size_t nbytes, vt_safetensors_t* out);
  vt_status_t (*safetensors_close)(vt_safetensors_t file);
  vt_status_t (*safetensors_num_tensors)(vt_safetensors_t file, int64_t* out);
  vt_status_t (*safetensors_tensor_name)(vt_safetensors_t file, int64_t index, const char** out);
  vt_status_t (*safetensors_get_tensor)(vt_safetensors_t file, const char* name,
                                        vt_tensor_t* out);
  vt_status_t (*safetensors_num_metadata)(vt_safetensors_t file, int64_t* out);
  vt_status_t (*safetensors_metadata_item)(vt_safetensors_t file, int64_t index,
                                           const char** key, const char** value);
  vt_status_t (*safetensors_save_file)(const char* path, const char* const* names,
                                       const vt_tensor_t* tensors, int64_t count,
                                       const char* const* metadata_keys,
                                       const char* const* metadata_values,
                                       int64_t metadata_count);
  vt_status_t (*safetensors_save_buffer)(const char* const* names, const vt_tensor_t* tensors,
                                         int64_t count, const char* const* metadata_keys,
                                         const char* const* metadata_values,
                                         int64_t metadata_count, void** out_data,
                                         size_t* out_nbytes);
  /* ABI 1.1 */
  vt_status_t (*tensor_storage_nbytes)(vt_tensor_t tensor, size_t* out);
  /* ABI 1.2 */
  vt_status_t (*tensor_is_inference)(vt_tensor_t tensor, int32_t* out);
  vt_status_t (*inference_mode_set)(int32_t enabled, int32_t* out_previous);
  int32_t (*inference_mode_enabled)(void);
  vt_status_t (*stream_current)(vt_device_t device, vt_stream_t* out);
  vt_status_t (*stream_set_current)(vt_device_t device, vt_stream_t stream);
  vt_status_t (*event_create)(vt_device_t device, vt_event_t* out);
  vt_status_t (*event_destroy)(vt_device_t device, vt_event_t event);
  vt_status_t (*event_record)(vt_device_t device, vt_event_t event, vt_stream_t stream);
  vt_status_t (*stream_wait_event)(vt_device_t device, vt_stream_t stream, vt_event_t event);
} vt_api_t;

VT_EXTERN_C_BEGIN
/* out: the table, when the library's major equals the major of `version` (VT_ABI_VERSION of the
   caller's headers) and its minor is at least the caller's; NULL otherwise, with the reason in
   vt_last_error_message(). */
VT_API const vt_api_t* vt_get_api(uint32_t version);
VT_EXTERN_C_END

#endif /* VT_C_API_H */
