/* ABI version of vt-core. A plugin built against another major is refused at load time. */
#ifndef VT_C_VERSION_H
#define VT_C_VERSION_H

#include <stdint.h>
#include "vt/c/export.h"

#define VT_ABI_VERSION_MAJOR 1
#define VT_ABI_VERSION_MINOR 2
/* Packed as (major << 16) | minor, the form vt_get_api() and plugin info carry. */
#define VT_ABI_VERSION ((uint32_t)((VT_ABI_VERSION_MAJOR << 16) | VT_ABI_VERSION_MINOR))

VT_EXTERN_C_BEGIN
/* out: major and minor of the loaded library (either pointer may be NULL). */
VT_API void vt_get_abi_version(uint32_t* major, uint32_t* minor);
VT_EXTERN_C_END

#endif /* VT_C_VERSION_H */
