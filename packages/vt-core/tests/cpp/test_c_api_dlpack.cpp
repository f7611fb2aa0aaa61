// vt/c/dlpack.h: export/import round trips share memory; hostile structs are refused untouched.
#include <cstdint>
#include <functional>
#include <string>

#include "c_api_fixture.h"

namespace vt_test {
namespace {

// Wraps an exporter's deleter to count how often consumers call it.
void (*g_export_deleter)(DLManagedTensorVersioned*) = nullptr;
int g_export_deletes = 0;
void counting_deleter(DLManagedTensorVersioned* self) {
  ++g_export_deletes;
  g_export_deleter(self);
}

TEST_F(CApi, DlpackRoundTripSharesMemoryAndDeletesOnce) {
  vt_allocator_stats_t before{}, after{};
  before.struct_size = after.struct_size = sizeof(vt_allocator_stats_t);
  A->allocator_get_stats(VT_DEVICE_CPU, 0, &before);

  vt_tensor_t t = empty({2, 3});
  for (int i = 0; i < 6; ++i) data<float>(t)[i] = float(i);
  DLManagedTensorVersioned* m = nullptr;
  ASSERT_EQ(A->tensor_to_dlpack(t, &m), VT_OK);
  EXPECT_EQ(m->version.major, 1u);
  EXPECT_EQ(m->dl_tensor.ndim, 2);
  EXPECT_EQ(m->dl_tensor.shape[1], 3);
  EXPECT_EQ(m->dl_tensor.strides[0], 3);
  EXPECT_EQ(m->dl_tensor.dtype.code, kDLFloat);
  EXPECT_EQ(m->dl_tensor.dtype.bits, 32);
  EXPECT_EQ(m->dl_tensor.dtype.lanes, 1);
  EXPECT_EQ(m->dl_tensor.device.device_type, kDLCPU);
  EXPECT_EQ(m->dl_tensor.data, data<float>(t));

  g_export_deleter = m->deleter;
  g_export_deletes = 0;
  m->deleter = &counting_deleter;
  vt_tensor_t back = nullptr;
  ASSERT_EQ(A->tensor_from_dlpack(m, &back), VT_OK);
  EXPECT_EQ(data<float>(back), data<float>(t));
  A->tensor_release(t);  // the export keeps the storage alive
  data<float>(back)[5] = 42.0f;
  EXPECT_EQ(data<float>(back)[4], 4.0f);
  EXPECT_EQ(g_export_deletes, 0);
  A->tensor_release(back);
  EXPECT_EQ(g_export_deletes, 1);
  A->allocator_get_stats(VT_DEVICE_CPU, 0, &after);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);  // everything was freed
}

TEST_F(CApi, DlpackExportOfAViewPointsAtItsFirstElement) {
  vt_tensor_t t = empty({4, 5});
  int64_t sizes[2] = {5, 3}, strides[2] = {1, 5};  // transposed, starting at element 2
  vt_tensor_t view = nullptr;
  ASSERT_EQ(A->tensor_as_strided(t, sizes, strides, 2, 2, &view), VT_OK);
  DLManagedTensorVersioned* m = nullptr;
  ASSERT_EQ(A->tensor_to_dlpack(view, &m), VT_OK);
  EXPECT_EQ(m->dl_tensor.data, static_cast<void*>(data<float>(t) + 2));
  EXPECT_EQ(m->dl_tensor.byte_offset, 0u);
  EXPECT_EQ(m->dl_tensor.strides[0], 1);
  EXPECT_EQ(m->dl_tensor.strides[1], 5);
  m->deleter(m);
  A->tensor_release(view);
  A->tensor_release(t);
}

// A producer's tensor on the stack: its deleter only counts, so refusals can be observed.
struct Foreign {
  float buffer[16] = {};
  int64_t shape[2] = {2, 3};
  int64_t strides[2] = {3, 1};
  int deletes = 0;
  DLManagedTensorVersioned m{};

  Foreign() {
    m.version = {DLPACK_VERSION_MAJOR, DLPACK_VERSION_MINOR};
    m.manager_ctx = &deletes;
    m.deleter = [](DLManagedTensorVersioned* self) { ++*static_cast<int*>(self->manager_ctx); };
    m.dl_tensor.data = buffer;
    m.dl_tensor.device = {kDLCPU, 0};
    m.dl_tensor.ndim = 2;
    m.dl_tensor.dtype = {kDLFloat, 32, 1};
    m.dl_tensor.shape = shape;
    m.dl_tensor.strides = strides;
  }
};

TEST_F(CApi, DlpackImportOfAValidForeignTensor) {
  Foreign f;
  f.buffer[4] = 7.0f;
  vt_tensor_t t = nullptr;
  ASSERT_EQ(A->tensor_from_dlpack(&f.m, &t), VT_OK);
  EXPECT_EQ(describe(t).numel, 6);
  EXPECT_EQ(data<float>(t)[4], 7.0f);
  EXPECT_EQ(f.deletes, 0);
  A->tensor_release(t);
  EXPECT_EQ(f.deletes, 1);

  Foreign empty_one;  // NULL data is fine when there are no elements
  empty_one.shape[0] = 0;
  empty_one.m.dl_tensor.data = nullptr;
  ASSERT_EQ(A->tensor_from_dlpack(&empty_one.m, &t), VT_OK);
  EXPECT_EQ(describe(t).numel, 0);
  A->tensor_release(t);
  EXPECT_EQ(empty_one.deletes, 1);
}

TEST_F(CApi, DlpackRejectsMalformedStructsWithoutTakingOwnership) {
  struct Case {
    const char* what;
    std::function<void(Foreign&)> spoil;
    vt_status_t status;
    const char* fragment;
  };
  const Case cases[] = {
      {"ndim 999", [](Foreign& f) { f.m.dl_tensor.ndim = 999; }, VT_ERROR_VALUE, "ndim 999"},
      {"ndim -1", [](Foreign& f) { f.m.dl_tensor.ndim = -1; }, VT_ERROR_VALUE, "ndim -1"},
      {"NULL shape", [](Foreign& f) { f.m.dl_tensor.shape = nullptr; }, VT_ERROR_VALUE, "shape is NULL"},
      {"negative size", [](Foreign& f) { f.shape[1] = -3; }, VT_ERROR_VALUE, "negative size"},
      {"negative stride", [](Foreign& f) { f.strides[0] = -3; }, VT_ERROR_VALUE, "negative strides"},
      {"unknown dtype code", [](Foreign& f) { f.m.dl_tensor.dtype.code = 3; }, VT_ERROR_TYPE, "unsupported DLPack dtype"},
      {"float8", [](Foreign& f) { f.m.dl_tensor.dtype.bits = 8; }, VT_ERROR_TYPE, "unsupported DLPack dtype"},
      {"lanes 2", [](Foreign& f) { f.m.dl_tensor.dtype.lanes = 2; }, VT_ERROR_TYPE, "lanes=2"},
      {"NULL data", [](Foreign& f) { f.m.dl_tensor.data = nullptr; }, VT_ERROR_VALUE, "data is NULL"},
      {"overflowing strides", [](Foreign& f) { f.shape[0] = 3, f.strides[0] = INT64_MAX / 2; }, VT_ERROR_VALUE, "overflow"},
      {"numel overflow", [](Foreign& f) { f.shape[0] = int64_t(1) << 62, f.shape[1] = 4; }, VT_ERROR_INVALID_ARGUMENT, "overflows int64"},
      {"unsupported device", [](Foreign& f) { f.m.dl_tensor.device = {kDLExtDev, 0}; }, VT_ERROR_VALUE, "device type 12"},
      {"CPU device id 1", [](Foreign& f) { f.m.dl_tensor.device = {kDLCPU, 1}; }, VT_ERROR_VALUE, "CPU device id"},
      {"misaligned byte_offset", [](Foreign& f) { f.m.dl_tensor.byte_offset = 2; }, VT_ERROR_VALUE, "byte_offset 2"},
      {"DLPack 2.x", [](Foreign& f) { f.m.version.major = 2; }, VT_ERROR_VALUE, "major version 2"},
      {"read-only", [](Foreign& f) { f.m.flags = DLPACK_FLAG_BITMASK_READ_ONLY; }, VT_ERROR_VALUE, "read-only"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Foreign f;
    c.spoil(f);
    vt_tensor_t t = nullptr;
    EXPECT_EQ(A->tensor_from_dlpack(&f.m, &t), c.status);
    EXPECT_NE(last_error().find(c.fragment), std::string::npos) << last_error();
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(f.deletes, 0);  // on failure the producer still owns it
  }
}

TEST_F(CApi, DlpackLegacyStruct) {
  static float buffer[3] = {1, 2, 3};
  static int64_t shape[1] = {3};
  static int deletes = 0;
  DLManagedTensor m{};
  m.dl_tensor.data = buffer;
  m.dl_tensor.device = {kDLCPU, 0};
  m.dl_tensor.ndim = 1;
  m.dl_tensor.dtype = {kDLFloat, 32, 1};
  m.dl_tensor.shape = shape;  // NULL strides: contiguous
  m.deleter = [](DLManagedTensor*) { ++deletes; };
  vt_tensor_t t = nullptr;
  m.dl_tensor.dtype.lanes = 4;
  EXPECT_EQ(A->tensor_from_dlpack_legacy(&m, &t), VT_ERROR_TYPE);
  EXPECT_EQ(deletes, 0);
  m.dl_tensor.dtype.lanes = 1;
  ASSERT_EQ(A->tensor_from_dlpack_legacy(&m, &t), VT_OK);
  EXPECT_EQ(describe(t).strides[0], 1);
  EXPECT_EQ(data<float>(t)[2], 3.0f);
  A->tensor_release(t);
  EXPECT_EQ(deletes, 1);
}

}  // namespace
}  // namespace vt_test
