#include "formula.h"

#include <deque>
#include <map>
#include <mutex>

#include "meta.h"
#include "ops.h"

namespace vt::autograd {
namespace {

struct Registry {
  std::deque<Formula> formulas;  // stable addresses: layers keep pointers
  std::map<std::string, Formula*, std::less<>> by_op;
  std::vector<Formula*> all;
};

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

// "vt::log_softmax.int" -> "LogSoftmaxBackward0", torch's node naming.
std::string node_name_for(const char* op) {
  std::string s(op);
  if (auto p = s.find("::"); p != std::string::npos) s = s.substr(p + 2);
  if (auto p = s.find('.'); p != std::string::npos) s = s.substr(0, p);
  std::string out;
  bool upper = true;
  for (char ch : s) {
    if (ch == '_') { upper = true; continue; }
    out += upper ? char(std::toupper(static_cast<unsigned char>(ch))) : ch;
    upper = false;
  }
  return out + "Backward0";
}

const SavedArg& arg_at(const std::vector<SavedArg>& args, size_t i, const char* what) {
  if (i >= args.size())
    fail(VT_ERROR_INTERNAL, "autograd formula reads argument ", std::to_string(i), " (", what,
         ") of a call with ", std::to_string(args.size()), " arguments");
  return args[i];
}

}  // namespace

void add_formulas(std::initializer_list<Formula> formulas) {
  Registry& r = registry();
  for (const Formula& f : formulas) {
    r.formulas.push_back(f);
    Formula& stored = r.formulas.back();
    stored.node_name = node_name_for(stored.op);
    r.by_op[stored.op] = &stored;
    r.all.push_back(&stored);
  }
}

const Formula* find_formula(const std::string& op) {
  Registry& r = registry();
  auto it = r.by_op.find(op);
  return it == r.by_op.end() ? nullptr : it->second;
}

std::vector<Formula*>& all_formulas() { return registry().all; }

// --- Ctx ---------------------------------------------------------------------------------------

Tensor Ctx::grad(size_t j) const {
  if (has_grad(j)) return grads_[j];
  const TensorMeta& m = node_.output_meta.at(j);
  return ops::full(m.sizes, 0.0, m.dtype, m.device);
}

Tensor Ctx::tensor(size_t arg) const {
  const SavedArg& a = arg_at(node_.args_, arg, "tensor");
  if (a.saved.empty() || !a.saved[0].defined()) {
    if (a.tag == VT_VALUE_NONE) return Tensor();
    fail(VT_ERROR_INTERNAL, node_.name(), ": argument ", std::to_string(arg),
         " was not saved for backward");
  }
  return a.saved[0].unpack(node_.shared_from_this());
}

std::vector<Tensor> Ctx::tensors(size_t arg) const {
  const SavedArg& a = arg_at(node_.args_, arg, "tensor list");
  std::vector<Tensor> out;
  for (const SavedVariable& s : a.saved) out.push_back(s.unpack(node_.shared_from_this()));
  return out;
}

Tensor Ctx::output(size_t j) const {
  if (j >= node_.outputs_.size() || !node_.outputs_[j].defined())
    fail(VT_ERROR_INTERNAL, node_.name(), ": output ", std::to_string(j), " was not saved");
  return node_.outputs_[j].unpack(node_.shared_from_this());
}

int64_t Ctx::i(size_t arg) const { return arg_at(node_.args_, arg, "int").i; }
double Ctx::d(size_t arg) const {
  const SavedArg& a = arg_at(node_.args_, arg, "float");
  return a.tag == VT_VALUE_DOUBLE ? a.d : double(a.i);
}
bool Ctx::b(size_t arg) const { return arg_at(node_.args_, arg, "bool").i != 0; }
bool Ctx::is_none(size_t arg) const { return arg_at(node_.args_, arg, "value").tag == VT_VALUE_NONE; }
std::vector<int64_t> Ctx::ints(size_t arg) const { return arg_at(node_.args_, arg, "int[]").ints; }
std::string Ctx::str(size_t arg) const { return arg_at(node_.args_, arg, "str").str; }
int32_t Ctx::dtype_arg(size_t arg) const { return int32_t(arg_at(node_.args_, arg, "dtype").i); }

const std::vector<int64_t>& Ctx::sizes(size_t arg) const {
  return arg_at(node_.args_, arg, "tensor").metas.at(0).sizes;
}
int32_t Ctx::dtype(size_t arg) const { return arg_at(node_.args_, arg, "tensor").metas.at(0).dtype; }
vt_device_t Ctx::device(size_t arg) const {
  return arg_at(node_.args_, arg, "tensor").metas.at(0).device;
}
const std::vector<int64_t>& Ctx::output_sizes(size_t j) const { return node_.output_meta.at(j).sizes; }

bool Ctx::needs(size_t arg, size_t elem) const {
  const SavedArg& a = arg_at(node_.args_, arg, "tensor");
  return elem < a.edges.size() && a.edges[elem].valid();
}
const TensorMeta& Ctx::tensor_meta(size_t arg, size_t elem) const {
  return arg_at(node_.args_, arg, "tensor").metas.at(elem);
}
size_t Ctx::list_size(size_t arg) const { return arg_at(node_.args_, arg, "tensor list").metas.size(); }
void Ctx::set_list_grads(size_t arg, std::vector<Tensor> grads) const {
  node_.list_grads_.at(arg) = std::move(grads);
}

// --- FormulaNode -------------------------------------------------------------------------------

FormulaNode::FormulaNode(const Formula& f, const vt_value_t* args, int64_t nargs,
                         bool save_self_copy, const Tensor& self_copy)
    : formula_(f) {
  args_.resize(size_t(nargs));
  for (int64_t i = 0; i < nargs; ++i) {
    const vt_value_t& v = args[i];
    SavedArg& a = args_[size_t(i)];
    a.tag = vt_value_tag_t(v.tag);
    const bool keep = (f.save_args >> i) & 1;
    const bool differentiable = !((f.no_grad_args >> i) & 1);
    auto add_tensor = [&](vt_tensor_t t, bool is_self) {
      Tensor borrowed = Tensor::borrow(t);
      a.metas.push_back(TensorMeta::of(t));
      const bool floating = is_floating_dtype(a.metas.back().dtype);
      a.edges.push_back(differentiable && floating ? gradient_edge(borrowed) : Edge{});
      if (keep) a.saved.emplace_back(is_self && save_self_copy ? self_copy : borrowed, false);
    };
    switch (v.tag) {
      case VT_VALUE_TENSOR: add_tensor(v.u.tensor, i == 0); break;
      case VT_VALUE_TENSOR_LIST:
        for (int64_t k = 0; k < v.u.tensors.size; ++k) add_tensor(v.u.tensors.data[k], false);
        break;
      case VT_VALUE_INT: a.i = v.u.i; break;
      case VT_VALUE_DOUBLE: a.d = v.u.d; break;
      case VT_VALUE_BOOL: a.i = v.u.b; break;
      case VT_VALUE_DTYPE: a.i = v.u.dtype; break;
      case VT_VALUE_INT_LIST: a.ints.assign(v.u.ints.data, v.u.ints.data + v.u.ints.size); break;
      case VT_VALUE_STRING: a.str.assign(v.u.str.data, size_t(v.u.str.size)); break;
      default: break;
    }
    for (size_t k = 0; k < a.edges.size(); ++k) {
      next_edges.push_back(a.edges[k]);
      input_meta.push_back(a.metas[k]);
    }
  }
  list_grads_.resize(args_.size());
}

void FormulaNode::save_outputs(const std::vector<Tensor>& outputs) {
  output_meta.clear();
  outputs_.resize(outputs.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    output_meta.push_back(TensorMeta::of(outputs[j].get()));
    if ((formula_.save_outputs >> j) & 1) outputs_[j] = SavedVariable(outputs[j], true, uint32_t(j));
  }
}

std::vector<Tensor> FormulaNode::apply(std::vector<Tensor>&& grads) {
  std::lock_guard lock(mutex);
  if (released) raise_released();
  for (auto& l : list_grads_) l.clear();
  Ctx c(*this, grads);
  std::vector<Tensor> by_arg = formula_.backward(c);
  std::vector<Tensor> out(next_edges.size());
  size_t k = 0;
  for (size_t a = 0; a < args_.size(); ++a) {
    const bool list = args_[a].tag == VT_VALUE_TENSOR_LIST;
    for (size_t e = 0; e < args_[a].edges.size(); ++e, ++k) {
      if (!next_edges[k].valid()) continue;
      if (list) {
        if (e < list_grads_[a].size()) out[k] = list_grads_[a][e];
      } else if (a < by_arg.size()) {
        out[k] = by_arg[a];
      }
    }
  }
  return out;
}

void FormulaNode::release_variables() {
  std::lock_guard lock(mutex);
  bool any = false;
  for (SavedArg& a : args_)
    for (SavedVariable& s : a.saved) any |= s.defined(), s.reset();
  for (SavedVariable& s : outputs_) any |= s.defined(), s.reset();
  if (any) released = true;
}

}  // namespace vt::autograd
