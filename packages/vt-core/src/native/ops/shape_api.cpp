// The shape family's public C++ functions: each a cached typed handle into the dispatcher.
#include "dispatch/dispatcher.h"
#include "ops/shape.h"

namespace vt {

#define VT_SHAPE_OP(var, name, ...) static const OpHandle<__VA_ARGS__> var(name)

Tensor cat(TensorList tensors, int64_t dim) {
  VT_SHAPE_OP(op, "vt::cat", Tensor(TensorList, int64_t));
  return op(tensors, dim);
}
Tensor stack(TensorList tensors, int64_t dim) {
  VT_SHAPE_OP(op, "vt::stack", Tensor(TensorList, int64_t));
  return op(tensors, dim);
}
std::vector<Tensor> split(const Tensor& self, int64_t split_size, int64_t dim) {
  VT_SHAPE_OP(op, "vt::split", std::vector<Tensor>(const Tensor&, int64_t, int64_t));
  return op(self, split_size, dim);
}
std::vector<Tensor> split_with_sizes(const Tensor& self, IntArrayRef split_sizes, int64_t dim) {
  VT_SHAPE_OP(op, "vt::split_with_sizes", std::vector<Tensor>(const Tensor&, IntArrayRef, int64_t));
  return op(self, split_sizes, dim);
}
std::vector<Tensor> chunk(const Tensor& self, int64_t chunks, int64_t dim) {
  VT_SHAPE_OP(op, "vt::chunk", std::vector<Tensor>(const Tensor&, int64_t, int64_t));
  return op(self, chunks, dim);
}
std::vector<Tensor> unbind(const Tensor& self, int64_t dim) {
  VT_SHAPE_OP(op, "vt::unbind", std::vector<Tensor>(const Tensor&, int64_t));
  return op(self, dim);
}
Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  VT_SHAPE_OP(op, "vt::narrow", Tensor(const Tensor&, int64_t, int64_t, int64_t));
  return op(self, dim, start, length);
}
Tensor flatten(const Tensor& self, int64_t start_dim, int64_t end_dim) {
  VT_SHAPE_OP(op, "vt::flatten", Tensor(const Tensor&, int64_t, int64_t));
  return op(self, start_dim, end_dim);
}
Tensor unflatten(const Tensor& self, int64_t dim, IntArrayRef sizes) {
  VT_SHAPE_OP(op, "vt::unflatten", Tensor(const Tensor&, int64_t, IntArrayRef));
  return op(self, dim, sizes);
}
Tensor movedim(const Tensor& self, IntArrayRef source, IntArrayRef destination) {
  VT_SHAPE_OP(op, "vt::movedim", Tensor(const Tensor&, IntArrayRef, IntArrayRef));
  return op(self, source, destination);
}
Tensor flip(const Tensor& self, IntArrayRef dims) {
  VT_SHAPE_OP(op, "vt::flip", Tensor(const Tensor&, IntArrayRef));
  return op(self, dims);
}
Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  VT_SHAPE_OP(op, "vt::roll", Tensor(const Tensor&, IntArrayRef, IntArrayRef));
  return op(self, shifts, dims);
}
Tensor repeat(const Tensor& self, IntArrayRef repeats) {
  VT_SHAPE_OP(op, "vt::repeat", Tensor(const Tensor&, IntArrayRef));
  return op(self, repeats);
}
Tensor tile(const Tensor& self, IntArrayRef dims) {
  VT_SHAPE_OP(op, "vt::tile", Tensor(const Tensor&, IntArrayRef));
  return op(self, dims);
}
Tensor tril(const Tensor& self, int64_t diagonal) {
  VT_SHAPE_OP(op, "vt::tril", Tensor(const Tensor&, int64_t));
  return op(self, diagonal);
}
Tensor triu(const Tensor& self, int64_t diagonal) {
  VT_SHAPE_OP(op, "vt::triu", Tensor(const Tensor&, int64_t));
  return op(self, diagonal);
}
const Tensor& tril_(const Tensor& self, int64_t diagonal) {
  VT_SHAPE_OP(op, "vt::tril_", Tensor(const Tensor&, int64_t));
  op(self, diagonal);
  return self;
}
const Tensor& triu_(const Tensor& self, int64_t diagonal) {
  VT_SHAPE_OP(op, "vt::triu_", Tensor(const Tensor&, int64_t));
  op(self, diagonal);
  return self;
}
Tensor pad(const Tensor& self, IntArrayRef pad, std::string_view mode, std::optional<double> value) {
  VT_SHAPE_OP(op, "vt::pad", Tensor(const Tensor&, IntArrayRef, std::string_view, std::optional<double>));
  return op(self, pad, mode, value);
}

}  // namespace vt
