#include "stream_sync.h"

namespace vt::autograd {

StreamRef current_stream(vt_device_t device) {
  StreamRef r;
  r.device = device;
  if (device.type != VT_DEVICE_CPU) check(api().stream_current(device, &r.stream));
  return r;
}

StreamRef node_stream(const Node& node) {
  for (const TensorMeta& m : node.output_meta)
    if (m.defined && m.stream) return StreamRef{m.device, m.stream};
  return {};
}

void wait_for(const StreamRef& consumer, const StreamRef& producer) {
  if (!consumer.valid() || !producer.valid() || consumer.same(producer)) return;
  // Streams of different devices are ordered through copies, which run on the current stream.
  if (consumer.device.type != producer.device.type) return;
  vt_event_t event = nullptr;
  check(api().event_create(producer.device, &event));
  if (!event) return;
  vt_status_t s = api().event_record(producer.device, event, producer.stream);
  if (s == VT_OK) s = api().stream_wait_event(consumer.device, consumer.stream, event);
  api().event_destroy(producer.device, event);  // released once the wait no longer needs it
  check(s);
}

StreamGuard::StreamGuard(const StreamRef& stream) {
  if (!stream.valid()) return;
  previous_ = current_stream(stream.device);
  if (previous_.same(stream)) return;
  check(api().stream_set_current(stream.device, stream.stream));
  switched_ = true;
}

StreamGuard::~StreamGuard() {
  if (switched_) api().stream_set_current(previous_.device, previous_.stream);
}

}  // namespace vt::autograd
