/* Per-device-type allocators, filled in by device plugins; the core calls them, never a device
   runtime directly. */
#ifndef VT_C_ALLOCATOR_H
#define VT_C_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

typedef struct vt_allocator_stats {
  size_t struct_size;
  int64_t allocated_bytes;      /* live bytes handed out */
  int64_t peak_allocated_bytes;
  int64_t reserved_bytes;       /* bytes held from the system (>= allocated for caching ones) */
  int64_t num_allocs;
  int64_t num_frees;
} vt_allocator_stats_t;

typedef struct vt_allocator {
  size_t struct_size;
  void* context;
  /* out: device memory for nbytes on device_index, ordered on stream (may be NULL). */
  vt_status_t (*allocate)(void* context, int32_t device_index, size_t nbytes, vt_stream_t stream,
                          void** out_ptr);
  void (*deallocate)(void* context, int32_t device_index, void* ptr, size_t nbytes);
  vt_status_t (*get_stats)(void* context, int32_t device_index, vt_allocator_stats_t* out);
  vt_status_t (*empty_cache)(void* context); /* may be NULL */
} vt_allocator_t;

VT_EXTERN_C_BEGIN
/* Copies the table; replaces the allocator of that device type (CPU included). */
VT_API vt_status_t vt_allocator_register(int32_t device_type, const vt_allocator_t* allocator);
VT_API vt_status_t vt_allocator_get_stats(int32_t device_type, int32_t device_index,
                                          vt_allocator_stats_t* out);
VT_EXTERN_C_END

#endif /* VT_C_ALLOCATOR_H */
