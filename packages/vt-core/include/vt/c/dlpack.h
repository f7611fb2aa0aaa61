/* The DLPack exchange structs (DLPack 1.x layout) and vt's conversions to and from them. */
#ifndef VT_C_DLPACK_H
#define VT_C_DLPACK_H

#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

#ifndef DLPACK_VERSION_MAJOR
/* Layout fixed by the DLPack specification; only declared here when dlpack.h was not seen. */
#define DLPACK_VERSION_MAJOR 1
#define DLPACK_VERSION_MINOR 1
#define DLPACK_FLAG_BITMASK_READ_ONLY (1UL << 0UL)
#define DLPACK_FLAG_BITMASK_IS_COPIED (1UL << 1UL)

typedef struct { uint32_t major; uint32_t minor; } DLPackVersion;
typedef enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLExtDev = 12 } DLDeviceType;
typedef struct { DLDeviceType device_type; int32_t device_id; } DLDevice;
typedef enum { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6 } DLDataTypeCode;
typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;
typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;
#endif

VT_EXTERN_C_BEGIN
/* out (owned by the caller, who calls its deleter): a view of tensor's memory; the tensor stays
   alive until the deleter runs. */
VT_API vt_status_t vt_tensor_to_dlpack(vt_tensor_t tensor, DLManagedTensorVersioned** out);
/* Steals managed on success (its deleter runs when the last vt tensor over it goes); on failure
   ownership stays with the caller. Validates dtype, ndim, strides and device. */
VT_API vt_status_t vt_tensor_from_dlpack(DLManagedTensorVersioned* managed, vt_tensor_t* out);
/* The same for producers of the pre-1.0 struct. */
VT_API vt_status_t vt_tensor_from_dlpack_legacy(DLManagedTensor* managed, vt_tensor_t* out);
VT_EXTERN_C_END

#endif /* VT_C_DLPACK_H */
