/* Tensors between Python extension modules: vt.core's Python Tensor objects and vt_tensor_t.
   Sibling packages with their own Python bindings (vt-autograd) take it from the capsule
   vt.core._C._python_bridge_capsule() (name "vt.core.python_bridge") and convert with it,
   so no C++ type crosses modules. Every call needs the GIL. PyObject* travels as void*, so this
   header does not need Python.h. */
#ifndef VT_C_PYTHON_BRIDGE_H
#define VT_C_PYTHON_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/handles.h"

typedef struct vt_python_bridge {
  size_t struct_size; /* sizeof(vt_python_bridge_t) of the vt-core that filled it */
  /* A new Python reference wrapping `tensor`, whose reference it steals (also on failure);
     NULL with a Python exception set on failure. */
  void* (*wrap)(vt_tensor_t tensor);
  /* 1 and *out (borrowed, valid while obj lives) when obj is a vt.core Tensor; 0 otherwise. */
  int32_t (*unwrap)(void* obj, vt_tensor_t* out);
  /* The Python type object of vt.core.Tensor (borrowed). */
  void* tensor_type;
} vt_python_bridge_t;

#endif /* VT_C_PYTHON_BRIDGE_H */
