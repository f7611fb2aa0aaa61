// vt/c/plugin.h: loading the example plugin (examples/plugin_hello) and calling its op, and
// refusing a build of it that claims another ABI major.
#include <string>
#include <vector>

#include "c_api_fixture.h"

namespace vt_test {
namespace {

vt_value_t tensor_arg(vt_tensor_t t) {
  vt_value_t v{};
  v.tag = VT_VALUE_TENSOR;
  v.u.tensor = t;
  return v;
}

vt_tensor_t filled(std::vector<int64_t> sizes, float start, float step) {
  vt_tensor_t t = empty(sizes);
  int64_t n = describe(t).numel;
  for (int64_t i = 0; i < n; ++i) data<float>(t)[i] = start + step * float(i);
  return t;
}

class PluginLoad : public CApi {
 protected:
  void SetUp() override {
    CApi::SetUp();
    ASSERT_EQ(vt_library_load(VT_HELLO_PLUGIN_PATH, &lib_), VT_OK) << last_error();
    ASSERT_EQ(A->op_lookup("hello::scale_add", &op_), VT_OK) << last_error();
  }
  // Calls hello::scale_add; alpha is left to its default when absent.
  vt_status_t call(vt_tensor_t self, vt_tensor_t other, const vt_value_t* alpha, vt_tensor_t* out) {
    vt_value_t args[3] = {tensor_arg(self), tensor_arg(other), alpha ? *alpha : vt_value_t{}};
    vt_value_t result{};
    vt_status_t s = A->op_call(op_, args, alpha ? 3 : 2, &result, 1);
    *out = s == VT_OK ? result.u.tensor : nullptr;
    return s;
  }
  vt_library_t lib_ = nullptr;
  vt_op_t op_ = nullptr;
};

TEST_F(PluginLoad, InfoAndIdempotentLoad) {
  const vt_plugin_info_t* info = nullptr;
  ASSERT_EQ(vt_library_info(lib_, &info), VT_OK);
  EXPECT_STREQ(info->name, "hello");
  EXPECT_STREQ(info->version, "0.1.0");
  EXPECT_EQ(info->abi_major, uint32_t(VT_ABI_VERSION_MAJOR));
  vt_library_t again = nullptr;
  ASSERT_EQ(vt_library_load(VT_HELLO_PLUGIN_PATH, &again), VT_OK);
  EXPECT_EQ(again, lib_);
  const char* schema = nullptr;
  A->op_schema(op_, &schema);
  EXPECT_STREQ(schema, "hello::scale_add(Tensor self, Tensor other, float alpha=1.0) -> Tensor");
}

TEST_F(PluginLoad, ScaleAddBroadcastsWithDefaultAndGivenAlpha) {
  vt_tensor_t a = filled({2, 3}, 0, 1), b = filled({3}, 10, 10);  // b = [10, 20, 30]
  vt_tensor_t out = nullptr;
  ASSERT_EQ(call(a, b, nullptr, &out), VT_OK) << last_error();
  ASSERT_EQ(describe(out).numel, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(data<float>(out)[i], float(i) + float(10 * (i % 3 + 1)));
  A->tensor_release(out);

  vt_value_t alpha{};
  alpha.tag = VT_VALUE_DOUBLE, alpha.u.d = -0.5;
  ASSERT_EQ(call(a, b, &alpha, &out), VT_OK) << last_error();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(data<float>(out)[i], float(i) - 5.0f * float(i % 3 + 1));
  A->tensor_release(out);

  alpha.tag = VT_VALUE_INT, alpha.u.i = 2;  // an int for a float parameter, as Python sends it
  ASSERT_EQ(call(a, b, &alpha, &out), VT_OK) << last_error();
  EXPECT_EQ(data<float>(out)[5], 5.0f + 60.0f);
  A->tensor_release(out);
  A->tensor_release(a);
  A->tensor_release(b);
}

TEST_F(PluginLoad, ScaleAddOnLargeStridedViews) {
  vt_tensor_t base = filled({400, 200}, 0, 1);
  int64_t sizes[2] = {200, 400}, strides[2] = {1, 200};  // the transpose: 80000 elements
  vt_tensor_t t = nullptr;
  ASSERT_EQ(A->tensor_as_strided(base, sizes, strides, 2, 0, &t), VT_OK);
  vt_tensor_t ones = filled({400}, 1, 0);
  vt_value_t alpha{};
  alpha.tag = VT_VALUE_DOUBLE, alpha.u.d = 3.0;
  vt_tensor_t out = nullptr;
  ASSERT_EQ(call(t, ones, &alpha, &out), VT_OK) << last_error();
  vt_tensor_desc_t d = describe(out);
  ASSERT_EQ(d.sizes[0], 200);
  int64_t wrong = 0;
  for (int64_t i = 0; i < 200; ++i)
    for (int64_t j = 0; j < 400; ++j) {
      float got = data<float>(out)[i * d.strides[0] + j * d.strides[1]];
      wrong += got != float(j * 200 + i) + 3.0f;
    }
  EXPECT_EQ(wrong, 0);
  for (vt_tensor_t x : {base, t, ones, out}) A->tensor_release(x);
}

TEST_F(PluginLoad, ScaleAddRefusesOtherDtypesAndShapes) {
  vt_tensor_t d = empty({3}, VT_DTYPE_FLOAT64), f = filled({3}, 0, 1), g = filled({4}, 0, 1);
  vt_tensor_t out = nullptr;
  EXPECT_EQ(call(d, f, nullptr, &out), VT_ERROR_NOT_IMPLEMENTED);
  EXPECT_NE(last_error().find("only float32 is implemented"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("float64"), std::string::npos) << last_error();
  EXPECT_EQ(call(f, g, nullptr, &out), VT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("must match"), std::string::npos) << last_error();
  for (vt_tensor_t x : {d, f, g}) A->tensor_release(x);
}

TEST_F(CApi, PluginOfAnotherAbiMajorIsRefused) {
  vt_op_t op = nullptr;
  const bool defined_before = A->op_lookup("hello::scale_add", &op) == VT_OK;  // by PluginLoad
  vt_library_t lib = nullptr;
  EXPECT_EQ(vt_library_load(VT_HELLO_ABI99_PLUGIN_PATH, &lib), VT_ERROR_VERSION_MISMATCH);
  std::string msg = last_error();
  EXPECT_NE(msg.find("99"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(VT_ABI_VERSION_MAJOR) + "." + std::to_string(VT_ABI_VERSION_MINOR)),
            std::string::npos) << msg;
  EXPECT_EQ(lib, nullptr);
  if (!defined_before) {  // its init never ran
    EXPECT_EQ(A->op_lookup("hello::scale_add", &op), VT_ERROR_VALUE);
  }
}

TEST_F(CApi, LoadingSomethingThatIsNotAPlugin) {
  EXPECT_EQ(vt_library_load("/no/such/plugin.so", nullptr), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("no such file"), std::string::npos);
  EXPECT_EQ(vt_library_load(VT_CORE_LIBRARY_PATH, nullptr), VT_ERROR_VALUE);
  EXPECT_NE(last_error().find("is not a vt plugin"), std::string::npos) << last_error();
}

}  // namespace
}  // namespace vt_test
