// Derivative formulas: one entry per op, written once (like PyTorch's derivatives list), and
// the node that runs one. A formula names what it keeps from the forward call (which tensor
// arguments, which outputs); everything else it reads from the arguments' copies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "node.h"
#include "saved_variable.h"

namespace vt::autograd {

class FormulaNode;

// What a backward formula sees: the incoming gradients, the forward call's arguments (saved
// tensors, copies of everything else), its saved outputs, and which inputs need a gradient.
class Ctx {
 public:
  Ctx(FormulaNode& node, std::vector<Tensor>& grads) : node_(node), grads_(grads) {}

  // The gradient of output j; zeros of the output's shape where none flowed.
  Tensor grad(size_t j = 0) const;
  bool has_grad(size_t j = 0) const { return j < grads_.size() && grads_[j].defined(); }

  Tensor tensor(size_t arg) const;        // a saved tensor argument
  Tensor output(size_t j = 0) const;      // a saved output
  std::vector<Tensor> tensors(size_t arg) const;  // a saved Tensor[] argument
  int64_t i(size_t arg) const;
  double d(size_t arg) const;             // a float or Scalar argument as a double
  bool b(size_t arg) const;
  bool is_none(size_t arg) const;
  std::vector<int64_t> ints(size_t arg) const;
  std::string str(size_t arg) const;
  int32_t dtype_arg(size_t arg) const;
  // Shape and dtype of a tensor argument (kept for every tensor argument, saved or not).
  const std::vector<int64_t>& sizes(size_t arg) const;
  int32_t dtype(size_t arg) const;
  vt_device_t device(size_t arg) const;
  int64_t dim(size_t arg) const { return int64_t(sizes(arg).size()); }
  const std::vector<int64_t>& output_sizes(size_t j = 0) const;
  // Whether tensor argument `arg` (element `elem` of a list) needs a gradient.
  bool needs(size_t arg, size_t elem = 0) const;
  size_t list_size(size_t arg) const;
  const TensorMeta& tensor_meta(size_t arg, size_t elem = 0) const;
  // Gradients for the elements of a Tensor[] argument.
  void set_list_grads(size_t arg, std::vector<Tensor> grads) const;

 private:
  FormulaNode& node_;
  std::vector<Tensor>& grads_;
};

// Returns one gradient per argument position (undefined: none); Tensor[] arguments use
// Ctx::set_list_grads instead.
using BackwardFn = std::vector<Tensor> (*)(const Ctx& c);

struct Formula {
  const char* op;            // "vt::mul.Tensor"
  uint64_t save_args;        // bit i: keep tensor argument i
  uint32_t save_outputs;     // bit j: keep output j
  uint64_t no_grad_args;     // bit i: tensor argument i has no gradient (indices, masks)
  BackwardFn backward;
  std::string node_name;     // "MulBackward0", filled in at registration
};

// Bits for the masks above.
constexpr uint64_t arg_bit(int i) { return uint64_t(1) << i; }
template <typename... I>
constexpr uint64_t args(I... i) { return (uint64_t(0) | ... | arg_bit(i)); }

// One value of the forward call, kept for backward.
struct SavedArg {
  vt_value_tag_t tag = VT_VALUE_NONE;
  int64_t i = 0;
  double d = 0;
  std::vector<int64_t> ints;
  std::string str;
  std::vector<TensorMeta> metas;           // tensor or list: one per tensor
  std::vector<SavedVariable> saved;        // kept tensors (when the formula asks)
  std::vector<Edge> edges;                 // where each tensor's gradient goes
};

class FormulaNode final : public Node {
 public:
  FormulaNode(const Formula& f, const vt_value_t* args, int64_t nargs, bool save_self_copy,
              const Tensor& self_copy);
  std::string name() const override { return formula_.node_name; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  void release_variables() override;

  // After the kernel ran: records the outputs (those the formula keeps are saved).
  void save_outputs(const std::vector<Tensor>& outputs);

 private:
  friend class Ctx;
  const Formula& formula_;
  std::vector<SavedArg> args_;
  std::vector<SavedVariable> outputs_;
  mutable std::vector<std::vector<Tensor>> list_grads_;
};

// The formula for an op name, or null.
const Formula* find_formula(const std::string& op);
// Every formula (registration walks them).
std::vector<Formula*>& all_formulas();

// Adds formulas; each family file calls this from its registration function.
void add_formulas(std::initializer_list<Formula> formulas);

void register_pointwise_formulas();
void register_reduce_formulas();
void register_linalg_formulas();
void register_shape_formulas();
void register_nn_formulas();
void register_conv_formulas();

}  // namespace vt::autograd
