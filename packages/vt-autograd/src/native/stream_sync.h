// Ordering of gradients across device streams. A node's backward runs on the stream its
// forward ran on; a gradient passed to a node on another stream is ordered by an event that
// the consumer's stream waits on (no device-wide synchronization). On the CPU and on devices
// without streams every function here does nothing.
#pragma once

#include "node.h"

namespace vt::autograd {

struct StreamRef {
  vt_device_t device{VT_DEVICE_CPU, 0};
  vt_stream_t stream = nullptr;
  bool valid() const { return stream != nullptr; }
  bool same(const StreamRef& o) const {
    return device.type == o.device.type && device.index == o.device.index && stream == o.stream;
  }
};

// The current stream of the device.
StreamRef current_stream(vt_device_t device);
// The stream of a node: that of its first forward output on a device with streams.
StreamRef node_stream(const Node& node);
// Work queued on `consumer` from now on waits for the work queued on `producer` so far.
void wait_for(const StreamRef& consumer, const StreamRef& producer);

// Makes `stream` current on its device for a scope.
class StreamGuard {
 public:
  explicit StreamGuard(const StreamRef& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  StreamRef previous_;
  bool switched_ = false;
};

}  // namespace vt::autograd
