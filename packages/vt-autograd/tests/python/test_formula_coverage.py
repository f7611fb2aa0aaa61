"""Every op vt-core defines is accounted for: it has a derivative formula (its in-place and out=
forms share the functional one), or it is listed here as not differentiable or as a composite
whose parts are differentiated. A new op without either fails this test."""

from __future__ import annotations

import vt.autograd  # noqa: F401
import vt.core._C as core
from vt.autograd import _C

# Integer, bool or index results, factories and random sampling: nothing to differentiate.
NOT_DIFFERENTIABLE = {
    "all", "any", "arange", "argmax", "argmin", "argsort", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "empty", "empty_like", "eye", "full",
    "isfinite", "isinf", "isnan", "linspace", "logical_and", "logical_not", "logical_or", "logical_xor",
    "multinomial", "nonzero", "one_hot", "randperm", "unique",
    # torch has no derivative for these either; backward through them raises NotImplementedError
    "floor_divide", "scatter.value_reduce", "where.Scalar",
    # fused optimizer updates: they write parameters and state in place, under no_grad
    "_fused_adam", "_fused_sgd",
}
# Built from differentiable vt ops through the dispatcher: the layer records the parts.
COMPOSITE = {"einsum", "dropout"}
# Kernels behind another op's forward and formula (scaled_dot_product_attention's fused pass, the
# fused backward passes the formulas call when no graph of the backward is recorded), tested
# through that op's rows and vt-core's op table; called directly they raise NotImplementedError
# when backward reaches them.
INTERNAL = {
    "_sdpa_forward", "_sdpa_backward", "_gelu_backward", "_silu_backward", "_layer_norm_backward",
    "_rms_norm_backward", "_softmax_backward_data", "_log_softmax_backward_data", "_cross_entropy_backward",
}


def functional_name(name: str) -> str:
    """vt::mul_.Tensor -> mul.Tensor; vt::add.out -> add; vt::lerp.Scalar_out -> lerp.Scalar."""
    base, _, overload = name.removeprefix("vt::").partition(".")
    base = base[:-1] if base.endswith("_") else base
    if overload == "out" or overload.startswith("out_"):
        overload = ""
    elif overload.endswith("_out"):
        overload = overload[: -len("_out")]
    return f"{base}.{overload}" if overload else base


def test_every_op_has_a_formula_or_a_reason():
    with_formula = {functional_name(op) for op in _C.formula_ops()} | {op.removeprefix("vt::") for op in _C.formula_ops()}
    missing = []
    for schema in core._op_schemas():
        name = schema.split("(")[0]
        fn = functional_name(name)
        base = fn.split(".")[0]
        if name.removeprefix("vt::") in with_formula or fn in with_formula:
            continue
        if base in NOT_DIFFERENTIABLE or fn in NOT_DIFFERENTIABLE or base in COMPOSITE or base in INTERNAL:
            continue
        # out= forms of ops whose functional form is covered
        if any(f.split(".")[0] == base for f in with_formula) and ("out" in name.split(".")[-1]):
            continue
        missing.append(schema)
    assert not missing, "ops with no derivative and no reason:\n" + "\n".join(missing)
