/* Compiled as strict C11 (-std=c11 -pedantic -Werror): the public headers must stay plain C for
   plugins written in C and for foreign-function users. */
#include "vt/c/vt.h"

VT_DEFINE_PLUGIN_INFO("c11_headers", "0.0.0")

/* Touches each kind of declaration so a header that only parses by luck still fails. */
int vt_c11_headers_probe(const vt_api_t* api);
int vt_c11_headers_probe(const vt_api_t* api) {
  vt_value_t value = {.tag = VT_VALUE_INT, .u = {.i = 3}};
  vt_tensor_desc_t desc = {.struct_size = sizeof(vt_tensor_desc_t)};
  vt_device_t device = {VT_DEVICE_CPU, 0};
  vt_iter_config_t config = {.struct_size = sizeof(vt_iter_config_t)};
  vt_allocator_stats_t stats = {.struct_size = sizeof(vt_allocator_stats_t)};
  DLManagedTensorVersioned managed = {.version = {DLPACK_VERSION_MAJOR, DLPACK_VERSION_MINOR}};
  vt_layer_t layer = VT_LAYER_AUTOGRAD;
  vt_dtype_t dtype = VT_DTYPE_BFLOAT16;
  vt_status_t status = VT_OK;
  (void)desc;
  (void)config;
  (void)stats;
  (void)managed;
  if (!api || api->abi_version != VT_ABI_VERSION) return -1;
  return (int)(value.u.i + device.type + (int)layer + (int)dtype + (int)status +
               (int)vt_plugin_info()->abi_major);
}
