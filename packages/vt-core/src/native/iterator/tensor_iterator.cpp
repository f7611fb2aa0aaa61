#include "iterator/tensor_iterator.h"

#include <algorithm>
#include <atomic>

#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/copy.h"

namespace vt {
namespace {

std::atomic<ScalarType> g_default_float{ScalarType::Float32};

// torch's can_cast: no float -> integral and no non-bool -> bool through an output.
bool can_cast(ScalarType from, ScalarType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != ScalarType::Bool && to == ScalarType::Bool) return false;
  return true;
}

}  // namespace

ScalarType default_float_dtype() { return g_default_float.load(std::memory_order_relaxed); }
void set_default_float_dtype(ScalarType t) {
  VT_CHECK_TYPE(is_floating(t), "only floating-point types are supported as the default type");
  g_default_float.store(t);
}

ScalarType result_type(const std::vector<Tensor>& tensors, const std::vector<Scalar>& scalars) {
  // Three tiers, each promoted within itself; a lower tier counts only with a higher category.
  std::optional<ScalarType> dimmed, zero_dim, wrapped;
  auto join = [](std::optional<ScalarType>& acc, ScalarType t) {
    acc = acc ? promote_types(*acc, t) : t;
  };
  // A Python float counts as the default float dtype, an int as int64.
  auto number_dtype = [](ScalarType t) { return is_floating(t) ? default_float_dtype() : t; };
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    if (t.impl()->is_wrapped_number()) join(wrapped, number_dtype(t.dtype()));
    else if (t.dim() == 0) join(zero_dim, t.dtype());
    else join(dimmed, t.dtype());
  }
  for (const auto& s : scalars) join(wrapped, number_dtype(s.natural_dtype()));
  auto combine = [](std::optional<ScalarType> higher, std::optional<ScalarType> lower) {
    if (!higher) return lower;
    if (!lower || is_floating(*higher)) return higher;
    if (*higher == ScalarType::Bool || is_floating(*lower))
      return std::optional<ScalarType>(promote_types(*higher, *lower));
    return higher;
  };
  return combine(dimmed, combine(zero_dim, wrapped)).value_or(default_float_dtype());
}

DimVector broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  DimVector out(int64_t(n), 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      fail(VT_ERROR_INVALID_ARGUMENT, op, ": The size of tensor a (", da,
           ") must match the size of tensor b (", db, ") at non-singleton dimension ",
           n - 1 - i, " (shapes ", shape_string(a), " and ", shape_string(b), ")");
    out[int64_t(n - 1 - i)] = da == 1 ? db : da;
  }
  return out;
}

TensorIterator::TensorIterator(IterConfig c)
    : is_reduction_(c.is_reduction), reduce_dims_(c.reduce_dims), keepdim_(c.keepdim) {
  num_outputs_ = int(c.outputs.size());
  num_operands_ = num_outputs_ + int(c.inputs.size());
  VT_INTERNAL_ASSERT(num_outputs_ >= 1 && num_operands_ <= kMaxOperands);
  for (const auto& t : c.inputs)
    VT_CHECK(t.defined(), c.op_name, ": an input tensor is undefined");
  if (try_fast_path(c)) return;
  compute_shape(c);
  compute_dtypes(c);
  ops_.resize(size_t(num_operands_));
  for (int i = 0; i < num_outputs_; ++i) {
    ops_[size_t(i)].is_output = true;
    ops_[size_t(i)].tensor = c.outputs[size_t(i)];
  }
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Operand& op = ops_[size_t(num_outputs_) + i];
    op.tensor = c.inputs[i];
    if (c.promote_inputs && op.tensor.dtype() != compute_dtype_)
      op.tensor = to_dtype(op.tensor, compute_dtype_);
    op.dtype = op.tensor.dtype();
    op.data = op.tensor.data();
  }
  allocate_outputs(c);
  compute_strides();
  reorder_dimensions();
  coalesce_dimensions();
  numel_ = compute_numel(shape_);
}

bool TensorIterator::try_fast_path(const IterConfig& c) {
  // Same-shape contiguous operands of one dtype with nothing to allocate but contiguous outputs.
  if (c.is_reduction || c.inputs.empty() || c.compute_dtype) return false;
  const Tensor& first = c.inputs[0];
  ScalarType dt = first.dtype();
  if (c.promote_int_to_float && !is_floating(dt)) return false;
  if (!c.scalars.empty() && result_type(c.inputs, c.scalars) != dt) return false;
  for (const auto& t : c.inputs)
    if (t.dtype() != dt || !t.is_contiguous() || !(t.sizes() == first.sizes())) return false;
  ScalarType out_dt = c.output_dtype.value_or(dt);
  for (const auto& o : c.outputs)
    if (o.defined() && (o.dtype() != out_dt || !o.is_contiguous() || !(o.sizes() == first.sizes())))
      return false;
  compute_dtype_ = dt;
  numel_ = first.numel();
  result_shape_ = first.sizes();
  shape_ = numel_ == 1 && first.dim() == 0 ? DimVector() : DimVector{numel_};
  if (numel_ == 1) shape_.clear();
  ops_.resize(size_t(num_operands_));
  results_.resize(size_t(num_outputs_));
  for (int i = 0; i < num_operands_; ++i) {
    Operand& op = ops_[size_t(i)];
    op.is_output = i < num_outputs_;
    if (op.is_output) {
      const Tensor& o = c.outputs[size_t(i)];
      op.tensor = o.defined() ? o : Tensor::empty(first.sizes(), out_dt, first.device());
      results_[size_t(i)] = op.tensor;
    } else {
      op.tensor = c.inputs[size_t(i - num_outputs_)];
    }
    op.dtype = op.tensor.dtype();
    op.data = op.tensor.data();
    op.strides = shape_.empty() ? DimVector() : DimVector{op.tensor.itemsize()};
  }
  contiguous_ = true;
  return true;
}

void TensorIterator::compute_shape(const IterConfig& c) {
  if (c.is_reduction) {
    VT_INTERNAL_ASSERT(c.inputs.size() == 1);
    result_shape_ = c.inputs[0].sizes();
    return;
  }
  for (const auto& t : c.inputs) result_shape_ = broadcast_shapes(result_shape_, t.sizes(), c.op_name);
  if (c.inputs.empty() && c.outputs[0].defined()) result_shape_ = c.outputs[0].sizes();
  for (const auto& o : c.outputs) {
    if (!o.defined()) continue;
    VT_CHECK(o.sizes() == result_shape_, c.op_name, ": output with shape ", shape_string(o.sizes()),
             " doesn't match the broadcast shape ", shape_string(result_shape_));
  }
}

void TensorIterator::compute_dtypes(const IterConfig& c) {
  if (c.check_same_dtype) {
    ScalarType first = c.inputs.empty() ? c.outputs[0].dtype() : c.inputs[0].dtype();
    auto check = [&](const Tensor& t) {
      VT_CHECK(!t.defined() || t.dtype() == first, c.op_name,
               ": expected all tensors to have the same dtype, but got ", dtype_name(first),
               " and ", dtype_name(t.dtype()));
    };
    for (const auto& t : c.inputs) check(t);
    for (const auto& t : c.outputs) check(t);
  }
  if (c.compute_dtype) {
    compute_dtype_ = *c.compute_dtype;
  } else {
    compute_dtype_ = result_type(c.inputs, c.scalars);
    if (c.promote_int_to_float && !is_floating(compute_dtype_)) compute_dtype_ = default_float_dtype();
  }
}

void TensorIterator::allocate_outputs(const IterConfig& c) {
  // Broadcast strides of the inputs first: the output layout follows theirs.
  const int64_t nd = result_shape_.size();
  for (int i = num_outputs_; i < num_operands_; ++i) {
    Operand& op = ops_[size_t(i)];
    op.strides = DimVector(nd, 0);
    const Tensor& t = op.tensor;
    int64_t offset = nd - t.dim();
    for (int64_t d = 0; d < t.dim(); ++d)
      op.strides[offset + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d] * t.itemsize();
  }
  // Permutation from the inputs' strides (fastest first), as torch's reorder.
  perm_ = DimVector(nd);
  for (int64_t i = 0; i < nd; ++i) perm_[i] = nd - 1 - i;
  auto should_swap = [&](int64_t d0, int64_t d1) {
    for (int i = num_outputs_; i < num_operands_; ++i) {
      int64_t s0 = ops_[size_t(i)].strides[d0], s1 = ops_[size_t(i)].strides[d1];
      if (s0 == 0 || s1 == 0) continue;
      if (s0 != s1) return s0 > s1 ? 1 : -1;
      if (result_shape_[d0] > result_shape_[d1]) return 1;
    }
    return 0;
  };
  if (!is_reduction_) {
    for (int64_t i = 1; i < nd; ++i) {
      int64_t d1 = i;
      for (int64_t d0 = i - 1; d0 >= 0; --d0) {
        int cmp = should_swap(perm_[d0], perm_[d1]);
        if (cmp > 0) { std::swap(perm_[d0], perm_[d1]); d1 = d0; }
        else if (cmp < 0) break;
      }
    }
  }

  DimVector out_shape = result_shape_;
  if (is_reduction_) {
    out_shape.clear();
    for (int64_t d = 0; d < nd; ++d) {
      bool reduced = std::binary_search(c.reduce_dims.begin(), c.reduce_dims.end(), d);
      if (!reduced) out_shape.push_back(result_shape_[d]);
      else if (c.keepdim) out_shape.push_back(1);
    }
  }
  results_.resize(size_t(num_outputs_));
  Device device = !c.inputs.empty() ? c.inputs[0].device()
                  : c.outputs[0].defined() ? c.outputs[0].device() : kCPU;
  for (int i = 0; i < num_outputs_; ++i) {
    Operand& op = ops_[size_t(i)];
    ScalarType want = c.output_dtype.value_or(compute_dtype_);
    if (op.tensor.defined()) {
      VT_CHECK(!is_reduction_ || op.tensor.sizes() == out_shape, c.op_name, ": output with shape ",
               shape_string(op.tensor.sizes()), " doesn't match the expected shape ",
               shape_string(out_shape));
      for (int64_t d = 0; d < op.tensor.dim() && c.check_overlap; ++d)
        VT_CHECK(op.tensor.strides()[d] != 0 || op.tensor.sizes()[d] <= 1, c.op_name,
                 ": unsupported operation: more than one element of the written-to tensor "
                 "refers to a single memory location. Please clone() the tensor before "
                 "performing the operation.");
      results_[size_t(i)] = op.tensor;
      if (op.tensor.dtype() != want) {
        VT_CHECK(c.cast_outputs, c.op_name, ": expected output dtype ", dtype_name(want),
                 " but got ", dtype_name(op.tensor.dtype()));
        VT_CHECK(can_cast(want, op.tensor.dtype()), c.op_name, ": result type ", dtype_name(want),
                 " can't be cast to the desired output type ", dtype_name(op.tensor.dtype()));
        op.original = op.tensor;
        op.tensor = Tensor::empty(out_shape, want, device);
      }
    } else if (is_reduction_) {
      op.tensor = Tensor::empty(out_shape, want, device);
      results_[size_t(i)] = op.tensor;
    } else {
      // Contiguous in the permuted order: the output keeps the inputs' memory layout.
      DimVector strides(nd);
      int64_t s = 1;
      for (int64_t k = 0; k < nd; ++k) {
        strides[perm_[k]] = s;
        s *= std::max<int64_t>(result_shape_[perm_[k]], 1);
      }
      op.tensor = Tensor::empty_strided(result_shape_, strides, want, device);
      results_[size_t(i)] = op.tensor;
    }
    op.dtype = op.tensor.dtype();
    op.data = op.tensor.data();
  }
}

void TensorIterator::compute_strides() {
  const int64_t nd = result_shape_.size();
  for (int i = 0; i < num_outputs_; ++i) {
    Operand& op = ops_[size_t(i)];
    const Tensor& t = op.tensor;
    op.strides = DimVector(nd, 0);
    if (!is_reduction_) {
      for (int64_t d = 0; d < nd; ++d) op.strides[d] = t.strides()[d] * t.itemsize();
      continue;
    }
    // Reduced dims get stride 0 so every input element of a slice lands on one output.
    int64_t k = 0;
    for (int64_t d = 0; d < nd; ++d) {
      bool reduced = std::binary_search(reduce_dims_.begin(), reduce_dims_.end(), d);
      if (reduced) {
        k += keepdim_;
        continue;
      }
      op.strides[d] = t.strides()[k++] * t.itemsize();
    }
  }
}

void TensorIterator::reorder_dimensions() {
  const int64_t nd = result_shape_.size();
  shape_ = DimVector(nd);
  for (int64_t k = 0; k < nd; ++k) shape_[k] = result_shape_[perm_[k]];
  for (auto& op : ops_) {
    DimVector s(nd);
    for (int64_t k = 0; k < nd; ++k) s[k] = op.strides[perm_[k]];
    op.strides = std::move(s);
  }
}

void TensorIterator::coalesce_dimensions() {
  const int64_t nd = shape_.size();
  if (nd <= 1) return;
  auto can_coalesce = [&](int64_t d0, int64_t d1) {
    if (shape_[d0] == 1 || shape_[d1] == 1) return true;
    for (auto& op : ops_)
      if (shape_[d0] * op.strides[d0] != op.strides[d1]) return false;
    return true;
  };
  auto replace_stride = [&](int64_t d0, int64_t d1) {
    for (auto& op : ops_) op.strides[d0] = op.strides[d1];
  };
  int64_t prev = 0;
  for (int64_t d = 1; d < nd; ++d) {
    if (can_coalesce(prev, d)) {
      if (shape_[prev] == 1) replace_stride(prev, d);
      shape_[prev] *= shape_[d];
    } else {
      ++prev;
      if (prev != d) {
        replace_stride(prev, d);
        shape_[prev] = shape_[d];
      }
    }
  }
  shape_.resize(prev + 1);
  for (auto& op : ops_) op.strides.resize(prev + 1);
}

void TensorIterator::serial_for_each(const LoopFn& loop, int64_t begin, int64_t end,
                                     char* const* base_override) const {
  if (begin >= end) return;
  char* base[kMaxOperands];
  char* ptrs[kMaxOperands];
  int64_t inner[kMaxOperands];
  for (int k = 0; k < num_operands_; ++k) {
    base[k] = base_override && base_override[k] ? base_override[k] : ops_[size_t(k)].data;
    inner[k] = shape_.empty() ? 0 : ops_[size_t(k)].strides[0];
  }
  const int64_t nd = shape_.size();
  if (nd == 0) {
    loop(base, inner, 1);
    return;
  }
  int64_t coords[VT_MAX_DIMS];
  int64_t rem = begin;
  for (int64_t d = 0; d < nd; ++d) {
    coords[d] = rem % shape_[d];
    rem /= shape_[d];
  }
  while (begin < end) {
    int64_t n = std::min(shape_[0] - coords[0], end - begin);
    for (int k = 0; k < num_operands_; ++k) {
      char* p = base[k];
      const DimVector& s = ops_[size_t(k)].strides;
      for (int64_t d = 0; d < nd; ++d) p += coords[d] * s[d];
      ptrs[k] = p;
    }
    loop(ptrs, inner, n);
    begin += n;
    coords[0] += n;
    for (int64_t d = 0; d < nd - 1 && coords[d] == shape_[d]; ++d) {
      coords[d] = 0;
      ++coords[d + 1];
    }
  }
}

void TensorIterator::for_each(const LoopFn& loop, int64_t grain_size) const {
  if (numel_ == 0) return;
  if (numel_ < grain_size || is_reduction_) return serial_for_each(loop, 0, numel_);
  parallel_for(0, numel_, grain_size, [&](int64_t b, int64_t e) { serial_for_each(loop, b, e); });
}

void TensorIterator::reduce(const LoopFn& loop, const CombineFn& combine,
                            const std::function<void(const Tensor&)>& init) const {
  for (int i = 0; i < num_outputs_; ++i) init(ops_[size_t(i)].tensor);
  if (numel_ == 0) return;
  const int64_t nd = shape_.size();
  int threads = num_threads();
  if (numel_ < 2 * kGrainSize || threads <= 1 || in_parallel_region() || nd == 0)
    return serial_for_each(loop, 0, numel_);
  bool slowest_kept = true;
  for (int i = 0; i < num_outputs_; ++i) slowest_kept &= ops_[size_t(i)].strides[nd - 1] != 0;
  if (slowest_kept && shape_[nd - 1] >= 2) {
    // Threads own disjoint output slices along the slowest dim: no partials needed.
    int64_t inner = numel_ / shape_[nd - 1];
    parallel_for(0, shape_[nd - 1], std::max<int64_t>(1, kGrainSize / std::max<int64_t>(inner, 1)),
                 [&](int64_t b, int64_t e) { serial_for_each(loop, b * inner, e * inner); });
    return;
  }
  const Tensor& out = ops_[0].tensor;
  if (num_outputs_ != 1 || out.numel() > (1 << 16)) return serial_for_each(loop, 0, numel_);
  // Each extra thread accumulates into a private copy of the output, merged at the end.
  int64_t chunk = (numel_ + threads - 1) / threads;
  std::vector<Tensor> partials(static_cast<size_t>(threads));
  parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      char* override_ptrs[kMaxOperands] = {};
      if (t > 0) {
        partials[size_t(t)] = Tensor::empty_strided(out.sizes(), out.strides(), out.dtype(), out.device());
        init(partials[size_t(t)]);
        override_ptrs[0] = partials[size_t(t)].data();
      }
      serial_for_each(loop, t * chunk, std::min(numel_, (t + 1) * chunk), override_ptrs);
    }
  });
  for (int t = 1; t < threads; ++t)
    if (partials[size_t(t)].defined()) combine(out, partials[size_t(t)]);
}

void TensorIterator::finish() {
  for (int i = 0; i < num_outputs_; ++i) {
    Operand& op = ops_[size_t(i)];
    if (!op.original.defined()) continue;
    copy_(op.original, op.tensor);
    results_[size_t(i)] = op.original;
    op.tensor = op.original;
    op.original = Tensor();
  }
}

}  // namespace vt
