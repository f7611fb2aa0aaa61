// DLPack exchange. Imported structs are foreign input: every field is validated before use.
#include <cstring>
#include <memory>

#include "capi/guard.h"
#include "core/tensor.h"
#include "vt/c/dlpack.h"

using vt::capi::guard;
using vt::Tensor;

namespace {

struct ExportContext {
  Tensor tensor;  // keeps the memory alive
  int64_t shape[VT_MAX_DIMS];
  int64_t strides[VT_MAX_DIMS];
};

// What an imported tensor's storage calls when it dies: the producer's deleter, once armed.
struct ImportContext {
  void* managed = nullptr;
  void (*deleter)(void* managed) = nullptr;
  bool armed = false;
};

void delete_export(DLManagedTensorVersioned* self) {
  delete static_cast<ExportContext*>(self->manager_ctx);
  delete self;
}

DLDataType to_dl(vt::ScalarType t) {
  int32_t code = int32_t(t);
  return DLDataType{uint8_t(code >> 8), uint8_t(code & 0xff), 1};
}

vt::ScalarType from_dl(DLDataType d) {
  VT_CHECK_TYPE(d.lanes == 1, "from_dlpack: vector dtypes (lanes=", d.lanes, ") are not supported");
  int32_t code = (int32_t(d.code) << 8) | int32_t(d.bits);
  VT_CHECK_TYPE(vt::is_valid_dtype(code), "from_dlpack: unsupported DLPack dtype (code ",
                int(d.code), ", bits ", int(d.bits), ")");
  return vt::ScalarType(code);
}

// Wraps a validated DLTensor; on_free runs when the last vt tensor over it goes.
template <typename Managed>
Tensor import_tensor(const DLTensor& t, Managed* managed, const char* fn) {
  VT_CHECK_VALUE(t.ndim >= 0 && t.ndim <= VT_MAX_DIMS, fn, ": ndim ", t.ndim, " is outside [0, ",
                 VT_MAX_DIMS, "]");
  VT_CHECK_VALUE(t.ndim == 0 || t.shape, fn, ": shape is NULL");
  vt::ScalarType dtype = from_dl(t.dtype);
  int32_t dev_type = int32_t(t.device.device_type);
  VT_CHECK_VALUE(dev_type == VT_DEVICE_CPU || dev_type == VT_DEVICE_CUDA, fn,
                 ": unsupported DLPack device type ", dev_type);
  VT_CHECK_VALUE(t.device.device_id >= 0, fn, ": negative device id ", t.device.device_id);
  if (dev_type == VT_DEVICE_CPU)
    VT_CHECK_VALUE(t.device.device_id == 0, fn, ": CPU device id must be 0");
  vt::IntArrayRef shape(t.shape, size_t(t.ndim));
  vt::DimVector strides = t.strides ? vt::DimVector(vt::IntArrayRef(t.strides, size_t(t.ndim)))
                                    : vt::contiguous_strides(shape);
  int64_t extent = 1;
  bool empty = false;
  for (int32_t d = 0; d < t.ndim; ++d) {
    VT_CHECK_VALUE(shape[size_t(d)] >= 0, fn, ": negative size in shape ", vt::shape_string(shape));
    VT_CHECK_VALUE(strides[d] >= 0, fn, ": negative strides are not supported: ",
                   vt::shape_string(strides));
    if (shape[size_t(d)] == 0) empty = true;
  }
  vt::compute_numel(shape);  // rejects overflow
  if (!empty) {
    for (int32_t d = 0; d < t.ndim; ++d) {
      int64_t span;
      VT_CHECK_VALUE(!__builtin_mul_overflow(shape[size_t(d)] - 1, strides[d], &span) &&
                         !__builtin_add_overflow(extent, span, &extent),
                     fn, ": strides ", vt::shape_string(strides), " overflow");
    }
    int64_t bytes;
    VT_CHECK_VALUE(!__builtin_mul_overflow(extent, vt::itemsize(dtype), &bytes), fn,
                   ": the tensor spans more bytes than fit in int64");
  } else {
    extent = 0;
  }
  VT_CHECK_VALUE(t.data || extent == 0, fn, ": data is NULL for a non-empty tensor");
  int64_t item = vt::itemsize(dtype);
  VT_CHECK_VALUE(t.byte_offset % uint64_t(item) == 0, fn, ": byte_offset ", t.byte_offset,
                 " is not a multiple of the item size ", item);
  char* base = static_cast<char*>(t.data) + t.byte_offset;
  // Typed kernels load elements through T*, which must be aligned.
  VT_CHECK_VALUE(extent == 0 || reinterpret_cast<uintptr_t>(base) % uint64_t(item) == 0, fn,
                 ": the data pointer is not aligned to the ", item, "-byte item size");
  vt::Device device{dev_type, t.device.device_id};
  // The producer's deleter runs only once the tensor exists: a failure while building it must
  // leave ownership with the caller, as the ABI promises.
  auto ctx = std::make_unique<ImportContext>();
  ctx->managed = managed;
  ctx->deleter = [](void* m) {
    auto* self = static_cast<Managed*>(m);
    if (self->deleter) self->deleter(self);
  };
  auto free_fn = [](void*, size_t, vt::Device, void* c) {
    std::unique_ptr<ImportContext> owned(static_cast<ImportContext*>(c));
    if (owned->armed) owned->deleter(owned->managed);
  };
  ImportContext* raw = ctx.get();
  auto storage = vt::intrusive_ptr<vt::Storage>::make(base, size_t(extent * item), device, free_fn,
                                                      raw);
  ctx.release();  // the storage frees it from here on
  Tensor out(vt::intrusive_ptr<vt::TensorImpl>::make(std::move(storage), dtype, shape, strides, 0));
  raw->armed = true;
  return out;
}

}  // namespace

extern "C" {

VT_API vt_status_t vt_tensor_to_dlpack(vt_tensor_t tensor, DLManagedTensorVersioned** out) {
  return guard([&] {
    VT_CHECK_ARG(tensor, "vt_tensor_to_dlpack");
    VT_CHECK_ARG(out, "vt_tensor_to_dlpack");
    Tensor t = Tensor::from_c_borrowed(tensor);
    auto ctx = std::make_unique<ExportContext>();
    for (int64_t d = 0; d < t.dim(); ++d) {
      ctx->shape[d] = t.sizes()[d];
      ctx->strides[d] = t.strides()[d];
    }
    auto m = std::make_unique<DLManagedTensorVersioned>();
    m->version = {DLPACK_VERSION_MAJOR, DLPACK_VERSION_MINOR};
    m->flags = 0;
    m->deleter = &delete_export;
    DLTensor& dl = m->dl_tensor;
    // Pointing at the element itself (byte_offset 0) is what most consumers expect.
    dl.data = t.data();
    dl.device = DLDevice{DLDeviceType(t.device().type), t.device().index};
    dl.ndim = int32_t(t.dim());
    dl.dtype = to_dl(t.dtype());
    dl.shape = ctx->shape;
    dl.strides = ctx->strides;
    dl.byte_offset = 0;
    ctx->tensor = std::move(t);
    m->manager_ctx = ctx.release();
    *out = m.release();
  });
}

VT_API vt_status_t vt_tensor_from_dlpack(DLManagedTensorVersioned* managed, vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(managed, "vt_tensor_from_dlpack");
    VT_CHECK_ARG(out, "vt_tensor_from_dlpack");
    VT_CHECK_VALUE(managed->version.major == DLPACK_VERSION_MAJOR, "from_dlpack: DLPack major "
                   "version ", managed->version.major, " is not supported (expected ",
                   DLPACK_VERSION_MAJOR, ")");
    VT_CHECK_VALUE(!(managed->flags & DLPACK_FLAG_BITMASK_READ_ONLY),
                   "from_dlpack: the tensor is read-only and vt tensors are always writable; "
                   "export a writable copy instead");
    *out = import_tensor(managed->dl_tensor, managed, "from_dlpack").to_c_owned();
  });
}

VT_API vt_status_t vt_tensor_from_dlpack_legacy(DLManagedTensor* managed, vt_tensor_t* out) {
  return guard([&] {
    VT_CHECK_ARG(managed, "vt_tensor_from_dlpack_legacy");
    VT_CHECK_ARG(out, "vt_tensor_from_dlpack_legacy");
    *out = import_tensor(managed->dl_tensor, managed, "from_dlpack").to_c_owned();
  });
}

}  // extern "C"
