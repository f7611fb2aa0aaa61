#include "dispatch/dispatcher.h"

#include <bit>
#include <map>

#include "core/allocator.h"

namespace vt {
namespace {

struct Registry {
  std::mutex mutex;  // definition and lookup by name; calls use cached handles
  std::map<std::string, std::unique_ptr<Op>, std::less<>> ops;
};

Registry& registry() {
  static Registry* r = new Registry();  // ops outlive every static that may call them
  return *r;
}

struct FallbackLayers {
  std::mutex mutex;
  std::atomic<const OpTable*> table{new OpTable()};
  std::atomic<uint32_t> bits{0};
};

FallbackLayers& fallbacks() {
  static FallbackLayers* f = new FallbackLayers();
  return *f;
}

thread_local LayerState t_layers;

void release_outs(vt_value_t* outs, int64_t n) {
  for (int64_t i = 0; i < n; ++i) vt_value_release(&outs[i]);
}

}  // namespace

Op::Op(Schema schema, uint32_t flags) : schema_(std::move(schema)), flags_(flags) {
  tables_.push_back(std::make_unique<OpTable>());
  table_.store(tables_.back().get(), std::memory_order_release);
}

template <typename Edit>
void Op::publish(Edit&& edit) {
  std::lock_guard lock(mutex_);
  auto next = std::make_unique<OpTable>(*table_.load(std::memory_order_relaxed));
  edit(*next);
  next->layer_bits = 0;
  for (int l = 0; l < VT_LAYER_COUNT; ++l)
    if (next->layers[l].present()) next->layer_bits |= 1u << l;
  table_.store(next.get(), std::memory_order_release);
  tables_.push_back(std::move(next));
}

void Op::set_kernel(int32_t device_type, KernelSlot slot) {
  VT_CHECK_VALUE(device_type >= 0 && device_type < VT_DEVICE_TYPE_LIMIT, name(),
                 ": cannot register a kernel for device type ", device_type);
  publish([&](OpTable& t) { t.kernels[device_type] = slot; });
}

void Op::set_layer(int32_t layer, KernelSlot slot) {
  VT_CHECK_VALUE(layer >= 0 && layer < VT_LAYER_COUNT, name(), ": no wrapper layer ", layer);
  publish([&](OpTable& t) { t.layers[layer] = slot; });
}

Op& define_op(std::string_view schema_text, uint32_t flags) {
  Schema schema = parse_schema(schema_text);
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.ops.find(schema.qualified_name);
  if (it != r.ops.end()) {
    VT_CHECK_VALUE(it->second->schema().text == schema.text, "op ", schema.qualified_name,
                   " is already defined with schema '", it->second->schema().text,
                   "', not '", schema.text, "'");
    return *it->second;
  }
  std::string name = schema.qualified_name;
  auto op = std::make_unique<Op>(std::move(schema), flags);
  Op& ref = *op;
  r.ops.emplace(std::move(name), std::move(op));
  return ref;
}

Op* find_op(std::string_view qualified_name) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.ops.find(qualified_name);
  return it == r.ops.end() ? nullptr : it->second.get();
}

std::vector<std::string> defined_op_schemas() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> out;
  out.reserve(r.ops.size());
  for (const auto& [name, op] : r.ops) out.push_back(op->schema().text);
  return out;
}

Op& get_op(std::string_view qualified_name) {
  Op* op = find_op(qualified_name);
  if (!op) fail(VT_ERROR_VALUE, "no op named '", qualified_name, "' is defined");
  return *op;
}

void set_fallback_layer(int32_t layer, KernelSlot slot) {
  VT_CHECK_VALUE(layer >= 0 && layer < VT_LAYER_COUNT, "no wrapper layer ", layer);
  auto& f = fallbacks();
  std::lock_guard lock(f.mutex);
  auto* next = new OpTable(*f.table.load());  // old tables stay alive for readers in flight
  next->layers[layer] = slot;
  uint32_t bits = 0;
  for (int l = 0; l < VT_LAYER_COUNT; ++l)
    if (next->layers[l].present()) bits |= 1u << l;
  next->layer_bits = bits;
  f.table.store(next, std::memory_order_release);
  f.bits.store(bits, std::memory_order_release);
}

uint32_t fallback_layer_bits() { return fallbacks().bits.load(std::memory_order_acquire); }

LayerState& layer_state() { return t_layers; }

void call_boxed(const Op& op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
                int64_t nouts, uint32_t allowed_layers) {
  const Schema& schema = op.schema();
  const int64_t n = int64_t(schema.args.size());
  VT_CHECK_TYPE(nargs <= n, op.name(), "() takes ", n, " arguments but ", nargs, " were given");
  VT_CHECK_TYPE(nouts == int64_t(schema.returns.size()), op.name(), " returns ",
                schema.returns.size(), " values, but the call has room for ", nouts);

  // Complete trailing defaults and validate every value: boxed callers may be foreign code.
  vt_value_t local[16];
  std::vector<vt_value_t> heap;
  vt_value_t* full = n <= 16 ? local : (heap.resize(size_t(n)), heap.data());
  for (int64_t i = 0; i < n; ++i) {
    const Argument& a = schema.args[size_t(i)];
    if (i < nargs) {
      full[i] = args[i];
    } else {
      VT_CHECK_TYPE(a.has_default, op.name(), "() missing required argument '", a.name, "' (",
                    arg_type_name(a.type), ")");
      full[i] = a.default_value.as_value();
    }
    VT_CHECK_TYPE(a.accepts(full[i]), op.name(), "(): argument '", a.name, "' must be ",
                  arg_type_name(a.type), a.optional ? "?" : "", ", not a value with tag ",
                  full[i].tag);
    if (full[i].tag == VT_VALUE_TENSOR_LIST) {
      for (int64_t k = 0; k < full[i].u.tensors.size; ++k)
        VT_CHECK_TYPE(full[i].u.tensors.data[k], op.name(), "(): argument '", a.name,
                      "' holds a null tensor at position ", k);
    }
  }

  const OpTable* t = op.table();
  uint32_t mask = 0;
  detail::DeviceResolver resolver{op};
  for (int64_t i = 0; i < n; ++i) {
    const vt_value_t& v = full[i];
    if (v.tag == VT_VALUE_TENSOR) {
      Tensor tensor = Tensor::from_c_borrowed(v.u.tensor);
      mask |= detail::layer_mask_of(tensor);
      resolver.see(tensor);
    } else if (v.tag == VT_VALUE_TENSOR_LIST) {
      TensorList list = Boxer<TensorList>::unbox(v);
      mask |= detail::layer_mask_of(list);
      resolver.see(list);
    } else if (v.tag == VT_VALUE_DEVICE) {
      resolver.see(Device::from_c(v.u.device));
    }
  }

  for (int64_t i = 0; i < nouts; ++i) outs[i] = vt_value_t{};
  const KernelSlot* slot;
  if (uint32_t active = detail::active_layers(t, mask, allowed_layers)) {
    int top = 31 - std::countl_zero(active);
    slot = t->layers[top].present() ? &t->layers[top]
                                    : &fallbacks().table.load(std::memory_order_acquire)->layers[top];
  } else {
    slot = &detail::kernel_for(op, t, resolver.device);
  }
  vt_status_t status = slot->boxed(slot->context, op.to_c(), full, n, outs, nouts);
  if (status != VT_OK) {
    release_outs(outs, nouts);
    detail::raise_from_last_error();
  }
  for (int64_t i = 0; i < nouts; ++i) {
    if (outs[i].tag == VT_VALUE_NONE) continue;
    bool tensor_like = outs[i].tag == VT_VALUE_TENSOR || outs[i].tag == VT_VALUE_TENSOR_LIST;
    bool expects_tensor = schema.returns[size_t(i)] == ArgType::Tensor ||
                          schema.returns[size_t(i)] == ArgType::TensorList;
    if (tensor_like != expects_tensor || (outs[i].tag == VT_VALUE_TENSOR && !outs[i].u.tensor)) {
      release_outs(outs, nouts);
      fail(VT_ERROR_INTERNAL, op.name(), ": a kernel returned a value of the wrong kind for "
           "return ", i);
    }
  }
}

void ResultBoxer<std::vector<Tensor>>::box(std::vector<Tensor>&& ts, vt_value_t* outs) {
  auto* arr = static_cast<vt_tensor_t*>(vt_host_alloc(ts.size() * sizeof(vt_tensor_t) + 1));
  if (!arr) throw std::bad_alloc();
  for (size_t i = 0; i < ts.size(); ++i) arr[i] = std::move(ts[i]).to_c_owned();
  outs[0] = vt_value_t{};
  outs[0].tag = VT_VALUE_TENSOR_LIST;
  outs[0].u.tensors = {arr, int64_t(ts.size())};
}

std::vector<Tensor> ResultBoxer<std::vector<Tensor>>::unbox(vt_value_t* outs) {
  VT_INTERNAL_ASSERT(outs[0].tag == VT_VALUE_TENSOR_LIST);
  std::vector<Tensor> result;
  result.reserve(size_t(outs[0].u.tensors.size));
  for (int64_t i = 0; i < outs[0].u.tensors.size; ++i)
    result.push_back(Tensor::from_c_owned(outs[0].u.tensors.data[i]));
  vt_host_free(const_cast<vt_tensor_t*>(outs[0].u.tensors.data));
  outs[0] = vt_value_t{};
  return result;
}

namespace detail {

void raise_no_kernel(const Op& op, Device device) {
  std::string available;
  const OpTable* t = op.table();
  for (int32_t d = 1; d < VT_DEVICE_TYPE_LIMIT; ++d) {
    if (!t->kernels[d].present()) continue;
    if (!available.empty()) available += ", ";
    available += device_type_name(d);
  }
  fail(VT_ERROR_NOT_IMPLEMENTED, "Could not run '", op.name(), "' with arguments from the '",
       device_string(device), "' device: no kernel is registered for it (kernels exist for: ",
       available.empty() ? "none" : available, ")");
}

void raise_device_mismatch(const Op& op, Device a, Device b) {
  fail(VT_ERROR_INVALID_ARGUMENT,
       "Expected all tensors to be on the same device, but found at least two devices, ",
       device_string(a), " and ", device_string(b), "! (when checking arguments for ", op.name(),
       ")");
}

void raise_from_last_error() {
  vt_status_t s = vt_last_error_status();
  throw Error(s == VT_OK ? VT_ERROR_INTERNAL : s, vt_last_error_message());
}

void check_signature(const Op& op, const std::vector<std::pair<ArgType, bool>>& args,
                     int64_t num_returns) {
  const Schema& s = op.schema();
  bool ok = args.size() == s.args.size() && num_returns == int64_t(s.returns.size());
  for (size_t i = 0; ok && i < args.size(); ++i)
    ok = args[i].first == s.args[i].type && args[i].second == s.args[i].optional;
  if (!ok) {
    std::string sig = "(";
    for (size_t i = 0; i < args.size(); ++i)
      sig += std::string(i ? ", " : "") + arg_type_name(args[i].first) + (args[i].second ? "?" : "");
    fail(VT_ERROR_INTERNAL, "C++ signature ", sig, ") with ", num_returns,
         " returns does not match the schema of ", s.text);
  }
}

}  // namespace detail
}  // namespace vt
