#include "core/device.h"

#include <array>
#include <charconv>
#include <mutex>

#include "core/error.h"

namespace vt {
namespace {

struct DeviceNames {
  std::mutex mutex;  // registration only; lookups read names that are never removed
  std::array<std::string, VT_DEVICE_TYPE_LIMIT> names;
  DeviceNames() {
    names[VT_DEVICE_CPU] = "cpu";
    names[VT_DEVICE_CUDA] = "cuda";
  }
};

DeviceNames& registry() {
  static DeviceNames r;
  return r;
}

}  // namespace

void register_device_type(int32_t type, std::string_view name) {
  VT_CHECK_VALUE(type > 0 && type < VT_DEVICE_TYPE_LIMIT, "device type code ", type,
                 " is outside [1, ", VT_DEVICE_TYPE_LIMIT, ")");
  VT_CHECK_VALUE(!name.empty(), "a device type needs a name");
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  VT_CHECK_VALUE(r.names[type].empty() || r.names[type] == name, "device type ", type,
                 " is already registered as '", r.names[type], "'");
  r.names[type] = std::string(name);
}

const char* device_type_name(int32_t type) {
  auto& r = registry();
  VT_CHECK_VALUE(type > 0 && type < VT_DEVICE_TYPE_LIMIT && !r.names[type].empty(),
                 "unknown device type ", type);
  return r.names[type].c_str();
}

std::string device_string(Device d) {
  if (d.is_cpu()) return "cpu";
  return std::string(device_type_name(d.type)) + ":" + std::to_string(d.index);
}

Device parse_device(std::string_view text) {
  std::string_view type_part = text;
  int32_t index = 0;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    type_part = text.substr(0, colon);
    std::string_view idx = text.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), index);
    VT_CHECK(ec == std::errc() && ptr == idx.data() + idx.size() && index >= 0 && !idx.empty(),
             "Invalid device string: '", text, "'");
  }
  auto& r = registry();
  for (int32_t t = 1; t < VT_DEVICE_TYPE_LIMIT; ++t) {
    if (!r.names[t].empty() && r.names[t] == type_part) {
      VT_CHECK(t != VT_DEVICE_CPU || index == 0, "CPU device index must be 0, got ", index);
      return {t, index};
    }
  }
  fail(VT_ERROR_INVALID_ARGUMENT, "Expected one of the registered device types (cpu, cuda, ...) "
       "at the start of device string: ", text);
}

}  // namespace vt
