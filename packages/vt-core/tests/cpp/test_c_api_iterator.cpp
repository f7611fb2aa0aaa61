// vt/c/iterator.h: a plugin-style binary kernel built on vt_iter_build / vt_iter_for_each.
#include <atomic>
#include <cstdint>
#include <cstring>

#include "c_api_fixture.h"

namespace vt_test {
namespace {

// out = a * b + 1 in float32, through byte strides (C loop, as a plugin writes it).
void fma_loop(void* context, char** data, const int64_t* strides, int64_t n) {
  static_cast<std::atomic<int64_t>*>(context)->fetch_add(n);
  for (int64_t i = 0; i < n; ++i) {
    float a, b;
    std::memcpy(&a, data[1] + i * strides[1], sizeof a);
    std::memcpy(&b, data[2] + i * strides[2], sizeof b);
    float r = a * b + 1.0f;
    std::memcpy(data[0] + i * strides[0], &r, sizeof r);
  }
}

vt_iter_config_t binary_config(vt_tensor_t* outputs, vt_tensor_t* inputs) {
  vt_iter_config_t c{};
  c.struct_size = sizeof(c);
  c.outputs = outputs;
  c.num_outputs = 1;
  c.inputs = inputs;
  c.num_inputs = 2;
  c.promote_inputs = 1;
  return c;
}

TEST_F(CApi, IteratorRunsABroadcastingBinaryLoop) {
  vt_tensor_t a = empty({2, 3}), b = empty({3}, VT_DTYPE_INT32);  // promotes to float32
  for (int i = 0; i < 6; ++i) data<float>(a)[i] = float(i);
  for (int i = 0; i < 3; ++i) data<int32_t>(b)[i] = 10 * (i + 1);
  vt_tensor_t outputs[1] = {nullptr}, inputs[2] = {a, b};
  vt_iter_config_t config = binary_config(outputs, inputs);
  vt_iter_t it = nullptr;
  ASSERT_EQ(A->iter_build(&config, &it), VT_OK);
  int32_t dtype = 0;
  int64_t numel = 0;
  A->iter_common_dtype(it, &dtype);
  A->iter_numel(it, &numel);
  EXPECT_EQ(dtype, VT_DTYPE_FLOAT32);
  EXPECT_EQ(numel, 6);
  std::atomic<int64_t> seen{0};
  ASSERT_EQ(A->iter_for_each(it, &fma_loop, &seen, 0), VT_OK);
  EXPECT_EQ(seen.load(), 6);
  vt_tensor_t out = nullptr;
  ASSERT_EQ(A->iter_output(it, 0, &out), VT_OK);
  EXPECT_EQ(A->iter_output(it, 1, &out), VT_ERROR_INDEX);
  A->iter_destroy(it);  // the output reference outlives the iterator
  vt_tensor_desc_t d = describe(out);
  EXPECT_EQ(d.ndim, 2);
  EXPECT_EQ(d.sizes[0], 2);
  EXPECT_EQ(d.sizes[1], 3);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(data<float>(out)[i], float(i) * float(10 * (i % 3 + 1)) + 1.0f) << i;
  for (vt_tensor_t t : {a, b, out}) A->tensor_release(t);
}

TEST_F(CApi, IteratorWritesAGivenOutputOfAnotherDtype) {
  vt_tensor_t a = empty({4}), b = empty({4}), out = empty({4}, VT_DTYPE_FLOAT64);
  for (int i = 0; i < 4; ++i) data<float>(a)[i] = float(i), data<float>(b)[i] = 0.5f;
  vt_tensor_t outputs[1] = {out}, inputs[2] = {a, b};
  vt_iter_config_t config = binary_config(outputs, inputs);
  vt_iter_t it = nullptr;
  ASSERT_EQ(A->iter_build(&config, &it), VT_OK);
  std::atomic<int64_t> seen{0};
  ASSERT_EQ(A->iter_for_each(it, &fma_loop, &seen, 0), VT_OK);  // copies back when done
  A->iter_destroy(it);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(data<double>(out)[i], 0.5 * i + 1.0);
  for (vt_tensor_t t : {a, b, out}) A->tensor_release(t);
}

TEST_F(CApi, IteratorOverLargeTransposedInputsInParallel) {
  vt_tensor_t base = empty({256, 300});
  for (int i = 0; i < 256 * 300; ++i) data<float>(base)[i] = float(i % 1000);
  int64_t sizes[2] = {300, 256}, strides[2] = {1, 300};
  vt_tensor_t t = nullptr;
  ASSERT_EQ(A->tensor_as_strided(base, sizes, strides, 2, 0, &t), VT_OK);
  vt_tensor_t outputs[1] = {nullptr}, inputs[2] = {t, t};
  vt_iter_config_t config = binary_config(outputs, inputs);
  vt_iter_t it = nullptr;
  ASSERT_EQ(A->iter_build(&config, &it), VT_OK);
  std::atomic<int64_t> seen{0};
  ASSERT_EQ(A->iter_for_each(it, &fma_loop, &seen, 1024), VT_OK);
  EXPECT_EQ(seen.load(), 256 * 300);
  vt_tensor_t out = nullptr;
  A->iter_output(it, 0, &out);
  A->iter_destroy(it);
  EXPECT_EQ(describe(out).strides[0], 1);  // the output follows the input's layout
  int64_t wrong = 0;
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t j = 0; j < 256; ++j) {
      float x = float((j * 300 + i) % 1000);
      wrong += data<float>(out)[i + j * 300] != x * x + 1.0f;
    }
  EXPECT_EQ(wrong, 0);
  for (vt_tensor_t x : {base, t, out}) A->tensor_release(x);
}

TEST_F(CApi, IteratorReductionWithKeepdim) {
  vt_tensor_t x = empty({2, 3});
  for (int i = 0; i < 6; ++i) data<float>(x)[i] = float(i + 1);
  vt_tensor_t outputs[1] = {nullptr}, inputs[1] = {x};
  int64_t dims[1] = {-1};
  vt_iter_config_t c{};
  c.struct_size = sizeof(c);
  c.outputs = outputs;
  c.num_outputs = 1;
  c.inputs = inputs;
  c.num_inputs = 1;
  c.reduce_dims = dims;
  c.num_reduce_dims = 1;
  c.keepdim = 1;
  vt_iter_t it = nullptr;
  ASSERT_EQ(A->iter_build(&c, &it), VT_OK);
  vt_tensor_t out = nullptr;
  A->iter_output(it, 0, &out);
  vt_tensor_desc_t d = describe(out);
  ASSERT_EQ(d.ndim, 2);
  EXPECT_EQ(d.sizes[0], 2);
  EXPECT_EQ(d.sizes[1], 1);
  data<float>(out)[0] = data<float>(out)[1] = 0;
  auto sum = [](void*, char** p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<float*>(p[0] + i * s[0]) += *reinterpret_cast<float*>(p[1] + i * s[1]);
  };
  ASSERT_EQ(A->iter_for_each(it, sum, nullptr, 0), VT_OK);
  A->iter_destroy(it);
  EXPECT_EQ(data<float>(out)[0], 6.0f);
  EXPECT_EQ(data<float>(out)[1], 15.0f);
  A->tensor_release(out);
  A->tensor_release(x);
}

TEST_F(CApi, IteratorBuildErrors) {
  vt_tensor_t a = empty({3}), b = empty({4}), i = empty({3}, VT_DTYPE_INT64);
  vt_tensor_t outputs[1] = {nullptr}, inputs[2] = {a, b};
  vt_iter_config_t config = binary_config(outputs, inputs);
  vt_iter_t it = nullptr;
  EXPECT_EQ(A->iter_build(&config, &it), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("must match the size"), std::string::npos) << last_error();
  inputs[1] = i;
  config.check_same_dtype = 1;
  EXPECT_EQ(A->iter_build(&config, &it), VT_ERROR_INVALID_ARGUMENT);
  config.check_same_dtype = 0;
  config.struct_size = 8;
  EXPECT_EQ(A->iter_build(&config, &it), VT_ERROR_VALUE);
  config.struct_size = sizeof(config);
  config.num_outputs = 0;
  EXPECT_EQ(A->iter_build(&config, &it), VT_ERROR_VALUE);
  config.num_outputs = 1;
  inputs[1] = nullptr;
  EXPECT_EQ(A->iter_build(&config, &it), VT_ERROR_VALUE);
  EXPECT_EQ(it, nullptr);
  for (vt_tensor_t t : {a, b, i}) A->tensor_release(t);
}

}  // namespace
}  // namespace vt_test
