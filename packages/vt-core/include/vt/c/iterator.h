/* TensorIterator for plugin kernels: broadcasting, promotion, output allocation, coalescing and
   a (possibly parallel) strided loop, the same machinery the core's own kernels use. */
#ifndef VT_C_ITERATOR_H
#define VT_C_ITERATOR_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

typedef struct vt_iter_config {
  size_t struct_size;
  const vt_tensor_t* outputs; /* borrowed; an entry may be NULL to have it allocated */
  int32_t num_outputs;
  const vt_tensor_t* inputs; /* borrowed */
  int32_t num_inputs;
  int32_t promote_inputs;      /* compute in the common dtype (inputs converted) */
  int32_t promote_int_to_float; /* true division and friends */
  int32_t output_dtype;        /* dtype for allocated outputs; 0 = the common dtype */
  int32_t check_same_dtype;    /* refuse operands whose dtypes differ */
  const int64_t* reduce_dims;  /* dims reduced into the outputs (NULL: elementwise) */
  int32_t num_reduce_dims;
  int32_t keepdim;
} vt_iter_config_t;

/* The inner loop: n elements; data[k] points at operand k (outputs first), strides[k] in bytes. */
typedef void (*vt_iter_loop_fn)(void* context, char** data, const int64_t* strides, int64_t n);

VT_EXTERN_C_BEGIN
VT_API vt_status_t vt_iter_build(const vt_iter_config_t* config, vt_iter_t* out);
VT_API void vt_iter_destroy(vt_iter_t iter);
/* out: the common (compute) dtype. */
VT_API vt_status_t vt_iter_common_dtype(vt_iter_t iter, int32_t* out);
/* out (new reference): output k, allocated by the build when it was NULL. */
VT_API vt_status_t vt_iter_output(vt_iter_t iter, int32_t index, vt_tensor_t* out);
VT_API vt_status_t vt_iter_numel(vt_iter_t iter, int64_t* out);
/* Runs fn over the iteration space. Elementwise iterators may run it on several threads at
   once (fn must be thread-safe); reductions run it serially. */
VT_API vt_status_t vt_iter_for_each(vt_iter_t iter, vt_iter_loop_fn fn, void* context,
                                    int64_t grain_size);
VT_EXTERN_C_END

#endif /* VT_C_ITERATOR_H */
