// Shape ops that copy elements into a new arrangement: flip, roll, repeat, tile, tril, triu.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace vt {
namespace {

using shape_detail::empty_like_preserving;

Tensor flip_kernel(const Tensor& self, IntArrayRef dims) {
  DimVector flipped = shape_detail::unique_dims(dims, self.dim(), "flip");
  Tensor out = empty_like_preserving(self);
  if (out.numel() == 0) return out;
  // Copying into a reversed view of the output keeps the reads in the input's own order.
  DimVector strides = out.strides();
  int64_t offset = out.storage_offset();
  for (int64_t d : flipped) {
    if (self.dim() == 0) break;
    offset += (out.sizes()[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  vt::copy_(out.view_as_strided(out.sizes(), strides, offset), self);
  return out;
}

// Rolls along up to three distinct dims at once: each dim splits into two blocks, so the
// result is 2^k block copies.
void roll_blocks(const Tensor& out, const Tensor& self, const DimVector& dims, const DimVector& shifts) {
  const int64_t k = dims.size();
  for (int64_t mask = 0; mask < (int64_t(1) << k); ++mask) {
    Tensor o = out, s = self;
    bool empty = false;
    for (int64_t i = 0; i < k; ++i) {
      int64_t d = dims[i], n = self.sizes()[d], sh = shifts[i];
      if (mask >> i & 1) {
        o = vt::narrow(o, d, 0, sh);
        s = vt::narrow(s, d, n - sh, sh);
      } else {
        o = vt::narrow(o, d, sh, n - sh);
        s = vt::narrow(s, d, 0, n - sh);
      }
      empty |= o.numel() == 0;
    }
    if (!empty) vt::copy_(o, s);
  }
}

Tensor roll_kernel(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  VT_CHECK(!shifts.empty(), "`shifts` required");
  if (dims.empty()) {
    VT_CHECK(shifts.size() == 1, "shifts and dimensions must align. shifts: ", shifts.size(),
             ", dims:", dims.size());
    Tensor flat = vt::reshape(self, DimVector{-1});
    return vt::view(vt::roll(flat, shifts, DimVector{0}), self.sizes());
  }
  VT_CHECK(shifts.size() == dims.size(), "shifts and dimensions must align. shifts: ",
           shifts.size(), ", dims:", dims.size());
  VT_CHECK_INDEX(self.dim() > 0, "Dimension specified as ", dims[0], " but tensor has no dimensions");
  // Shifts along one dim add up; each dim's total is reduced to [0, size).
  DimVector total(self.dim(), 0);
  for (size_t i = 0; i < dims.size(); ++i) total[wrap_dim(dims[i], self.dim(), "roll")] += shifts[i];
  DimVector roll_dims, roll_shifts;
  for (int64_t d = 0; d < self.dim(); ++d) {
    int64_t n = self.sizes()[d];
    int64_t s = n == 0 ? 0 : ((total[d] % n) + n) % n;
    if (s != 0) roll_dims.push_back(d), roll_shifts.push_back(s);
  }
  Tensor out = Tensor::empty(self.sizes(), self.dtype(), self.device());
  if (out.numel() == 0) return out;
  if (roll_dims.empty()) {
    vt::copy_(out, self);
    return out;
  }
  Tensor src = self;
  for (int64_t first = 0; first < roll_dims.size(); first += 3) {
    int64_t last = std::min<int64_t>(first + 3, roll_dims.size());
    DimVector d(IntArrayRef(roll_dims.begin() + first, size_t(last - first)));
    DimVector s(IntArrayRef(roll_shifts.begin() + first, size_t(last - first)));
    Tensor dst = first == 0 ? out : Tensor::empty(self.sizes(), self.dtype(), self.device());
    roll_blocks(dst, src, d, s);
    src = dst;
  }
  return src;
}

Tensor repeat_kernel(const Tensor& self, IntArrayRef repeats) {
  const int64_t nd = repeats.size();
  VT_CHECK(nd >= self.dim(), "Number of dimensions of repeat dims can not be smaller than number "
           "of dimensions of tensor");
  const int64_t lead = nd - self.dim();
  DimVector out_shape(nd);
  for (int64_t i = 0; i < nd; ++i)
    out_shape[i] = repeats[size_t(i)] * (i < lead ? 1 : self.sizes()[i - lead]);
  Tensor out = Tensor::empty(out_shape, self.dtype(), self.device());
  if (out.numel() == 0) return out;
  // The output seen as [r0, s0, r1, s1, ...] receives the input broadcast along every r.
  DimVector sizes, src_strides, dst_strides;
  for (int64_t i = 0; i < nd; ++i) {
    int64_t s = i < lead ? 1 : self.sizes()[i - lead];
    int64_t st = i < lead ? 0 : self.strides()[i - lead];
    sizes.push_back(repeats[size_t(i)]);
    sizes.push_back(s);
    src_strides.push_back(0);
    src_strides.push_back(st);
    dst_strides.push_back(s * out.strides()[i]);
    dst_strides.push_back(out.strides()[i]);
  }
  vt::copy_(out.view_as_strided(sizes, dst_strides, 0),
            self.view_as_strided(sizes, src_strides, self.storage_offset()));
  return out;
}

Tensor tile_kernel(const Tensor& self, IntArrayRef dims) {
  DimVector reps(dims);
  while (reps.size() < self.dim()) reps.insert(0, 1);
  return vt::repeat(self, reps);
}

// Keeps columns [lo, hi) of every matrix row and zeroes the rest; in place when out is self.
template <typename T>
void triangle_rows(const Tensor& out, const Tensor& self, int64_t diagonal, bool lower) {
  const int64_t nd = self.dim(), rows = self.sizes()[nd - 2], cols = self.sizes()[nd - 1];
  const int64_t count = self.numel() / std::max<int64_t>(rows * cols, 1) * rows;
  const int64_t sr = self.strides()[nd - 2], sc = self.strides()[nd - 1];
  const int64_t orr = out.strides()[nd - 2], oc = out.strides()[nd - 1];
  const bool in_place = out.is_same(self);
  const T* src = self.data_as<T>();
  T* dst = out.data_as<T>();
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(cols, 1));
  parallel_for(0, count, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      // Batch dims: unravel the matrix index into element offsets.
      int64_t m = r / rows, i = r % rows, so = i * sr, oo = i * orr;
      for (int64_t d = nd - 3; d >= 0; --d) {
        int64_t n = self.sizes()[d];
        so += (m % n) * self.strides()[d];
        oo += (m % n) * out.strides()[d];
        m /= n;
      }
      int64_t lo = lower ? 0 : std::clamp<int64_t>(i + diagonal, 0, cols);
      int64_t hi = lower ? std::clamp<int64_t>(i + diagonal + 1, 0, cols) : cols;
      const T* s = src + so;
      T* o = dst + oo;
      for (int64_t j = 0; j < cols; ++j) {
        bool keep = j >= lo && j < hi;
        if (!keep) o[j * oc] = T(0);
        else if (!in_place) o[j * oc] = s[j * sc];
      }
    }
  });
}

Tensor triangle(const Tensor& self, int64_t diagonal, bool lower, bool in_place) {
  VT_CHECK(self.dim() >= 2, lower ? "tril" : "triu", ": input tensor must have at least 2 dimensions");
  Tensor out = in_place ? self : Tensor::empty(self.sizes(), self.dtype(), self.device());
  if (out.numel() > 0)
    visit_dtype(self.dtype(), [&](auto tag) { triangle_rows<decltype(tag)>(out, self, diagonal, lower); });
  if (in_place) self.bump_version();
  return out;
}

Tensor tril_kernel(const Tensor& self, int64_t diagonal) { return triangle(self, diagonal, true, false); }
Tensor triu_kernel(const Tensor& self, int64_t diagonal) { return triangle(self, diagonal, false, false); }
Tensor tril__kernel(const Tensor& self, int64_t diagonal) { return triangle(self, diagonal, true, true); }
Tensor triu__kernel(const Tensor& self, int64_t diagonal) { return triangle(self, diagonal, false, true); }

}  // namespace

namespace shape_detail {

void register_copy_kernels() {
  define_kernel("vt::flip(Tensor self, int[] dims) -> Tensor", VT_DEVICE_CPU, &flip_kernel);
  define_kernel("vt::roll(Tensor self, int[1] shifts, int[1] dims=[]) -> Tensor", VT_DEVICE_ANY,
                &roll_kernel);
  define_kernel("vt::repeat(Tensor self, int[] repeats) -> Tensor", VT_DEVICE_ANY, &repeat_kernel);
  define_kernel("vt::tile(Tensor self, int[] dims) -> Tensor", VT_DEVICE_ANY, &tile_kernel);
  define_kernel("vt::tril(Tensor self, int diagonal=0) -> Tensor", VT_DEVICE_CPU, &tril_kernel);
  define_kernel("vt::triu(Tensor self, int diagonal=0) -> Tensor", VT_DEVICE_CPU, &triu_kernel);
  define_kernel("vt::tril_(Tensor(a!) self, int diagonal=0) -> Tensor(a!)", VT_DEVICE_CPU,
                &tril__kernel);
  define_kernel("vt::triu_(Tensor(a!) self, int diagonal=0) -> Tensor(a!)", VT_DEVICE_CPU,
                &triu__kernel);
}

}  // namespace shape_detail
}  // namespace vt
