// The nn op family: torch.nn.functional's softmax, losses, norms, embedding and dropout as vt.core
// functions (same names, signatures and defaults), Tensor.softmax / log_softmax, and the
// Python-level argument handling torch does in functional.py (reduction strings, legacy
// size_average / reduce, weighted mse / l1).
#include "bindings/common.h"
#include "bindings/ops_nn.h"

#include "ops/ops.h"

namespace vt::py {

void nn_warn(const std::string& message) {
  if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 2) < 0) throw nb::python_error();
}

std::optional<Tensor> nn_optional_tensor(nb::handle h, const char* op, const char* what) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  if (const Tensor* t = as_tensor(h)) return *t;
  fail(VT_ERROR_TYPE, op, "(): argument '", what, "' must be Tensor, not ", nb::inst_name(h).c_str());
}

namespace {

// torch's _Reduction: the legacy size_average / reduce pair wins when either is given.
int64_t reduction_of(nb::handle size_average, nb::handle reduce, const std::string& reduction) {
  if (!size_average.is_none() || !reduce.is_none()) {
    const bool average = size_average.is_none() || nb::cast<bool>(size_average);
    const bool reduced = reduce.is_none() || nb::cast<bool>(reduce);
    const char* r = !reduced ? "none" : average ? "mean" : "sum";
    nn_warn(std::string("size_average and reduce args will be deprecated, please use reduction='") + r +
         "' instead.");
    return !reduced ? 0 : average ? 1 : 2;
  }
  if (reduction == "none") return int64_t(Reduction::None);
  if (reduction == "mean") return int64_t(Reduction::Mean);
  if (reduction == "sum") return int64_t(Reduction::Sum);
  fail(VT_ERROR_VALUE, reduction, " is not a valid value for reduction");
}

// F.softmax(dim=None) picks a dim the legacy way, with torch's deprecation warning.
int64_t softmax_dim(const Tensor& input, nb::handle dim, const char* name) {
  if (!dim.is_none()) return nb::cast<int64_t>(dim);
  nn_warn(std::string("Implicit dimension choice for ") + name +
       " has been deprecated. Change the call to include dim=X as an argument.");
  return input.dim() == 0 || input.dim() == 1 || input.dim() == 3 ? 0 : 1;
}

// mse / l1 broadcast target against input, with torch's warning when the sizes differ; a
// weight (input's size) turns mean into sum(w * loss) / sum(w).
template <Tensor (*Loss)(const Tensor&, const Tensor&, int64_t)>
Tensor distance_loss(const Tensor& input, const Tensor& target, nb::handle size_average, nb::handle reduce,
                     const std::string& reduction, nb::handle weight) {
  if (!same_shape(input.sizes(), target.sizes()))
    nn_warn("Using a target size (" + shape_string(target.sizes()) + ") that is different to the input size (" +
         shape_string(input.sizes()) + "). This will likely lead to incorrect results due to "
         "broadcasting. Please ensure they have the same size.");
  const int64_t r = reduction_of(size_average, reduce, reduction);
  auto w = nn_optional_tensor(weight, "loss", "weight");
  if (!w) return Loss(input, target, r);
  VT_CHECK_VALUE(same_shape(w->sizes(), input.sizes()), "Weights and input must have the same size.");
  Tensor weighted = vt::mul(Loss(input, target, 0), *w);
  if (r == int64_t(Reduction::None)) return weighted;
  if (r == int64_t(Reduction::Sum)) return vt::sum(weighted);
  return vt::div(vt::sum(weighted), vt::sum(*w));
}

DimVector normalized_shape_of(nb::handle h, const char* op) {
  if (PyLong_Check(h.ptr()))
    fail(VT_ERROR_TYPE, op, "(): argument 'normalized_shape' (position 2) must be tuple of ints, not int");
  return int_list(h, op);
}

}  // namespace

void bind_nn_ops(nb::module_& m, nb::class_<Tensor>& cls) {
  cls.def("softmax", [](const Tensor& t, int64_t dim, nb::handle dtype) {
    auto dt = to_optional_dtype(dtype, "softmax");
    return without_gil_above(t.numel(), [&] { return vt::softmax(t, dim, dt); });
  }, nb::arg("dim"), nb::arg("dtype") = nb::none());
  cls.def("log_softmax", [](const Tensor& t, int64_t dim, nb::handle dtype) {
    auto dt = to_optional_dtype(dtype, "log_softmax");
    return without_gil_above(t.numel(), [&] { return vt::log_softmax(t, dim, dt); });
  }, nb::arg("dim"), nb::arg("dtype") = nb::none());
  // Each as torch.nn.functional's (input, dim, _stacklevel, dtype) and, for a dtype in third
  // place, as torch's own (input, dim, dtype).
  auto softmax_fn = [](const Tensor& t, nb::handle dim, int64_t, nb::handle dtype) {
    const int64_t d = softmax_dim(t, dim, "softmax");
    auto dt = to_optional_dtype(dtype, "softmax");
    return without_gil_above(t.numel(), [&] { return vt::softmax(t, d, dt); });
  };
  auto log_softmax_fn = [](const Tensor& t, nb::handle dim, int64_t, nb::handle dtype) {
    const int64_t d = softmax_dim(t, dim, "log_softmax");
    auto dt = to_optional_dtype(dtype, "log_softmax");
    return without_gil_above(t.numel(), [&] { return vt::log_softmax(t, d, dt); });
  };
  for (auto [name, fn] : {std::pair{"softmax", +softmax_fn}, std::pair{"log_softmax", +log_softmax_fn}}) {
    m.def(name, fn, nb::arg("input"), nb::arg("dim") = nb::none(), nb::arg("_stacklevel") = 3,
          nb::arg("dtype") = nb::none());
    m.def(name, [fn](const Tensor& t, nb::handle dim, nb::handle dtype) { return fn(t, dim, 3, dtype); },
          nb::arg("input"), nb::arg("dim"), nb::arg("dtype") = nb::none());
  }

  m.def("cross_entropy", [](const Tensor& input, const Tensor& target, nb::handle weight, nb::handle size_average,
                            int64_t ignore_index, nb::handle reduce, const std::string& reduction,
                            double label_smoothing) {
    auto w = nn_optional_tensor(weight, "cross_entropy", "weight");
    const int64_t r = reduction_of(size_average, reduce, reduction);
    return without_gil_above(input.numel(), [&] {
      return vt::cross_entropy(input, target, w, r, ignore_index, label_smoothing);
    });
  }, nb::arg("input"), nb::arg("target"), nb::arg("weight") = nb::none(), nb::arg("size_average") = nb::none(),
     nb::arg("ignore_index") = -100, nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean",
     nb::arg("label_smoothing") = 0.0);
  m.def("nll_loss", [](const Tensor& input, const Tensor& target, nb::handle weight, nb::handle size_average,
                       int64_t ignore_index, nb::handle reduce, const std::string& reduction) {
    return vt::nll_loss(input, target, nn_optional_tensor(weight, "nll_loss", "weight"),
                        reduction_of(size_average, reduce, reduction), ignore_index);
  }, nb::arg("input"), nb::arg("target"), nb::arg("weight") = nb::none(), nb::arg("size_average") = nb::none(),
     nb::arg("ignore_index") = -100, nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean");
  m.def("mse_loss", &distance_loss<&vt::mse_loss>, nb::arg("input"), nb::arg("target"),
        nb::arg("size_average") = nb::none(), nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean",
        nb::arg("weight") = nb::none());
  m.def("l1_loss", &distance_loss<&vt::l1_loss>, nb::arg("input"), nb::arg("target"),
        nb::arg("size_average") = nb::none(), nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean",
        nb::arg("weight") = nb::none());
  m.def("binary_cross_entropy", [](const Tensor& input, const Tensor& target, nb::handle weight,
                                   nb::handle size_average, nb::handle reduce, const std::string& reduction) {
    return vt::binary_cross_entropy(input, target, nn_optional_tensor(weight, "binary_cross_entropy", "weight"),
                                    reduction_of(size_average, reduce, reduction));
  }, nb::arg("input"), nb::arg("target"), nb::arg("weight") = nb::none(), nb::arg("size_average") = nb::none(),
     nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean");
  m.def("binary_cross_entropy_with_logits", [](const Tensor& input, const Tensor& target, nb::handle weight,
                                               nb::handle size_average, nb::handle reduce,
                                               const std::string& reduction, nb::handle pos_weight) {
    const char* op = "binary_cross_entropy_with_logits";
    return vt::binary_cross_entropy_with_logits(input, target, nn_optional_tensor(weight, op, "weight"),
                                                nn_optional_tensor(pos_weight, op, "pos_weight"),
                                                reduction_of(size_average, reduce, reduction));
  }, nb::arg("input"), nb::arg("target"), nb::arg("weight") = nb::none(), nb::arg("size_average") = nb::none(),
     nb::arg("reduce") = nb::none(), nb::arg("reduction") = "mean", nb::arg("pos_weight") = nb::none());

  // cudnn_enable(d): torch.layer_norm's / group_norm's backend switch; there is no cuDNN path here.
  m.def("layer_norm", [](const Tensor& input, nb::handle shape, nb::handle weight, nb::handle bias, double eps,
                         bool) {
    DimVector s = normalized_shape_of(shape, "layer_norm");
    auto w = nn_optional_tensor(weight, "layer_norm", "weight");
    auto b = nn_optional_tensor(bias, "layer_norm", "bias");
    return without_gil_above(input.numel(), [&] { return vt::layer_norm(input, s, w, b, eps); });
  }, nb::arg("input"), nb::arg("normalized_shape"), nb::arg("weight") = nb::none(), nb::arg("bias") = nb::none(),
     nb::arg("eps") = 1e-5, nb::arg("cudnn_enable") = true);
  m.def("rms_norm", [](const Tensor& input, nb::handle shape, nb::handle weight, std::optional<double> eps) {
    DimVector s = normalized_shape_of(shape, "rms_norm");
    auto w = nn_optional_tensor(weight, "rms_norm", "weight");
    return without_gil_above(input.numel(), [&] { return vt::rms_norm(input, s, w, eps); });
  }, nb::arg("input"), nb::arg("normalized_shape"), nb::arg("weight") = nb::none(), nb::arg("eps") = nb::none());
  m.def("group_norm", [](const Tensor& input, int64_t num_groups, nb::handle weight, nb::handle bias, double eps,
                         bool) {
    if (num_groups == 0) {  // torch divides by it in Python first
      PyErr_SetString(PyExc_ZeroDivisionError, "integer division or modulo by zero");
      throw nb::python_error();
    }
    return vt::group_norm(input, num_groups, nn_optional_tensor(weight, "group_norm", "weight"),
                          nn_optional_tensor(bias, "group_norm", "bias"), eps);
  }, nb::arg("input"), nb::arg("num_groups"), nb::arg("weight") = nb::none(), nb::arg("bias") = nb::none(),
     nb::arg("eps") = 1e-5, nb::arg("cudnn_enabled") = true);

  m.def("embedding", [](const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx,
                        nb::handle max_norm, double, bool scale_grad_by_freq, bool sparse) {
    if (!max_norm.is_none())
      fail(VT_ERROR_NOT_IMPLEMENTED, "embedding(): max_norm is not implemented in vt.core (it "
           "renormalizes rows of weight in place); pass max_norm=None");
    // Both change the gradient (scaled by inverse frequency, or a sparse tensor): refused
    // rather than silently computing the ordinary dense gradient.
    if (scale_grad_by_freq)
      fail(VT_ERROR_NOT_IMPLEMENTED, "embedding(): scale_grad_by_freq=True is not implemented");
    if (sparse)
      fail(VT_ERROR_NOT_IMPLEMENTED, "embedding(): sparse=True is not implemented (vt has no "
           "sparse tensors)");
    int64_t pad = -1;
    if (padding_idx) {
      const int64_t rows = weight.dim() > 0 ? weight.sizes()[0] : 0;
      if (*padding_idx >= rows || *padding_idx < -rows) {
        PyErr_SetString(PyExc_AssertionError, "Padding_idx must be within num_embeddings");
        throw nb::python_error();
      }
      pad = *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
    }
    return vt::embedding(weight, input, pad);
  }, nb::arg("input"), nb::arg("weight"), nb::arg("padding_idx") = nb::none(), nb::arg("max_norm") = nb::none(),
     nb::arg("norm_type") = 2.0, nb::arg("scale_grad_by_freq") = false, nb::arg("sparse") = false);

  auto dropout_fn = [](nb::handle input, double p, bool training, bool inplace) -> nb::object {
    const Tensor t = require_tensor(input, "dropout");
    if (inplace) {
      vt::dropout_(t, p, training);
      return nb::borrow(input);
    }
    Tensor r = vt::dropout(t, p, training);
    // Not training (or p == 0) returns the input object itself, as torch does.
    return r.is_same(t) ? nb::borrow(input) : nb::cast(std::move(r));
  };
  m.def("dropout", dropout_fn, nb::arg("input"), nb::arg("p") = 0.5, nb::arg("training") = true,
        nb::arg("inplace") = false);
  // torch.dropout's own form, reached by its keyword train.
  m.def("dropout", [dropout_fn](nb::handle input, double p, bool train) { return dropout_fn(input, p, train, false); },
        nb::arg("input"), nb::arg("p"), nb::arg("train"));

  bind_nn_spatial_ops(m);
}

}  // namespace vt::py
