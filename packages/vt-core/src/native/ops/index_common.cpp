// Helpers shared by the index family: index checks, host scalars, and the loop shapes
// (take by offsets, per-line iteration, mask compaction).
#include <algorithm>

#include "ops/index_internal.h"
#include "ops/ops.h"

namespace vt::index_detail {

const char* legacy_name(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return "Bool";
    case ScalarType::UInt8: return "Byte";
    case ScalarType::Int8: return "Char";
    case ScalarType::Int16: return "Short";
    case ScalarType::Int32: return "Int";
    case ScalarType::Int64: return "Long";
    case ScalarType::Float16: return "Half";
    case ScalarType::BFloat16: return "BFloat16";
    case ScalarType::Float32: return "Float";
    case ScalarType::Float64: return "Double";
  }
  return "?";
}

Tensor as_long(const Tensor& index) {
  return index.dtype() == ScalarType::Int64 ? index : vt::to_dtype(index, ScalarType::Int64);
}

namespace {

// Chunks of at least kGrainSize elements, a few per thread.
int64_t chunk_count(int64_t n) {
  return std::clamp<int64_t>(n / kGrainSize, 1, int64_t(num_threads()) * 4);
}

}  // namespace

void check_index_range(const Tensor& index, int64_t size, int64_t dim, bool allow_negative,
                       vt_status_t status, const char* prefix) {
  if (index.numel() == 0) return;
  Tensor c = vt::contiguous(index);
  const int64_t* p = c.data_as<int64_t>();
  const int64_t n = c.numel(), chunks = chunk_count(n), step = (n + chunks - 1) / chunks;
  std::vector<int64_t> lo(size_t(chunks), 0), hi(size_t(chunks), 0);
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t begin = std::min(n - 1, k * step), end = std::min(n, begin + step);
      int64_t mn = p[begin], mx = p[begin];
      for (int64_t i = begin; i < end; ++i) mn = std::min(mn, p[i]), mx = std::max(mx, p[i]);
      lo[size_t(k)] = mn, hi[size_t(k)] = mx;
    }
  });
  int64_t mn = *std::min_element(lo.begin(), lo.end()), mx = *std::max_element(hi.begin(), hi.end());
  if (mx >= size)
    fail(status, prefix, "index ", mx, " is out of bounds for dimension ", dim, " with size ", size);
  if (mn < (allow_negative ? -size : 0))
    fail(status, prefix, "index ", mn, " is out of bounds for dimension ", dim, " with size ", size);
}

Scalar item_scalar(const Tensor& t) {
  VT_CHECK(t.numel() == 1, "a Tensor with ", t.numel(), " elements cannot be converted to Scalar");
  Tensor h = t;
  if (!t.device().is_cpu()) {
    h = vt::empty(t.sizes(), t.dtype(), kCPU);
    vt::copy_(h, t);
  }
  return visit_dtype(h.dtype(), [&](auto tag) -> Scalar {
    using T = decltype(tag);
    T v = *h.data_as<T>();
    if constexpr (std::is_same_v<T, bool>) return Scalar::from_bool(v);
    else if constexpr (std::is_integral_v<T>) return Scalar(int64_t(v));
    else return Scalar(double(static_cast<opmath_t<T>>(v)));
  });
}

Tensor contiguous_copy(const Tensor& self) {
  return self.is_contiguous() ? vt::clone(self) : vt::contiguous(self);
}

Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? vt::view(t, DimVector{1}) : t; }

namespace {

template <typename U>
inline void move_element(char* dst, const char* src) {
  U v;
  std::memcpy(&v, src, sizeof(U));
  std::memcpy(dst, &v, sizeof(U));
}

}  // namespace

Tensor take(const Tensor& out, const Tensor& src, const Tensor& offsets, int64_t mult, int64_t wrap) {
  IterConfig c;
  c.op_name = "index";
  c.outputs = {out};
  c.inputs = {src, offsets};
  c.promote_inputs = false;
  c.compute_dtype = src.dtype();
  c.cast_outputs = false;
  TensorIterator it(std::move(c));
  if (it.numel() == 0) return it.output();
  visit_width(src.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    it.for_each([mult, wrap](char** data, const int64_t* st, int64_t n) {
      char* o = data[0];
      const char* s = data[1];
      const char* ix = data[2];
      if (st[2] == 0) {
        // One index for the whole run (index_select rows, embedding lookups): a block move.
        int64_t k = *reinterpret_cast<const int64_t*>(ix);
        const char* base = s + (k < 0 ? k + wrap : k) * mult;
        if (st[0] == int64_t(sizeof(U)) && st[1] == int64_t(sizeof(U))) {
          std::memcpy(o, base, size_t(n) * sizeof(U));
        } else {
          for (int64_t i = 0; i < n; ++i) move_element<U>(o + i * st[0], base + i * st[1]);
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        int64_t k = *reinterpret_cast<const int64_t*>(ix + i * st[2]);
        move_element<U>(o + i * st[0], s + i * st[1] + (k < 0 ? k + wrap : k) * mult);
      }
    }, kGrainSize);
  });
  return it.output();
}

void for_each_line(const char* op, const std::vector<Tensor>& operands, int64_t dim,
                   int64_t line_length, const LoopFn& body) {
  const Tensor& first = operands[0];
  DimVector sizes = first.sizes();
  sizes[dim] = 1;
  if (line_length == 0 || compute_numel(sizes) == 0) return;
  IterConfig c;
  c.op_name = op;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Tensor& t = operands[i];
    Tensor squashed = t.view_as_strided(sizes, t.strides(), t.storage_offset());
    (i == 0 ? c.outputs : c.inputs).push_back(squashed);
  }
  c.promote_inputs = false;
  c.compute_dtype = first.dtype();
  c.cast_outputs = false;
  TensorIterator it(std::move(c));
  // At least a cache line's worth of positions per task keeps threads off each other's lines.
  it.for_each(body, std::max<int64_t>(16, kGrainSize / line_length));
}

MaskCompaction::MaskCompaction(const bool* mask, int64_t n) : n_(n) {
  const int64_t chunks = chunk_count(n);
  chunk_ = std::max<int64_t>(1, (n + chunks - 1) / chunks);
  starts_.assign(size_t(chunks + 1), 0);
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      int64_t count = 0;
      for (int64_t i = c * chunk_, end = std::min(n, (c + 1) * chunk_); i < end; ++i) count += mask[i];
      starts_[size_t(c + 1)] = count;
    }
  });
  for (size_t c = 1; c < starts_.size(); ++c) starts_[c] += starts_[c - 1];
}

}  // namespace vt::index_detail
