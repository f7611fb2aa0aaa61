// Device identity and the registry of device type names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vt/c/device.h"

namespace vt {

struct Device {
  int32_t type = VT_DEVICE_CPU;
  int32_t index = 0;

  bool is_cpu() const { return type == VT_DEVICE_CPU; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  vt_device_t to_c() const { return {type, index}; }
  static Device from_c(vt_device_t d) { return {d.type, d.index}; }
};

inline constexpr Device kCPU{VT_DEVICE_CPU, 0};

void register_device_type(int32_t type, std::string_view name);
const char* device_type_name(int32_t type);  // throws for an unregistered type
std::string device_string(Device d);          // "cpu", "cuda:0"
Device parse_device(std::string_view text);   // "cpu", "cuda", "cuda:1"

}  // namespace vt
