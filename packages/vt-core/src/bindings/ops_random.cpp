// The random op family: vt.core.Generator, the default generator's module functions, the
// sampling functions and the in-place Tensor methods (which return self, as torch).
#include "bindings/common.h"

#include <nanobind/stl/pair.h>

#include "iterator/tensor_iterator.h"
#include "ops/linalg_gemm.h"
#include "ops/ops.h"

namespace vt::py {
namespace {

// Seeds are uint64; negative ints map to 2^64 + seed as in torch.
uint64_t seed_value(nb::handle h, const char* what) {
  VT_CHECK(PyLong_Check(h.ptr()), what, " expected an int seed, but got ", nb::inst_name(h).c_str());
  unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
  if (!PyErr_Occurred()) return u;
  PyErr_Clear();
  long long s = PyLong_AsLongLong(h.ptr());
  if (!PyErr_Occurred()) return uint64_t(s);
  PyErr_Clear();
  fail(VT_ERROR_VALUE, what, ": seed must be in [-2**63, 2**64 - 1], got ", nb::str(h).c_str());
}

std::optional<Generator> optional_generator(nb::handle h, const char* what) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  VT_CHECK_TYPE(nb::isinstance<Generator>(h), what, "(): argument 'generator' must be a vt.core.Generator, not ",
                nb::inst_name(h).c_str());
  return nb::cast<const Generator&>(h);
}

// An int argument (not a bool or float), as torch's int parameters.
int64_t int_value(nb::handle h, const char* what, const char* name) {
  VT_CHECK_TYPE(!PyBool_Check(h.ptr()) && PyIndex_Check(h.ptr()), what, "(): argument '", name,
                "' must be int, not ", nb::inst_name(h).c_str());
  return nb::cast<int64_t>(nb::steal(PyNumber_Index(h.ptr())));
}

// randint's and randint_like's (low=0, high) in torch's overloads: one positional value is
// high; two are low and high. Keywords fill the names not given positionally.
std::pair<int64_t, int64_t> low_high(const std::vector<nb::handle>& pos, nb::handle low, nb::handle high,
                                     const char* what) {
  std::vector<nb::handle> vals = pos;
  if (!low.is_none()) {
    VT_CHECK_TYPE(vals.size() < 2 || !high.is_none(), what, "(): got multiple values for argument 'low'");
    vals.insert(vals.begin(), low);
  }
  if (!high.is_none()) vals.push_back(high);
  VT_CHECK_TYPE(!vals.empty() && vals.size() <= 2 && (low.is_none() || vals.size() == 2), what,
                "(): expected (high) or (low, high), got ", vals.size(), " values");
  if (vals.size() == 1) return {0, int_value(vals[0], what, "high")};
  return {int_value(vals[0], what, "low"), int_value(vals[1], what, "high")};
}

// A random like-factory keeps input's layout (its own kernel) unless memory_format=
// contiguous_format or another device asks for more: then the sized factory makes it, on the
// device returned here.
std::optional<Device> sized_like_device(const Tensor& input, nb::handle memory_format, nb::handle device,
                                        const char* op) {
  auto dev = optional_device(device, op);
  if (like_keeps_strides(memory_format, input, op) && (!dev || *dev == input.device())) return std::nullopt;
  return dev.value_or(input.device());
}

nb::object same(nb::handle self) { return nb::borrow(self); }
const Tensor& tensor_of(nb::handle self) { return nb::cast<const Tensor&>(self); }

void bind_generator(nb::module_& m) {
  nb::class_<Generator>(m, "Generator", "A random number generator: a seed and a Philox counter offset.")
      .def("__init__", [](Generator* g, nb::handle device) {
        new (g) Generator(device.is_none() ? kCPU : to_device(device, "Generator"));
      }, nb::arg("device") = "cpu")
      .def_prop_ro("device", [](const Generator& g) { return device_object(g.device()); })
      .def("manual_seed", [](nb::handle self, nb::handle seed) {
        nb::cast<Generator&>(self).manual_seed(seed_value(seed, "manual_seed"));
        return same(self);
      }, nb::arg("seed"), "Sets the seed (and rewinds the stream); returns self.")
      .def("seed", [](Generator& g) { return g.seed(); },
           "Seeds from a nondeterministic source and returns the seed.")
      .def("initial_seed", &Generator::initial_seed)
      .def("get_state", &Generator::get_state, "The state: 16 bytes (seed, offset) as a uint8 tensor.")
      .def("set_state", [](nb::handle self, nb::handle state) {
        VT_CHECK_TYPE(as_tensor(state), "set_state(): expected a uint8 vt tensor, but got ",
                      nb::inst_name(state).c_str());
        nb::cast<Generator&>(self).set_state(*as_tensor(state));
        return same(self);
      }, nb::arg("new_state"));

  // The CPU default generator is one Python object, as torch.default_generator.
  m.attr("default_generator") = nb::cast(default_generator(kCPU));
  nb::handle mod = m;
  m.def("manual_seed", [mod](nb::handle seed) {
    // torch.manual_seed takes int(seed), so floats and bools are accepted there.
    nb::object as_int = nb::steal(PyNumber_Long(seed.ptr()));
    if (!as_int.is_valid()) throw nb::python_error();
    vt::manual_seed(seed_value(as_int, "manual_seed"));
    return mod.attr("default_generator");
  }, nb::arg("seed"), "Seeds every default generator; returns the CPU one.");
  m.def("seed", [] { return default_generator(kCPU).seed(); });
  m.def("initial_seed", [] { return default_generator(kCPU).initial_seed(); });
  m.def("get_rng_state", [] { return default_generator(kCPU).get_state(); });
  m.def("set_rng_state", [](nb::handle state) {
    VT_CHECK_TYPE(as_tensor(state), "set_rng_state(): expected a uint8 vt tensor, but got ",
                  nb::inst_name(state).c_str());
    default_generator(kCPU).set_state(*as_tensor(state));
  }, nb::arg("new_state"));
}

}  // namespace

void bind_random_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  bind_generator(m);
  auto gen_of = [](nb::handle g, const char* what) { return optional_generator(g, what); };

  // Factories.
  m.def("rand", [=](nb::args args, nb::handle size, nb::handle generator, nb::handle dtype, nb::handle device) {
    return vt::rand(size_from_args(args, size, "rand"), gen_of(generator, "rand"),
                    to_optional_dtype(dtype, "rand"), optional_device(device, "rand"));
  }, nb::arg("args"), nb::arg("size") = nb::none(), nb::arg("generator") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("randn", [=](nb::args args, nb::handle size, nb::handle generator, nb::handle dtype, nb::handle device) {
    return vt::randn(size_from_args(args, size, "randn"), gen_of(generator, "randn"),
                     to_optional_dtype(dtype, "randn"), optional_device(device, "randn"));
  }, nb::arg("args"), nb::arg("size") = nb::none(), nb::arg("generator") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("randint", [=](nb::args args, nb::handle low, nb::handle high, nb::handle size, nb::handle generator,
                       nb::handle dtype, nb::handle device) {
    std::vector<nb::handle> pos(args.begin(), args.end());
    if (size.is_none()) {
      VT_CHECK_TYPE(!pos.empty(), "randint(): missing argument 'size'");
      size = pos.back();
      pos.pop_back();
    }
    VT_CHECK_TYPE(PySequence_Check(size.ptr()), "randint(): argument 'size' must be a sequence of ints, not ",
                  nb::inst_name(size).c_str());
    auto [lo, hi] = low_high(pos, low, high, "randint");
    return vt::randint(lo, hi, int_list(size, "randint"), gen_of(generator, "randint"),
                       to_optional_dtype(dtype, "randint"), optional_device(device, "randint"));
  }, nb::arg("args"), nb::arg("low") = nb::none(), nb::arg("high") = nb::none(), nb::arg("size") = nb::none(),
     nb::arg("generator") = nb::none(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  // out= gives the dtype and device unless they are given; vt does not resize it.
  m.def("randperm", [=](int64_t n, nb::handle generator, nb::handle out, nb::handle dtype,
                        nb::handle device) -> nb::object {
    auto gen = gen_of(generator, "randperm");
    auto dt = to_optional_dtype(dtype, "randperm");
    auto dev = optional_device(device, "randperm");
    if (out.is_none()) return nb::cast(vt::randperm(n, gen, dt, dev));
    const Tensor o = require_tensor(out, "randperm");
    Tensor r = vt::randperm(n, gen, dt.value_or(o.dtype()), dev.value_or(o.device()));
    check_out("randperm", o, r.sizes(), r.dtype());
    vt::copy_(o, r);
    return nb::borrow(out);
  }, nb::arg("n"), nb::kw_only(), nb::arg("generator") = nb::none(), nb::arg("out") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("normal", [=](nb::handle mean, nb::handle std, nb::handle size, nb::handle generator,
                      nb::handle dtype, nb::handle device) -> Tensor {
    auto gen = gen_of(generator, "normal");
    const Tensor* mt = as_tensor(mean);
    const Tensor* st = as_tensor(std);
    VT_CHECK_TYPE(size.is_none() == (mt || st) && ((mt || st) ? dtype.is_none() && device.is_none() : true),
                  "normal(): expected (Tensor mean, Tensor std), (Tensor mean, float std), "
                  "(float mean, Tensor std) or (float mean, float std, size, *, dtype, device)");
    if (mt && st) return vt::normal(*mt, *st, gen);
    if (mt) return vt::normal(*mt, std.is_none() ? 1.0 : require_scalar(std, "normal").to_double(), gen);
    if (st) return vt::normal(require_scalar(mean, "normal").to_double(), *st, gen);
    return vt::normal(require_scalar(mean, "normal").to_double(),
                      std.is_none() ? 1.0 : require_scalar(std, "normal").to_double(),
                      int_list(size, "normal"), gen, to_optional_dtype(dtype, "normal"),
                      optional_device(device, "normal"));
  }, nb::arg("mean"), nb::arg("std") = nb::none(), nb::arg("size") = nb::none(), nb::kw_only(),
     nb::arg("generator") = nb::none(), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());

  // Like-tensors.
  m.def("rand_like", [=](const Tensor& input, nb::handle generator, nb::handle memory_format, nb::handle dtype,
                         nb::handle device) {
    auto dt = to_optional_dtype(dtype, "rand_like");
    auto gen = gen_of(generator, "rand_like");
    if (auto dev = sized_like_device(input, memory_format, device, "rand_like"))
      return vt::rand(input.sizes(), gen, dt.value_or(input.dtype()), *dev);
    return vt::rand_like(input, dt, gen);
  }, nb::arg("input"), nb::kw_only(), nb::arg("generator") = nb::none(), nb::arg("memory_format") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("randn_like", [=](const Tensor& input, nb::handle generator, nb::handle memory_format, nb::handle dtype,
                          nb::handle device) {
    auto dt = to_optional_dtype(dtype, "randn_like");
    auto gen = gen_of(generator, "randn_like");
    if (auto dev = sized_like_device(input, memory_format, device, "randn_like"))
      return vt::randn(input.sizes(), gen, dt.value_or(input.dtype()), *dev);
    return vt::randn_like(input, dt, gen);
  }, nb::arg("input"), nb::kw_only(), nb::arg("generator") = nb::none(), nb::arg("memory_format") = nb::none(),
     nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none());
  m.def("randint_like", [=](const Tensor& input, nb::args args, nb::handle low, nb::handle high,
                            nb::handle generator, nb::handle memory_format, nb::handle dtype, nb::handle device) {
    auto [lo, hi] = low_high(std::vector<nb::handle>(args.begin(), args.end()), low, high, "randint_like");
    auto dt = to_optional_dtype(dtype, "randint_like");
    auto gen = gen_of(generator, "randint_like");
    if (auto dev = sized_like_device(input, memory_format, device, "randint_like"))
      return vt::randint(lo, hi, input.sizes(), gen, dt.value_or(input.dtype()), *dev);
    return vt::randint_like(input, lo, hi, dt, gen);
  }, nb::arg("input"), nb::arg("args"), nb::arg("low") = nb::none(), nb::arg("high") = nb::none(),
     nb::arg("generator") = nb::none(), nb::arg("memory_format") = nb::none(), nb::arg("dtype") = nb::none(),
     nb::arg("device") = nb::none());

  // Sampling from tensors.
  auto bernoulli_fn = [=](const Tensor& input, nb::handle p, nb::handle generator) {
    auto gen = gen_of(generator, "bernoulli");
    if (p.is_none()) return vt::bernoulli(input, gen);
    return vt::bernoulli(input, require_scalar(p, "bernoulli").to_double(), gen);
  };
  m.def("bernoulli", bernoulli_fn, nb::arg("input"), nb::arg("p") = nb::none(), nb::kw_only(),
        nb::arg("generator") = nb::none());
  cls.def("bernoulli", bernoulli_fn, nb::arg("p") = nb::none(), nb::kw_only(), nb::arg("generator") = nb::none());
  auto multinomial_fn = [=](const Tensor& input, int64_t n, bool replacement, nb::handle generator) {
    return vt::multinomial(input, n, replacement, gen_of(generator, "multinomial"));
  };
  m.def("multinomial", multinomial_fn, nb::arg("input"), nb::arg("num_samples"), nb::arg("replacement") = false,
        nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("multinomial", multinomial_fn, nb::arg("num_samples"), nb::arg("replacement") = false,
          nb::kw_only(), nb::arg("generator") = nb::none());

  // In-place sampling methods.
  cls.def("uniform_", [=](nb::handle self, double from, double to, nb::handle generator) {
    vt::uniform_(tensor_of(self), from, to, gen_of(generator, "uniform_"));
    return same(self);
  }, nb::arg("from") = 0.0, nb::arg("to") = 1.0, nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("normal_", [=](nb::handle self, double mean, double std, nb::handle generator) {
    vt::normal_(tensor_of(self), mean, std, gen_of(generator, "normal_"));
    return same(self);
  }, nb::arg("mean") = 0.0, nb::arg("std") = 1.0, nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("exponential_", [=](nb::handle self, double lambd, nb::handle generator) {
    vt::exponential_(tensor_of(self), lambd, gen_of(generator, "exponential_"));
    return same(self);
  }, nb::arg("lambd") = 1.0, nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("bernoulli_", [=](nb::handle self, nb::handle p, nb::handle generator) {
    auto gen = gen_of(generator, "bernoulli_");
    if (const Tensor* pt = as_tensor(p)) vt::bernoulli_(tensor_of(self), *pt, gen);
    else vt::bernoulli_(tensor_of(self), require_scalar(p, "bernoulli_").to_double(), gen);
    return same(self);
  }, nb::arg("p") = 0.5, nb::kw_only(), nb::arg("generator") = nb::none());
  // torch's three forms: random_(from, to), random_(to), random_(); to=None means up to the
  // dtype's largest value.
  cls.def("random_", [=](nb::handle self, nb::handle from, nb::handle to, nb::handle generator) {
    std::optional<int64_t> upper;
    if (!to.is_none()) upper = int_value(to, "random_", "to");
    vt::random_(tensor_of(self), int_value(from, "random_", "from"), upper, gen_of(generator, "random_"));
    return same(self);
  }, nb::arg("from"), nb::arg("to").none(), nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("random_", [=](nb::handle self, nb::handle to, nb::handle generator) {
    vt::random_(tensor_of(self), 0, int_value(to, "random_", "to"), gen_of(generator, "random_"));
    return same(self);
  }, nb::arg("to"), nb::kw_only(), nb::arg("generator") = nb::none());
  cls.def("random_", [=](nb::handle self, nb::handle generator) {
    vt::random_(tensor_of(self), 0, std::nullopt, gen_of(generator, "random_"));
    return same(self);
  }, nb::kw_only(), nb::arg("generator") = nb::none());
}

}  // namespace vt::py
