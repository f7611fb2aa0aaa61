/* Element types. Each value is (DLPack type code << 8) | bits, so it maps onto DLPack directly. */
#ifndef VT_C_DTYPE_H
#define VT_C_DTYPE_H

#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/status.h"

typedef enum vt_dtype {
  VT_DTYPE_INT8 = (0 << 8) | 8,
  VT_DTYPE_INT16 = (0 << 8) | 16,
  VT_DTYPE_INT32 = (0 << 8) | 32,
  VT_DTYPE_INT64 = (0 << 8) | 64,
  VT_DTYPE_UINT8 = (1 << 8) | 8,
  VT_DTYPE_FLOAT16 = (2 << 8) | 16,
  VT_DTYPE_FLOAT32 = (2 << 8) | 32,
  VT_DTYPE_FLOAT64 = (2 << 8) | 64,
  VT_DTYPE_BFLOAT16 = (4 << 8) | 16,
  VT_DTYPE_BOOL = (6 << 8) | 8
} vt_dtype_t;

VT_EXTERN_C_BEGIN
/* out: bytes per element; VT_ERROR_TYPE for a value that is not a vt_dtype_t. */
VT_API vt_status_t vt_dtype_itemsize(int32_t dtype, int64_t* out_itemsize);
/* out: borrowed static string such as "float32". */
VT_API vt_status_t vt_dtype_name(int32_t dtype, const char** out_name);
/* out: the dtype torch's promotion rules give for a binary op on tensors of these dtypes. */
VT_API vt_status_t vt_dtype_promote(int32_t a, int32_t b, int32_t* out_dtype);
VT_EXTERN_C_END

#endif /* VT_C_DTYPE_H */
