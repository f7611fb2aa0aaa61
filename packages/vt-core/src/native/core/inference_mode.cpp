#include "core/inference_mode.h"

#include "core/error.h"

namespace vt {
namespace {
thread_local bool t_inference_mode = false;
}  // namespace

bool inference_mode_enabled() { return t_inference_mode; }

bool set_inference_mode(bool enabled) {
  const bool previous = t_inference_mode;
  t_inference_mode = enabled;
  return previous;
}

void raise_inplace_on_inference_tensor() {
  fail(VT_ERROR_INVALID_ARGUMENT, "Inplace update to inference tensor outside InferenceMode is "
       "not allowed.You can make a clone to get a normal tensor before doing inplace update.");
}

}  // namespace vt
