/* Devices. Type codes are DLPack's DLDeviceType values. */
#ifndef VT_C_DEVICE_H
#define VT_C_DEVICE_H

#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/status.h"

typedef enum vt_device_type {
  VT_DEVICE_CPU = 1,
  VT_DEVICE_CUDA = 2,
  VT_DEVICE_CUDA_HOST = 3,
  VT_DEVICE_EXT = 12 /* DLPack's kDLExtDev: plugin-defined devices register names over it */
} vt_device_type_t;

/* Codes below this bound index the per-device tables of the dispatcher. */
#define VT_DEVICE_TYPE_LIMIT 32

typedef struct vt_device {
  int32_t type;  /* vt_device_type_t */
  int32_t index; /* 0 for CPU */
} vt_device_t;

VT_EXTERN_C_BEGIN
/* Gives a device type a name ("cuda") for parsing and printing; registration is rare and locks. */
VT_API vt_status_t vt_device_type_register(int32_t type, const char* name);
/* out: borrowed name of a registered device type. */
VT_API vt_status_t vt_device_type_name(int32_t type, const char** out_name);
/* Parses "cpu", "cuda", "cuda:1". */
VT_API vt_status_t vt_device_parse(const char* text, vt_device_t* out_device);
VT_EXTERN_C_END

#endif /* VT_C_DEVICE_H */
