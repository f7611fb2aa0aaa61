// Loading plugins: the ABI major is checked before any plugin code runs beyond its info call.
#include <dlfcn.h>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "capi/guard.h"
#include "vt/c/plugin.h"

using vt::capi::guard;

struct vt_library_s {
  void* handle;
  const vt_plugin_info_t* info;
  std::string path;
};

namespace {

struct Loaded {
  std::mutex mutex;  // loading is rare
  std::map<std::string, vt_library_s*> by_path;
};

Loaded& loaded() {
  static Loaded* l = new Loaded();
  return *l;
}

}  // namespace

extern "C" {

VT_API vt_status_t vt_library_load(const char* path, vt_library_t* out) {
  return guard([&] {
    VT_CHECK_ARG(path, "vt_library_load");
    char resolved[PATH_MAX];
    VT_CHECK_VALUE(realpath(path, resolved) != nullptr, "load_library: no such file: '", path, "'");
    auto& l = loaded();
    std::lock_guard lock(l.mutex);
    if (auto it = l.by_path.find(resolved); it != l.by_path.end()) {
      if (out) *out = it->second;
      return;
    }
    void* handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* err = dlerror();
      vt::fail(VT_ERROR_VALUE, "load_library: cannot load '", resolved, "': ", err ? err : "?");
    }
    auto close_and_fail = [&](vt_status_t status, const std::string& message) {
      dlclose(handle);
      vt::fail(status, message);
    };
    auto info_fn = reinterpret_cast<vt_plugin_info_fn>(dlsym(handle, "vt_plugin_info"));
    auto init_fn = reinterpret_cast<vt_plugin_init_fn>(dlsym(handle, "vt_plugin_init"));
    if (!info_fn || !init_fn)
      close_and_fail(VT_ERROR_VALUE, std::string("load_library: '") + resolved +
                                         "' is not a vt plugin (it must export vt_plugin_info "
                                         "and vt_plugin_init)");
    const vt_plugin_info_t* info = info_fn();
    if (!info || info->struct_size < sizeof(vt_plugin_info_t))
      close_and_fail(VT_ERROR_VERSION_MISMATCH,
                     std::string("load_library: '") + resolved + "' returned no usable plugin info");
    if (info->abi_major != VT_ABI_VERSION_MAJOR)
      close_and_fail(VT_ERROR_VERSION_MISMATCH,
                     vt::detail::concat("load_library: plugin '", info->name ? info->name : "?",
                                        "' (", resolved, ") was built for vt ABI ",
                                        info->abi_major, ".", info->abi_minor,
                                        ", but this vt-core provides ABI ", VT_ABI_VERSION_MAJOR,
                                        ".", VT_ABI_VERSION_MINOR,
                                        "; rebuild the plugin against this vt-core"));
    vt_status_t status = init_fn(vt_get_api(VT_ABI_VERSION));
    if (status != VT_OK) {
      // Not unloaded: init may have registered kernels that point into the library.
      std::string message = vt_last_error_message();
      vt::fail(status, "load_library: plugin '" + std::string(info->name ? info->name : "?") +
                                 "' failed to initialize: " + message);
    }
    auto* lib = new vt_library_s{handle, info, resolved};
    l.by_path.emplace(resolved, lib);
    if (out) *out = lib;
  });
}

VT_API vt_status_t vt_library_info(vt_library_t library, const vt_plugin_info_t** out) {
  return guard([&] {
    VT_CHECK_ARG(library, "vt_library_info");
    VT_CHECK_ARG(out, "vt_library_info");
    *out = library->info;
  });
}

}  // extern "C"
