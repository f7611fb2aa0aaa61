// Inference mode, per thread: storages created inside it belong to inference tensors, which
// skip version tracking's guarantees and so must not be updated in place outside it or saved
// for backward (autograd checks the latter).
#pragma once

namespace vt {

bool inference_mode_enabled();
// Returns the previous state.
bool set_inference_mode(bool enabled);
// "Inplace update to inference tensor outside InferenceMode is not allowed" as a RuntimeError.
[[noreturn]] void raise_inplace_on_inference_tensor();

}  // namespace vt
