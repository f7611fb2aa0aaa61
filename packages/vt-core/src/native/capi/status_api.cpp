#include <string>

#include "capi/guard.h"
#include "core/scalar_type.h"
#include "core/device.h"
#include "iterator/tensor_iterator.h"
#include "vt/c/dtype.h"
#include "vt/c/version.h"

namespace vt::capi {
namespace {
thread_local vt_status_t t_status = VT_OK;
thread_local std::string t_message;
}  // namespace

void set_error(vt_status_t status, const char* message) {
  t_status = status;
  t_message = message ? message : "";
}

}  // namespace vt::capi

using vt::capi::guard;

extern "C" {

VT_API void vt_get_abi_version(uint32_t* major, uint32_t* minor) {
  if (major) *major = VT_ABI_VERSION_MAJOR;
  if (minor) *minor = VT_ABI_VERSION_MINOR;
}

VT_API const char* vt_last_error_message(void) { return vt::capi::t_message.c_str(); }
VT_API vt_status_t vt_last_error_status(void) { return vt::capi::t_status; }
VT_API void vt_clear_last_error(void) { vt::capi::set_error(VT_OK, ""); }
VT_API void vt_set_last_error(vt_status_t status, const char* message) {
  vt::capi::set_error(status, message);
}

VT_API vt_status_t vt_dtype_itemsize(int32_t dtype, int64_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_dtype_itemsize");
    *out = vt::itemsize(vt::checked_dtype(dtype));
  });
}

VT_API vt_status_t vt_dtype_name(int32_t dtype, const char** out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_dtype_name");
    *out = vt::dtype_name(vt::checked_dtype(dtype));
  });
}

VT_API vt_status_t vt_dtype_promote(int32_t a, int32_t b, int32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_dtype_promote");
    *out = int32_t(vt::promote_types(vt::checked_dtype(a), vt::checked_dtype(b)));
  });
}

VT_API vt_status_t vt_device_type_register(int32_t type, const char* name) {
  return guard([&] {
    VT_CHECK_ARG(name, "vt_device_type_register");
    vt::register_device_type(type, name);
  });
}

VT_API vt_status_t vt_device_type_name(int32_t type, const char** out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_device_type_name");
    *out = vt::device_type_name(type);
  });
}

VT_API vt_status_t vt_device_parse(const char* text, vt_device_t* out) {
  return guard([&] {
    VT_CHECK_ARG(text, "vt_device_parse");
    VT_CHECK_ARG(out, "vt_device_parse");
    *out = vt::parse_device(text).to_c();
  });
}

}  // extern "C"
