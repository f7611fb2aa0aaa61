/* A test device with streams and events but host memory: it registers itself as the CUDA device
   type (so "cuda" parses), keeps a current stream per thread, logs every stream switch, event
   record and wait, and runs the ops it is told to by handing host aliases of its tensors to the
   CPU kernels. Autograd's cross-stream ordering is checked against its log. Load it only in a
   process without a real CUDA plugin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt/c/vt.h"

VT_DEFINE_PLUGIN_INFO("stream_device", "0.1.0")

static const vt_api_t* g_api;
static const vt_device_t kHost = {VT_DEVICE_CPU, 0};

/* The log: triples (kind, a, b). kind 1: record event a on stream b; 2: stream a waits for event b;
   3: an op ran on stream a; 4: current stream set to a. */
enum { kMaxLog = 4096 };
static int64_t g_log[kMaxLog * 3];
static int64_t g_log_size;
static int64_t g_next_event = 1;
static _Thread_local int64_t t_stream = 1; /* stream 1 is every thread's default */

static void log_entry(int64_t kind, int64_t a, int64_t b) {
  if (g_log_size >= kMaxLog) return;
  g_log[3 * g_log_size] = kind;
  g_log[3 * g_log_size + 1] = a;
  g_log[3 * g_log_size + 2] = b;
  ++g_log_size;
}

static vt_status_t fail(vt_status_t status, const char* message) {
  g_api->set_last_error(status, message);
  return status;
}

/* Allocator and hooks. */
static vt_status_t dev_allocate(void* c, int32_t i, size_t n, vt_stream_t s, void** out) {
  (void)c; (void)i; (void)s;
  *out = malloc(n ? n : 1);
  return *out ? VT_OK : fail(VT_ERROR_OUT_OF_MEMORY, "stream_device: out of memory");
}
static void dev_deallocate(void* c, int32_t i, void* p, size_t n) { (void)c; (void)i; (void)n; free(p); }
static vt_status_t dev_stats(void* c, int32_t i, vt_allocator_stats_t* out) {
  (void)c; (void)i;
  size_t size = out->struct_size;
  memset(out, 0, sizeof *out);
  out->struct_size = size;
  return VT_OK;
}
static int32_t dev_count(void* c) { (void)c; return 1; }
static vt_status_t dev_sync(void* c, int32_t i) { (void)c; (void)i; return VT_OK; }
static vt_status_t dev_copy(void* c, void* dst, vt_device_t dd, const void* src, vt_device_t sd,
                            size_t n, int32_t kind) {
  (void)c; (void)dd; (void)sd; (void)kind;
  memcpy(dst, src, n);
  return VT_OK;
}
static vt_status_t dev_current(void* c, int32_t i, vt_stream_t* out) {
  (void)c; (void)i;
  *out = (vt_stream_t)(uintptr_t)t_stream;
  return VT_OK;
}
static vt_status_t dev_set_current(void* c, int32_t i, vt_stream_t s) {
  (void)c; (void)i;
  t_stream = (int64_t)(uintptr_t)s;
  log_entry(4, t_stream, 0);
  return VT_OK;
}
static vt_status_t dev_event_create(void* c, int32_t i, vt_event_t* out) {
  (void)c; (void)i;
  *out = (vt_event_t)(uintptr_t)g_next_event++;
  return VT_OK;
}
static vt_status_t dev_event_destroy(void* c, int32_t i, vt_event_t e) { (void)c; (void)i; (void)e; return VT_OK; }
static vt_status_t dev_event_record(void* c, int32_t i, vt_event_t e, vt_stream_t s) {
  (void)c; (void)i;
  log_entry(1, (int64_t)(uintptr_t)e, (int64_t)(uintptr_t)s);
  return VT_OK;
}
static vt_status_t dev_wait(void* c, int32_t i, vt_stream_t s, vt_event_t e) {
  (void)c; (void)i;
  log_entry(2, (int64_t)(uintptr_t)s, (int64_t)(uintptr_t)e);
  return VT_OK;
}

/* Host aliases: a device tensor viewed as a CPU tensor over the same memory, and back. */
static void release_tensor(void* data, void* context) { (void)data; g_api->tensor_release((vt_tensor_t)context); }

static vt_status_t rewrap(vt_tensor_t t, vt_device_t device, vt_tensor_t* out) {
  vt_tensor_desc_t d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  vt_status_t s = g_api->tensor_describe(t, &d);
  if (s != VT_OK) return s;
  void* data = NULL;
  s = g_api->tensor_data_ptr(t, &data);
  if (s != VT_OK) return s;
  g_api->tensor_retain(t);
  s = g_api->tensor_from_blob(data, d.sizes, d.strides, d.ndim, d.dtype, device, release_tensor, t, out);
  if (s != VT_OK) g_api->tensor_release(t);
  return s;
}

static int is_device(vt_tensor_t t) {
  vt_tensor_desc_t d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  return t && g_api->tensor_describe(t, &d) == VT_OK && d.device.type == VT_DEVICE_CUDA;
}

enum { kMaxArgs = 32, kMaxList = 64 };

/* Runs the op's CPU kernel on host aliases; results come back as device tensors, and a result that
   is an alias of an input (an in-place op) comes back as that input. */
static vt_status_t forward_kernel(void* context, vt_op_t op, const vt_value_t* args, int64_t nargs,
                                  vt_value_t* outs, int64_t nouts) {
  (void)context;
  if (nargs > kMaxArgs) return fail(VT_ERROR_NOT_IMPLEMENTED, "stream_device: too many arguments");
  log_entry(3, t_stream, 0);
  vt_value_t host[kMaxArgs];
  vt_tensor_t owned[kMaxArgs * kMaxList];
  vt_tensor_t lists[kMaxArgs][kMaxList];
  int64_t n_owned = 0;
  vt_status_t s = VT_OK;
  for (int64_t i = 0; i < nargs && s == VT_OK; ++i) {
    host[i] = args[i];
    if (args[i].tag == VT_VALUE_TENSOR && is_device(args[i].u.tensor)) {
      s = rewrap(args[i].u.tensor, kHost, &host[i].u.tensor);
      if (s == VT_OK) owned[n_owned++] = host[i].u.tensor;
    } else if (args[i].tag == VT_VALUE_TENSOR_LIST) {
      if (args[i].u.tensors.size > kMaxList) return fail(VT_ERROR_NOT_IMPLEMENTED, "stream_device: long list");
      for (int64_t k = 0; k < args[i].u.tensors.size && s == VT_OK; ++k) {
        lists[i][k] = args[i].u.tensors.data[k];
        if (is_device(lists[i][k])) {
          s = rewrap(args[i].u.tensors.data[k], kHost, &lists[i][k]);
          if (s == VT_OK) owned[n_owned++] = lists[i][k];
        }
      }
      host[i].u.tensors.data = lists[i];
    } else if (args[i].tag == VT_VALUE_DEVICE && args[i].u.device.type == VT_DEVICE_CUDA) {
      host[i].u.device = kHost;
    }
  }
  if (s == VT_OK) s = g_api->op_call(op, host, nargs, outs, nouts);
  for (int64_t j = 0; j < nouts && s == VT_OK; ++j) {
    if (outs[j].tag != VT_VALUE_TENSOR) continue;
    vt_tensor_t same = NULL;
    for (int64_t i = 0; i < nargs; ++i)
      if (args[i].tag == VT_VALUE_TENSOR && host[i].u.tensor == outs[j].u.tensor &&
          host[i].u.tensor != args[i].u.tensor)
        same = args[i].u.tensor;
    vt_tensor_t device_result = NULL;
    if (same) {
      g_api->tensor_retain(same);
      device_result = same;
    } else {
      s = rewrap(outs[j].u.tensor, (vt_device_t){VT_DEVICE_CUDA, 0}, &device_result);
    }
    g_api->tensor_release(outs[j].u.tensor);
    outs[j].u.tensor = device_result;
  }
  for (int64_t k = 0; k < n_owned; ++k) g_api->tensor_release(owned[k]);
  return s;
}

/* stream_device::use(str ops) registers the forwarding kernel for each comma-separated op. */
static vt_status_t use_kernel(void* c, vt_op_t op, const vt_value_t* args, int64_t nargs,
                              vt_value_t* outs, int64_t nouts) {
  (void)c; (void)op; (void)nargs; (void)outs; (void)nouts;
  char name[256];
  const char* text = args[0].u.str.data;
  int64_t size = args[0].u.str.size, start = 0;
  for (int64_t i = 0; i <= size; ++i) {
    if (i < size && text[i] != ',') continue;
    int64_t len = i - start;
    if (len <= 0 || len >= (int64_t)sizeof name) return fail(VT_ERROR_INVALID_ARGUMENT, "stream_device: bad op name");
    memcpy(name, text + start, (size_t)len);
    name[len] = 0;
    vt_op_t target = NULL;
    vt_status_t s = g_api->op_lookup(name, &target);
    if (s == VT_OK) s = g_api->op_register_kernel(target, VT_DEVICE_CUDA, forward_kernel, NULL);
    if (s != VT_OK) return s;
    start = i + 1;
  }
  return VT_OK;
}

/* stream_device::set_stream(int s): stream s becomes this thread's current stream. */
static vt_status_t set_stream_kernel(void* c, vt_op_t op, const vt_value_t* args, int64_t nargs,
                                     vt_value_t* outs, int64_t nouts) {
  (void)c; (void)op; (void)nargs; (void)outs; (void)nouts;
  t_stream = args[0].u.i;
  return VT_OK;
}

/* stream_device::take_log() -> Tensor: the log as an int64 (n, 3) CPU tensor; clears it. */
static vt_status_t take_log_kernel(void* c, vt_op_t op, const vt_value_t* args, int64_t nargs,
                                   vt_value_t* outs, int64_t nouts) {
  (void)c; (void)op; (void)args; (void)nargs; (void)nouts;
  int64_t sizes[2] = {g_log_size, 3};
  vt_tensor_t t = NULL;
  vt_status_t s = g_api->tensor_empty(sizes, 2, VT_DTYPE_INT64, kHost, &t);
  if (s != VT_OK) return s;
  void* data = NULL;
  g_api->tensor_data_ptr(t, &data);
  memcpy(data, g_log, (size_t)g_log_size * 3 * sizeof(int64_t));
  g_log_size = 0;
  outs[0].tag = VT_VALUE_TENSOR;
  outs[0].u.tensor = t;
  return VT_OK;
}

static vt_status_t define(const char* schema, vt_boxed_kernel_fn fn) {
  vt_op_t op = NULL;
  vt_status_t s = g_api->op_define(schema, 0, &op);
  return s == VT_OK ? g_api->op_register_kernel(op, VT_DEVICE_CPU, fn, NULL) : s;
}

VT_API vt_status_t vt_plugin_init(const vt_api_t* api) {
  if (!api || api->struct_size < sizeof(vt_api_t)) return VT_ERROR_VERSION_MISMATCH;
  g_api = api;
  static const vt_allocator_t allocator = {sizeof(vt_allocator_t), NULL, dev_allocate,
                                           dev_deallocate, dev_stats, NULL};
  static const vt_device_hooks_t hooks = {
      sizeof(vt_device_hooks_t), NULL, dev_count, dev_current, dev_sync, dev_copy,
      dev_set_current, dev_event_create, dev_event_destroy, dev_event_record, dev_wait};
  vt_status_t s = api->allocator_register(VT_DEVICE_CUDA, &allocator);
  if (s == VT_OK) s = api->device_register_hooks(VT_DEVICE_CUDA, &hooks);
  if (s == VT_OK) s = define("stream_device::use(str ops) -> ()", use_kernel);
  if (s == VT_OK) s = define("stream_device::set_stream(int stream) -> ()", set_stream_kernel);
  if (s == VT_OK) s = define("stream_device::take_log() -> Tensor", take_log_kernel);
  return s;
}
