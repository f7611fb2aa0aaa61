// all and any: bool results (uint8 for uint8 input, as in torch); nan counts as true.
#include "dispatch/dispatcher.h"
#include "ops/reduce_impl.h"

namespace vt::reduce {
namespace {

// uint8 lanes rather than bool: the compiler vectorizes byte and/or reductions.
template <bool All>
struct TruthOp {
  uint8_t identity() const { return All ? 1 : 0; }
  template <class V>
  auto map(V x, auto) const {
    if constexpr (Vector<V>) return mask01<uint8_t>(x != splat<V>(0));
    else return uint8_t(cast_value<bool>(x) ? 1 : 0);
  }
  auto combine(auto a, auto b) const {
    if constexpr (All) return a & b;
    else return a | b;
  }
  uint8_t finish(uint8_t a, int64_t) const { return a; }
};

template <bool All>
Tensor truth_kernel(const Tensor& self, std::optional<IntArrayRef> dim, bool keepdim) {
  // An empty dim list reduces nothing here (torch), unlike sum's.
  DimVector dims = reduction_dims(self, dim, All ? "all" : "any", /*empty_means_all=*/false);
  ReducePlan plan = make_plan(self, dims, keepdim);
  ScalarType out_dtype = self.dtype() == ScalarType::UInt8 ? ScalarType::UInt8 : ScalarType::Bool;
  Tensor out = Tensor::empty(plan.out_shape, out_dtype, self.device());
  visit_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // bool and uint8 are both one byte holding 0 or 1.
    run(plan, FoldReducer<T, uint8_t, TruthOp<All>>{{}, out.data_as<uint8_t>()});
  });
  return out;
}

}  // namespace

void register_logic_ops() {
  define_kernel("vt::all(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &truth_kernel<true>);
  define_kernel("vt::any(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor",
                VT_DEVICE_CPU, &truth_kernel<false>);
}

}  // namespace vt::reduce
