// Grad mode: thread-local. Off, the dispatcher skips the autograd layer entirely for this
// thread (its bit is excluded), so no_grad code pays nothing for autograd.
#pragma once

#include <cstdint>

namespace vt::autograd {

bool grad_enabled();
void set_grad_enabled(bool on);

// Sets grad mode for a scope and restores the previous one.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : previous_(grad_enabled()) { set_grad_enabled(on); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// Runs a kernel below the autograd layer: ops it calls inside are not recorded again.
class BelowAutogradGuard {
 public:
  BelowAutogradGuard();
  ~BelowAutogradGuard();
  BelowAutogradGuard(const BelowAutogradGuard&) = delete;
  BelowAutogradGuard& operator=(const BelowAutogradGuard&) = delete;

 private:
  uint32_t previous_;
};

}  // namespace vt::autograd
