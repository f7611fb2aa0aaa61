// The versioned function table handed to plugins and bindings.
#include "capi/guard.h"
#include "vt/c/api.h"

namespace {

const vt_api_t kApi = {
    sizeof(vt_api_t),
    VT_ABI_VERSION,
    vt_last_error_message,
    vt_last_error_status,
    vt_clear_last_error,
    vt_set_last_error,
    vt_dtype_itemsize,
    vt_dtype_name,
    vt_dtype_promote,
    vt_device_type_register,
    vt_device_type_name,
    vt_device_parse,
    vt_tensor_empty,
    vt_tensor_from_blob,
    vt_tensor_retain,
    vt_tensor_release,
    vt_tensor_describe,
    vt_tensor_data_ptr,
    vt_tensor_is_contiguous,
    vt_tensor_copy_,
    vt_tensor_as_strided,
    vt_tensor_version,
    vt_tensor_bump_version,
    vt_tensor_set_autograd_slot,
    vt_tensor_get_autograd_slot,
    vt_tensor_set_layer_mask,
    vt_tensor_get_layer_mask,
    vt_tensor_to_dlpack,
    vt_tensor_from_dlpack,
    vt_tensor_from_dlpack_legacy,
    vt_op_define,
    vt_op_lookup,
    vt_op_schema,
    vt_op_name,
    vt_op_num_returns,
    vt_op_register_kernel,
    vt_op_register_layer,
    vt_op_call,
    vt_op_call_below,
    vt_layers_set_excluded,
    vt_layers_set_included,
    vt_value_release,
    vt_host_alloc,
    vt_host_free,
    vt_allocator_register,
    vt_allocator_get_stats,
    vt_device_register_hooks,
    vt_device_count,
    vt_device_synchronize,
    vt_iter_build,
    vt_iter_destroy,
    vt_iter_common_dtype,
    vt_iter_output,
    vt_iter_numel,
    vt_iter_for_each,
    vt_safetensors_open,
    vt_safetensors_open_buffer,
    vt_safetensors_close,
    vt_safetensors_num_tensors,
    vt_safetensors_tensor_name,
    vt_safetensors_get_tensor,
    vt_safetensors_num_metadata,
    vt_safetensors_metadata_item,
    vt_safetensors_save_file,
    vt_safetensors_save_buffer,
    vt_tensor_storage_nbytes,
    vt_tensor_is_inference,
    vt_inference_mode_set,
    vt_inference_mode_enabled,
    vt_stream_current,
    vt_stream_set_current,
    vt_event_create,
    vt_event_destroy,
    vt_event_record,
    vt_stream_wait_event,
};

}  // namespace

extern "C" VT_API const vt_api_t* vt_get_api(uint32_t version) {
  uint32_t major = version >> 16, minor = version & 0xffffu;
  if (major != VT_ABI_VERSION_MAJOR || minor > VT_ABI_VERSION_MINOR) {
    vt::capi::set_error(VT_ERROR_VERSION_MISMATCH,
                        vt::detail::concat("vt_get_api: the caller was built for vt ABI ", major,
                                           ".", minor, ", but this vt-core provides ABI ",
                                           VT_ABI_VERSION_MAJOR, ".", VT_ABI_VERSION_MINOR)
                            .c_str());
    return nullptr;
  }
  return &kApi;
}
