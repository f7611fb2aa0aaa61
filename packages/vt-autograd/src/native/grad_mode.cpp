#include "grad_mode.h"

#include "meta.h"

namespace vt::autograd {
namespace {
thread_local bool t_grad_enabled = true;

void exclude_autograd(bool exclude) {
  const uint32_t mask = api().layers_set_excluded(0);
  api().layers_set_excluded(exclude ? mask | kAutogradBit : mask & ~kAutogradBit);
}
}  // namespace

bool grad_enabled() { return t_grad_enabled; }

void set_grad_enabled(bool on) {
  if (on == t_grad_enabled) return;
  t_grad_enabled = on;
  exclude_autograd(!on);
}

BelowAutogradGuard::BelowAutogradGuard() {
  previous_ = api().layers_set_excluded(0);
  api().layers_set_excluded(previous_ | kAutogradBit);
}

BelowAutogradGuard::~BelowAutogradGuard() { api().layers_set_excluded(previous_); }

}  // namespace vt::autograd
