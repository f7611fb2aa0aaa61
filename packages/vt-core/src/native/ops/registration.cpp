// The one-time registration of every core op family, when libvt_core loads.
#include "ops/registration.h"

#include <mutex>

namespace vt {

void register_core_ops() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_view_ops();
    register_copy_ops();
    register_factory_ops();
    register_binary_ops();
    register_unary_ops();
    register_reduce_ops();
    register_linalg_ops();
    register_shape_ops();
    register_index_ops();
    register_random_ops();
    register_nn_ops();
    register_optim_ops();
  });
}

namespace {
// Ops exist as soon as the library is loaded, before any handle is resolved.
[[maybe_unused]] const bool g_registered = (register_core_ops(), true);
}  // namespace

}  // namespace vt
