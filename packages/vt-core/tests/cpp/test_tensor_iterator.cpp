// iterator/tensor_iterator.h: broadcasting, layout, promotion, coalescing, reductions, errors.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"
#include "iterator/tensor_iterator.h"
#include "ops/ops.h"

namespace vt {
namespace {

using Shape = std::vector<int64_t>;

// 0, 1, 2, ... as float32 with the given shape (contiguous).
Tensor iota(const Shape& shape, ScalarType dtype = ScalarType::Float32) {
  int64_t n = compute_numel(IntArrayRef(shape));
  return view(arange(Scalar(int64_t(0)), Scalar(n), Scalar(int64_t(1)), dtype), shape);
}

// Element at a multi-index, read through the tensor's own strides.
template <typename T = float>
T at(const Tensor& t, const Shape& idx) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[int64_t(d)];
  return t.data_as<T>()[off];
}

Shape shape_of(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end()); }
Shape strides_of(const Tensor& t) { return Shape(t.strides().begin(), t.strides().end()); }

// out = a + b for float32 operands, through byte strides.
void add_loop(const TensorIterator& it) {
  it.for_each([](char** d, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<float*>(d[0] + i * s[0]) =
          *reinterpret_cast<float*>(d[1] + i * s[1]) + *reinterpret_cast<float*>(d[2] + i * s[2]);
  }, kGrainSize);
}

TensorIterator binary(const Tensor& a, const Tensor& b, Tensor out = Tensor()) {
  IterConfig c;
  c.op_name = "test_add";
  c.outputs = {out};
  c.inputs = {a, b};
  return TensorIterator(std::move(c));
}

template <typename F>
void expect_error(F&& f, vt_status_t status, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TensorIterator, BroadcastsTwoShapes) {
  Tensor a = iota({3, 1}), b = iota({1, 4});
  TensorIterator it = binary(a, b);
  add_loop(it);
  Tensor out = it.output();
  EXPECT_EQ(shape_of(out), (Shape{3, 4}));
  EXPECT_EQ(it.numel(), 12);
  EXPECT_EQ(it.ndim(), 2);  // a broadcast dim cannot merge with a real one
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(at(out, {i, j}), float(i + j));
}

TEST(TensorIterator, BroadcastsAcrossRanksAndFromZeroDim) {
  Tensor a = iota({4}), b = iota({2, 3, 4});
  TensorIterator it = binary(a, b);
  add_loop(it);
  EXPECT_EQ(shape_of(it.output()), (Shape{2, 3, 4}));
  EXPECT_EQ(at(it.output(), {1, 2, 3}), 3.0f + 23.0f);

  Tensor s = full({}, Scalar(10.0), ScalarType::Float32);
  TensorIterator it2 = binary(s, iota({5}));
  add_loop(it2);
  EXPECT_EQ(shape_of(it2.output()), (Shape{5}));
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(at(it2.output(), {i}), 10.0f + float(i));
}

TEST(TensorIterator, IncompatibleShapesRaise) {
  expect_error([] { binary(iota({3}), iota({4})); }, VT_ERROR_INVALID_ARGUMENT,
               "The size of tensor a (3) must match the size of tensor b (4)");
}

TEST(TensorIterator, TransposedInputsKeepTheirLayout) {
  Tensor x = iota({3, 4});
  Tensor xt = transpose(x, 0, 1);  // sizes [4, 3], strides [1, 4]
  TensorIterator it = binary(xt, xt);
  add_loop(it);
  Tensor out = it.output();
  EXPECT_EQ(shape_of(out), (Shape{4, 3}));
  EXPECT_EQ(strides_of(out), (Shape{1, 4}));
  EXPECT_EQ(it.ndim(), 1);  // every operand walks memory in order: one run
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(at(out, {i, j}), 2.0f * float(j * 4 + i));
}

TEST(TensorIterator, PermutedInputKeepsChannelsLastLikeLayout) {
  Tensor p = permute(iota({2, 3, 4}), Shape{0, 2, 1});  // sizes [2, 4, 3], strides [12, 1, 4]
  TensorIterator it = binary(p, p);
  add_loop(it);
  EXPECT_EQ(strides_of(it.output()), (Shape{12, 1, 4}));
  EXPECT_EQ(at(it.output(), {1, 3, 2}), 2.0f * float(1 * 12 + 2 * 4 + 3));
}

TEST(TensorIterator, MixedLayoutsFollowTheFirstInput) {
  Tensor c = iota({4, 3});
  Tensor t = transpose(iota({3, 4}), 0, 1);
  TensorIterator it = binary(c, t);
  add_loop(it);
  EXPECT_TRUE(it.output().is_contiguous());
  EXPECT_EQ(it.ndim(), 2);
  EXPECT_EQ(at(it.output(), {2, 1}), 7.0f + float(1 * 4 + 2));
}

TEST(TensorIterator, ZeroSizeRunsNoLoop) {
  IterConfig c;
  c.outputs = {Tensor()};
  c.inputs = {Tensor::empty(Shape{0, 3}, ScalarType::Float32), iota({3})};
  TensorIterator it(std::move(c));
  int calls = 0;
  it.for_each([&](char**, const int64_t*, int64_t) { ++calls; }, kGrainSize);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(it.numel(), 0);
  EXPECT_EQ(shape_of(it.output()), (Shape{0, 3}));
}

TEST(TensorIterator, ZeroDimOperandsRunOnce) {
  Tensor a = full({}, Scalar(1.5), ScalarType::Float32), b = full({}, Scalar(2.0), ScalarType::Float32);
  TensorIterator it = binary(a, b);
  int calls = 0;
  int64_t seen = 0;
  it.for_each([&](char** d, const int64_t* s, int64_t n) {
    ++calls, seen += n;
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<float*>(d[0] + i * s[0]) =
          *reinterpret_cast<float*>(d[1]) + *reinterpret_cast<float*>(d[2]);
  }, kGrainSize);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(it.ndim(), 0);
  EXPECT_EQ(it.output().dim(), 0);
  EXPECT_EQ(it.output().data_as<float>()[0], 3.5f);
}

TEST(TensorIterator, CoalescesWhatMemoryAllows) {
  // Promotion (int32 -> float32) leaves the slow path but contiguous operands still merge.
  TensorIterator promoted = binary(iota({2, 3, 4}), iota({2, 3, 4}, ScalarType::Int32));
  EXPECT_EQ(promoted.compute_dtype(), ScalarType::Float32);
  EXPECT_EQ(promoted.ndim(), 1);
  EXPECT_EQ(promoted.numel(), 24);
  add_loop(promoted);
  EXPECT_EQ(at(promoted.output(), {1, 2, 3}), 46.0f);

  // Rows with a gap (4 of every 5 elements) cannot merge into one run.
  Tensor rows = slice(iota({3, 5}), 1, 0, 4, 1);
  EXPECT_EQ(binary(rows, rows).ndim(), 2);
  // Broadcast along the slowest dim: the two fast dims merge.
  EXPECT_EQ(binary(iota({2, 3, 4}), iota({1, 3, 4})).ndim(), 2);
}

TEST(TensorIterator, ResultTypeTiers) {
  using S = ScalarType;
  Tensor i32 = iota({2}, S::Int32), u8 = iota({2}, S::UInt8), f16 = iota({2}, S::Float16);
  Tensor b = Tensor::empty(Shape{2}, S::Bool);
  Tensor zero_i64 = full({}, Scalar(int64_t(1)), S::Int64), zero_f64 = full({}, Scalar(1.0), S::Float64);
  EXPECT_EQ(result_type({i32}, {Scalar(2.5)}), S::Float32);  // a Python float: default dtype
  EXPECT_EQ(result_type({i32, zero_i64}, {}), S::Int32);    // 0-dim ranks below dimensioned
  EXPECT_EQ(result_type({i32, zero_f64}, {}), S::Float64);  // unless it brings a higher category
  EXPECT_EQ(result_type({u8}, {Scalar(int64_t(300))}), S::UInt8);
  EXPECT_EQ(result_type({b}, {Scalar(int64_t(1))}), S::Int64);
  EXPECT_EQ(result_type({f16}, {Scalar(2.0)}), S::Float16);
  EXPECT_EQ(result_type({u8, iota({2}, S::Int8)}, {}), S::Int16);
}

TEST(TensorIterator, IntToFloatPromotion) {
  IterConfig c;
  c.outputs = {Tensor()};
  c.inputs = {iota({3}, ScalarType::Int32), iota({3}, ScalarType::Int32)};
  c.promote_int_to_float = true;
  TensorIterator it(std::move(c));
  EXPECT_EQ(it.compute_dtype(), ScalarType::Float32);
  EXPECT_EQ(it.output().dtype(), ScalarType::Float32);
  EXPECT_EQ(it.dtype(1), ScalarType::Float32);  // inputs arrive converted
}

TEST(TensorIterator, OutputOfAnotherDtypeGetsTheResultOnFinish) {
  Tensor out = Tensor::empty(Shape{3}, ScalarType::Float64);
  TensorIterator it = binary(iota({3}), iota({3}), out);
  add_loop(it);
  it.finish();
  EXPECT_TRUE(it.output().is_same(out));
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(out.data_as<double>()[i], 2.0 * double(i));
}

TEST(TensorIterator, GivenOutputIsWrittenInPlace) {
  Tensor a = iota({2, 3});
  TensorIterator it = binary(a, iota({3}), a);
  add_loop(it);
  EXPECT_TRUE(it.output().is_same(a));
  EXPECT_EQ(at(a, {1, 2}), 5.0f + 2.0f);
}

TEST(TensorIterator, OutputErrors) {
  expect_error([] { binary(iota({3}), iota({3}), Tensor::empty(Shape{2, 2}, ScalarType::Float32)); },
               VT_ERROR_INVALID_ARGUMENT, "doesn't match the broadcast shape [3]");
  expect_error([] { binary(iota({3}), iota({3}), expand(iota({1}), Shape{3})); },
               VT_ERROR_INVALID_ARGUMENT, "more than one element of the written-to tensor");
  expect_error([] { binary(iota({3}), iota({3}), Tensor::empty(Shape{3}, ScalarType::Int32)); },
               VT_ERROR_INVALID_ARGUMENT, "can't be cast to the desired output type int32");
  expect_error([] {
    IterConfig c;
    c.outputs = {Tensor()};
    c.inputs = {iota({3}), iota({3}, ScalarType::Int64)};
    c.check_same_dtype = true;
    TensorIterator it(std::move(c));
  }, VT_ERROR_INVALID_ARGUMENT, "expected all tensors to have the same dtype");
}

// Sums the input into zero-initialized outputs; reductions run the loop serially.
Tensor reduce_sum(const Tensor& in, DimVector dims, bool keepdim, Tensor out = Tensor()) {
  IterConfig c;
  c.op_name = "test_sum";
  c.outputs = {out};
  c.inputs = {in};
  c.is_reduction = true;
  c.reduce_dims = dims;
  c.keepdim = keepdim;
  TensorIterator it(std::move(c));
  fill_(it.output(), Scalar(0.0));
  it.for_each([](char** d, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<float*>(d[0] + i * s[0]) += *reinterpret_cast<float*>(d[1] + i * s[1]);
  }, kGrainSize);
  return it.output();
}

TEST(TensorIterator, ReductionShapesAndValues) {
  Tensor x = iota({2, 3, 4});
  Tensor kept = reduce_sum(x, {1}, true);
  EXPECT_EQ(shape_of(kept), (Shape{2, 1, 4}));
  Tensor dropped = reduce_sum(x, {1}, false);
  EXPECT_EQ(shape_of(dropped), (Shape{2, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 4; ++k) {
      float want = 0;
      for (int64_t j = 0; j < 3; ++j) want += float(i * 12 + j * 4 + k);
      EXPECT_EQ(at(kept, {i, 0, k}), want);
      EXPECT_EQ(at(dropped, {i, k}), want);
    }
  Tensor all = reduce_sum(x, {0, 1, 2}, false);
  EXPECT_EQ(all.dim(), 0);
  EXPECT_EQ(all.data_as<float>()[0], 276.0f);  // 0 + 1 + ... + 23
  Tensor outer = reduce_sum(x, {0, 2}, true);
  EXPECT_EQ(shape_of(outer), (Shape{1, 3, 1}));
  EXPECT_EQ(at(outer, {0, 1, 0}), float(4 + 5 + 6 + 7 + 16 + 17 + 18 + 19));
  // A transposed input reduces by its logical dims, not its memory order.
  Tensor t = reduce_sum(transpose(iota({3, 4}), 0, 1), {1}, false);  // rows of the transpose
  EXPECT_EQ(shape_of(t), (Shape{4}));
  EXPECT_EQ(at(t, {1}), float(1 + 5 + 9));
}

TEST(TensorIterator, ReductionOutputShapeMismatchRaises) {
  expect_error([] { reduce_sum(iota({2, 3}), {1}, false, Tensor::empty(Shape{3}, ScalarType::Float32)); },
               VT_ERROR_INVALID_ARGUMENT, "doesn't match the expected shape [2]");
}

TEST(TensorIterator, ParallelLoopOverStridedInputCoversEveryElement) {
  set_num_threads(4);  // split even on a small machine
  Tensor x = transpose(iota({300, 512}), 0, 1);  // 153600 elements, non-contiguous
  TensorIterator it = binary(x, x);
  add_loop(it);
  Tensor out = it.output();
  int64_t wrong = 0;
  for (int64_t i = 0; i < 512; ++i)
    for (int64_t j = 0; j < 300; ++j) wrong += at(out, {i, j}) != 2.0f * float(j * 512 + i);
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace vt
