// The linalg op family: kernels, their schemas, and the public C++ functions.
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {

void register_linalg_ops() {}

}  // namespace vt
