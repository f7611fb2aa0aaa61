/* Symbol visibility and C linkage for the vt-core C ABI. */
#ifndef VT_C_EXPORT_H
#define VT_C_EXPORT_H

#if defined(_WIN32)
#  if defined(VT_CORE_BUILDING)
#    define VT_API __declspec(dllexport)
#  else
#    define VT_API __declspec(dllimport)
#  endif
#else
#  define VT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
#  define VT_EXTERN_C_BEGIN extern "C" {
#  define VT_EXTERN_C_END }
#else
#  define VT_EXTERN_C_BEGIN
#  define VT_EXTERN_C_END
#endif

#endif /* VT_C_EXPORT_H */
