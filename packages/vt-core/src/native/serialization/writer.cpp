#include "serialization/writer.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/copy.h"
#include "ops/view.h"
#include "serialization/header.h"
#include "serialization/json_reader.h"

namespace vt::safetensors {
namespace {

Tensor host_contiguous(const Tensor& t) {
  Tensor h = t;
  if (!t.device().is_cpu()) {
    h = Tensor::empty(t.sizes(), t.dtype(), kCPU);
    copy_(h, t);
  }
  return h.is_contiguous() ? h : contiguous(h);
}

void write_all(int fd, const char* data, uint64_t n) {
  while (n > 0) {
    size_t chunk = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
    ssize_t w = ::write(fd, data, chunk);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      fail(VT_ERROR_INVALID_ARGUMENT, "safetensors: writing the file failed: ",
           w < 0 ? std::strerror(errno) : "no progress");
    data += w;
    n -= uint64_t(w);
  }
}

}  // namespace

SavePlan plan_save(NamedTensors tensors, const MetadataList* metadata) {
  for (const auto& [name, t] : tensors) {
    VT_CHECK_VALUE(name != "__metadata__", "safetensors: '__metadata__' is reserved and cannot "
                   "name a tensor");
    VT_CHECK_VALUE(t.defined(), "safetensors: tensor '", name, "' is undefined");
    dtype_code(t.dtype());  // every vt dtype has a name; this guards future ones
  }
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    int ra = dtype_write_rank(a.second.dtype()), rb = dtype_write_rank(b.second.dtype());
    return ra != rb ? ra > rb : a.first < b.first;
  });
  std::vector<const std::string*> names;
  for (const auto& kv : tensors) names.push_back(&kv.first);
  std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
  for (size_t i = 1; i < names.size(); ++i)
    VT_CHECK_VALUE(*names[i] != *names[i - 1], "safetensors: the name '", *names[i],
                   "' is given to two tensors");

  std::string json = "{";
  if (metadata) {
    MetadataList sorted = *metadata;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 1; i < sorted.size(); ++i)
      VT_CHECK_VALUE(sorted[i].first != sorted[i - 1].first, "safetensors: the metadata key '",
                     sorted[i].first, "' is given twice");
    json += "\"__metadata__\":{";
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i) json += ',';
      append_json_string(json, sorted[i].first);
      json += ':';
      append_json_string(json, sorted[i].second);
    }
    json += '}';
  }
  SavePlan plan;
  uint64_t offset = 0;
  for (auto& [name, t] : tensors) {
    if (json.size() > 1) json += ',';
    append_json_string(json, name);
    json += ":{\"dtype\":\"";
    json += dtype_code(t.dtype());
    json += "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d) json += ',';
      json += std::to_string(t.sizes()[d]);
    }
    uint64_t end = offset + uint64_t(t.nbytes());
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
    plan.tensors.push_back(host_contiguous(t));
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  VT_CHECK_VALUE(json.size() <= kMaxHeaderBytes, "safetensors: the header would have ", json.size(),
                 " bytes, more than the ", kMaxHeaderBytes, " readers accept");
  plan.head.resize(kLengthPrefixBytes);
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) plan.head[size_t(i)] = char((n >> (8 * i)) & 0xff);
  plan.head += json;
  plan.total_bytes = plan.head.size() + offset;
  return plan;
}

void write_to_buffer(const SavePlan& plan, char* dst) {
  std::memcpy(dst, plan.head.data(), plan.head.size());
  dst += plan.head.size();
  for (const Tensor& t : plan.tensors) {
    if (t.nbytes()) std::memcpy(dst, t.data(), size_t(t.nbytes()));
    dst += t.nbytes();
  }
}

void write_to_fd(const SavePlan& plan, int fd) {
  write_all(fd, plan.head.data(), plan.head.size());
  for (const Tensor& t : plan.tensors) write_all(fd, t.data(), uint64_t(t.nbytes()));
}

}  // namespace vt::safetensors
