/* Status codes returned by every ABI function, and the thread-local last-error message. */
#ifndef VT_C_STATUS_H
#define VT_C_STATUS_H

#include <stdint.h>
#include "vt/c/export.h"

/* Never renumbered. Python maps them onto exception types (see vt.core), Node onto error codes. */
typedef enum vt_status {
  VT_OK = 0,
  VT_ERROR_INVALID_ARGUMENT = 1, /* RuntimeError: shapes, dtypes, devices that do not fit */
  VT_ERROR_INDEX = 2,            /* IndexError: dimension or index out of range */
  VT_ERROR_TYPE = 3,             /* TypeError: wrong kind of argument */
  VT_ERROR_VALUE = 4,            /* ValueError: a value outside what is accepted */
  VT_ERROR_OUT_OF_MEMORY = 5,    /* MemoryError on CPU, torch.OutOfMemoryError-like on devices */
  VT_ERROR_DEVICE = 6,           /* an error reported by a device runtime */
  VT_ERROR_NOT_IMPLEMENTED = 7,  /* NotImplementedError: a path that does not exist yet */
  VT_ERROR_VERSION_MISMATCH = 8, /* a plugin or table of another ABI major */
  VT_ERROR_INTERNAL = 9          /* a broken invariant inside vt */
} vt_status_t;

VT_EXTERN_C_BEGIN
/* borrowed: the message of the last failed call on this thread ("" when none). Valid until the
   next failing call on this thread. */
VT_API const char* vt_last_error_message(void);
VT_API vt_status_t vt_last_error_status(void);
VT_API void vt_clear_last_error(void);
/* Lets plugins report failures through the same channel. */
VT_API void vt_set_last_error(vt_status_t status, const char* message);
VT_EXTERN_C_END

#endif /* VT_C_STATUS_H */
