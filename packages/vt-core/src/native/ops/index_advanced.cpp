// Advanced indexing: index (x[idx]) and index_put_ (x[idx] = v). Masks become their nonzero
// coordinates, index tensors broadcast together, and self is restrided so that each result
// element is one offset away from its source: a single parallel loop, as torch does it.
#include "dispatch/dispatcher.h"
#include "ops/index_internal.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace vt {
namespace {

using namespace index_detail;

struct IndexPlan {
  DimVector shape;  // of the result
  Tensor src;       // self restrided to shape, stride 0 along the broadcast index dims
  Tensor offsets;   // int64 restrided to shape; undefined when nothing is indexed
  int64_t mult = 0;  // bytes per offset unit
  int64_t wrap = 0;  // added to negative offsets
};

// (dim, int64 index) pairs, masks expanded; dims strictly increase.
std::vector<std::pair<int64_t, Tensor>> place_indices(const Tensor& self, TensorList indices,
                                                      std::optional<IntArrayRef> dims) {
  VT_CHECK(!dims || dims->size() == indices.size(), "index(): got ", indices.size(),
           " index tensors but ", dims ? dims->size() : 0, " dims");
  std::vector<std::pair<int64_t, Tensor>> out;
  int64_t next = 0;
  for (size_t k = 0; k < indices.size(); ++k) {
    const Tensor& t = indices[k];
    ScalarType dt = t.dtype();
    bool mask = dt == ScalarType::Bool || dt == ScalarType::UInt8;
    VT_CHECK_INDEX(mask || dt == ScalarType::Int64 || dt == ScalarType::Int32,
                   "tensors used as indices must be long, int, byte or bool tensors");
    int64_t span = mask ? t.dim() : 1;
    int64_t d = dims ? (*dims)[k] : next;
    VT_CHECK(d >= next, "index(): dims must increase and the indexed dims must not overlap, got ",
             shape_string(*dims));
    VT_CHECK_INDEX(d + span <= self.dim(), "too many indices for tensor of dimension ", self.dim());
    if (mask) {
      VT_CHECK_INDEX(t.dim() > 0, "index(): a 0-dim bool index selects no dim; index through "
                     "Tensor.__getitem__, which adds the new dim");
      for (int64_t j = 0; j < t.dim(); ++j)
        VT_CHECK_INDEX(t.sizes()[j] == self.sizes()[d + j], "The shape of the mask ",
                       shape_string(t.sizes()), " at index ", j, " does not match the shape of the "
                       "indexed tensor ", shape_string(self.sizes()), " at index ", d + j);
      Tensor coords = vt::nonzero(t);
      for (int64_t j = 0; j < t.dim(); ++j) out.emplace_back(d + j, vt::select(coords, 1, j));
    } else {
      out.emplace_back(d, as_long(t));
    }
    next = d + span;
  }
  return out;
}

IndexPlan plan_index(const Tensor& self, TensorList indices, std::optional<IntArrayRef> dims) {
  IndexPlan p;
  auto entries = place_indices(self, indices, dims);
  if (entries.empty()) return p;
  DimVector b;
  for (const auto& [d, idx] : entries) {
    bool ok = true;
    DimVector next(std::max(b.size(), idx.dim()), 1);
    for (int64_t i = 0; i < next.size(); ++i) {
      int64_t x = i < next.size() - b.size() ? 1 : b[i - (next.size() - b.size())];
      int64_t y = i < next.size() - idx.dim() ? 1 : idx.sizes()[i - (next.size() - idx.dim())];
      ok &= x == y || x == 1 || y == 1;
      next[i] = x == 1 ? y : x;
    }
    if (!ok) {
      std::string shapes;
      for (const auto& e : entries) shapes += (shapes.empty() ? "" : ", ") + shape_string(e.second.sizes());
      fail(VT_ERROR_INDEX, "shape mismatch: indexing tensors could not be broadcast together with "
           "shapes ", shapes);
    }
    b = next;
  }
  for (const auto& [d, idx] : entries) check_index_range(idx, self.sizes()[d], d, true, VT_ERROR_INDEX);

  // Adjacent index dims keep their place; separated ones move the broadcast dims first.
  const int64_t k = entries.size(), first = entries.front().first, last = entries.back().first;
  const bool adjacent = last - first == k - 1;
  std::vector<bool> indexed(size_t(self.dim()), false);
  for (const auto& e : entries) indexed[size_t(e.first)] = true;
  DimVector src_strides;
  int64_t bpos = 0;
  auto add_broadcast = [&]() {
    bpos = p.shape.size();
    for (int64_t s : b) p.shape.push_back(s), src_strides.push_back(0);
  };
  if (!adjacent) add_broadcast();
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (adjacent && d == first) add_broadcast();
    if (indexed[size_t(d)]) continue;
    p.shape.push_back(self.sizes()[d]);
    src_strides.push_back(self.strides()[d]);
  }
  p.src = self.view_as_strided(p.shape, src_strides, self.storage_offset());

  Tensor offsets_b;
  if (k == 1) {
    offsets_b = vt::expand(entries[0].second, b);
    p.mult = self.strides()[first] * self.itemsize();
    p.wrap = self.sizes()[first];
  } else {
    // Several index tensors fold into one element offset each.
    offsets_b = Tensor::empty(b, ScalarType::Int64, self.device());
    for (int64_t e = 0; e < k; ++e) {
      const int64_t n = self.sizes()[entries[e].first], stride = self.strides()[entries[e].first];
      IterConfig c;
      c.op_name = "index";
      c.outputs = {offsets_b};
      c.inputs = {vt::expand(entries[e].second, b)};
      c.promote_inputs = false;
      c.compute_dtype = ScalarType::Int64;
      TensorIterator it(std::move(c));
      it.for_each([n, stride, e](char** data, const int64_t* st, int64_t count) {
        for (int64_t i = 0; i < count; ++i) {
          int64_t v = *reinterpret_cast<const int64_t*>(data[1] + i * st[1]);
          int64_t* o = reinterpret_cast<int64_t*>(data[0] + i * st[0]);
          v = (v < 0 ? v + n : v) * stride;
          *o = e == 0 ? v : *o + v;
        }
      }, kGrainSize);
    }
    p.mult = self.itemsize();
  }
  DimVector off_strides(p.shape.size(), 0);
  for (int64_t i = 0; i < b.size(); ++i) off_strides[bpos + i] = offsets_b.strides()[i];
  p.offsets = offsets_b.view_as_strided(p.shape, off_strides, offsets_b.storage_offset());
  return p;
}

Tensor index_kernel(const Tensor& self, TensorList indices, std::optional<IntArrayRef> dims) {
  IndexPlan p = plan_index(self, indices, dims);
  if (!p.offsets.defined()) return vt::clone(self);
  return take(Tensor(), p.src, p.offsets, p.mult, p.wrap);
}

bool broadcasts_to(IntArrayRef from, IntArrayRef to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

// torch's assert_no_overlap: dense tensors whose memory ranges meet cannot be read while the
// other is written. Non-dense ones are too hard to tell; the caller copies those.
void check_no_overlap(const Tensor& self, const Tensor& other) {
  if (self.impl()->storage() != other.impl()->storage() || self.numel() == 0 || other.numel() == 0) return;
  if (!shape_detail::is_non_overlapping_and_dense(self) || !shape_detail::is_non_overlapping_and_dense(other))
    return;
  const char *a = self.data(), *b = other.data();
  VT_CHECK(!(a < b + other.nbytes() && b < a + self.nbytes()), "unsupported operation: some "
           "elements of the input tensor and the written-to tensor refer to a single memory "
           "location. Please clone() the tensor before performing the operation.");
}

// torch writes a one-element value through a lone mask with masked_fill_ (so the value's dtype
// does not matter, and a uint8 mask is refused there).
bool put_through_mask(const Tensor& self, TensorList indices, const Tensor& values,
                      std::optional<IntArrayRef> dims) {
  if (indices.size() != 1 || values.numel() != 1) return false;
  const Tensor& mask = indices[0];
  if (mask.dtype() != ScalarType::Bool && mask.dtype() != ScalarType::UInt8) return false;
  const int64_t d = dims ? (*dims)[0] : 0;
  VT_CHECK_INDEX(d >= 0 && d + mask.dim() <= self.dim(), "too many indices for tensor of dimension ", self.dim());
  DimVector sizes(self.dim(), 1), strides(self.dim(), 0);
  for (int64_t j = 0; j < mask.dim(); ++j) {
    VT_CHECK_INDEX(mask.sizes()[j] == self.sizes()[d + j], "The shape of the mask ",
                   shape_string(mask.sizes()), " at index ", j, " does not match the shape of the "
                   "indexed tensor ", shape_string(self.sizes()), " at index ", d + j);
    sizes[d + j] = mask.sizes()[j];
    strides[d + j] = mask.strides()[j];
  }
  vt::masked_fill_(self, mask.view_as_strided(sizes, strides, mask.storage_offset()), item_scalar(values));
  return true;
}

Tensor index_put_inplace(const Tensor& self, TensorList indices, const Tensor& values,
                         bool accumulate, std::optional<IntArrayRef> dims) {
  if (!accumulate && put_through_mask(self, indices, values, dims)) return self;
  VT_CHECK(values.dtype() == self.dtype(), "Index put requires the source and destination dtypes "
           "match, got ", legacy_name(self.dtype()), " for the destination and ",
           legacy_name(values.dtype()), " for the source.");
  for (int64_t d = 0; d < self.dim(); ++d)
    VT_CHECK(self.strides()[d] != 0 || self.sizes()[d] <= 1, "index_put_: unsupported operation: "
             "more than one element of the written-to tensor refers to a single memory location. "
             "Please clone() the tensor before performing the operation.");
  check_no_overlap(self, values);
  for (const Tensor& index : indices) check_no_overlap(self, index);
  IndexPlan p = plan_index(self, indices, dims);
  if (!p.offsets.defined()) {
    if (accumulate) vt::add_(self, values);
    else vt::copy_(self, values);
    return self;
  }
  VT_CHECK(broadcasts_to(values.sizes(), p.shape), "shape mismatch: value tensor of shape ",
           shape_string(values.sizes()), " cannot be broadcast to indexing result of shape ",
           shape_string(p.shape));
  // Values sharing self's memory in layouts too irregular to check are read from a copy.
  Tensor v = values.impl()->storage() == self.impl()->storage() ? vt::clone(values) : values;
  v = vt::expand(v, p.shape);
  IterConfig c;
  c.op_name = "index_put_";
  c.outputs = {p.src};
  c.inputs = {v, p.offsets};
  c.promote_inputs = false;
  c.compute_dtype = self.dtype();
  c.cast_outputs = false;
  c.check_overlap = false;  // the restrided self repeats along the index dims by design
  TensorIterator it(std::move(c));
  const int64_t mult = p.mult, wrap = p.wrap;
  if (it.numel() > 0) {
    visit_dtype(self.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using M = opmath_t<T>;
      LoopFn loop = [&](char** data, const int64_t* st, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          int64_t k = *reinterpret_cast<const int64_t*>(data[2] + i * st[2]);
          T* dst = reinterpret_cast<T*>(data[0] + i * st[0] + (k < 0 ? k + wrap : k) * mult);
          T val = *reinterpret_cast<const T*>(data[1] + i * st[1]);
          if (!accumulate) *dst = val;
          else if constexpr (std::is_same_v<T, bool>) *dst = *dst || val;
          else *dst = static_cast<T>(M(*dst) + M(val));
        }
      };
      // Repeated indices accumulate in order; plain writes may race and one of them wins.
      if (accumulate) it.serial_for_each(loop, 0, it.numel());
      else it.for_each(loop, kGrainSize);
    });
  }
  self.bump_version();
  return self;
}

Tensor index_put_kernel(const Tensor& self, TensorList indices, const Tensor& values,
                        bool accumulate, std::optional<IntArrayRef> dims) {
  Tensor out = vt::clone(self);
  vt::index_put_(out, indices, values, accumulate, dims);
  return out;
}

}  // namespace

namespace index_detail {

void register_advanced_kernels() {
  define_kernel("vt::index.Tensor(Tensor self, Tensor[] indices, *, int[]? dims=None) -> Tensor",
                VT_DEVICE_CPU, &index_kernel);
  define_kernel("vt::index_put_(Tensor(a!) self, Tensor[] indices, Tensor values, "
                "bool accumulate=False, *, int[]? dims=None) -> Tensor(a!)",
                VT_DEVICE_CPU, &index_put_inplace);
  define_kernel("vt::index_put(Tensor self, Tensor[] indices, Tensor values, "
                "bool accumulate=False, *, int[]? dims=None) -> Tensor",
                VT_DEVICE_ANY, &index_put_kernel);
}

}  // namespace index_detail
}  // namespace vt
