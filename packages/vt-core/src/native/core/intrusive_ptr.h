// Intrusive reference counting: the count lives in the object, so a handle is one pointer and
// the same pointer crosses the C ABI as an opaque handle.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace vt {

class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;
  void retain() const { refcount_.fetch_add(1, std::memory_order_relaxed); }
  // Returns true when this released the last reference.
  bool release_ref() const { return refcount_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  int64_t use_count() const { return refcount_.load(std::memory_order_relaxed); }

 protected:
  ~RefCounted() = default;

 private:
  mutable std::atomic<int64_t> refcount_{1};
};

template <typename T>
class intrusive_ptr {
 public:
  intrusive_ptr() = default;
  intrusive_ptr(std::nullptr_t) {}  // NOLINT
  intrusive_ptr(const intrusive_ptr& o) : p_(o.p_) { if (p_) p_->retain(); }
  intrusive_ptr(intrusive_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  intrusive_ptr& operator=(const intrusive_ptr& o) {
    intrusive_ptr(o).swap(*this);
    return *this;
  }
  intrusive_ptr& operator=(intrusive_ptr&& o) noexcept {
    intrusive_ptr(std::move(o)).swap(*this);
    return *this;
  }
  ~intrusive_ptr() { reset(); }

  // Takes over a reference the caller already owns (a fresh object starts with count 1).
  static intrusive_ptr adopt(T* p) { intrusive_ptr r; r.p_ = p; return r; }
  // Adds a reference to a borrowed pointer.
  static intrusive_ptr borrow(T* p) { if (p) p->retain(); return adopt(p); }
  template <typename... Args>
  static intrusive_ptr make(Args&&... args) { return adopt(new T(std::forward<Args>(args)...)); }

  void reset() {
    if (p_ && p_->release_ref()) delete p_;
    p_ = nullptr;
  }
  T* release() { return std::exchange(p_, nullptr); }  // hands the reference to the caller
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  void swap(intrusive_ptr& o) noexcept { std::swap(p_, o.p_); }
  bool operator==(const intrusive_ptr& o) const { return p_ == o.p_; }

 private:
  T* p_ = nullptr;
};

}  // namespace vt
