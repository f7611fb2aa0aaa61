// dispatch/schema.h: parsing torch-style operator schemas, and refusing malformed ones.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "dispatch/schema.h"

namespace vt {
namespace {

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

TEST(Schema, ParsesTypesDefaultsOptionalsAndKwargOnly) {
  Schema s = parse_schema(
      "ns::f.out(Tensor(a!) self, int[] dims, Tensor? w=None, *, float alpha=2, bool flag=True, "
      "int[2] pad=[1, 2], str mode='same', ScalarType? dtype=None) -> (Tensor, Tensor)");
  EXPECT_EQ(s.qualified_name, "ns::f.out");
  ASSERT_EQ(s.args.size(), 8u);
  EXPECT_EQ(s.num_positional(), 3);
  EXPECT_EQ(s.args[0].type, ArgType::Tensor);
  EXPECT_TRUE(s.args[0].mutates);
  EXPECT_EQ(s.args[1].type, ArgType::IntList);
  EXPECT_FALSE(s.args[1].has_default);
  EXPECT_TRUE(s.args[2].optional);
  EXPECT_EQ(s.args[2].default_value.tag, VT_VALUE_NONE);
  EXPECT_TRUE(s.args[3].kwarg_only);
  EXPECT_EQ(s.args[3].default_value.tag, VT_VALUE_DOUBLE);  // an int literal for a float
  EXPECT_EQ(s.args[3].default_value.d, 2.0);
  EXPECT_EQ(s.args[4].default_value.tag, VT_VALUE_BOOL);
  EXPECT_EQ(s.args[4].default_value.i, 1);
  EXPECT_EQ(s.args[5].default_value.ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.args[6].default_value.str, "same");
  EXPECT_EQ(s.args[7].type, ArgType::ScalarType);
  EXPECT_TRUE(s.args[7].optional && s.args[7].kwarg_only);
  EXPECT_EQ(s.returns, (std::vector<ArgType>{ArgType::Tensor, ArgType::Tensor}));
  EXPECT_TRUE(parse_schema("ns::g() -> ()").returns.empty());
  EXPECT_EQ(parse_schema("ns::h(Tensor[] xs) -> Tensor[]").returns[0], ArgType::TensorList);
}

TEST(Schema, BadSchemasRaiseValueError) {
  const char* bad[][2] = {
      {"f(Tensor x) -> Tensor", "needs a namespace"},
      {"ns::f(Foo x) -> Tensor", "unknown type 'Foo'"},
      {"ns::f(Tensor x) Tensor", "expected '-'"},
      {"ns::f(Tensor x, Tensor x) -> Tensor", "duplicate argument name 'x'"},
      {"ns::f(int x=None) -> Tensor", "default None needs an optional type"},
      {"ns::f(Tensor x) -> Tensor extra", "unexpected text"},
      {"ns::f(float[] x) -> Tensor", "lists of float are not supported"},
      {"ns::f(int x=abc) -> Tensor", "bad default 'abc'"},
      {"ns::f(Tensor x -> Tensor", "expected ','"},
  };
  for (auto& [schema, fragment] : bad) {
    SCOPED_TRACE(schema);
    expect_error([&] { parse_schema(schema); }, VT_ERROR_VALUE, fragment);
  }
}

}  // namespace
}  // namespace vt
