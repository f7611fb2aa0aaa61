// Every core op's schema in one place, and the one-time registration of their kernels.
#include "ops/registration.h"

#include <mutex>

#include "dispatch/dispatcher.h"
#include "ops/ops.h"

namespace vt {

void define_core_schemas() {
  static const char* const schemas[] = {
      // factories
      "vt::empty(int[] size, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
      "vt::full(int[] size, Scalar fill_value, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
      "vt::arange(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Device? device=None) -> Tensor",
      // views
      "vt::as_strided(Tensor(a) self, int[] size, int[] stride, int? storage_offset=None) -> Tensor(a)",
      "vt::view(Tensor(a) self, int[] size) -> Tensor(a)",
      "vt::reshape(Tensor(a) self, int[] shape) -> Tensor(a)",
      "vt::permute(Tensor(a) self, int[] dims) -> Tensor(a)",
      "vt::transpose(Tensor(a) self, int dim0, int dim1) -> Tensor(a)",
      "vt::expand(Tensor(a) self, int[] size) -> Tensor(a)",
      "vt::squeeze(Tensor(a) self, int[]? dim=None) -> Tensor(a)",
      "vt::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)",
      "vt::slice(Tensor(a) self, int dim=0, int? start=None, int? end=None, int step=1) -> Tensor(a)",
      "vt::select(Tensor(a) self, int dim, int index) -> Tensor(a)",
      "vt::contiguous(Tensor(a) self) -> Tensor(a)",
      // copies
      "vt::clone(Tensor self) -> Tensor",
      "vt::_to_copy(Tensor self, ScalarType dtype) -> Tensor",
      "vt::fill_(Tensor(a!) self, Scalar value) -> Tensor(a!)",
      // elementwise
      "vt::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
      "vt::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
      "vt::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
      "vt::add_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)",
      "vt::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
      "vt::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
      "vt::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
      "vt::sub_.Scalar(Tensor(a!) self, Scalar other, Scalar alpha=1) -> Tensor(a!)",
      "vt::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor",
      "vt::mul.Tensor(Tensor self, Tensor other) -> Tensor",
      "vt::mul.Scalar(Tensor self, Scalar other) -> Tensor",
      "vt::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
      "vt::mul_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
      "vt::div.Tensor(Tensor self, Tensor other) -> Tensor",
      "vt::div.Scalar(Tensor self, Scalar other) -> Tensor",
      "vt::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
      "vt::div_.Scalar(Tensor(a!) self, Scalar other) -> Tensor(a!)",
      "vt::rdiv.Scalar(Tensor self, Scalar other) -> Tensor",
      "vt::neg(Tensor self) -> Tensor",
      "vt::exp(Tensor self) -> Tensor",
      // reductions
      "vt::sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
      "vt::mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
  };
  for (const char* s : schemas) define_op(s);
  // Copies are the one core op whose operands may live on different devices.
  define_op("vt::copy_(Tensor(a!) self, Tensor src) -> Tensor(a!)", VT_OP_FLAG_MIXED_DEVICES);
}

void register_core_ops() {
  static std::once_flag once;
  std::call_once(once, [] {
    define_core_schemas();
    register_view_ops();
    register_copy_ops();
    register_factory_ops();
    register_binary_ops();
    register_unary_ops();
    register_reduce_ops();
  });
}

namespace {
// Ops exist as soon as the library is loaded, before any handle is resolved.
[[maybe_unused]] const bool g_registered = (register_core_ops(), true);
}  // namespace

}  // namespace vt
