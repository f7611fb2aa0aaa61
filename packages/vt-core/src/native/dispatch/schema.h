// Operator schemas: "ns::name(Tensor self, *, Scalar alpha=1) -> Tensor", parsed once at
// definition and used to check registrations and to map boxed calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vt/c/op.h"

namespace vt {

enum class ArgType : uint8_t {
  Tensor, TensorList, Int, IntList, Float, Bool, Scalar, ScalarType, Device, String
};
const char* arg_type_name(ArgType t);

struct DefaultValue {
  vt_value_tag_t tag = VT_VALUE_NONE;
  int64_t i = 0;
  double d = 0;
  std::vector<int64_t> ints;
  std::string str;
  vt_value_t as_value() const;  // points into this object
};

struct Argument {
  std::string name;
  ArgType type;
  bool optional = false;    // "Tensor?", "int?": accepts VT_VALUE_NONE
  bool kwarg_only = false;  // after "*"
  bool mutates = false;     // "Tensor(a!)"
  bool has_default = false;
  DefaultValue default_value;
  // Whether a boxed value of this tag fits this argument.
  bool accepts(const vt_value_t& v) const;
};

struct Schema {
  std::string text;
  std::string qualified_name;  // "ns::name" or "ns::name.overload"
  std::vector<Argument> args;
  std::vector<ArgType> returns;
  int64_t num_positional() const;
};

Schema parse_schema(std::string_view text);  // throws ValueError naming the problem

}  // namespace vt
