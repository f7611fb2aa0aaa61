// Sizes and strides: inline storage for the common ranks so a tensor costs no extra malloc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>

namespace vt {

using IntArrayRef = std::span<const int64_t>;

class DimVector {
 public:
  static constexpr int64_t kInline = 6;

  DimVector() = default;
  explicit DimVector(int64_t n, int64_t value = 0) { resize(n, value); }
  DimVector(IntArrayRef v) { assign(v); }  // NOLINT
  DimVector(std::initializer_list<int64_t> v) { assign(IntArrayRef(v.begin(), v.size())); }
  DimVector(const DimVector& o) { assign(o); }
  DimVector(DimVector&& o) noexcept { steal(o); }
  DimVector& operator=(const DimVector& o) { if (this != &o) assign(o); return *this; }
  DimVector& operator=(DimVector&& o) noexcept {
    if (this != &o) { release(); steal(o); }
    return *this;
  }
  ~DimVector() { release(); }

  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return ptr(); }
  const int64_t* data() const { return ptr(); }
  int64_t& operator[](int64_t i) { return ptr()[i]; }
  int64_t operator[](int64_t i) const { return ptr()[i]; }
  int64_t* begin() { return ptr(); }
  int64_t* end() { return ptr() + size_; }
  const int64_t* begin() const { return ptr(); }
  const int64_t* end() const { return ptr() + size_; }
  int64_t back() const { return ptr()[size_ - 1]; }
  operator IntArrayRef() const { return {ptr(), size_t(size_)}; }  // NOLINT
  IntArrayRef ref() const { return {ptr(), size_t(size_)}; }

  void assign(IntArrayRef v) {
    resize(int64_t(v.size()));
    if (!v.empty()) std::memmove(ptr(), v.data(), v.size() * sizeof(int64_t));
  }
  void resize(int64_t n, int64_t value = 0) {
    reserve(n);
    for (int64_t i = size_; i < n; ++i) ptr()[i] = value;
    size_ = n;
  }
  void push_back(int64_t v) { reserve(size_ + 1); ptr()[size_++] = v; }
  void insert(int64_t pos, int64_t v) {
    reserve(size_ + 1);
    std::memmove(ptr() + pos + 1, ptr() + pos, (size_ - pos) * sizeof(int64_t));
    ptr()[pos] = v;
    ++size_;
  }
  void erase(int64_t pos) {
    std::memmove(ptr() + pos, ptr() + pos + 1, (size_ - pos - 1) * sizeof(int64_t));
    --size_;
  }
  void clear() { size_ = 0; }
  bool operator==(const DimVector& o) const {
    return size_ == o.size_ && std::equal(begin(), end(), o.begin());
  }

 private:
  int64_t* ptr() { return heap_ ? heap_ : inline_; }
  const int64_t* ptr() const { return heap_ ? heap_ : inline_; }
  void reserve(int64_t n) {
    if (n <= capacity()) return;
    int64_t cap = std::max<int64_t>(n, 2 * capacity());
    auto* mem = static_cast<int64_t*>(std::malloc(size_t(cap) * sizeof(int64_t)));
    if (!mem) throw std::bad_alloc();
    std::memcpy(mem, ptr(), size_t(size_) * sizeof(int64_t));
    release();
    heap_ = mem;
    heap_capacity_ = cap;
  }
  int64_t capacity() const { return heap_ ? heap_capacity_ : kInline; }
  void release() { std::free(heap_); heap_ = nullptr; }
  void steal(DimVector& o) {
    size_ = o.size_;
    if (o.heap_) {
      heap_ = o.heap_;
      heap_capacity_ = o.heap_capacity_;
      o.heap_ = nullptr;
    } else {
      heap_ = nullptr;
      std::memcpy(inline_, o.inline_, size_t(size_) * sizeof(int64_t));
    }
    o.size_ = 0;
  }

  int64_t size_ = 0;
  int64_t* heap_ = nullptr;
  union {
    int64_t inline_[kInline];
    int64_t heap_capacity_;
  };
};

}  // namespace vt
