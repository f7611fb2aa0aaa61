// The dispatcher: ops by qualified name, kernels per device type, wrapper layers, and the call
// paths. A call reads one immutable snapshot of the op's table and takes no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "dispatch/boxing.h"
#include "dispatch/schema.h"
#include "vt/c/op.h"

namespace vt {

struct KernelSlot {
  vt_boxed_kernel_fn boxed = nullptr;  // always set for a registered kernel
  void* context = nullptr;
  void* unboxed = nullptr;  // a typed function pointer when registered from C++
  const std::type_info* unboxed_type = nullptr;  // its exact C++ type, checked before calling
  bool present() const { return boxed != nullptr; }
};

// Published whole and never mutated: a call that loaded it keeps a consistent view.
struct OpTable {
  KernelSlot kernels[VT_DEVICE_TYPE_LIMIT];  // index VT_DEVICE_ANY (0) serves every device
  KernelSlot layers[VT_LAYER_COUNT];
  uint32_t layer_bits = 0;  // layers with a kernel for this op
};

class Op {
 public:
  Op(Schema schema, uint32_t flags);
  const std::string& name() const { return schema_.qualified_name; }
  const Schema& schema() const { return schema_; }
  uint32_t flags() const { return flags_; }
  const OpTable* table() const { return table_.load(std::memory_order_acquire); }
  void set_kernel(int32_t device_type, KernelSlot slot);
  void set_layer(int32_t layer, KernelSlot slot);

  vt_op_t to_c() const { return reinterpret_cast<vt_op_t>(const_cast<Op*>(this)); }
  static Op* from_c(vt_op_t op) { return reinterpret_cast<Op*>(op); }

 private:
  template <typename Edit> void publish(Edit&& edit);

  Schema schema_;
  uint32_t flags_;
  std::mutex mutex_;  // registration only
  std::atomic<const OpTable*> table_;
  std::vector<std::unique_ptr<OpTable>> tables_;  // every snapshot ever published stays valid
};

Op& define_op(std::string_view schema, uint32_t flags = 0);  // idempotent for the same schema
Op* find_op(std::string_view qualified_name);                 // nullptr when undefined
Op& get_op(std::string_view qualified_name);                  // ValueError when undefined
std::vector<std::string> defined_op_schemas();                // every op's schema, by name
void set_fallback_layer(int32_t layer, KernelSlot slot);      // a layer for every op
uint32_t fallback_layer_bits();

struct LayerState {
  uint32_t included = 0;
  uint32_t excluded = 0;
};
LayerState& layer_state();  // thread-local

inline constexpr uint32_t kAllLayers = (1u << VT_LAYER_COUNT) - 1;

// The boxed call path. args may stop early where the schema has defaults. outs get owned values.
void call_boxed(const Op& op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
                int64_t nouts, uint32_t allowed_layers = kAllLayers);

namespace detail {
[[noreturn]] void raise_no_kernel(const Op& op, Device device);
[[noreturn]] void raise_device_mismatch(const Op& op, Device a, Device b);
[[noreturn]] void raise_from_last_error();
void check_signature(const Op& op, const std::vector<std::pair<ArgType, bool>>& args,
                     int64_t num_returns);

// Device of a call: its tensors' (one device, 0-dim CPU tensors excepted), else a Device
// argument's, else CPU.
struct DeviceResolver {
  const Op& op;
  Device device = kCPU;
  bool from_tensor = false;
  bool cpu_scalar_only = false;  // the device so far came from a 0-dim CPU tensor
  bool from_device_arg = false;

  void see(const Tensor& t) {
    if (!t.defined()) return;
    Device d = t.device();
    bool scalar_cpu = d.is_cpu() && t.dim() == 0;
    if (!from_tensor) {
      device = d, from_tensor = true, cpu_scalar_only = scalar_cpu;
    } else if (d != device) {
      if (scalar_cpu) return;
      if (cpu_scalar_only) { device = d, cpu_scalar_only = false; return; }
      if (!(op.flags() & VT_OP_FLAG_MIXED_DEVICES)) raise_device_mismatch(op, device, d);
    } else if (!scalar_cpu) {
      cpu_scalar_only = false;
    }
  }
  void see(const std::optional<Tensor>& t) { if (t) see(*t); }
  void see(TensorList ts) { for (const auto& t : ts) see(t); }
  void see(Device d) {
    if (!from_tensor && !from_device_arg) device = d, from_device_arg = true;
  }
  void see(const std::optional<Device>& d) { if (d) see(*d); }
  template <typename T> void see(const T&) {}
};

inline uint32_t layer_mask_of(const Tensor& t) { return t.defined() ? t.impl()->layer_mask() : 0; }
inline uint32_t layer_mask_of(const std::optional<Tensor>& t) { return t ? layer_mask_of(*t) : 0; }
inline uint32_t layer_mask_of(TensorList ts) {
  uint32_t m = 0;
  for (const auto& t : ts) m |= layer_mask_of(t);
  return m;
}
template <typename T> uint32_t layer_mask_of(const T&) { return 0; }

inline uint32_t active_layers(const OpTable* t, uint32_t tensor_mask, uint32_t allowed) {
  const LayerState& s = layer_state();
  return ((tensor_mask | s.included) & ~s.excluded) & (t->layer_bits | fallback_layer_bits()) &
         allowed;
}

inline const KernelSlot& kernel_for(const Op& op, const OpTable* t, Device d) {
  const KernelSlot& k = t->kernels[d.type];
  if (k.present()) [[likely]] return k;
  if (t->kernels[VT_DEVICE_ANY].present()) return t->kernels[VT_DEVICE_ANY];
  raise_no_kernel(op, d);
}

template <typename R, typename... Args>
vt_status_t boxed_adapter(void* context, vt_op_t, const vt_value_t* args, int64_t nargs,
                          vt_value_t* outs, int64_t nouts) {
  auto fn = reinterpret_cast<R (*)(Args...)>(context);
  try {
    if (nargs != int64_t(sizeof...(Args)) || nouts != ResultBoxer<R>::count) [[unlikely]]
      fail(VT_ERROR_INTERNAL, "boxed call with ", nargs, " args / ", nouts,
           " outs does not match the kernel");
    R result = [&]<size_t... I>(std::index_sequence<I...>) {
      return fn(boxer_for<Args>::unbox(args[I])...);
    }(std::index_sequence_for<Args...>{});
    ResultBoxer<R>::box(std::move(result), outs);
    return VT_OK;
  } catch (const Error& e) {
    vt_set_last_error(e.status(), e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    vt_set_last_error(VT_ERROR_OUT_OF_MEMORY, "out of memory");
    return VT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    vt_set_last_error(VT_ERROR_INTERNAL, e.what());
    return VT_ERROR_INTERNAL;
  }
}
}  // namespace detail

// Registers a typed C++ kernel; it serves typed calls directly and boxed calls via an adapter.
template <typename R, typename... Args>
void register_kernel(std::string_view op_name, int32_t device_type, R (*fn)(Args...)) {
  Op& op = get_op(op_name);
  detail::check_signature(op, {{boxer_for<Args>::type, boxer_for<Args>::optional}...},
                          ResultBoxer<R>::count);
  op.set_kernel(device_type, {&detail::boxed_adapter<R, Args...>, reinterpret_cast<void*>(fn),
                              reinterpret_cast<void*>(fn), &typeid(R(Args...))});
}

// Defines an op from its schema and registers its typed kernel for one device type: how op
// families register themselves.
template <typename R, typename... Args>
void define_kernel(std::string_view schema, int32_t device_type, R (*fn)(Args...),
                   uint32_t flags = 0) {
  register_kernel(define_op(schema, flags).name(), device_type, fn);
}

// A typed, pre-resolved handle to an op: the steady-state call path of every C++ op function.
template <typename Sig> class OpHandle;

template <typename R, typename... Args>
class OpHandle<R(Args...)> {
 public:
  explicit OpHandle(std::string_view name) : op_(&get_op(name)) {
    detail::check_signature(*op_, {{boxer_for<Args>::type, boxer_for<Args>::optional}...},
                            ResultBoxer<R>::count);
  }

  R operator()(Args... args) const {
    const OpTable* t = op_->table();
    uint32_t mask = (detail::layer_mask_of(args) | ... | 0u);
    if (detail::active_layers(t, mask, kAllLayers)) [[unlikely]] return call_boxed_path(args...);
    detail::DeviceResolver resolver{*op_};
    (resolver.see(args), ...);
    const KernelSlot& k = detail::kernel_for(*op_, t, resolver.device);
    if (k.unboxed_type == &typeid(R(Args...))) [[likely]]
      return reinterpret_cast<R (*)(Args...)>(k.unboxed)(args...);
    return call_boxed_path(args...);
  }

  const Op& op() const { return *op_; }

 private:
  R call_boxed_path(Args... args) const {
    vt_value_t in[sizeof...(Args) + 1] = {boxer_for<Args>::box(args)...};
    vt_value_t out[ResultBoxer<R>::count] = {};
    call_boxed(*op_, in, int64_t(sizeof...(Args)), out, ResultBoxer<R>::count);
    return ResultBoxer<R>::unbox(out);
  }

  Op* op_;
};

}  // namespace vt
