/* Plugins: shared libraries that register ops, kernels, devices through the ABI table.

   A plugin exports two symbols:
     const vt_plugin_info_t* vt_plugin_info(void);       checked before anything else runs
     vt_status_t vt_plugin_init(const vt_api_t* api);    registers what the plugin provides
   VT_DEFINE_PLUGIN_INFO(name, version) writes the first with this header's ABI version. */
#ifndef VT_C_PLUGIN_H
#define VT_C_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/api.h"
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"
#include "vt/c/version.h"

typedef struct vt_plugin_info {
  size_t struct_size;
  uint32_t abi_major; /* the VT_ABI_VERSION_MAJOR the plugin was built with */
  uint32_t abi_minor;
  const char* name;
  const char* version;
} vt_plugin_info_t;

typedef const vt_plugin_info_t* (*vt_plugin_info_fn)(void);
typedef vt_status_t (*vt_plugin_init_fn)(const vt_api_t* api);

#define VT_DEFINE_PLUGIN_INFO(plugin_name, plugin_version)                                   \
  VT_EXTERN_C_BEGIN                                                                          \
  VT_API const vt_plugin_info_t* vt_plugin_info(void) {                                      \
    static const vt_plugin_info_t info = {sizeof(vt_plugin_info_t), VT_ABI_VERSION_MAJOR,    \
                                          VT_ABI_VERSION_MINOR, plugin_name, plugin_version}; \
    return &info;                                                                            \
  }                                                                                          \
  VT_EXTERN_C_END

VT_EXTERN_C_BEGIN
/* Loads a plugin by path: checks its ABI major, then calls its init with the table.
   out (may be NULL): the library handle. Loading the same path twice returns the first. */
VT_API vt_status_t vt_library_load(const char* path, vt_library_t* out);
/* out (borrowed): the plugin's info. */
VT_API vt_status_t vt_library_info(vt_library_t library, const vt_plugin_info_t** out);
VT_EXTERN_C_END

#endif /* VT_C_PLUGIN_H */
