// vt.core.memory_format: torch's contiguous_format, preserve_format and channels_last objects,
// and the checks shared by the ops taking memory_format=. vt tensors are strided row-major, so
// channels_last is recognized (is_contiguous answers for it) but never produced.
#include <array>

#include "bindings/common.h"

namespace vt::py {
namespace {

struct PyMemoryFormat {
  MemoryFormat format;
};

constexpr const char* kNames[] = {"contiguous_format", "preserve_format", "channels_last"};

}  // namespace

MemoryFormat to_memory_format(nb::handle h, MemoryFormat if_none, const char* op) {
  if (!h.is_valid() || h.is_none()) return if_none;
  if (nb::isinstance<PyMemoryFormat>(h)) return nb::cast<const PyMemoryFormat&>(h).format;
  fail(VT_ERROR_TYPE, op, "(): argument 'memory_format' must be memory_format, not ",
       nb::inst_name(h).c_str());
}

void require_row_major(MemoryFormat format, int64_t ndim, const char* op) {
  if (format != MemoryFormat::ChannelsLast) return;
  VT_CHECK(ndim == 4, "required rank 4 tensor to use channels_last format");
  fail(VT_ERROR_NOT_IMPLEMENTED, op, "(): memory_format=vt.channels_last is not implemented: vt makes "
       "tensors in row-major (contiguous_format) or preserved (preserve_format) layouts only");
}

bool like_keeps_strides(nb::handle memory_format, const Tensor& input, const char* op) {
  MemoryFormat f = to_memory_format(memory_format, MemoryFormat::Preserve, op);
  require_row_major(f, input.dim(), op);
  return f == MemoryFormat::Preserve || input.is_contiguous();
}

// torch's rule: a 4-d tensor whose strides, skipping size-1 dims, are those of an NHWC buffer.
bool is_channels_last_contiguous(const Tensor& t) {
  if (t.dim() != 4) return false;
  int64_t expected = 1;
  for (int d : {1, 3, 2, 0}) {
    const int64_t size = t.sizes()[d];
    if (size == 1) continue;
    if (t.strides()[d] != expected) return false;
    expected *= size;
  }
  return true;
}

void bind_memory_format(nb::module_& m) {
  nb::class_<PyMemoryFormat>(m, "memory_format", "A tensor memory layout, as torch.memory_format.")
      .def("__repr__", [](const PyMemoryFormat& f) { return std::string("vt.") + kNames[int(f.format)]; })
      // Pickled by name: unpickling and deepcopy give back the interned object.
      .def("__reduce__", [](const PyMemoryFormat& f) { return std::string(kNames[int(f.format)]); });
  for (MemoryFormat f : {MemoryFormat::Contiguous, MemoryFormat::Preserve, MemoryFormat::ChannelsLast})
    m.attr(kNames[int(f)]) = nb::cast(PyMemoryFormat{f});
}

}  // namespace vt::py
