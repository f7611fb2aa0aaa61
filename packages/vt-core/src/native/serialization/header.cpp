#include "serialization/header.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/tensor.h"
#include "serialization/json_reader.h"
#include "vt/c/tensor.h"

namespace vt::safetensors {
namespace {

struct DtypeName {
  const char* code;
  ScalarType dtype;
  int rank;  // the reference writer sorts tensors by this rank, descending, then by name
};

constexpr DtypeName kDtypes[] = {
    {"BOOL", ScalarType::Bool, 0},     {"U8", ScalarType::UInt8, 1},
    {"I8", ScalarType::Int8, 2},       {"I16", ScalarType::Int16, 3},
    {"F16", ScalarType::Float16, 4},   {"BF16", ScalarType::BFloat16, 5},
    {"I32", ScalarType::Int32, 6},     {"F32", ScalarType::Float32, 7},
    {"F64", ScalarType::Float64, 8},   {"I64", ScalarType::Int64, 9},
};

// dtypes the format defines that vt has no type for.
constexpr const char* kForeignDtypes[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                          "F4", "F6_E2M3", "F6_E3M2", "C64"};

const DtypeName& entry_of(ScalarType t) {
  for (const DtypeName& d : kDtypes)
    if (d.dtype == t) return d;
  fail(VT_ERROR_TYPE, "safetensors: dtype code ", int32_t(t), " has no safetensors name");
}

ScalarType parse_dtype(const std::string& code, const std::string& tensor) {
  for (const DtypeName& d : kDtypes)
    if (code == d.code) return d.dtype;
  for (const char* f : kForeignDtypes)
    if (code == f)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", tensor, "' has dtype ", code,
           ", which vt does not support (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, "
           "F32, F64)");
  fail(VT_ERROR_VALUE, "safetensors: tensor '", tensor, "' has unknown dtype '", code, "'");
}

TensorEntry parse_entry(JsonReader& r, std::string name) {
  TensorEntry e;
  e.name = std::move(name);
  bool have_dtype = false, have_shape = false, have_offsets = false;
  const std::string& n = e.name;
  if (r.peek() != '{') r.error("the value of tensor '" + n + "' must be an object");
  r.expect('{', "'{'");
  if (!r.consume('}')) {
    do {
      std::string key = r.read_string("a field name");
      r.expect(':', "':'");
      if (key == "dtype") {
        if (have_dtype) r.error("tensor '" + n + "' has two 'dtype' fields");
        e.dtype = parse_dtype(r.read_string("'dtype'"), n);
        have_dtype = true;
      } else if (key == "shape") {
        if (have_shape) r.error("tensor '" + n + "' has two 'shape' fields");
        r.expect('[', "'[' opening the shape");
        if (!r.consume(']')) {
          do {
            if (e.shape.size() >= VT_MAX_DIMS)
              r.error("tensor '" + n + "' has more than " + std::to_string(VT_MAX_DIMS) + " dims");
            e.shape.push_back(r.read_index("a shape entry"));
          } while (r.consume(','));
          r.expect(']', "']' closing the shape");
        }
        have_shape = true;
      } else if (key == "data_offsets") {
        if (have_offsets) r.error("tensor '" + n + "' has two 'data_offsets' fields");
        r.expect('[', "'[' opening data_offsets");
        e.begin = uint64_t(r.read_index("a data offset"));
        r.expect(',', "',' (data_offsets holds exactly two numbers)");
        e.end = uint64_t(r.read_index("a data offset"));
        r.expect(']', "']' (data_offsets holds exactly two numbers)");
        have_offsets = true;
      } else {
        r.error("tensor '" + n + "' has an unknown field '" + key +
                "' (expected dtype, shape, data_offsets)");
      }
    } while (r.consume(','));
    r.expect('}', "'}' or ','");
  }
  if (!have_dtype || !have_shape || !have_offsets)
    r.error("tensor '" + n + "' lacks '" +
            (!have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets") + "'");
  return e;
}

std::vector<std::pair<std::string, std::string>> parse_metadata(JsonReader& r) {
  std::vector<std::pair<std::string, std::string>> out;
  if (r.peek() != '{') r.error("__metadata__ must be an object of strings");
  r.expect('{', "'{'");
  if (r.consume('}')) return out;
  do {
    std::string key = r.read_string("a __metadata__ key");
    r.expect(':', "':'");
    if (r.peek() != '"')
      r.error("the __metadata__ value of '" + key + "' is not a string (only strings are allowed)");
    out.emplace_back(std::move(key), r.read_string("a __metadata__ value"));
  } while (r.consume(','));
  r.expect('}', "'}' or ','");
  return out;
}

// Offsets must tile [0, data_bytes) exactly, like the reference reader requires.
void validate_layout(const Header& h, uint64_t data_bytes) {
  std::vector<const TensorEntry*> order;
  order.reserve(h.tensors.size());
  for (const TensorEntry& e : h.tensors) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const TensorEntry* e : order) {
    if (e->end < e->begin)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' has data_offsets [", e->begin,
           ", ", e->end, "] that end before they begin");
    if (e->begin > expected)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' starts at data offset ", e->begin,
           " but the previous tensor ends at ", expected, " (holes are not allowed)");
    if (e->begin < expected)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' starts at data offset ", e->begin,
           ", overlapping the previous tensor, which ends at ", expected);
    if (e->end > data_bytes)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' ends at data offset ", e->end,
           ", past the end of the data section (", data_bytes, " bytes)");
    int64_t numel = 1, nbytes = 0;
    for (int64_t s : e->shape)
      if (__builtin_mul_overflow(numel, s, &numel))
        fail(VT_ERROR_VALUE, "safetensors: the shape ", shape_string(e->shape), " of tensor '",
             e->name, "' overflows int64");
    if (__builtin_mul_overflow(numel, itemsize(e->dtype), &nbytes))
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' of shape ", shape_string(e->shape),
           " has more bytes than fit in int64");
    if (uint64_t(nbytes) != e->end - e->begin)
      fail(VT_ERROR_VALUE, "safetensors: tensor '", e->name, "' of dtype ", dtype_code(e->dtype),
           " and shape ", shape_string(e->shape), " needs ", nbytes,
           " bytes but its data_offsets [", e->begin, ", ", e->end, "] span ", e->end - e->begin);
    expected = e->end;
  }
  if (expected != data_bytes)
    fail(VT_ERROR_VALUE, "safetensors: the tensors cover ", expected, " bytes of the ", data_bytes,
         "-byte data section (trailing bytes are not allowed)");
}

}  // namespace

const char* dtype_code(ScalarType dtype) { return entry_of(dtype).code; }
int dtype_write_rank(ScalarType dtype) { return entry_of(dtype).rank; }

const TensorEntry* Header::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorEntry& e, std::string_view n) { return e.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

Header parse_header(const uint8_t* file, uint64_t file_size) {
  VT_CHECK_VALUE(file_size >= kLengthPrefixBytes, "safetensors: the file has ", file_size,
                 " bytes, too few for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  VT_CHECK_VALUE(n <= kMaxHeaderBytes, "safetensors: the header length ", n,
                 " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  VT_CHECK_VALUE(n <= file_size - kLengthPrefixBytes, "safetensors: the header length ", n,
                 " runs past the end of the file (", file_size, " bytes)");
  Header h;
  h.data_start = kLengthPrefixBytes + n;
  JsonReader r(std::string_view(reinterpret_cast<const char*>(file) + kLengthPrefixBytes, n));
  if (r.peek() != '{') r.error("the header must be a JSON object");
  r.expect('{', "'{'");
  bool seen_metadata = false;
  if (!r.consume('}')) {
    do {
      std::string key = r.read_string("a tensor name");
      r.expect(':', "':'");
      if (key == "__metadata__") {
        if (seen_metadata) r.error("the header has two '__metadata__' entries");
        seen_metadata = true;
        if (!r.consume_null()) h.metadata = parse_metadata(r);  // null means none, as in serde
      } else {
        h.tensors.push_back(parse_entry(r, std::move(key)));
      }
    } while (r.consume(','));
    r.expect('}', "'}' or ','");
  }
  r.expect_end();
  if (h.metadata) {
    std::vector<std::string_view> keys;
    for (const auto& kv : *h.metadata) keys.push_back(kv.first);
    std::sort(keys.begin(), keys.end());
    auto dup = std::adjacent_find(keys.begin(), keys.end());
    if (dup != keys.end())
      fail(VT_ERROR_VALUE, "safetensors: __metadata__ has the key '", *dup, "' twice");
  }
  std::sort(h.tensors.begin(), h.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  auto same_name = [](const TensorEntry& a, const TensorEntry& b) { return a.name == b.name; };
  auto dup = std::adjacent_find(h.tensors.begin(), h.tensors.end(), same_name);
  if (dup != h.tensors.end())
    fail(VT_ERROR_VALUE, "safetensors: the header names tensor '", dup->name, "' twice");
  validate_layout(h, file_size - h.data_start);
  return h;
}

}  // namespace vt::safetensors
