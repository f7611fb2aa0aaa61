#include "ops.h"

#include <cstring>

namespace vt::autograd::ops {

Tensor sum_to(const Tensor& grad, const std::vector<int64_t>& sizes) {
  const std::vector<int64_t> gs = grad.sizes();
  if (gs == sizes) return grad;
  const int64_t lead = int64_t(gs.size()) - int64_t(sizes.size());
  if (lead < 0)
    fail(VT_ERROR_INVALID_ARGUMENT, "autograd: a gradient of shape ", shape_string(gs),
         " cannot be reduced to the input's shape ", shape_string(sizes));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < lead; ++d) dims.push_back(d);
  for (size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] == 1 && gs[size_t(lead) + i] != 1) dims.push_back(lead + int64_t(i));
  Tensor r = dims.empty() ? grad : sum(grad, dims, true);
  return r.sizes() == sizes ? r : reshape(r, sizes);
}

Tensor from_host(const std::vector<int64_t>& values, vt_device_t device) {
  Tensor host = Tensor::empty({int64_t(values.size())}, VT_DTYPE_INT64, vt::cpp::kCPU);
  if (!values.empty()) std::memcpy(host.data<int64_t>(), values.data(), values.size() * sizeof(int64_t));
  if (device.type == VT_DEVICE_CPU) return host;
  Tensor out = Tensor::empty({int64_t(values.size())}, VT_DTYPE_INT64, device);
  check(api().tensor_copy_(out.get(), host.get()));
  return out;
}

bool any_true(const Tensor& t) {
  Tensor r = call<"vt::any">(t);
  if (r.device().type != VT_DEVICE_CPU) {
    Tensor host = Tensor::empty({}, VT_DTYPE_BOOL, vt::cpp::kCPU);
    check(api().tensor_copy_(host.get(), r.get()));
    r = host;
  }
  return *r.data<bool>();
}

}  // namespace vt::autograd::ops
