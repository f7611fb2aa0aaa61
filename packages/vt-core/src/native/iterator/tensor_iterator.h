// TensorIterator: the shared machinery of elementwise and reduction kernels. It broadcasts the
// operands, picks the compute dtype by torch's promotion rules, allocates or checks outputs,
// orders and coalesces dimensions, and runs a strided 1-D loop over the result, in parallel
// where that is safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/dim_vector.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace vt {

// The inner loop: n elements; data[k] is operand k (outputs first), strides[k] in bytes.
using LoopFn = std::function<void(char** data, const int64_t* strides, int64_t n)>;

inline constexpr int kMaxOperands = 8;

struct IterConfig {
  const char* op_name = "op";
  std::vector<Tensor> outputs;   // an undefined entry is allocated
  std::vector<Tensor> inputs;
  std::vector<Scalar> scalars;  // Python numbers: they take part in promotion; kernels capture them
  bool promote_inputs = true;         // convert inputs to the compute dtype
  bool promote_int_to_float = false;  // true division, exp, mean...
  std::optional<ScalarType> output_dtype;   // of allocated outputs; default: compute dtype
  std::optional<ScalarType> compute_dtype;  // skip promotion and use this
  bool check_same_dtype = false;
  bool cast_outputs = true;
  bool check_overlap = true;  // refuse outputs whose elements share memory (not for fill_)  // a given output of another dtype gets a temporary + copy back
  bool is_reduction = false;
  DimVector reduce_dims;  // wrapped, sorted, unique when is_reduction
  bool keepdim = false;
};

class TensorIterator {
 public:
  explicit TensorIterator(IterConfig config);

  ScalarType compute_dtype() const { return compute_dtype_; }
  int64_t numel() const { return numel_; }
  int64_t ndim() const { return shape_.size(); }
  int num_outputs() const { return num_outputs_; }
  int num_operands() const { return num_operands_; }
  const Tensor& output(int i = 0) const { return results_[size_t(i)]; }
  ScalarType dtype(int operand) const { return ops_[size_t(operand)].dtype; }
  // One contiguous run with no broadcasting: kernels may take a faster path.
  bool is_contiguous() const { return contiguous_; }

  // Runs loop over every element; elementwise iterators split the work over threads.
  void for_each(const LoopFn& loop, int64_t grain_size) const;
  // Runs loop over [begin, end) of the linear iteration space, with optional per-operand base
  // pointers replacing the operands' own (for per-thread reduction buffers).
  void serial_for_each(const LoopFn& loop, int64_t begin, int64_t end,
                       char* const* base_override = nullptr) const;
  // Reductions: accumulates with loop into outputs that were pre-filled with the identity.
  // combine(dst, src) merges a per-thread partial into an output (same dtype as output 0).
  using CombineFn = std::function<void(const Tensor& dst, const Tensor& src)>;
  void reduce(const LoopFn& loop, const CombineFn& combine, const std::function<void(const Tensor&)>& init) const;

  // Copies temporaries back into outputs of another dtype; call once after the loop.
  void finish();

 private:
  struct Operand {
    Tensor tensor;          // the tensor the loop reads or writes
    Tensor original;        // a given output replaced by a temporary of the compute dtype
    ScalarType dtype = ScalarType::Float32;
    char* data = nullptr;
    DimVector strides;      // bytes, in iteration order
    bool is_output = false;
  };

  void compute_shape(const IterConfig& c);
  void compute_dtypes(const IterConfig& c);
  void allocate_outputs(const IterConfig& c);
  void compute_strides();
  void reorder_dimensions();
  void coalesce_dimensions();
  bool try_fast_path(const IterConfig& c);

  std::vector<Operand> ops_;
  std::vector<Tensor> results_;
  int num_outputs_ = 0;
  int num_operands_ = 0;
  DimVector shape_;        // iteration shape, fastest dim first after reordering
  DimVector result_shape_; // broadcast shape in torch's order (before reduction)
  DimVector perm_;         // iteration dim -> broadcast dim
  int64_t numel_ = 0;
  ScalarType compute_dtype_ = ScalarType::Float32;
  bool contiguous_ = false;
  bool is_reduction_ = false;
  DimVector reduce_dims_;
  bool keepdim_ = false;
};

// torch's result_type over tensors and Python numbers: dimensioned tensors outrank 0-dim
// tensors, which outrank numbers, unless a lower tier brings a higher category
// (bool < integer < floating).
ScalarType result_type(const std::vector<Tensor>& tensors, const std::vector<Scalar>& scalars);
ScalarType default_float_dtype();
void set_default_float_dtype(ScalarType t);
// broadcast shape of two shapes, or RuntimeError naming the op
DimVector broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op);

}  // namespace vt
