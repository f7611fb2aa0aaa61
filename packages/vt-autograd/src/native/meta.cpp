#include "meta.h"

#include "accumulate_grad.h"
#include "grad_mode.h"

namespace vt::autograd {

AutogradMeta* meta_of(vt_tensor_t t) {
  void* slot = nullptr;
  check(api().tensor_get_autograd_slot(t, &slot));
  return static_cast<AutogradMeta*>(slot);
}

AutogradMeta& ensure_meta(vt_tensor_t t) {
  if (AutogradMeta* m = meta_of(t)) return *m;
  auto* m = new AutogradMeta();
  vt_status_t status = api().tensor_set_autograd_slot(
      t, m, [](void* p) { delete static_cast<AutogradMeta*>(p); });
  if (status != VT_OK) {
    delete m;
    check(status);
  }
  return *m;
}

void set_autograd_bit(vt_tensor_t t, bool on) {
  uint32_t mask = 0;
  check(api().tensor_get_layer_mask(t, &mask));
  const uint32_t next = on ? mask | kAutogradBit : mask & ~kAutogradBit;
  if (next != mask) check(api().tensor_set_layer_mask(t, next));
}

void set_history(vt_tensor_t t, const std::shared_ptr<Node>& fn, uint32_t output_nr) {
  AutogradMeta& m = ensure_meta(t);
  m.grad_fn = fn;
  m.output_nr = output_nr;
  m.requires_grad = false;
  set_autograd_bit(t, true);
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = t.defined() ? meta_of(t.get()) : nullptr;
  if (!m) return {};
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (!m->requires_grad) return {};
  std::lock_guard lock(m->mutex);
  std::shared_ptr<Node> acc = m->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    m->grad_accumulator = acc;
  }
  return {acc, 0};
}

Tensor alias_without_history(const Tensor& t) {
  BelowAutogradGuard below;  // the alias must not be recorded as a view op
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  check(api().tensor_describe(t.get(), &d));
  vt_tensor_t out = nullptr;
  check(api().tensor_as_strided(t.get(), d.sizes, d.strides, d.ndim, d.storage_offset, &out));
  return Tensor::adopt(out);
}

}  // namespace vt::autograd
