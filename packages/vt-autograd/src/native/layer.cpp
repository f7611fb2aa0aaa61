#include "layer.h"

#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "copy_slices.h"
#include "formula.h"
#include "grad_mode.h"
#include "meta.h"
#include "ops.h"

namespace vt::autograd {
namespace {

// What the layer needs to know about an op, read once from its schema.
struct OpInfo {
  std::string name;
  const Formula* formula = nullptr;
  int mutated = -1;       // position of a "Tensor(a!)" argument
  bool is_out = false;    // that argument is out=
  bool is_view = false;   // the result aliases the input ("-> Tensor(a)")
};

OpInfo parse_op(vt_op_t op, const Formula* formula) {
  OpInfo info;
  const char* name = nullptr;
  const char* schema = nullptr;
  check(api().op_name(op, &name));
  check(api().op_schema(op, &schema));
  info.name = name;
  info.formula = formula;
  std::string_view s(schema);
  const size_t open = s.find('('), arrow = s.rfind("->");
  const size_t close = s.rfind(')', arrow);
  std::string_view args = s.substr(open + 1, close - open - 1);
  int pos = 0, depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= args.size(); ++i) {
    const char ch = i < args.size() ? args[i] : ',';
    if (ch == '(' || ch == '[') ++depth;
    if (ch == ')' || ch == ']') --depth;
    if (ch != ',' || depth) continue;
    std::string_view a = args.substr(start, i - start);
    start = i + 1;
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    if (a == "*") continue;
    if (a.find("(a!)") != std::string_view::npos && info.mutated < 0) {
      info.mutated = pos;
      std::string_view n = a.substr(a.find(')') + 1);
      while (!n.empty() && n.front() == ' ') n.remove_prefix(1);
      info.is_out = n.substr(0, 3) == "out";
    }
    ++pos;
  }
  std::string_view ret = s.substr(arrow + 2);
  info.is_view = ret.find("Tensor(a)") != std::string_view::npos;
  return info;
}

// For ops with no formula whose kernel is not built from differentiable ops.
class NotImplementedNode final : public Node {
 public:
  explicit NotImplementedNode(std::string op) : op_(std::move(op)) {}
  std::string name() const override { return "NotImplemented"; }
  std::vector<Tensor> apply(std::vector<Tensor>&&) override {
    fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative for '", op_, "' is not implemented");
  }

 private:
  std::string op_;
};

template <typename F>
void for_each_tensor(const vt_value_t* args, int64_t nargs, F&& f) {
  for (int64_t i = 0; i < nargs; ++i) {
    if (args[i].tag == VT_VALUE_TENSOR) f(args[i].u.tensor, i);
    else if (args[i].tag == VT_VALUE_TENSOR_LIST)
      for (int64_t k = 0; k < args[i].u.tensors.size; ++k) f(args[i].u.tensors.data[k], i);
  }
}

std::vector<Tensor> borrowed_outputs(const vt_value_t* outs, int64_t nouts) {
  std::vector<Tensor> r;
  for (int64_t j = 0; j < nouts; ++j) {
    if (outs[j].tag == VT_VALUE_TENSOR) r.push_back(Tensor::borrow(outs[j].u.tensor));
    else if (outs[j].tag == VT_VALUE_TENSOR_LIST)
      for (int64_t k = 0; k < outs[j].u.tensors.size; ++k)
        r.push_back(Tensor::borrow(outs[j].u.tensors.data[k]));
    else r.push_back(Tensor());
  }
  return r;
}

void call_below(vt_op_t op, const vt_value_t* args, int64_t nargs, vt_value_t* outs, int64_t nouts) {
  check(api().op_call_below(op, VT_LAYER_AUTOGRAD, args, nargs, outs, nouts));
}

// Outputs of a view op remember their base: an in-place write through them rebases the base.
void mark_view(const Tensor& out, vt_tensor_t input) {
  AutogradMeta& m = ensure_meta(out.get());
  m.is_view = true;
  AutogradMeta* in = meta_of(input);
  m.view_base = in && in->is_view ? in->view_base : Tensor::borrow(input);
}

// Whether t sees only part of its storage: a view of a tensor the layer never saw.
bool covers_part_of_storage(vt_tensor_t t) {
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  check(api().tensor_describe(t, &d));
  size_t storage = 0, item = 0;
  check(api().tensor_storage_nbytes(t, &storage));
  int64_t itemsize = 0;
  check(api().dtype_itemsize(d.dtype, &itemsize));
  item = size_t(itemsize);
  return d.storage_offset != 0 || size_t(d.numel) * item < storage;
}

// The view was written in place: its base's history becomes CopySlices around the op's node,
// and the view is re-derived from the base so that both see the write.
void rebase_view(const Tensor& view, const std::shared_ptr<Node>& fn) {
  AutogradMeta& m = ensure_meta(view.get());
  Tensor base = m.view_base;
  auto slices = std::make_shared<CopySlices>(base, view, fn);
  set_history(base.get(), slices, 0);
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  check(api().tensor_describe(view.get(), &d));
  GradModeGuard on(true);
  Tensor again = ops::call<"vt::as_strided">(base, std::vector<int64_t>(d.sizes, d.sizes + d.ndim),
                                             std::vector<int64_t>(d.strides, d.strides + d.ndim),
                                             d.storage_offset);
  set_history(view.get(), meta_of(again.get())->grad_fn, 0);
}

void run(const OpInfo& info, vt_op_t op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
         int64_t nouts) {
  bool any = false;
  for_each_tensor(args, nargs, [&](vt_tensor_t t, int64_t) { any = any || requires_grad(t); });
  if (!any) return call_below(op, args, nargs, outs, nouts);

  if (info.is_out)
    fail(VT_ERROR_INVALID_ARGUMENT, info.name, "(): functions with out=... arguments don't "
         "support automatic differentiation, but one of the arguments requires grad.");

  Tensor self_copy;
  if (info.mutated >= 0) {
    vt_tensor_t self = args[info.mutated].u.tensor;
    AutogradMeta* m = meta_of(self);
    if (m && m->requires_grad && !m->grad_fn)
      fail(VT_ERROR_INVALID_ARGUMENT,
           "a leaf Variable that requires grad is being used in an in-place operation.");
    if (!requires_grad(self) && (!m || !m->is_view) && covers_part_of_storage(self))
      fail(VT_ERROR_NOT_IMPLEMENTED, info.name, ": writing a tensor that requires grad in place "
           "into a view of a tensor that does not require grad is not implemented (the base "
           "would not see the gradient); make the base require grad or build the result out of "
           "place (cat, where, index_put)");
    if (m && m->is_view) {
      AutogradMeta* bm = meta_of(m->view_base.get());
      if (bm && bm->requires_grad && !bm->grad_fn)
        fail(VT_ERROR_INVALID_ARGUMENT, "a view of a leaf Variable that requires grad is being "
             "used in an in-place operation.");
      if (!m->view_base.is_contiguous())
        fail(VT_ERROR_NOT_IMPLEMENTED, info.name, ": in-place operations on a view of a "
             "non-contiguous tensor that requires grad are not implemented");
    }
    if (!info.formula) {
      // An in-place composite (dropout_) rebases self through the in-place ops it calls; one
      // that does not would leave self with a stale history, which is refused.
      std::shared_ptr<Node> before = m ? m->grad_fn : nullptr;
      call_below(op, args, nargs, outs, nouts);
      AutogradMeta* after = meta_of(self);
      if (!after || after->grad_fn == before)
        fail(VT_ERROR_NOT_IMPLEMENTED, "the derivative for '", info.name, "' is not implemented, "
             "and it modified a tensor in place while an argument requires grad");
      return;
    }
    // The old value of self, recorded (not below autograd) so that second-order gradients
    // flow through it as they do through any saved input.
    if (info.formula->save_args & 1) self_copy = ops::call<"vt::clone">(Tensor::borrow(self));
  }

  if (!info.formula) {
    // A composite kernel records its parts through the layer; anything it returns without a
    // history came from code autograd cannot see, and fails when backward reaches it.
    call_below(op, args, nargs, outs, nouts);
    std::shared_ptr<Node> missing;
    const std::vector<Tensor> results = borrowed_outputs(outs, nouts);
    for (uint32_t j = 0; j < results.size(); ++j) {
      const Tensor& out = results[j];
      if (!out.defined() || !is_floating_dtype(out.dtype()) || requires_grad(out.get())) continue;
      if (!missing) {
        missing = std::make_shared<NotImplementedNode>(info.name);
        for_each_tensor(args, nargs, [&](vt_tensor_t t, int64_t) {
          missing->next_edges.push_back(gradient_edge(Tensor::borrow(t)));
          missing->input_meta.push_back(TensorMeta::of(t));
        });
        for (const Tensor& r : results) missing->output_meta.push_back(TensorMeta::of(r.get()));
      }
      set_history(out.get(), missing, j);
    }
    return;
  }

  auto node = std::make_shared<FormulaNode>(*info.formula, args, nargs, info.mutated == 0, self_copy);
  {
    BelowAutogradGuard below;
    call_below(op, args, nargs, outs, nouts);
  }
  std::vector<Tensor> results = borrowed_outputs(outs, nouts);
  node->save_outputs(results);
  if (info.mutated == 0) {
    AutogradMeta* m = meta_of(args[0].u.tensor);
    if (m && m->is_view) return rebase_view(Tensor::borrow(args[0].u.tensor), node);
  }
  for (size_t j = 0; j < results.size(); ++j) {
    const Tensor& out = results[j];
    if (!out.defined() || !is_floating_dtype(out.dtype())) continue;
    // A functional op that hands back an input itself (contiguous of a contiguous tensor)
    // leaves that tensor's history alone.
    if (info.mutated < 0) {
      bool is_input = false;
      for_each_tensor(args, nargs, [&](vt_tensor_t t, int64_t) { is_input = is_input || t == out.get(); });
      if (is_input) continue;
    }
    set_history(out.get(), node, uint32_t(j));
    if (info.is_view && args[0].tag == VT_VALUE_TENSOR) mark_view(out, args[0].u.tensor);
  }
}

vt_status_t layer(void* context, vt_op_t op, const vt_value_t* args, int64_t nargs,
                  vt_value_t* outs, int64_t nouts) {
  return vt::cpp::guard([&] { run(*static_cast<const OpInfo*>(context), op, args, nargs, outs, nouts); });
}

// Ops without a registered layer of their own: their info is parsed on first use.
struct FallbackInfos {
  std::mutex mutex;
  std::unordered_map<vt_op_t, std::unique_ptr<OpInfo>> infos;
};

FallbackInfos& fallback_infos() {
  static FallbackInfos* f = new FallbackInfos();
  return *f;
}

const OpInfo& fallback_info(vt_op_t op) {
  thread_local std::unordered_map<vt_op_t, const OpInfo*> cache;
  if (auto it = cache.find(op); it != cache.end()) return *it->second;
  FallbackInfos& f = fallback_infos();
  std::lock_guard lock(f.mutex);
  auto& slot = f.infos[op];
  if (!slot) slot = std::make_unique<OpInfo>(parse_op(op, nullptr));
  cache[op] = slot.get();
  return *slot;
}

vt_status_t fallback(void*, vt_op_t op, const vt_value_t* args, int64_t nargs, vt_value_t* outs,
                     int64_t nouts) {
  return vt::cpp::guard([&] { run(fallback_info(op), op, args, nargs, outs, nouts); });
}

// "vt::mul.Tensor" -> "vt::mul_.Tensor", "vt::exp" -> "vt::exp_".
std::string inplace_name(const std::string& op) {
  const size_t dot = op.find('.', op.find("::") + 2);
  return dot == std::string::npos ? op + "_" : op.substr(0, dot) + "_" + op.substr(dot);
}

}  // namespace

void install_layer() {
  register_pointwise_formulas();
  register_reduce_formulas();
  register_linalg_formulas();
  register_shape_formulas();
  register_nn_formulas();
  register_conv_formulas();
  static std::vector<std::unique_ptr<OpInfo>> infos;  // live as long as the layers
  for (Formula* f : all_formulas()) {
    vt_op_t op = nullptr;
    if (api().op_lookup(f->op, &op) != VT_OK)
      fail(VT_ERROR_INTERNAL, "autograd: a formula names the op '", f->op, "', which vt-core "
           "does not define");
    infos.push_back(std::make_unique<OpInfo>(parse_op(op, f)));
    check(api().op_register_layer(op, VT_LAYER_AUTOGRAD, &layer, infos.back().get()));
    vt_op_t inplace = nullptr;
    if (api().op_lookup(inplace_name(f->op).c_str(), &inplace) == VT_OK) {
      infos.push_back(std::make_unique<OpInfo>(parse_op(inplace, f)));
      check(api().op_register_layer(inplace, VT_LAYER_AUTOGRAD, &layer, infos.back().get()));
    } else {
      api().clear_last_error();
    }
  }
  check(api().op_register_layer(nullptr, VT_LAYER_AUTOGRAD, &fallback, nullptr));
}

}  // namespace vt::autograd
