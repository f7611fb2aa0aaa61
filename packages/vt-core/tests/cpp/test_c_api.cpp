// The stable C ABI (include/vt/c) through the table from vt_get_api, as a plugin sees it:
// versions, tensors, errors, ops, allocator statistics. DLPack and iterators have their own files.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "c_api_fixture.h"

namespace vt_test {
namespace {

TEST_F(CApi, TableAndVersions) {
  EXPECT_EQ(A->struct_size, sizeof(vt_api_t));
  EXPECT_EQ(A->abi_version, VT_ABI_VERSION);
  uint32_t major = 0, minor = 99;
  vt_get_abi_version(&major, &minor);
  EXPECT_EQ(major, uint32_t(VT_ABI_VERSION_MAJOR));
  EXPECT_EQ(minor, uint32_t(VT_ABI_VERSION_MINOR));

  EXPECT_EQ(vt_get_api((2u << 16) | 0u), nullptr);
  EXPECT_EQ(vt_last_error_status(), VT_ERROR_VERSION_MISMATCH);
  std::string msg = vt_last_error_message();
  EXPECT_NE(msg.find("2.0"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(VT_ABI_VERSION_MAJOR) + "." + std::to_string(VT_ABI_VERSION_MINOR)),
            std::string::npos) << msg;
  EXPECT_EQ(vt_get_api((1u << 16) | 7u), nullptr);  // a newer minor than this library has
  EXPECT_NE(std::string(vt_last_error_message()).find("1.7"), std::string::npos);
}

TEST_F(CApi, CreateDescribeRelease) {
  vt_tensor_t t = empty({2, 3});
  vt_tensor_desc_t d = describe(t);
  EXPECT_EQ(d.ndim, 2);
  EXPECT_EQ(d.sizes[0], 2);
  EXPECT_EQ(d.sizes[1], 3);
  EXPECT_EQ(d.strides[0], 3);
  EXPECT_EQ(d.strides[1], 1);
  EXPECT_EQ(d.dtype, VT_DTYPE_FLOAT32);
  EXPECT_EQ(d.device.type, VT_DEVICE_CPU);
  EXPECT_EQ(d.numel, 6);
  EXPECT_EQ(d.storage_offset, 0);
  int32_t contiguous = 0;
  EXPECT_EQ(A->tensor_is_contiguous(t, &contiguous), VT_OK);
  EXPECT_EQ(contiguous, 1);
  vt_tensor_desc_t small{};
  small.struct_size = sizeof(small) - 8;  // a caller with an older, smaller struct
  EXPECT_EQ(A->tensor_describe(t, &small), VT_ERROR_VALUE);
  EXPECT_EQ(A->tensor_release(t), VT_OK);
  EXPECT_EQ(A->tensor_release(nullptr), VT_OK);

  int64_t bad = -1;
  vt_tensor_t out = nullptr;
  EXPECT_EQ(A->tensor_empty(&bad, 1, VT_DTYPE_FLOAT32, kCpu, &out), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("negative dimension"), std::string::npos);
  EXPECT_EQ(A->tensor_empty(nullptr, 0, 12345, kCpu, &out), VT_ERROR_TYPE);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CApi, FromBlobDeleterRunsExactlyOnce) {
  int deleted = 0;
  float buffer[6] = {0, 1, 2, 3, 4, 5};
  int64_t sizes[2] = {2, 3}, strides[2] = {1, 2};  // column-major view of the buffer
  vt_tensor_t t = nullptr;
  ASSERT_EQ(A->tensor_from_blob(buffer, sizes, strides, 2, VT_DTYPE_FLOAT32, kCpu,
                                &count_deleter, &deleted, &t), VT_OK);
  EXPECT_EQ(data<float>(t), buffer);
  EXPECT_EQ(describe(t).strides[0], 1);
  A->tensor_retain(t);
  A->tensor_release(t);
  int64_t vs[1] = {3}, vst[1] = {2};
  vt_tensor_t view = nullptr;
  ASSERT_EQ(A->tensor_as_strided(t, vs, vst, 1, 1, &view), VT_OK);  // elements 1, 3, 5
  EXPECT_EQ(data<float>(view)[2 * 2], 5.0f);
  A->tensor_release(t);
  EXPECT_EQ(deleted, 0);  // the view keeps the memory
  A->tensor_release(view);
  EXPECT_EQ(deleted, 1);
}

TEST_F(CApi, FromBlobValidatesItsInput) {
  int deleted = 0;
  float buffer[4] = {};
  vt_tensor_t t = nullptr;
  int64_t neg[1] = {-2};
  EXPECT_EQ(A->tensor_from_blob(buffer, neg, nullptr, 1, VT_DTYPE_FLOAT32, kCpu, &count_deleter,
                                &deleted, &t), VT_ERROR_VALUE);
  int64_t four[1] = {4};
  EXPECT_EQ(A->tensor_from_blob(nullptr, four, nullptr, 1, VT_DTYPE_FLOAT32, kCpu, &count_deleter,
                                &deleted, &t), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("data is NULL"), std::string::npos);
  int64_t huge[2] = {int64_t(1) << 62, 4};  // more elements than int64 counts
  EXPECT_NE(A->tensor_from_blob(buffer, huge, nullptr, 2, VT_DTYPE_FLOAT32, kCpu, &count_deleter,
                                &deleted, &t), VT_OK);
  int64_t three[2] = {3, 3}, wide[2] = {INT64_MAX / 2, 1};  // the extent overflows
  EXPECT_EQ(A->tensor_from_blob(buffer, three, wide, 2, VT_DTYPE_FLOAT32, kCpu, &count_deleter,
                                &deleted, &t), VT_ERROR_VALUE);
  EXPECT_EQ(deleted, 0);  // a failed call never takes ownership
  EXPECT_EQ(t, nullptr);
}

TEST_F(CApi, AsStridedChecksBounds) {
  vt_tensor_t t = empty({2, 3});
  vt_tensor_t view = nullptr;
  int64_t sizes[2] = {3, 3}, strides[2] = {3, 1};
  EXPECT_EQ(A->tensor_as_strided(t, sizes, strides, 2, 0, &view), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("as_strided"), std::string::npos) << last_error();
  int64_t ok_sizes[2] = {2, 2};
  EXPECT_EQ(A->tensor_as_strided(t, ok_sizes, strides, 2, 2, &view), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(A->tensor_as_strided(t, ok_sizes, strides, 2, 1, &view), VT_OK);  // last is 5
  A->tensor_release(view);
  int64_t big[1] = {3}, overflow[1] = {INT64_MAX / 2 + 1};  // (3 - 1) * stride wraps negative
  EXPECT_EQ(A->tensor_as_strided(t, big, overflow, 1, 0, &view), VT_ERROR_INVALID_ARGUMENT);
  int64_t one[1] = {1}, minus[1] = {-1};
  EXPECT_EQ(A->tensor_as_strided(t, one, minus, 1, 0, &view), VT_ERROR_INVALID_ARGUMENT);
  A->tensor_release(t);
}

TEST_F(CApi, CopyConvertsDtypesAndBroadcasts) {
  vt_tensor_t src = empty({3}, VT_DTYPE_INT32);
  int32_t* s = data<int32_t>(src);
  s[0] = 1, s[1] = -2, s[2] = 3;
  vt_tensor_t dst = empty({2, 3}, VT_DTYPE_FLOAT64);
  ASSERT_EQ(A->tensor_copy_(dst, src), VT_OK);
  const double* d = data<double>(dst);
  const double want[6] = {1, -2, 3, 1, -2, 3};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d[i], want[i]);

  vt_tensor_t f = empty({2}, VT_DTYPE_FLOAT32);
  data<float>(f)[0] = 2.7f, data<float>(f)[1] = -2.7f;
  vt_tensor_t i = empty({2}, VT_DTYPE_INT64);
  ASSERT_EQ(A->tensor_copy_(i, f), VT_OK);
  EXPECT_EQ(data<int64_t>(i)[0], 2);  // truncation toward zero, as torch
  EXPECT_EQ(data<int64_t>(i)[1], -2);
  vt_tensor_t wrong = empty({4});
  EXPECT_EQ(A->tensor_copy_(wrong, src), VT_ERROR_INVALID_ARGUMENT);
  for (vt_tensor_t t : {src, dst, f, i, wrong}) A->tensor_release(t);
}

TEST_F(CApi, VersionCounterBumpsOnInPlaceWrites) {
  vt_tensor_t t = empty({4});
  vt_tensor_t src = empty({4});
  uint32_t v0 = 0, v = 0;
  A->tensor_version(t, &v0);
  ASSERT_EQ(A->tensor_copy_(t, src), VT_OK);
  A->tensor_version(t, &v);
  EXPECT_EQ(v, v0 + 1);
  int64_t one[1] = {2}, st[1] = {1};
  vt_tensor_t view = nullptr;
  A->tensor_as_strided(t, one, st, 1, 0, &view);
  A->tensor_bump_version(view);  // views share the counter
  A->tensor_version(t, &v);
  EXPECT_EQ(v, v0 + 2);

  vt_op_t add_ = nullptr;
  ASSERT_EQ(A->op_lookup("vt::add_.Tensor", &add_), VT_OK);
  vt_value_t args[2] = {};
  args[0].tag = args[1].tag = VT_VALUE_TENSOR;
  args[0].u.tensor = t, args[1].u.tensor = src;
  vt_value_t out = {};
  ASSERT_EQ(A->op_call(add_, args, 2, &out, 1), VT_OK);
  A->value_release(&out);
  A->tensor_version(view, &v);
  EXPECT_EQ(v, v0 + 3);
  for (vt_tensor_t x : {t, src, view}) A->tensor_release(x);
}

TEST_F(CApi, AutogradSlotDestructorRuns) {
  static int destroyed[2];
  destroyed[0] = destroyed[1] = 0;
  auto destroy = [](void* value) { ++*static_cast<int*>(value); };
  vt_tensor_t t = empty({1});
  void* got = &got;
  A->tensor_get_autograd_slot(t, &got);
  EXPECT_EQ(got, nullptr);
  ASSERT_EQ(A->tensor_set_autograd_slot(t, &destroyed[0], destroy), VT_OK);
  A->tensor_get_autograd_slot(t, &got);
  EXPECT_EQ(got, &destroyed[0]);
  A->tensor_set_autograd_slot(t, &destroyed[1], destroy);  // replacing destroys the old value
  EXPECT_EQ(destroyed[0], 1);
  EXPECT_EQ(destroyed[1], 0);
  A->tensor_release(t);
  EXPECT_EQ(destroyed[0], 1);
  EXPECT_EQ(destroyed[1], 1);
}

TEST_F(CApi, LayerMaskRejectsUnknownBits) {
  vt_tensor_t t = empty({1});
  uint32_t mask = 99;
  EXPECT_EQ(A->tensor_set_layer_mask(t, 1u << VT_LAYER_COUNT), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("unknown layer bits"), std::string::npos);
  A->tensor_get_layer_mask(t, &mask);
  EXPECT_EQ(mask, 0u);
  EXPECT_EQ(A->tensor_set_layer_mask(t, (1u << VT_LAYER_COUNT) - 1), VT_OK);
  A->tensor_get_layer_mask(t, &mask);
  EXPECT_EQ(mask, 7u);
  A->tensor_release(t);
}

TEST_F(CApi, NullArgumentsNameTheFunction) {
  vt_tensor_t t = empty({1});
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  int64_t n = 0;
  vt_op_t op = nullptr;
  vt_iter_t it = nullptr;
  struct Case {
    vt_status_t status;
    const char* fn;
  } cases[] = {
      {A->tensor_describe(nullptr, &d), "vt_tensor_describe"},
      {A->tensor_describe(t, nullptr), "vt_tensor_describe"},
      {A->tensor_empty(&n, 1, VT_DTYPE_FLOAT32, kCpu, nullptr), "vt_tensor_empty"},
      {A->tensor_data_ptr(nullptr, nullptr), "vt_tensor_data_ptr"},
      {A->tensor_copy_(nullptr, t), "vt_tensor_copy_"},
      {A->tensor_version(nullptr, nullptr), "vt_tensor_version"},
      {A->tensor_to_dlpack(nullptr, nullptr), "vt_tensor_to_dlpack"},
      {A->tensor_from_dlpack(nullptr, nullptr), "vt_tensor_from_dlpack"},
      {A->dtype_itemsize(VT_DTYPE_FLOAT32, nullptr), "vt_dtype_itemsize"},
      {A->op_lookup(nullptr, &op), "vt_op_lookup"},
      {A->op_define(nullptr, 0, &op), "vt_op_define"},
      {A->op_call(nullptr, nullptr, 0, nullptr, 0), "vt_op_call"},
      {A->iter_build(nullptr, &it), "vt_iter_build"},
      {A->iter_numel(nullptr, &n), "vt_iter_numel"},
      {A->allocator_get_stats(VT_DEVICE_CPU, 0, nullptr), "vt_allocator_get_stats"},
      {vt_library_load(nullptr, nullptr), "vt_library_load"},
  };
  int index = 0;
  for (const Case& c : cases) {
    // Each status was taken in order, so only the last message survives; re-run for messages.
    EXPECT_EQ(c.status, VT_ERROR_VALUE) << c.fn << " (case " << index++ << ")";
  }
  EXPECT_EQ(A->tensor_describe(nullptr, &d), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("vt_tensor_describe"), std::string::npos) << last_error();
  EXPECT_EQ(A->op_lookup(nullptr, &op), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("vt_op_lookup"), std::string::npos) << last_error();
  EXPECT_EQ(A->iter_numel(nullptr, &n), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("vt_iter_numel"), std::string::npos) << last_error();
  EXPECT_EQ(A->tensor_copy_(nullptr, t), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("vt_tensor_copy_"), std::string::npos) << last_error();
  A->tensor_release(t);
}

TEST_F(CApi, LastErrorIsThreadLocalAndClearable) {
  EXPECT_EQ(A->op_lookup("nope::nothing", nullptr), VT_ERROR_VALUE);
  std::string here = last_error();
  std::string there = "unset";
  std::thread([&] { there = A->last_error_message(); }).join();
  EXPECT_EQ(there, "");
  EXPECT_NE(here, "");
  A->clear_last_error();
  EXPECT_EQ(A->last_error_status(), VT_OK);
  EXPECT_STREQ(A->last_error_message(), "");
  A->set_last_error(VT_ERROR_DEVICE, "from a plugin");
  EXPECT_EQ(A->last_error_status(), VT_ERROR_DEVICE);
  EXPECT_STREQ(A->last_error_message(), "from a plugin");
}

TEST_F(CApi, DtypesAndDevices) {
  int64_t size = 0;
  const char* name = nullptr;
  int32_t promoted = 0;
  EXPECT_EQ(A->dtype_itemsize(VT_DTYPE_BFLOAT16, &size), VT_OK);
  EXPECT_EQ(size, 2);
  EXPECT_EQ(A->dtype_name(VT_DTYPE_BOOL, &name), VT_OK);
  EXPECT_STREQ(name, "bool");
  EXPECT_EQ(A->dtype_promote(VT_DTYPE_UINT8, VT_DTYPE_INT8, &promoted), VT_OK);
  EXPECT_EQ(promoted, VT_DTYPE_INT16);
  EXPECT_EQ(A->dtype_promote(VT_DTYPE_UINT8, 7, &promoted), VT_ERROR_TYPE);
  vt_device_t dev{};
  EXPECT_EQ(A->device_parse("cuda:1", &dev), VT_OK);
  EXPECT_EQ(dev.type, VT_DEVICE_CUDA);
  EXPECT_EQ(dev.index, 1);
  EXPECT_EQ(A->device_parse("cpu:1", &dev), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(A->device_parse("tpu", &dev), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(A->device_parse("cuda:x", &dev), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(A->device_type_name(VT_DEVICE_CPU, &name), VT_OK);
  EXPECT_STREQ(name, "cpu");
  int32_t count = 0;
  EXPECT_EQ(A->device_count(VT_DEVICE_CPU, &count), VT_OK);
  EXPECT_EQ(count, 1);
}

TEST_F(CApi, OpsByNameAndCall) {
  vt_op_t add = nullptr;
  ASSERT_EQ(A->op_lookup("vt::add.Tensor", &add), VT_OK);
  const char* text = nullptr;
  int64_t returns = 0;
  A->op_schema(add, &text);
  EXPECT_EQ(std::string(text), "vt::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
  A->op_num_returns(add, &returns);
  EXPECT_EQ(returns, 1);
  EXPECT_EQ(A->op_lookup("vt::no_such_op", &add), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("vt::no_such_op"), std::string::npos);

  vt_tensor_t a = empty({2}), b = empty({2});
  data<float>(a)[0] = 1, data<float>(a)[1] = 2;
  data<float>(b)[0] = 10, data<float>(b)[1] = 20;
  vt_value_t args[3] = {};
  args[0].tag = args[1].tag = VT_VALUE_TENSOR;
  args[0].u.tensor = a, args[1].u.tensor = b;
  args[2].tag = VT_VALUE_DOUBLE, args[2].u.d = 0.5;
  vt_value_t out = {};
  ASSERT_EQ(A->op_call(add, args, 3, &out, 1), VT_OK);
  ASSERT_EQ(out.tag, VT_VALUE_TENSOR);
  EXPECT_EQ(data<float>(out.u.tensor)[0], 6.0f);
  EXPECT_EQ(data<float>(out.u.tensor)[1], 12.0f);
  A->value_release(&out);
  EXPECT_EQ(out.tag, VT_VALUE_NONE);
  A->tensor_release(a);
  A->tensor_release(b);
}

TEST_F(CApi, AllocatorStatsMoveOnAllocAndFree) {
  vt_allocator_stats_t before{}, during{}, after{};
  before.struct_size = during.struct_size = after.struct_size = sizeof(vt_allocator_stats_t);
  ASSERT_EQ(A->allocator_get_stats(VT_DEVICE_CPU, 0, &before), VT_OK);
  vt_tensor_t t = empty({1024});
  A->allocator_get_stats(VT_DEVICE_CPU, 0, &during);
  EXPECT_EQ(during.allocated_bytes, before.allocated_bytes + 4096);
  EXPECT_EQ(during.num_allocs, before.num_allocs + 1);
  EXPECT_GE(during.peak_allocated_bytes, during.allocated_bytes);
  A->tensor_release(t);
  A->allocator_get_stats(VT_DEVICE_CPU, 0, &after);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(after.num_frees, before.num_frees + 1);
  vt_allocator_stats_t tiny{};
  tiny.struct_size = 8;
  EXPECT_EQ(A->allocator_get_stats(VT_DEVICE_CPU, 0, &tiny), VT_ERROR_VALUE);
}

}  // namespace
}  // namespace vt_test
