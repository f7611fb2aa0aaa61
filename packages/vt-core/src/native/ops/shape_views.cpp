// Shape ops that return views: narrow, split, chunk, unbind, flatten, unflatten, movedim.
// Composites over slice/select/view/permute, so they serve every device.
#include <algorithm>

#include "core/error.h"
#include "dispatch/dispatcher.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace vt {
namespace {

Tensor narrow_kernel(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  VT_CHECK(self.dim() > 0, "narrow() cannot be applied to a 0-dim tensor.");
  VT_CHECK(length >= 0, "narrow(): length must be non-negative.");
  int64_t d = wrap_dim(dim, self.dim(), "narrow");
  int64_t n = self.sizes()[d];
  VT_CHECK_INDEX(start >= -n && start <= n, "start out of range (expected to be in range of [", -n,
                 ", ", n, "], but got ", start, ")");
  if (start < 0) start += n;
  VT_CHECK(start <= n - length, "start (", start, ") + length (", length,
           ") exceeds dimension size (", n, ").");
  return vt::slice(self, d, start, start + length, 1);
}

std::vector<Tensor> split_with_sizes_kernel(const Tensor& self, IntArrayRef sizes, int64_t dim) {
  VT_CHECK(self.dim() > 0, "split expects at least a 1-dimensional tensor");
  int64_t d = wrap_dim(dim, self.dim(), "split_with_sizes");
  int64_t n = self.sizes()[d], total = 0;
  for (int64_t s : sizes) {
    VT_CHECK(s >= 0, "split_with_sizes expects split_sizes have only non-negative entries, but got "
             "split_sizes=", shape_string(sizes));
    total += s;
  }
  VT_CHECK(total == n, "split_with_sizes expects split_sizes to sum exactly to ", n,
           " (input tensor's size at dimension ", d, "), but got split_sizes=", shape_string(sizes));
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(vt::slice(self, d, start, start + s, 1));
    start += s;
  }
  return out;
}

std::vector<Tensor> split_kernel(const Tensor& self, int64_t split_size, int64_t dim) {
  VT_CHECK(self.dim() > 0, "split expects at least a 1-dimensional tensor");
  VT_CHECK(split_size >= 0, "split expects split_size be non-negative, but got split_size=", split_size);
  int64_t d = wrap_dim(dim, self.dim(), "split");
  int64_t n = self.sizes()[d];
  VT_CHECK(split_size > 0 || n == 0, "split_size can only be 0 if dimension size is 0, but got "
           "dimension size of ", n);
  // An empty dim still gives one (empty) piece, as in torch.
  int64_t pieces = split_size > 0 ? std::max<int64_t>((n + split_size - 1) / split_size, 1) : 1;
  std::vector<Tensor> out;
  out.reserve(size_t(pieces));
  for (int64_t i = 0; i < pieces; ++i) {
    int64_t start = i * split_size;
    out.push_back(vt::slice(self, d, start, start + std::min(split_size, n - start), 1));
  }
  return out;
}

std::vector<Tensor> chunk_kernel(const Tensor& self, int64_t chunks, int64_t dim) {
  VT_CHECK(self.dim() > 0, "chunk expects at least a 1-dimensional tensor");
  VT_CHECK(chunks > 0, "chunk expects `chunks` to be greater than 0, got: ", chunks);
  int64_t d = wrap_dim(dim, self.dim(), "chunk");
  int64_t n = self.sizes()[d];
  int64_t size = (n + chunks - 1) / chunks;
  // An empty dim splits into `chunks` empty pieces rather than one.
  if (size == 0) return vt::split_with_sizes(self, DimVector(chunks, 0), d);
  return vt::split(self, size, d);
}

std::vector<Tensor> unbind_kernel(const Tensor& self, int64_t dim) {
  VT_CHECK_INDEX(self.dim() > 0, "Dimension specified as ", dim, " but tensor has no dimensions");
  int64_t d = wrap_dim(dim, self.dim(), "unbind");
  std::vector<Tensor> out;
  out.reserve(size_t(self.sizes()[d]));
  for (int64_t i = 0; i < self.sizes()[d]; ++i) out.push_back(vt::select(self, d, i));
  return out;
}

Tensor flatten_kernel(const Tensor& self, int64_t start_dim, int64_t end_dim) {
  if (self.dim() == 0) return vt::reshape(self, DimVector{1});
  int64_t s = wrap_dim(start_dim, self.dim(), "flatten"), e = wrap_dim(end_dim, self.dim(), "flatten");
  VT_CHECK(s <= e, "flatten() has invalid args: start_dim cannot come after end_dim");
  if (s == e) return self.view_as_strided(self.sizes(), self.strides(), self.storage_offset());
  DimVector shape;
  int64_t merged = 1;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (d < s || d > e) shape.push_back(self.sizes()[d]);
    else merged *= self.sizes()[d];
    if (d == e) shape.push_back(merged);
  }
  return vt::reshape(self, shape);
}

Tensor unflatten_kernel(const Tensor& self, int64_t dim, IntArrayRef sizes) {
  int64_t d = wrap_dim(dim, self.dim(), "unflatten");
  VT_CHECK(!sizes.empty(), "unflatten: sizes must be non-empty");
  int64_t n = self.dim() == 0 ? 1 : self.sizes()[d];
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      VT_CHECK(inferred < 0, "unflatten: only one dimension can be inferred");
      inferred = int64_t(i);
    } else {
      VT_CHECK(sizes[i] >= 0, "unflatten: invalid size ", sizes[i], " in ", shape_string(sizes));
      known *= sizes[i];
    }
  }
  DimVector full(sizes);
  if (inferred >= 0) {
    VT_CHECK(known != 0 && n % known == 0, "unflatten: shape '", shape_string(sizes),
             "' is invalid for input of size ", n);
    full[inferred] = n / known;
  } else {
    VT_CHECK(known == n, "unflatten: Provided sizes ", shape_string(sizes), " don't multiply up to "
             "the size of dim ", d, " (", n, ") in the input tensor");
  }
  DimVector shape;
  for (int64_t k = 0; k < self.dim(); ++k) {
    if (k != d) shape.push_back(self.sizes()[k]);
    else for (int64_t s : full) shape.push_back(s);
  }
  if (self.dim() == 0) shape = full;
  return vt::view(self, shape);
}

Tensor movedim_kernel(const Tensor& self, IntArrayRef source, IntArrayRef destination) {
  const int64_t nd = self.dim();
  VT_CHECK(source.size() == destination.size(), "movedim: Invalid source or destination dims: "
           "source (", shape_string(source), " dims) should contain the same number of dims as "
           "destination (", shape_string(destination), " dims)");
  std::vector<bool> src_seen(static_cast<size_t>(std::max<int64_t>(nd, 1))), dst_seen(src_seen);
  DimVector perm(nd, -1);
  for (size_t i = 0; i < source.size(); ++i) {
    int64_t s = wrap_dim(source[i], nd, "movedim"), t = wrap_dim(destination[i], nd, "movedim");
    VT_CHECK(!src_seen[size_t(s)], "movedim: repeated dim in `source` (", shape_string(source), ")");
    VT_CHECK(!dst_seen[size_t(t)], "movedim: repeated dim in `destination` (",
             shape_string(destination), ")");
    src_seen[size_t(s)] = dst_seen[size_t(t)] = true;
    if (nd > 0) perm[t] = s;
  }
  // The dims not moved keep their relative order in the free positions.
  int64_t next = 0;
  for (int64_t k = 0; k < nd; ++k) {
    if (perm[k] >= 0) continue;
    while (src_seen[size_t(next)]) ++next;
    perm[k] = next++;
  }
  return vt::permute(self, perm);
}

}  // namespace

namespace shape_detail {

void register_view_kernels() {
  define_kernel("vt::narrow(Tensor(a) self, int dim, int start, int length) -> Tensor(a)",
                VT_DEVICE_ANY, &narrow_kernel);
  define_kernel("vt::split(Tensor(a) self, int split_size, int dim=0) -> Tensor[]",
                VT_DEVICE_ANY, &split_kernel);
  define_kernel("vt::split_with_sizes(Tensor(a) self, int[] split_sizes, int dim=0) -> Tensor[]",
                VT_DEVICE_ANY, &split_with_sizes_kernel);
  define_kernel("vt::chunk(Tensor(a) self, int chunks, int dim=0) -> Tensor[]",
                VT_DEVICE_ANY, &chunk_kernel);
  define_kernel("vt::unbind(Tensor(a) self, int dim=0) -> Tensor[]", VT_DEVICE_ANY, &unbind_kernel);
  define_kernel("vt::flatten(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)",
                VT_DEVICE_ANY, &flatten_kernel);
  define_kernel("vt::unflatten(Tensor(a) self, int dim, int[] sizes) -> Tensor(a)",
                VT_DEVICE_ANY, &unflatten_kernel);
  define_kernel("vt::movedim(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)",
                VT_DEVICE_ANY, &movedim_kernel);
}

}  // namespace shape_detail
}  // namespace vt
