// Exception-to-status translation at the C ABI boundary: nothing C++ escapes.
#pragma once

#include <new>

#include "core/error.h"
#include "vt/c/status.h"

namespace vt::capi {

void set_error(vt_status_t status, const char* message);

template <typename F>
vt_status_t guard(F&& f) noexcept {
  try {
    f();
    return VT_OK;
  } catch (const Error& e) {
    set_error(e.status(), e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_error(VT_ERROR_OUT_OF_MEMORY, "out of memory");
    return VT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(VT_ERROR_INTERNAL, e.what());
    return VT_ERROR_INTERNAL;
  } catch (...) {
    set_error(VT_ERROR_INTERNAL, "unknown C++ exception");
    return VT_ERROR_INTERNAL;
  }
}

}  // namespace vt::capi

#define VT_CHECK_ARG(ptr, fn) VT_CHECK_VALUE((ptr) != nullptr, fn ": argument '" #ptr "' is NULL")
