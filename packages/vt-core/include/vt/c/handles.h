/* Opaque handles. Each is a pointer to a type that only vt-core defines. */
#ifndef VT_C_HANDLES_H
#define VT_C_HANDLES_H

typedef struct vt_tensor_s* vt_tensor_t;       /* refcounted: vt_tensor_retain / release */
typedef struct vt_storage_s* vt_storage_t;     /* refcounted, owned by tensors */
typedef struct vt_stream_s* vt_stream_t;       /* a device stream; NULL is the device default */
typedef struct vt_event_s* vt_event_t;
typedef struct vt_op_s* vt_op_t;               /* lives as long as the process */
typedef struct vt_library_s* vt_library_t;     /* a loaded plugin */
typedef struct vt_generator_s* vt_generator_t;
typedef struct vt_iter_s* vt_iter_t;           /* a built TensorIterator */

#endif /* VT_C_HANDLES_H */
