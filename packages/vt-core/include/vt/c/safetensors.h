/* safetensors files. The reader treats every file as hostile: the header is parsed and checked
   in full (offsets tile the data section exactly, byte counts match dtype and shape) before a
   tensor is handed out. The writer's bytes equal the reference implementation's for the same
   tensors and at most one metadata entry (metadata keys are written sorted). */
#ifndef VT_C_SAFETENSORS_H
#define VT_C_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "vt/c/export.h"
#include "vt/c/handles.h"
#include "vt/c/status.h"

typedef struct vt_safetensors_s* vt_safetensors_t; /* an opened, validated file */

VT_EXTERN_C_BEGIN
/* out (owned; vt_safetensors_close): the file at path, mapped privately (copy-on-write). */
VT_API vt_status_t vt_safetensors_open(const char* path, vt_safetensors_t* out);
/* out (owned): the same over a copy of nbytes at data (borrowed). */
VT_API vt_status_t vt_safetensors_open_buffer(const void* data, size_t nbytes,
                                              vt_safetensors_t* out);
/* Tensors already taken keep the bytes alive after the close. NULL is accepted and ignored. */
VT_API vt_status_t vt_safetensors_close(vt_safetensors_t file);
VT_API vt_status_t vt_safetensors_num_tensors(vt_safetensors_t file, int64_t* out);
/* out (borrowed, valid until the close): the index-th name; names are sorted bytewise. */
VT_API vt_status_t vt_safetensors_tensor_name(vt_safetensors_t file, int64_t index,
                                              const char** out);
/* out (new reference): a CPU tensor viewing the file's bytes (an aligned copy when they are
   misaligned for the dtype). Writes to it never reach the file. */
VT_API vt_status_t vt_safetensors_get_tensor(vt_safetensors_t file, const char* name,
                                             vt_tensor_t* out);
/* out: the number of __metadata__ entries; -1 when the header has no __metadata__. */
VT_API vt_status_t vt_safetensors_num_metadata(vt_safetensors_t file, int64_t* out);
/* key, value (borrowed, valid until the close): the index-th entry, in file order. */
VT_API vt_status_t vt_safetensors_metadata_item(vt_safetensors_t file, int64_t index,
                                                const char** key, const char** value);
/* Writes count tensors (borrowed) under names; metadata_keys == NULL writes no __metadata__,
   otherwise metadata_count entries. */
VT_API vt_status_t vt_safetensors_save_file(const char* path, const char* const* names,
                                            const vt_tensor_t* tensors, int64_t count,
                                            const char* const* metadata_keys,
                                            const char* const* metadata_values,
                                            int64_t metadata_count);
/* The same into memory. out_data (owned; release it with vt_host_free), out_nbytes. */
VT_API vt_status_t vt_safetensors_save_buffer(const char* const* names, const vt_tensor_t* tensors,
                                              int64_t count, const char* const* metadata_keys,
                                              const char* const* metadata_values,
                                              int64_t metadata_count, void** out_data,
                                              size_t* out_nbytes);
VT_EXTERN_C_END

#endif /* VT_C_SAFETENSORS_H */
