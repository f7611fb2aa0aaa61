// The native half of vt.core.safetensors (src/vt/core/safetensors.py holds the public API).
// Python opens files, so paths and OS errors behave as everywhere in Python; the parsing,
// validation and mapping happen in serialization/.
#include <nanobind/stl/pair.h>

#include <algorithm>

#include "bindings/common.h"
#include "serialization/file.h"
#include "serialization/writer.h"

namespace vt::py {
namespace {

using safetensors::SafetensorsFile;
using safetensors::NamedTensors;
using Metadata = std::optional<safetensors::MetadataList>;

struct PyFile {
  intrusive_ptr<SafetensorsFile> file;

  const SafetensorsFile& get() const {
    VT_CHECK(file, "safetensors: the file is closed");
    return *file;
  }
  const safetensors::TensorEntry& entry(const std::string& name) const {
    const safetensors::TensorEntry* e = get().header().find(name);
    if (!e)
      throw nb::key_error(("safetensors: the file has no tensor named '" + name + "'").c_str());
    return *e;
  }
};

nb::list names(const std::vector<const safetensors::TensorEntry*>& entries) {
  nb::list out;
  for (const auto* e : entries) out.append(nb::str(e->name.data(), e->name.size()));
  return out;
}

nb::object serialize(NamedTensors tensors, const Metadata& metadata) {
  safetensors::SavePlan plan =
      safetensors::plan_save(std::move(tensors), metadata ? &*metadata : nullptr);
  PyObject* bytes = PyBytes_FromStringAndSize(nullptr, Py_ssize_t(plan.total_bytes));
  if (!bytes) throw nb::python_error();
  nb::object out = nb::steal(bytes);
  {
    nb::gil_scoped_release release;
    safetensors::write_to_buffer(plan, PyBytes_AS_STRING(bytes));
  }
  return out;
}

}  // namespace

void bind_safetensors(nb::module_& m) {
  nb::class_<PyFile>(m, "_SafetensorsFile", "An opened, validated safetensors file.")
      .def("keys", [](const PyFile& f) {
        std::vector<const safetensors::TensorEntry*> entries;
        for (const auto& e : f.get().header().tensors) entries.push_back(&e);
        return names(entries);
      }, "Tensor names, sorted.")
      .def("offset_keys", [](const PyFile& f) {
        std::vector<const safetensors::TensorEntry*> entries;
        for (const auto& e : f.get().header().tensors) entries.push_back(&e);
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->begin < b->begin; });
        return names(entries);
      }, "Tensor names in the order of their data in the file.")
      .def("metadata", [](const PyFile& f) -> nb::object {
        const auto& metadata = f.get().header().metadata;
        if (!metadata) return nb::none();
        nb::dict out;
        for (const auto& [k, v] : *metadata)
          out[nb::str(k.data(), k.size())] = nb::str(v.data(), v.size());
        return out;
      }, "The __metadata__ strings, or None when the header has none.")
      .def("get_tensor", [](PyFile& f, const std::string& name) {
        const safetensors::TensorEntry& e = f.entry(name);
        return f.file->tensor(e);
      }, nb::arg("name"), "A CPU tensor viewing the file's bytes (copy-on-write).")
      .def("info", [](const PyFile& f, const std::string& name) {
        const auto& e = f.entry(name);
        nb::list shape;
        for (int64_t s : e.shape) shape.append(s);
        return nb::make_tuple(safetensors::dtype_code(e.dtype), dtype_object(e.dtype), shape);
      }, nb::arg("name"), "(format dtype name, vt dtype, shape) of a tensor, read from the header.")
      .def("close", [](PyFile& f) { f.file = nullptr; },
           "Drops this handle's reference; tensors already taken keep the bytes alive.");

  m.def("_safetensors_open_fd", [](int fd) {
    nb::gil_scoped_release release;
    return PyFile{SafetensorsFile::map_fd(fd)};
  }, nb::arg("fd"), "Maps and validates the safetensors file behind an open descriptor.");
  m.def("_safetensors_open_bytes", [](nb::bytes data) {
    const void* p = data.c_str();
    size_t n = data.size();
    nb::gil_scoped_release release;
    return PyFile{SafetensorsFile::from_buffer(p, n)};
  }, nb::arg("data"), "Validates a copy of serialized safetensors bytes.");
  m.def("_safetensors_serialize", &serialize, nb::arg("tensors"), nb::arg("metadata").none(),
        "The safetensors bytes of (name, tensor) pairs and optional (key, value) metadata.");
  m.def("_safetensors_write_fd", [](int fd, NamedTensors tensors, const Metadata& metadata) {
    safetensors::SavePlan plan =
        safetensors::plan_save(std::move(tensors), metadata ? &*metadata : nullptr);
    nb::gil_scoped_release release;
    safetensors::write_to_fd(plan, fd);
  }, nb::arg("fd"), nb::arg("tensors"), nb::arg("metadata").none(),
     "Writes the safetensors bytes to an open descriptor.");
}

}  // namespace vt::py
