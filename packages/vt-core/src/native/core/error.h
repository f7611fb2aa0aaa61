// Internal exceptions carrying an ABI status; the C ABI and the bindings translate them.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <utility>

#include "vt/c/status.h"

namespace vt {

class Error : public std::exception {
 public:
  Error(vt_status_t status, std::string message) : status_(status), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  vt_status_t status() const noexcept { return status_; }

 private:
  vt_status_t status_;
  std::string message_;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

template <typename... Parts>
[[noreturn]] void fail(vt_status_t status, const Parts&... parts) {
  throw Error(status, detail::concat(parts...));
}

}  // namespace vt

// Message parts are only formatted when the check fails.
#define VT_CHECK(cond, ...) \
  do { if (!(cond)) [[unlikely]] ::vt::fail(VT_ERROR_INVALID_ARGUMENT, __VA_ARGS__); } while (0)
#define VT_CHECK_INDEX(cond, ...) \
  do { if (!(cond)) [[unlikely]] ::vt::fail(VT_ERROR_INDEX, __VA_ARGS__); } while (0)
#define VT_CHECK_TYPE(cond, ...) \
  do { if (!(cond)) [[unlikely]] ::vt::fail(VT_ERROR_TYPE, __VA_ARGS__); } while (0)
#define VT_CHECK_VALUE(cond, ...) \
  do { if (!(cond)) [[unlikely]] ::vt::fail(VT_ERROR_VALUE, __VA_ARGS__); } while (0)
#define VT_INTERNAL_ASSERT(cond)                                                          \
  do {                                                                                    \
    if (!(cond)) [[unlikely]]                                                             \
      ::vt::fail(VT_ERROR_INTERNAL, "internal assert failed: " #cond " at ", __FILE__, ":", \
                 __LINE__);                                                               \
  } while (0)
