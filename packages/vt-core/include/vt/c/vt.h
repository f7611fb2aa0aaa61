/* Everything of the vt-core C ABI in one include. */
#ifndef VT_C_VT_H
#define VT_C_VT_H
#include "vt/c/api.h"
#include "vt/c/plugin.h"
#include "vt/c/safetensors.h"
#endif /* VT_C_VT_H */
