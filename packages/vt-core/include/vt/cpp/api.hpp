// The function table the C++ wrapper calls through, and errors as exceptions.
// Header-only C++17: plugins and sibling packages use it without linking libvt_core; they get
// the table from vt_plugin_init, the Python capsule, or vt_get_api, and hand it to set_api once.
#ifndef VT_CPP_API_HPP
#define VT_CPP_API_HPP

#include <new>
#include <stdexcept>
#include <string>

#include "vt/c/api.h"

namespace vt::cpp {

// A failed ABI call, carrying its status so callers can map it (Python exception types, JS codes).
class Error : public std::runtime_error {
 public:
  Error(vt_status_t status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  vt_status_t status() const noexcept { return status_; }

 private:
  vt_status_t status_;
};

namespace detail {
// Set by set_api in each binary that uses the wrapper; in one process every table is the same
// vt-core's, so it does not matter if the dynamic linker merges the copies.
inline const vt_api_t* g_api = nullptr;

[[noreturn]] inline void throw_last_error(vt_status_t status) {
  throw Error(status, g_api ? g_api->last_error_message() : "vt-core call failed");
}

inline vt_status_t report(vt_status_t status, const char* message) noexcept {
  if (g_api) g_api->set_last_error(status, message);
  return status;
}
}  // namespace detail

// Installs the table; refuses one of another ABI major or one older than these headers, since
// its entries would not line up with the struct this code was compiled against.
inline void set_api(const vt_api_t* table) {
  if (!table)
    throw Error(VT_ERROR_VALUE, "vt::cpp::set_api: the table is NULL (did vt_get_api refuse "
                                "this ABI version? see vt_last_error_message)");
  const uint32_t major = table->abi_version >> 16, minor = table->abi_version & 0xffffu;
  if (major != VT_ABI_VERSION_MAJOR || table->abi_version < VT_ABI_VERSION ||
      table->struct_size < sizeof(vt_api_t))
    throw Error(VT_ERROR_VERSION_MISMATCH,
                "vt::cpp::set_api: the table provides vt ABI " + std::to_string(major) + "." +
                    std::to_string(minor) + ", but this code was built for ABI " +
                    std::to_string(VT_ABI_VERSION_MAJOR) + "." +
                    std::to_string(VT_ABI_VERSION_MINOR));
  detail::g_api = table;
}

// The installed table; calling the wrapper before set_api is a programming error, not a crash.
inline const vt_api_t* api() {
  if (!detail::g_api)
    throw Error(VT_ERROR_INTERNAL, "vt::cpp::api(): set_api() has not been called");
  return detail::g_api;
}

// Turns a failed status into an Error with the thread's last-error message.
inline void check(vt_status_t status) {
  if (status != VT_OK) detail::throw_last_error(status);
}

// The reverse direction for kernels and layers written in C++: exceptions must not cross the C
// ABI, so a boxed function wraps its body in guard() and returns the status it gives.
template <typename F>
vt_status_t guard(F&& body) noexcept {
  try {
    body();
    return VT_OK;
  } catch (const Error& e) {
    return detail::report(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return detail::report(VT_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return detail::report(VT_ERROR_INTERNAL, e.what());
  } catch (...) {
    return detail::report(VT_ERROR_INTERNAL, "unknown C++ exception");
  }
}

}  // namespace vt::cpp

#endif  // VT_CPP_API_HPP
