/* Stream and copy hooks a device plugin registers for its device type. */
#ifndef VT_C_STREAM_H
#define VT_C_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/device.h"
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

typedef enum vt_copy_kind {
  VT_COPY_HOST_TO_DEVICE = 1,
  VT_COPY_DEVICE_TO_HOST = 2,
  VT_COPY_DEVICE_TO_DEVICE = 3
} vt_copy_kind_t;

typedef struct vt_device_hooks {
  size_t struct_size;
  void* context;
  int32_t (*device_count)(void* context);
  vt_status_t (*current_stream)(void* context, int32_t device_index, vt_stream_t* out);
  vt_status_t (*synchronize)(void* context, int32_t device_index);
  /* Copies nbytes of contiguous memory, ordered on the device's current stream. */
  vt_status_t (*copy_bytes)(void* context, void* dst, vt_device_t dst_device, const void* src,
                            vt_device_t src_device, size_t nbytes, int32_t copy_kind);
  /* ABI 1.2 (optional; a table whose struct_size ends above has none): stream selection and
     events, so that work on one stream can wait for work on another without a device-wide
     synchronization. Autograd uses them to order gradients that cross streams. */
  vt_status_t (*set_current_stream)(void* context, int32_t device_index, vt_stream_t stream);
  vt_status_t (*event_create)(void* context, int32_t device_index, vt_event_t* out);
  vt_status_t (*event_destroy)(void* context, int32_t device_index, vt_event_t event);
  /* Marks the point reached by the work queued so far on stream. */
  vt_status_t (*event_record)(void* context, int32_t device_index, vt_event_t event,
                              vt_stream_t stream);
  /* Work queued on stream after this call starts only once event has completed. */
  vt_status_t (*stream_wait_event)(void* context, int32_t device_index, vt_stream_t stream,
                                   vt_event_t event);
} vt_device_hooks_t;

VT_EXTERN_C_BEGIN
/* Copies the table; a device type accepts tensors only once its hooks and allocator exist. */
VT_API vt_status_t vt_device_register_hooks(int32_t device_type, const vt_device_hooks_t* hooks);
VT_API vt_status_t vt_device_count(int32_t device_type, int32_t* out);
VT_API vt_status_t vt_device_synchronize(vt_device_t device);

/* ABI 1.2. Streams and events of one device. The CPU (and a device whose hooks have no stream
   functions) runs work in call order: its current stream is NULL and the calls below do
   nothing there. out: borrowed handles, owned by the device plugin. */
VT_API vt_status_t vt_stream_current(vt_device_t device, vt_stream_t* out);
VT_API vt_status_t vt_stream_set_current(vt_device_t device, vt_stream_t stream);
/* out: a new event (NULL on a device without events); free it with vt_event_destroy. */
VT_API vt_status_t vt_event_create(vt_device_t device, vt_event_t* out);
VT_API vt_status_t vt_event_destroy(vt_device_t device, vt_event_t event);
VT_API vt_status_t vt_event_record(vt_device_t device, vt_event_t event, vt_stream_t stream);
VT_API vt_status_t vt_stream_wait_event(vt_device_t device, vt_stream_t stream, vt_event_t event);
VT_EXTERN_C_END

#endif /* VT_C_STREAM_H */
