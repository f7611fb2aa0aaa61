#include "dispatch/schema.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "core/error.h"

namespace vt {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Schema parse() {
    Schema s;
    s.text = std::string(text_);
    s.qualified_name = qualified_name();
    expect('(');
    bool kwarg_only = false;
    skip_space();
    if (!consume(')')) {
      for (;;) {
        skip_space();
        if (consume('*')) {
          kwarg_only = true;
        } else {
          Argument a = argument();
          a.kwarg_only = kwarg_only;
          for (const auto& prev : s.args)
            if (prev.name == a.name) error("duplicate argument name '" + a.name + "'");
          s.args.push_back(std::move(a));
        }
        skip_space();
        if (consume(')')) break;
        expect(',');
      }
    }
    skip_space();
    expect('-');
    expect('>');
    skip_space();
    if (starts_with("()")) {  // no returns; checked first, or '(' would start a tuple
      pos_ += 2;
    } else if (consume('(')) {
      for (;;) {
        s.returns.push_back(type_only());
        skip_space();
        if (consume(')')) break;
        expect(',');
      }
    } else {
      s.returns.push_back(type_only());
    }
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the return type");
    return s;
  }

 private:
  [[noreturn]] void error(const std::string& what) {
    fail(VT_ERROR_VALUE, "invalid op schema '", text_, "': ", what, " (at offset ", pos_, ")");
  }
  void skip_space() { while (pos_ < text_.size() && std::isspace(uint8_t(text_[pos_]))) ++pos_; }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  void expect(char c) {
    skip_space();
    if (!consume(c)) error(std::string("expected '") + c + "'");
  }
  bool starts_with(std::string_view p) const { return text_.substr(pos_, p.size()) == p; }
  std::string identifier() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(uint8_t(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    if (start == pos_ || std::isdigit(uint8_t(text_[start]))) error("expected an identifier");
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string qualified_name() {
    std::string ns = identifier();
    if (!starts_with("::")) error("the op name needs a namespace, as in 'myns::name'");
    pos_ += 2;
    std::string name = identifier();
    if (consume('.')) name += "." + identifier();
    return ns + "::" + name;
  }

  ArgType base_type(bool* is_list) {
    std::string t = identifier();
    *is_list = false;
    ArgType type;
    if (t == "Tensor") type = ArgType::Tensor;
    else if (t == "int" || t == "SymInt") type = ArgType::Int;
    else if (t == "float") type = ArgType::Float;
    else if (t == "bool") type = ArgType::Bool;
    else if (t == "Scalar") type = ArgType::Scalar;
    else if (t == "ScalarType") type = ArgType::ScalarType;
    else if (t == "Device") type = ArgType::Device;
    else if (t == "str") type = ArgType::String;
    else error("unknown type '" + t + "'");
    if (consume('[')) {
      // "int[2]" fixes a length for readers; the length is not enforced.
      while (pos_ < text_.size() && std::isdigit(uint8_t(text_[pos_]))) ++pos_;
      expect(']');
      *is_list = true;
      if (type == ArgType::Tensor) type = ArgType::TensorList;
      else if (type == ArgType::Int) type = ArgType::IntList;
      else error(std::string("lists of ") + arg_type_name(type) + " are not supported");
    }
    return type;
  }

  ArgType type_only() {
    bool is_list;
    ArgType t = base_type(&is_list);
    if (consume('(')) {  // alias annotation on a return, e.g. Tensor(a)
      while (pos_ < text_.size() && text_[pos_] != ')') ++pos_;
      expect(')');
    }
    return t;
  }

  Argument argument() {
    Argument a;
    bool is_list;
    a.type = base_type(&is_list);
    if (consume('(')) {
      while (pos_ < text_.size() && text_[pos_] != ')') {
        if (text_[pos_] == '!') a.mutates = true;
        ++pos_;
      }
      expect(')');
    }
    if (consume('?')) a.optional = true;
    a.name = identifier();
    skip_space();
    if (consume('=')) {
      a.has_default = true;
      a.default_value = default_value(a);
    }
    return a;
  }

  DefaultValue default_value(const Argument& a) {
    skip_space();
    DefaultValue v;
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')') {
      if (text_[pos_] == '[') {
        while (pos_ < text_.size() && text_[pos_] != ']') ++pos_;
      }
      ++pos_;
    }
    std::string_view lit = text_.substr(start, pos_ - start);
    while (!lit.empty() && std::isspace(uint8_t(lit.back()))) lit.remove_suffix(1);
    if (lit == "None") {
      if (!a.optional) error("default None needs an optional type for '" + a.name + "'");
      v.tag = VT_VALUE_NONE;
    } else if (lit == "True" || lit == "False") {
      v.tag = VT_VALUE_BOOL;
      v.i = lit == "True";
    } else if (!lit.empty() && lit.front() == '[') {
      v.tag = VT_VALUE_INT_LIST;
      std::string_view body = lit.substr(1, lit.size() - 2);
      while (!body.empty()) {
        while (!body.empty() && (body.front() == ' ' || body.front() == ',')) body.remove_prefix(1);
        if (body.empty()) break;
        int64_t x;
        auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), x);
        if (ec != std::errc()) error("bad integer list default");
        v.ints.push_back(x);
        body.remove_prefix(size_t(p - body.data()));
      }
    } else if (!lit.empty() && (lit.front() == '"' || lit.front() == '\'')) {
      v.tag = VT_VALUE_STRING;
      v.str = std::string(lit.substr(1, lit.size() - 2));
    } else {
      std::string s(lit);
      char* end = nullptr;
      bool floating = s.find_first_of(".eE") != std::string::npos || s == "inf" || s == "-inf";
      if (floating) {
        v.tag = VT_VALUE_DOUBLE;
        v.d = std::strtod(s.c_str(), &end);
      } else {
        v.tag = VT_VALUE_INT;
        v.i = std::strtoll(s.c_str(), &end, 10);
      }
      if (s.empty() || end != s.c_str() + s.size()) error("bad default '" + s + "'");
      if (a.type == ArgType::Float && v.tag == VT_VALUE_INT) { v.tag = VT_VALUE_DOUBLE; v.d = double(v.i); }
    }
    return v;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const char* arg_type_name(ArgType t) {
  switch (t) {
    case ArgType::Tensor: return "Tensor";
    case ArgType::TensorList: return "Tensor[]";
    case ArgType::Int: return "int";
    case ArgType::IntList: return "int[]";
    case ArgType::Float: return "float";
    case ArgType::Bool: return "bool";
    case ArgType::Scalar: return "Scalar";
    case ArgType::ScalarType: return "ScalarType";
    case ArgType::Device: return "Device";
    case ArgType::String: return "str";
  }
  return "?";
}

vt_value_t DefaultValue::as_value() const {
  vt_value_t v{};
  v.tag = tag;
  switch (tag) {
    case VT_VALUE_INT: v.u.i = i; break;
    case VT_VALUE_BOOL: v.u.b = int32_t(i); break;
    case VT_VALUE_DOUBLE: v.u.d = d; break;
    case VT_VALUE_INT_LIST: v.u.ints = {ints.data(), int64_t(ints.size())}; break;
    case VT_VALUE_STRING: v.u.str = {str.data(), int64_t(str.size())}; break;
    default: break;
  }
  return v;
}

bool Argument::accepts(const vt_value_t& v) const {
  if (v.tag == VT_VALUE_NONE) return optional;
  switch (type) {
    case ArgType::Tensor: return v.tag == VT_VALUE_TENSOR && v.u.tensor != nullptr;
    case ArgType::TensorList: return v.tag == VT_VALUE_TENSOR_LIST;
    case ArgType::Int: return v.tag == VT_VALUE_INT;
    case ArgType::IntList: return v.tag == VT_VALUE_INT_LIST;
    case ArgType::Float: return v.tag == VT_VALUE_DOUBLE || v.tag == VT_VALUE_INT;
    case ArgType::Bool: return v.tag == VT_VALUE_BOOL;
    case ArgType::Scalar:
      return v.tag == VT_VALUE_INT || v.tag == VT_VALUE_DOUBLE || v.tag == VT_VALUE_BOOL;
    case ArgType::ScalarType: return v.tag == VT_VALUE_DTYPE;
    case ArgType::Device: return v.tag == VT_VALUE_DEVICE;
    case ArgType::String: return v.tag == VT_VALUE_STRING;
  }
  return false;
}

int64_t Schema::num_positional() const {
  int64_t n = 0;
  for (const auto& a : args) n += !a.kwarg_only;
  return n;
}

Schema parse_schema(std::string_view text) { return Parser(text).parse(); }

}  // namespace vt
