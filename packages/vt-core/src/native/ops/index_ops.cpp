// The index op family: kernels, their schemas, and the public C++ functions.
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/registration.h"

namespace vt {

void register_index_ops() {}

}  // namespace vt
