#include <cstring>

#include "capi/guard.h"
#include "core/allocator.h"
#include "core/device_hooks.h"
#include "core/inference_mode.h"
#include "core/tensor.h"
#include "ops/ops.h"
#include "vt/c/allocator.h"
#include "vt/c/op.h"
#include "vt/c/stream.h"
#include "vt/c/tensor.h"

using vt::capi::guard;
using vt::Tensor;

namespace {

vt::TensorImpl* impl(vt_tensor_t t) { return reinterpret_cast<vt::TensorImpl*>(t); }

Tensor borrowed(vt_tensor_t t, const char* fn) {
  VT_CHECK_VALUE(t != nullptr, fn, ": tensor handle is NULL");
  return Tensor::from_c_borrowed(t);
}

vt::IntArrayRef dims_of(const int64_t* p, int64_t n, const char* what, const char* fn) {
  VT_CHECK_VALUE(n >= 0 && n <= VT_MAX_DIMS, fn, ": ndim ", n, " is outside [0, ", VT_MAX_DIMS, "]");
  VT_CHECK_VALUE(n == 0 || p != nullptr, fn, ": ", what, " is NULL with ndim ", n);
  return {p, size_t(n)};
}

struct BlobOwner {
  vt_deleter_fn deleter;
  void* context;
};

void free_blob(void* data, size_t, vt::Device, void* owner) {
  auto* o = static_cast<BlobOwner*>(owner);
  if (o->deleter) o->deleter(data, o->context);
  delete o;
}

}  // namespace

extern "C" {

VT_API vt_status_t vt_tensor_empty(const int64_t* sizes, int64_t ndim, int32_t dtype,
                                   vt_device_t device, vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_empty");
    auto shape = dims_of(sizes, ndim, "sizes", "vt_tensor_empty");
    *out = Tensor::empty(shape, vt::checked_dtype(dtype), vt::Device::from_c(device)).to_c_owned();
  });
}

VT_API vt_status_t vt_tensor_from_blob(void* data, const int64_t* sizes, const int64_t* strides,
                                       int64_t ndim, int32_t dtype, vt_device_t device,
                                       vt_deleter_fn deleter, void* deleter_context,
                                       vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_from_blob");
    auto shape = dims_of(sizes, ndim, "sizes", "vt_tensor_from_blob");
    vt::ScalarType dt = vt::checked_dtype(dtype);
    vt::DimVector st = strides ? vt::DimVector(vt::IntArrayRef(strides, size_t(ndim)))
                               : vt::contiguous_strides(shape);
    // Everything is validated before the owner exists: a failed call must not run the deleter.
    bool empty = false;
    for (int64_t d = 0; d < ndim; ++d) {
      VT_CHECK_VALUE(shape[size_t(d)] >= 0, "vt_tensor_from_blob: negative size in ",
                     vt::shape_string(shape));
      VT_CHECK_VALUE(st[d] >= 0, "vt_tensor_from_blob: negative strides are not supported");
      empty |= shape[size_t(d)] == 0;
    }
    vt::compute_numel(shape);  // rejects overflow
    int64_t extent = empty ? 0 : 1;
    for (int64_t d = 0; d < ndim && !empty; ++d) {
      int64_t span;
      VT_CHECK_VALUE(!__builtin_mul_overflow(shape[size_t(d)] - 1, st[d], &span) &&
                         !__builtin_add_overflow(extent, span, &extent) &&
                         !__builtin_mul_overflow(extent, vt::itemsize(dt), &span),
                     "vt_tensor_from_blob: strides ", vt::shape_string(st), " overflow");
    }
    VT_CHECK_VALUE(data != nullptr || extent == 0, "vt_tensor_from_blob: data is NULL");
    vt::Device dev = vt::Device::from_c(device);
    vt::device_type_name(dev.type);  // rejects unknown device types
    auto* owner = new BlobOwner{deleter, deleter_context};
    auto storage = vt::intrusive_ptr<vt::Storage>::make(
        data, size_t(extent) * size_t(vt::itemsize(dt)), dev, &free_blob, owner);
    *out = Tensor(vt::intrusive_ptr<vt::TensorImpl>::make(std::move(storage), dt, shape, st, 0))
               .to_c_owned();
  });
}

VT_API vt_status_t vt_tensor_retain(vt_tensor_t t) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_retain");
    impl(t)->retain();
  });
}

VT_API vt_status_t vt_tensor_release(vt_tensor_t t) {
  return guard([&] {
    if (t) Tensor::from_c_owned(t);  // drops the reference on scope exit
  });
}

VT_API vt_status_t vt_tensor_describe(vt_tensor_t t, vt_tensor_desc_t* out) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_describe");
    VT_CHECK_ARG(out, "vt_tensor_describe");
    VT_CHECK_VALUE(out->struct_size >= sizeof(vt_tensor_desc_t),
                   "vt_tensor_describe: struct_size ", out->struct_size, " is smaller than ",
                   sizeof(vt_tensor_desc_t));
    vt::TensorImpl* i = impl(t);
    out->ndim = i->dim();
    out->sizes = i->sizes().data();
    out->strides = i->strides().data();
    out->dtype = int32_t(i->dtype());
    out->device = i->device().to_c();
    out->storage_offset = i->storage_offset();
    out->numel = i->numel();
  });
}

VT_API vt_status_t vt_tensor_data_ptr(vt_tensor_t t, void** out) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_data_ptr");
    VT_CHECK_ARG(out, "vt_tensor_data_ptr");
    *out = impl(t)->data();
  });
}

VT_API vt_status_t vt_tensor_is_contiguous(vt_tensor_t t, int32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_is_contiguous");
    VT_CHECK_ARG(out, "vt_tensor_is_contiguous");
    *out = impl(t)->is_contiguous();
  });
}

VT_API vt_status_t vt_tensor_copy_(vt_tensor_t dst, vt_tensor_t src) {
  return guard([&] { vt::copy_(borrowed(dst, "vt_tensor_copy_"), borrowed(src, "vt_tensor_copy_")); });
}

VT_API vt_status_t vt_tensor_as_strided(vt_tensor_t t, const int64_t* sizes, const int64_t* strides,
                                        int64_t ndim, int64_t storage_offset, vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_as_strided");
    auto sz = dims_of(sizes, ndim, "sizes", "vt_tensor_as_strided");
    auto st = dims_of(strides, ndim, "strides", "vt_tensor_as_strided");
    *out = vt::as_strided(borrowed(t, "vt_tensor_as_strided"), sz, st, storage_offset).to_c_owned();
  });
}

VT_API vt_status_t vt_tensor_version(vt_tensor_t t, uint32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_version");
    *out = borrowed(t, "vt_tensor_version").version();
  });
}

VT_API vt_status_t vt_tensor_bump_version(vt_tensor_t t) {
  return guard([&] { borrowed(t, "vt_tensor_bump_version").bump_version(); });
}

VT_API vt_status_t vt_tensor_storage_nbytes(vt_tensor_t t, size_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_storage_nbytes");
    VT_CHECK_ARG(t, "vt_tensor_storage_nbytes");
    *out = impl(t)->storage()->nbytes();
  });
}

VT_API vt_status_t vt_tensor_set_autograd_slot(vt_tensor_t t, void* value,
                                               vt_slot_destructor_fn destructor) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_set_autograd_slot");
    impl(t)->set_autograd_slot(value, destructor);
  });
}

VT_API vt_status_t vt_tensor_get_autograd_slot(vt_tensor_t t, void** out) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_get_autograd_slot");
    VT_CHECK_ARG(out, "vt_tensor_get_autograd_slot");
    *out = impl(t)->autograd_slot();
  });
}

VT_API vt_status_t vt_tensor_set_layer_mask(vt_tensor_t t, uint32_t mask) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_set_layer_mask");
    VT_CHECK_VALUE((mask >> VT_LAYER_COUNT) == 0, "vt_tensor_set_layer_mask: unknown layer bits in ",
                   mask);
    impl(t)->set_layer_mask(mask);
  });
}

VT_API vt_status_t vt_tensor_get_layer_mask(vt_tensor_t t, uint32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(t, "vt_tensor_get_layer_mask");
    VT_CHECK_ARG(out, "vt_tensor_get_layer_mask");
    *out = impl(t)->layer_mask();
  });
}

VT_API vt_status_t vt_allocator_register(int32_t device_type, const vt_allocator_t* allocator) {
  return guard([&] {
    VT_CHECK_ARG(allocator, "vt_allocator_register");
    vt::register_allocator(device_type, *allocator);
  });
}

VT_API vt_status_t vt_allocator_get_stats(int32_t device_type, int32_t device_index,
                                          vt_allocator_stats_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_allocator_get_stats");
    VT_CHECK_VALUE(out->struct_size >= sizeof(vt_allocator_stats_t),
                   "vt_allocator_get_stats: struct_size is too small");
    vt_allocator_stats_t s = vt::allocator_stats(device_type, device_index);
    s.struct_size = out->struct_size;
    *out = s;
  });
}

VT_API vt_status_t vt_device_register_hooks(int32_t device_type, const vt_device_hooks_t* hooks) {
  return guard([&] {
    VT_CHECK_ARG(hooks, "vt_device_register_hooks");
    vt::register_device_hooks(device_type, *hooks);
  });
}

VT_API vt_status_t vt_device_count(int32_t device_type, int32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_device_count");
    if (device_type == VT_DEVICE_CPU) { *out = 1; return; }
    const vt_device_hooks_t* h = vt::device_hooks_for(device_type);
    *out = h ? h->device_count(h->context) : 0;
  });
}

namespace {

// The hooks of a device with streams (ABI 1.2 functions present), or nullptr for the CPU and
// for devices that run work in call order.
const vt_device_hooks_t* stream_hooks(vt_device_t device) {
  if (device.type == VT_DEVICE_CPU) return nullptr;
  const vt_device_hooks_t* h = vt::device_hooks_for(device.type);
  if (!h) return nullptr;
  return h->current_stream && h->set_current_stream && h->event_create && h->event_record &&
                 h->stream_wait_event && h->event_destroy
             ? h
             : nullptr;
}

void forward_status(vt_status_t s) {
  if (s != VT_OK) vt::fail(s, vt_last_error_message());
}

}  // namespace

VT_API vt_status_t vt_stream_current(vt_device_t device, vt_stream_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_stream_current");
    *out = nullptr;
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->current_stream(h->context, device.index, out));
  });
}

VT_API vt_status_t vt_stream_set_current(vt_device_t device, vt_stream_t stream) {
  return guard([&] {
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->set_current_stream(h->context, device.index, stream));
  });
}

VT_API vt_status_t vt_event_create(vt_device_t device, vt_event_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_event_create");
    *out = nullptr;
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->event_create(h->context, device.index, out));
  });
}

VT_API vt_status_t vt_event_destroy(vt_device_t device, vt_event_t event) {
  return guard([&] {
    if (!event) return;
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->event_destroy(h->context, device.index, event));
  });
}

VT_API vt_status_t vt_event_record(vt_device_t device, vt_event_t event, vt_stream_t stream) {
  return guard([&] {
    if (!event) return;
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->event_record(h->context, device.index, event, stream));
  });
}

VT_API vt_status_t vt_stream_wait_event(vt_device_t device, vt_stream_t stream, vt_event_t event) {
  return guard([&] {
    if (!event) return;
    if (const vt_device_hooks_t* h = stream_hooks(device))
      forward_status(h->stream_wait_event(h->context, device.index, stream, event));
  });
}

VT_API vt_status_t vt_tensor_is_inference(vt_tensor_t t, int32_t* out) {
  return guard([&] {
    VT_CHECK_ARG(out, "vt_tensor_is_inference");
    *out = borrowed(t, "vt_tensor_is_inference").is_inference() ? 1 : 0;
  });
}

VT_API vt_status_t vt_inference_mode_set(int32_t enabled, int32_t* out_previous) {
  return guard([&] {
    const bool previous = vt::set_inference_mode(enabled != 0);
    if (out_previous) *out_previous = previous ? 1 : 0;
  });
}

VT_API int32_t vt_inference_mode_enabled(void) { return vt::inference_mode_enabled() ? 1 : 0; }

VT_API vt_status_t vt_device_synchronize(vt_device_t device) {
  return guard([&] {
    if (device.type == VT_DEVICE_CPU) return;
    const vt_device_hooks_t* h = vt::device_hooks_for(device.type);
    VT_CHECK(h && h->synchronize, "vt_device_synchronize: no hooks for device type ", device.type);
    vt_status_t s = h->synchronize(h->context, device.index);
    if (s != VT_OK) vt::fail(s, vt_last_error_message());
  });
}

}  // extern "C"
