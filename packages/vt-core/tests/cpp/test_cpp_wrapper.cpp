// include/vt/cpp: the header-only C++17 wrapper, driven through the table as a plugin would.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vt/cpp/api.hpp"
#include "vt/cpp/op.hpp"
#include "vt/cpp/tensor.hpp"

namespace {

using vt::cpp::api;
using vt::cpp::arg;
using vt::cpp::Error;
using vt::cpp::Op;
using vt::cpp::Tensor;
using vt::cpp::Value;
using Ints = std::vector<int64_t>;

class CppWrapper : public ::testing::Test {
 protected:
  void SetUp() override { vt::cpp::set_api(vt_get_api(VT_ABI_VERSION)); }
};

Tensor vec(const std::vector<float>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

std::vector<float> values(const Tensor& t) {
  EXPECT_TRUE(t.is_contiguous());
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
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

void count_deleter(void*, void* context) { ++*static_cast<int*>(context); }

TEST_F(CppWrapper, SetApiChecksTheTable) {
  EXPECT_EQ(api(), vt_get_api(VT_ABI_VERSION));
  expect_error([] { vt::cpp::set_api(nullptr); }, VT_ERROR_VALUE, "NULL");
  vt_api_t other = *api();
  other.abi_version = (2u << 16) | 3u;
  expect_error([&] { vt::cpp::set_api(&other); }, VT_ERROR_VERSION_MISMATCH, "ABI 2.3");
  EXPECT_EQ(api(), vt_get_api(VT_ABI_VERSION));  // a refused table changes nothing
}

TEST_F(CppWrapper, CheckThrowsWithTheLastErrorMessage) {
  vt::cpp::check(VT_OK);
  expect_error([] { vt::cpp::check(api()->tensor_describe(nullptr, nullptr)); }, VT_ERROR_VALUE,
               "vt_tensor_describe");
  EXPECT_THROW(Op("nope::missing"), Error);
}

TEST_F(CppWrapper, GuardTurnsExceptionsIntoStatuses) {
  EXPECT_EQ(vt::cpp::guard([] {}), VT_OK);
  EXPECT_EQ(vt::cpp::guard([] { throw Error(VT_ERROR_INDEX, "index 4 is out of range"); }),
            VT_ERROR_INDEX);
  EXPECT_STREQ(api()->last_error_message(), "index 4 is out of range");
  EXPECT_EQ(vt::cpp::guard([] { throw std::logic_error("broken"); }), VT_ERROR_INTERNAL);
  EXPECT_STREQ(api()->last_error_message(), "broken");
}

TEST_F(CppWrapper, TensorDescribesItself) {
  Tensor t = Tensor::empty({2, 3}, VT_DTYPE_INT32);
  EXPECT_EQ(t.sizes(), (Ints{2, 3}));
  EXPECT_EQ(t.strides(), (Ints{3, 1}));
  EXPECT_EQ(t.dim(), 2);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), VT_DTYPE_INT32);
  EXPECT_EQ(t.device().type, VT_DEVICE_CPU);
  EXPECT_TRUE(t.is_contiguous());
  t.data<int32_t>()[5] = 9;
  EXPECT_EQ(t.data<int32_t>()[5], 9);
  expect_error([&] { t.data<float>(); }, VT_ERROR_TYPE, "does not match the dtype");
  Tensor h = Tensor::empty({2}, VT_DTYPE_FLOAT16);
  EXPECT_NE(h.data<uint16_t>(), nullptr);  // 16-bit floats are read as raw bits
  expect_error([] { Tensor::empty({-1}); }, VT_ERROR_INVALID_ARGUMENT, "negative dimension");
}

TEST_F(CppWrapper, CopyRetainsMoveTransfersAndTheLastOneReleases) {
  int deleted = 0;
  float buffer[4] = {1, 2, 3, 4};
  {
    Tensor a = Tensor::from_blob(buffer, {2, 2}, {1, 2}, VT_DTYPE_FLOAT32, vt::cpp::kCPU,
                                 &count_deleter, &deleted);
    EXPECT_EQ(a.data<float>(), buffer);
    EXPECT_FALSE(a.is_contiguous());
    Tensor b = a;             // retain
    Tensor c = std::move(a);  // transfer: a is empty now
    EXPECT_FALSE(a.defined());
    EXPECT_EQ(b.get(), c.get());
    b = Tensor();
    EXPECT_EQ(deleted, 0);
    vt_tensor_t raw = c.release();  // the reference leaves RAII
    EXPECT_FALSE(c.defined());
    Tensor d = Tensor::borrow(raw);  // a second reference
    api()->tensor_release(raw);
    EXPECT_EQ(deleted, 0);
  }
  EXPECT_EQ(deleted, 1);
  expect_error([&] { Tensor::from_blob(buffer, {2, 2}, {1}); }, VT_ERROR_VALUE, "2 sizes but 1 strides");
}

TEST_F(CppWrapper, ArithmeticOperatorsDispatch) {
  Tensor a = vec({1, 2, 3}), b = vec({4, 5, 6});
  EXPECT_EQ(values(a + b), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(values(a - b), (std::vector<float>{-3, -3, -3}));
  EXPECT_EQ(values(a * b), (std::vector<float>{4, 10, 18}));
  EXPECT_EQ(values(b / a), (std::vector<float>{4, 2.5f, 2}));
  Tensor col = Tensor::empty({2, 1});
  col.data<float>()[0] = 10, col.data<float>()[1] = 20;
  Tensor sum = col + a;  // broadcasting comes from the core
  EXPECT_EQ(sum.sizes(), (Ints{2, 3}));
  EXPECT_EQ(values(sum), (std::vector<float>{11, 12, 13, 21, 22, 23}));
  Tensor i = Tensor::empty({1}, VT_DTYPE_INT64), j = Tensor::empty({1}, VT_DTYPE_INT64);
  i.data<int64_t>()[0] = 7, j.data<int64_t>()[0] = 2;
  Tensor q = i / j;  // true division, as torch
  EXPECT_EQ(q.dtype(), VT_DTYPE_FLOAT32);
  EXPECT_EQ(q.data<float>()[0], 3.5f);
  expect_error([&] { a + Tensor::empty({2}); }, VT_ERROR_INVALID_ARGUMENT, "must match");
}

TEST_F(CppWrapper, OpCallsWithArgumentHelpers) {
  Tensor a = vec({1, 2}), b = vec({10, 20});
  Op add("vt::add.Tensor");
  EXPECT_EQ(add.name(), "vt::add.Tensor");
  EXPECT_EQ(add.num_returns(), 1);
  std::vector<Value> r = add.call({arg(a), arg(b), arg(0.5)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].tag(), VT_VALUE_TENSOR);
  EXPECT_EQ(values(Tensor(std::move(r[0]))), (std::vector<float>{6, 12}));
  EXPECT_EQ(r[0].tag(), VT_VALUE_NONE);  // moved out

  Tensor m = Tensor::empty({2, 3});
  for (int k = 0; k < 6; ++k) m.data<float>()[k] = float(k);
  Op sum("vt::sum");
  Tensor rows(std::move(sum.call({arg(m), arg(Ints{1}), arg(true)})[0]));
  EXPECT_EQ(rows.sizes(), (Ints{2, 1}));
  EXPECT_EQ(values(rows), (std::vector<float>{3, 12}));
  Tensor all(std::move(sum.call({arg(m), vt::cpp::arg_none()})[0]));  // dim=None
  EXPECT_EQ(all.dim(), 0);
  EXPECT_EQ(all.data<float>()[0], 15.0f);
  Tensor as_double(std::move(Op("vt::_to_copy").call({arg(a), vt::cpp::arg_dtype(VT_DTYPE_FLOAT64)})[0]));
  EXPECT_EQ(as_double.dtype(), VT_DTYPE_FLOAT64);
  EXPECT_EQ(as_double.data<double>()[1], 2.0);
  expect_error([&] { Tensor(std::move(add.call({arg(a), arg(int64_t(3))})[0])); }, VT_ERROR_TYPE,
               "argument 'other' must be Tensor");
}

TEST_F(CppWrapper, ResultValuesReleaseWhatTheyOwn) {
  int deleted = 0;
  float buffer[6] = {};
  {
    std::vector<Value> results;
    {
      Tensor blob = Tensor::from_blob(buffer, {2, 3}, {}, VT_DTYPE_FLOAT32, vt::cpp::kCPU,
                                      &count_deleter, &deleted);
      results = Op("vt::transpose").call({arg(blob), arg(0), arg(1)});  // a view of the blob
    }
    EXPECT_EQ(deleted, 0);  // the result still references the storage
  }
  EXPECT_EQ(deleted, 1);
  Value v;
  EXPECT_THROW(v.to_int(), Error);
}

vt_status_t twice_kernel(void*, vt_op_t, const vt_value_t* args, int64_t, vt_value_t* outs,
                         int64_t) {
  return vt::cpp::guard([&] {
    Tensor x = Tensor::borrow(args[0].u.tensor);
    if (x.dtype() != VT_DTYPE_FLOAT32) throw Error(VT_ERROR_NOT_IMPLEMENTED, "cppw::twice: float32 only");
    outs[0] = arg((x + x).release());  // the result's reference goes to the caller
  });
}

TEST_F(CppWrapper, KernelsWrittenWithTheWrapper) {
  Op twice = Op::define("cppw::twice(Tensor x) -> Tensor");
  EXPECT_EQ(Op::define("cppw::twice(Tensor x) -> Tensor").get(), twice.get());  // idempotent
  vt::cpp::check(api()->op_register_kernel(twice.get(), VT_DEVICE_CPU, &twice_kernel, nullptr));
  Tensor x = vec({1.5f, -2});
  EXPECT_EQ(values(Tensor(std::move(twice.call({arg(x)})[0]))), (std::vector<float>{3, -4}));
  Tensor i = Tensor::empty({1}, VT_DTYPE_INT32);
  expect_error([&] { twice.call({arg(i)}); }, VT_ERROR_NOT_IMPLEMENTED, "float32 only");
  expect_error([] { Op::define("cppw::twice(Tensor x, int k) -> Tensor"); }, VT_ERROR_VALUE,
               "already defined");
}

}  // namespace
