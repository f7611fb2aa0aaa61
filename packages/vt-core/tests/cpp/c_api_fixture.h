// Shared by the C ABI tests: the table from vt_get_api, as a plugin would hold it, and helpers.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vt/c/vt.h"

namespace vt_test {

inline const vt_api_t* A = nullptr;
inline const vt_device_t kCpu = {VT_DEVICE_CPU, 0};

class CApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { A = vt_get_api(VT_ABI_VERSION); }
  void SetUp() override { ASSERT_NE(A, nullptr) << vt_last_error_message(); }
};

inline std::string last_error() { return A->last_error_message(); }

inline vt_tensor_t empty(std::vector<int64_t> sizes, int32_t dtype = VT_DTYPE_FLOAT32) {
  vt_tensor_t t = nullptr;
  EXPECT_EQ(A->tensor_empty(sizes.data(), int64_t(sizes.size()), dtype, kCpu, &t), VT_OK);
  return t;
}

inline vt_tensor_desc_t describe(vt_tensor_t t) {
  vt_tensor_desc_t d{};
  d.struct_size = sizeof(d);
  EXPECT_EQ(A->tensor_describe(t, &d), VT_OK);
  return d;
}

template <typename T> T* data(vt_tensor_t t) {
  void* p = nullptr;
  EXPECT_EQ(A->tensor_data_ptr(t, &p), VT_OK);
  return static_cast<T*>(p);
}

// A deleter that counts its runs in an int.
inline void count_deleter(void*, void* context) { ++*static_cast<int*>(context); }

}  // namespace vt_test
