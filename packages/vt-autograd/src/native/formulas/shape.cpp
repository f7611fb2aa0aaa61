// Derivatives of the shape, view and indexing ops: views send the gradient back through the
// inverse view; selections add it into zeros of the input's shape at the selected places
// (index_add / scatter_add / index_put with accumulate), which stay differentiable themselves.
#include <algorithm>
#include <numeric>

#include "formula.h"
#include "ops.h"

namespace vt::autograd {
namespace {

using namespace ops;
using G = std::vector<Tensor>;

int64_t wrap(int64_t d, int64_t ndim) { return d < 0 ? d + std::max<int64_t>(ndim, 1) : d; }

Tensor zeros(const Ctx& c, size_t arg) {
  return full(c.sizes(arg), 0.0, c.grad().dtype(), c.device(arg));
}

// The gradient of a slice [start, end) with step along dim, placed back into zeros.
Tensor place_slice(const Ctx& c, const Tensor& g, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor idx = arange(start, end, step, c.device(0));
  return index_add(zeros(c, 0), dim, idx, g);
}

// Gradients of the pieces of a tensor split along dim (undefined pieces count as zeros),
// joined back.
Tensor join_pieces(const Ctx& c, int64_t dim, const std::vector<int64_t>& lengths) {
  std::vector<Tensor> parts;
  std::vector<int64_t> shape = c.sizes(0);
  for (size_t j = 0; j < lengths.size(); ++j) {
    if (c.has_grad(j)) {
      parts.push_back(c.grad(j));
    } else {
      shape[size_t(dim)] = lengths[j];
      parts.push_back(full(shape, 0.0, c.dtype(0), c.device(0)));
    }
  }
  return parts.empty() ? zeros(c, 0) : cat(parts, dim);
}

// Sums the tiles of a repeat back onto the input: (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...)
// summed over the r's; leading repeat dims beyond the input's are summed away too.
Tensor untile(const Tensor& g, const std::vector<int64_t>& repeats, const std::vector<int64_t>& sizes) {
  const size_t lead = repeats.size() - sizes.size();
  std::vector<int64_t> split, sum_dims;
  for (size_t i = 0; i < repeats.size(); ++i) {
    const int64_t s = i < lead ? 1 : sizes[i - lead];
    sum_dims.push_back(int64_t(split.size()));
    split.push_back(repeats[i]);
    split.push_back(s);
  }
  Tensor r = sum(reshape(g, split), sum_dims, false);
  return reshape(r, sizes);
}

// Storage offsets of every element of a (sizes, strides, offset) geometry, as an int64 tensor
// of shape `sizes`.
Tensor storage_offsets(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                       int64_t offset, vt_device_t device) {
  Tensor idx = full({}, double(offset), VT_DTYPE_INT64, device);
  const size_t nd = sizes.size();
  for (size_t k = 0; k < nd; ++k) {
    std::vector<int64_t> shape(nd, 1);
    shape[k] = sizes[k];
    Tensor a = call<"vt::mul.Scalar">(arange(0, sizes[k], 1, device), strides[k]);
    idx = add(idx, reshape(a, shape));
  }
  return expand(idx, sizes);
}

// as_strided: the gradient is added at the storage positions the view reads, then read back
// at the positions the input occupies.
Tensor as_strided_grad(const Ctx& c) {
  Tensor x = c.tensor(0), g = c.grad();
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  check(api().tensor_describe(x.get(), &d));
  const std::vector<int64_t> xs(d.sizes, d.sizes + d.ndim), xst(d.strides, d.strides + d.ndim);
  const int64_t out_offset = c.is_none(3) ? d.storage_offset : c.i(3);
  Tensor out_idx = reshape(storage_offsets(c.ints(1), c.ints(2), out_offset, g.device()), {-1});
  Tensor in_idx = storage_offsets(xs, xst, d.storage_offset, g.device());
  int64_t extent = 1 + std::max<int64_t>(d.storage_offset, out_offset);
  for (size_t k = 0; k < xs.size(); ++k) extent += xs[k] > 0 ? (xs[k] - 1) * xst[k] : 0;
  const std::vector<int64_t> os = c.ints(1), ost = c.ints(2);
  for (size_t k = 0; k < os.size(); ++k) extent += os[k] > 0 ? (os[k] - 1) * ost[k] : 0;
  Tensor storage = index_add(full({extent}, 0.0, g.dtype(), g.device()), 0, out_idx,
                             reshape(contiguous(g), {-1}));
  return reshape(index_select(storage, 0, reshape(in_idx, {-1})), xs);
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& dims) {
  const int64_t n = int64_t(dims.size());
  std::vector<int64_t> inv(dims.size());
  for (int64_t i = 0; i < n; ++i) inv[size_t(wrap(dims[size_t(i)], n))] = i;
  return inv;
}

}  // namespace

void register_shape_formulas() {
  add_formulas({
      {"vt::view", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::reshape", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::flatten", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::unflatten", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::squeeze", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::unsqueeze", 0, 0, 0, [](const Ctx& c) -> G { return {reshape(c.grad(), c.sizes(0))}; }},
      {"vt::as_strided", args(0), 0, 0, [](const Ctx& c) -> G { return {as_strided_grad(c)}; }},
      {"vt::contiguous", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},
      {"vt::expand", 0, 0, 0, [](const Ctx& c) -> G { return {c.grad()}; }},  // summed by the engine
      {"vt::transpose", 0, 0, 0, [](const Ctx& c) -> G { return {transpose(c.grad(), c.i(1), c.i(2))}; }},
      {"vt::permute", 0, 0, 0, [](const Ctx& c) -> G {
         return {permute(c.grad(), inverse_permutation(c.ints(1)))}; }},
      {"vt::movedim", 0, 0, 0, [](const Ctx& c) -> G {
         return {call<"vt::movedim">(c.grad(), c.ints(2), c.ints(1))}; }},
      {"vt::select", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t nd = c.dim(0), dim = wrap(c.i(1), nd);
         int64_t index = c.i(2);
         if (index < 0) index += c.sizes(0)[size_t(dim)];
         return {place_slice(c, unsqueeze(c.grad(), dim), dim, index, index + 1, 1)}; }},
      {"vt::slice", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t nd = c.dim(0), dim = wrap(c.i(1), nd), n = c.sizes(0)[size_t(dim)];
         const int64_t step = c.i(4);
         auto clampi = [n](int64_t v) { v = v < 0 ? v + n : v; return std::clamp<int64_t>(v, 0, n); };
         const int64_t start = c.is_none(2) ? 0 : clampi(c.i(2));
         const int64_t end = std::max(start, c.is_none(3) ? n : clampi(c.i(3)));
         return {place_slice(c, c.grad(), dim, start, end, step)}; }},
      {"vt::narrow", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t dim = wrap(c.i(1), c.dim(0)), n = c.sizes(0)[size_t(dim)];
         const int64_t start = c.i(2) < 0 ? c.i(2) + n : c.i(2);
         return {place_slice(c, c.grad(), dim, start, start + c.i(3), 1)}; }},
      {"vt::split", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t dim = wrap(c.i(2), c.dim(0)), n = c.sizes(0)[size_t(dim)], s = c.i(1);
         std::vector<int64_t> lengths;
         for (int64_t at = 0; at < n; at += s) lengths.push_back(std::min(s, n - at));
         return {join_pieces(c, dim, lengths)}; }},
      {"vt::split_with_sizes", 0, 0, 0, [](const Ctx& c) -> G {
         return {join_pieces(c, wrap(c.i(2), c.dim(0)), c.ints(1))}; }},
      {"vt::chunk", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t dim = wrap(c.i(2), c.dim(0)), n = c.sizes(0)[size_t(dim)];
         const int64_t chunks = c.i(1), s = (n + chunks - 1) / std::max<int64_t>(chunks, 1);
         std::vector<int64_t> lengths;
         for (int64_t at = 0; s > 0 && at < n; at += s) lengths.push_back(std::min(s, n - at));
         return {join_pieces(c, dim, lengths)}; }},
      {"vt::unbind", 0, 0, 0, [](const Ctx& c) -> G {
         const int64_t dim = wrap(c.i(1), c.dim(0)), n = c.sizes(0)[size_t(dim)];
         std::vector<int64_t> piece = c.sizes(0);
         piece.erase(piece.begin() + dim);
         std::vector<Tensor> parts;
         for (int64_t j = 0; j < n; ++j)
           parts.push_back(c.has_grad(size_t(j)) ? c.grad(size_t(j)) : full(piece, 0.0, c.dtype(0), c.device(0)));
         return {call<"vt::stack">(TensorList(parts), dim)}; }},
      {"vt::cat", 0, 0, 0, [](const Ctx& c) -> G {
         const size_t n = c.list_size(0);
         int64_t dim = -1;
         std::vector<Tensor> grads(n);
         int64_t at = 0;
         Tensor g = c.grad();
         const int64_t gd = g.dim();
         dim = wrap(c.i(1), gd);
         for (size_t k = 0; k < n; ++k) {
           const TensorMeta& m = c.tensor_meta(0, k);
           if (m.sizes.size() == 1 && m.sizes[0] == 0 && gd != 1) {  // legacy empty piece
             if (c.needs(0, k)) grads[k] = full({0}, 0.0, g.dtype(), g.device());
             continue;
           }
           const int64_t len = m.sizes[size_t(dim)];
           if (c.needs(0, k)) grads[k] = narrow(g, dim, at, len);
           at += len;
         }
         c.set_list_grads(0, std::move(grads));
         return {}; }},
      {"vt::stack", 0, 0, 0, [](const Ctx& c) -> G {
         const size_t n = c.list_size(0);
         Tensor g = c.grad();
         const int64_t dim = wrap(c.i(1), g.dim());
         std::vector<Tensor> grads(n);
         for (size_t k = 0; k < n; ++k)
           if (c.needs(0, k)) grads[k] = call<"vt::select">(g, dim, int64_t(k));
         c.set_list_grads(0, std::move(grads));
         return {}; }},
      {"vt::flip", 0, 0, 0, [](const Ctx& c) -> G { return {flip(c.grad(), c.ints(1))}; }},
      {"vt::roll", 0, 0, 0, [](const Ctx& c) -> G {
         std::vector<int64_t> shifts = c.ints(1);
         for (int64_t& s : shifts) s = -s;
         return {call<"vt::roll">(c.grad(), shifts, c.ints(2))}; }},
      {"vt::repeat", 0, 0, 0, [](const Ctx& c) -> G {
         return {untile(c.grad(), c.ints(1), c.sizes(0))}; }},
      {"vt::tile", 0, 0, 0, [](const Ctx& c) -> G {
         std::vector<int64_t> reps = c.ints(1), sizes = c.sizes(0);
         while (reps.size() < sizes.size()) reps.insert(reps.begin(), 1);
         Tensor g = untile(c.grad(), reps, std::vector<int64_t>(sizes.end() - int64_t(std::min(sizes.size(), reps.size())), sizes.end()));
         return {reshape(g, sizes)}; }},
      {"vt::tril", 0, 0, 0, [](const Ctx& c) -> G { return {call<"vt::tril">(c.grad(), c.i(1))}; }},
      {"vt::triu", 0, 0, 0, [](const Ctx& c) -> G { return {call<"vt::triu">(c.grad(), c.i(1))}; }},
      {"vt::pad", 0, 0, 0, [](const Ctx& c) -> G {
         std::vector<int64_t> pads = c.ints(1);
         const std::string mode = c.str(2);
         if (mode == "constant") {
           for (int64_t& p : pads) p = -p;
           return {call<"vt::pad">(c.grad(), pads, "constant", 0.0)};
         }
         // reflect, replicate, circular: every output position reads one input position per
         // padded dim; the gradient is added back to those positions, one dim at a time.
         Tensor g = c.grad();
         const std::vector<int64_t>& in = c.sizes(0);
         const int64_t nd = int64_t(in.size());
         for (size_t k = 0; 2 * k + 1 < pads.size(); ++k) {
           const int64_t dim = nd - 1 - int64_t(k);
           const int64_t n = in[size_t(dim)], lo = pads[2 * k], hi = pads[2 * k + 1];
           std::vector<int64_t> src;
           if (mode == "circular") {
             // Negative amounts crop first; the wrap-around then reads the cropped range.
             const int64_t c0 = std::max<int64_t>(-lo, 0), n2 = n - c0 - std::max<int64_t>(-hi, 0);
             const int64_t lo2 = std::max<int64_t>(lo, 0), hi2 = std::max<int64_t>(hi, 0);
             for (int64_t q = 0; q < n2 + lo2 + hi2; ++q) src.push_back(c0 + (((q - lo2) % n2) + n2) % n2);
           } else {
             for (int64_t q = 0; q < n + lo + hi; ++q) {
               int64_t p = q - lo;
               if (mode == "reflect") p = p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p;
               else p = std::clamp<int64_t>(p, 0, n - 1);
               src.push_back(p);
             }
           }
           std::vector<int64_t> shape = g.sizes();
           shape[size_t(dim)] = n;
           g = index_add(full(shape, 0.0, g.dtype(), g.device()), dim, from_host(src, g.device()), g);
         }
         return {g}; }},
      {"vt::index_select", args(2), 0, args(2), [](const Ctx& c) -> G {
         return {index_add(zeros(c, 0), c.i(1), c.tensor(2), c.grad())}; }},
      {"vt::gather", args(2), 0, args(2), [](const Ctx& c) -> G {
         return {call<"vt::scatter_add">(zeros(c, 0), c.i(1), c.tensor(2), c.grad())}; }},
      {"vt::scatter.src", args(2), 0, args(2), [](const Ctx& c) -> G {
         Tensor idx = c.tensor(2), g = c.grad();
         return {c.needs(0) ? call<"vt::scatter.value">(g, c.i(1), idx, 0.0) : Tensor(), Tensor(), Tensor(),
                 c.needs(3) ? call<"vt::gather">(g, c.i(1), idx) : Tensor()}; }},
      {"vt::scatter.value", args(2), 0, args(2), [](const Ctx& c) -> G {
         return {call<"vt::scatter.value">(c.grad(), c.i(1), c.tensor(2), 0.0)}; }},
      {"vt::scatter_add", args(2), 0, args(2), [](const Ctx& c) -> G {
         return {c.grad(), Tensor(), Tensor(),
                 c.needs(3) ? call<"vt::gather">(c.grad(), c.i(1), c.tensor(2)) : Tensor()}; }},
      {"vt::index_add", args(2), 0, args(2), [](const Ctx& c) -> G {
         return {c.grad(), Tensor(), Tensor(),
                 c.needs(3) ? mul(index_select(c.grad(), c.i(1), c.tensor(2)), c.d(4)) : Tensor()}; }},
      {"vt::index_copy", args(2), 0, args(2), [](const Ctx& c) -> G {
         Tensor idx = c.tensor(2), g = c.grad();
         Tensor src_grad = index_select(g, c.i(1), idx);
         return {c.needs(0) ? call<"vt::index_copy">(g, c.i(1), idx, zeros_like(src_grad)) : Tensor(),
                 Tensor(), Tensor(), c.needs(3) ? src_grad : Tensor()}; }},
      {"vt::index.Tensor", args(1), 0, args(1), [](const Ctx& c) -> G {
         std::vector<Tensor> idx = c.tensors(1);
         Tensor z = zeros(c, 0);
         if (c.is_none(2)) return {call<"vt::index_put">(z, TensorList(idx), c.grad(), true)};
         return {call<"vt::index_put">(z, TensorList(idx), c.grad(), true, c.ints(2))}; }},
      {"vt::index_put", args(1), 0, args(1), [](const Ctx& c) -> G {
         std::vector<Tensor> idx = c.tensors(1);
         Tensor g = c.grad();
         std::vector<int64_t> d = c.is_none(4) ? std::vector<int64_t>{} : c.ints(4);
         auto at = [&](const Tensor& t) {
           return c.is_none(4) ? call<"vt::index.Tensor">(t, TensorList(idx))
                               : call<"vt::index.Tensor">(t, TensorList(idx), d);
         };
         G r(3);
         if (c.needs(0)) {
           if (c.b(3)) r[0] = g;
           else r[0] = c.is_none(4) ? call<"vt::index_put">(g, TensorList(idx), full({}, 0.0, g.dtype(), g.device()), false)
                                    : call<"vt::index_put">(g, TensorList(idx), full({}, 0.0, g.dtype(), g.device()), false, d);
         }
         if (c.needs(2)) r[2] = at(g);
         return r; }},
      {"vt::masked_select", args(1), 0, args(1), [](const Ctx& c) -> G {
         Tensor mask = c.tensor(1), g = c.grad();
         // masked_select broadcasts input and mask; the engine sums back to the input's shape.
         std::vector<int64_t> shape = c.sizes(0);
         const std::vector<int64_t>& ms = mask.sizes();
         if (ms.size() > shape.size()) shape.insert(shape.begin(), ms.size() - shape.size(), 1);
         for (size_t i = 0; i < ms.size(); ++i) {
           size_t k = shape.size() - ms.size() + i;
           shape[k] = std::max(shape[k], ms[i]);
         }
         int64_t n = 1;
         for (int64_t v : shape) n *= v;
         Tensor flat_mask = reshape(contiguous(expand(mask, shape)), {n});
         Tensor r = call<"vt::index_put">(full({n}, 0.0, g.dtype(), g.device()), TensorList({flat_mask}), g, true);
         return {reshape(r, shape)}; }},
      {"vt::sort", 0, 2, 0, [](const Ctx& c) -> G {
         Tensor g = c.grad();
         const int64_t dim = wrap(c.i(1), c.dim(0));
         if (c.dim(0) == 0) return {g};
         return {call<"vt::scatter.src">(zeros(c, 0), dim, c.output(1), g)}; }},
      {"vt::topk", 0, 2, 0, [](const Ctx& c) -> G {
         Tensor g = c.grad();
         const int64_t dim = wrap(c.i(2), c.dim(0));
         if (c.dim(0) == 0) return {g};
         return {call<"vt::scatter.src">(zeros(c, 0), dim, c.output(1), g)}; }},
      {"vt::copy_", 0, 0, 0, [](const Ctx& c) -> G { return {Tensor(), c.grad()}; }},
      {"vt::fill_", 0, 0, 0, [](const Ctx&) -> G { return {}; }},
  });
}

}  // namespace vt::autograd
