// Calling ops through the boxed ABI: a handle looked up once, argument helpers, owned results.
#ifndef VT_CPP_OP_HPP
#define VT_CPP_OP_HPP

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "vt/cpp/api.hpp"

namespace vt::cpp {

// Arguments are borrowed views: whatever they point at (a tensor, a vector of ints) must outlive
// the call, which holds for temporaries inside the call's own full expression.
inline vt_value_t arg_none() { return vt_value_t{}; }
inline vt_value_t arg(vt_tensor_t t) {
  vt_value_t v{};
  v.tag = VT_VALUE_TENSOR;
  v.u.tensor = t;
  return v;
}
inline vt_value_t arg(int64_t x) {
  vt_value_t v{};
  v.tag = VT_VALUE_INT;
  v.u.i = x;
  return v;
}
inline vt_value_t arg(int x) { return arg(int64_t(x)); }
inline vt_value_t arg(double x) {
  vt_value_t v{};
  v.tag = VT_VALUE_DOUBLE;
  v.u.d = x;
  return v;
}
inline vt_value_t arg(bool x) {
  vt_value_t v{};
  v.tag = VT_VALUE_BOOL;
  v.u.b = x;
  return v;
}
inline vt_value_t arg(const std::vector<int64_t>& ints) {
  vt_value_t v{};
  v.tag = VT_VALUE_INT_LIST;
  v.u.ints.data = ints.data();
  v.u.ints.size = int64_t(ints.size());
  return v;
}
// dtypes and devices are plain integers in C, so they get names rather than overloads.
inline vt_value_t arg_dtype(int32_t dtype) {
  vt_value_t v{};
  v.tag = VT_VALUE_DTYPE;
  v.u.dtype = dtype;
  return v;
}
inline vt_value_t arg_device(vt_device_t device) {
  vt_value_t v{};
  v.tag = VT_VALUE_DEVICE;
  v.u.device = device;
  return v;
}

// One result of a call. It owns what the kernel handed back and releases it when it dies.
class Value {
 public:
  Value() = default;
  explicit Value(vt_value_t owned) : v_(owned) {}
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  Value(Value&& o) noexcept : v_(std::exchange(o.v_, vt_value_t{})) {}
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      reset();
      v_ = std::exchange(o.v_, vt_value_t{});
    }
    return *this;
  }
  ~Value() { reset(); }

  int32_t tag() const { return v_.tag; }
  const vt_value_t& raw() const { return v_; }
  int64_t to_int() const { return expect(VT_VALUE_INT).u.i; }
  double to_double() const { return expect(VT_VALUE_DOUBLE).u.d; }
  bool to_bool() const { return expect(VT_VALUE_BOOL).u.b != 0; }
  // Hands the owned value to the caller, who releases it (vt_value_release) or adopts it.
  vt_value_t release() { return std::exchange(v_, vt_value_t{}); }

 private:
  const vt_value_t& expect(int32_t tag) const {
    if (v_.tag != tag)
      throw Error(VT_ERROR_TYPE, "vt::cpp::Value: expected tag " + std::to_string(tag) +
                                     ", found tag " + std::to_string(v_.tag));
    return v_;
  }
  void reset() noexcept {
    if (v_.tag != VT_VALUE_NONE && detail::g_api) detail::g_api->value_release(&v_);
    v_ = vt_value_t{};
  }

  vt_value_t v_{};
};

// An op handle: the name is resolved once (construct it as a static), calls take no lookup.
class Op {
 public:
  explicit Op(const char* qualified_name) {
    check(api()->op_lookup(qualified_name, &op_));
    init();
  }
  explicit Op(vt_op_t op) : op_(op) { init(); }
  // Defines the op (idempotent for the same schema) and returns its handle.
  static Op define(const char* schema, uint32_t flags = 0) {
    vt_op_t op = nullptr;
    check(api()->op_define(schema, flags, &op));
    return Op(op);
  }

  vt_op_t get() const { return op_; }
  int64_t num_returns() const { return num_returns_; }
  std::string name() const {
    const char* n = nullptr;
    check(api()->op_name(op_, &n));
    return n;
  }

  // Positional arguments in schema order; trailing ones with defaults may be left out.
  std::vector<Value> call(std::initializer_list<vt_value_t> args) const {
    return call(args.begin(), int64_t(args.size()));
  }
  std::vector<Value> call(const vt_value_t* args, int64_t nargs) const {
    // Room for the common case on the stack; ops with more returns are rare.
    vt_value_t small[4] = {};
    std::vector<vt_value_t> big(num_returns_ > 4 ? size_t(num_returns_) : 0);
    vt_value_t* outs = num_returns_ > 4 ? big.data() : small;
    std::vector<Value> results;
    results.reserve(size_t(num_returns_));  // before the call: nothing may throw after it
    check(api()->op_call(op_, args, nargs, outs, num_returns_));
    for (int64_t i = 0; i < num_returns_; ++i) results.emplace_back(outs[i]);
    return results;
  }

 private:
  void init() { check(api()->op_num_returns(op_, &num_returns_)); }

  vt_op_t op_ = nullptr;
  int64_t num_returns_ = 0;
};

}  // namespace vt::cpp

#endif  // VT_CPP_OP_HPP
