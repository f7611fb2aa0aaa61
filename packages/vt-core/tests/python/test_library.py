"""Ops defined from Python, boxed calls by name, and the Python wrapper layer."""

from __future__ import annotations

import threading

import pytest

import vt.core as vt
from vt.core import library


def test_boxed_call_of_a_core_op_with_kwargs_and_defaults():
    a = vt.tensor([1.0, 2.0])
    assert vt.ops.vt.add.Tensor(a, a, alpha=3).tolist() == [4.0, 8.0]
    assert vt.ops.vt.add.Tensor(a, a).tolist() == [2.0, 4.0]
    assert vt.ops.vt.sum(vt.ones(2, 3), [1], True).shape == (2, 1)
    assert vt.ops.vt.add.Tensor.schema.startswith("vt::add.Tensor(Tensor self")


def test_boxed_call_checks_argument_types():
    a = vt.tensor([1.0])
    with pytest.raises(TypeError, match="argument 'other' must be Tensor"):
        vt.ops.vt.add.Tensor(a, 1.0)
    with pytest.raises(TypeError, match="missing required argument 'other'"):
        vt.ops.vt.add.Tensor(a)
    with pytest.raises(TypeError, match="unexpected keyword"):
        vt.ops.vt.add.Tensor(a, a, beta=2)
    with pytest.raises(TypeError, match="positional arguments"):
        vt.ops.vt.neg(a, a)


def test_define_and_python_kernel_round_trip():
    library.define("pytest_lib::axpy(Tensor x, Tensor y, float a=2.0) -> Tensor")

    @library.impl("pytest_lib::axpy", "cpu")
    def axpy(x, y, a):
        return x * a + y

    x, y = vt.tensor([1.0, 2.0]), vt.tensor([10.0, 20.0])
    assert vt.ops.pytest_lib.axpy(x, y).tolist() == [12.0, 24.0]
    assert vt.ops.pytest_lib.axpy(x, y, a=0.5).tolist() == [10.5, 21.0]


def test_redefining_with_another_schema_is_refused():
    library.define("pytest_lib::one(Tensor x) -> Tensor")
    library.define("pytest_lib::one(Tensor x) -> Tensor")  # identical: fine
    with pytest.raises(ValueError, match="already defined"):
        library.define("pytest_lib::one(Tensor x, int k) -> Tensor")


@pytest.mark.parametrize("schema", ["noname(Tensor x) -> Tensor", "ns::f(Tensor x -> Tensor",
                                    "ns::f(Blob x) -> Tensor", "ns::f(Tensor x, Tensor x) -> Tensor",
                                    "ns::f(int x=None) -> Tensor"])
def test_bad_schemas_are_rejected(schema):
    with pytest.raises(ValueError, match="invalid op schema|needs a namespace"):
        library.define(schema)


def test_missing_kernel_is_not_implemented():
    library.define("pytest_lib::nokernel(Tensor x) -> Tensor")
    with pytest.raises(NotImplementedError, match="pytest_lib::nokernel.*cpu"):
        vt.ops.pytest_lib.nokernel(vt.ones(1))


def test_python_kernel_errors_keep_their_type():
    library.define("pytest_lib::fails(Tensor x) -> Tensor")

    @library.impl("pytest_lib::fails", "cpu")
    def fails(x):
        raise IndexError("kernel said no")

    with pytest.raises(IndexError, match="kernel said no"):
        vt.ops.pytest_lib.fails(vt.ones(1))


def test_python_kernel_must_return_a_tensor():
    library.define("pytest_lib::badret(Tensor x) -> Tensor")
    library.impl("pytest_lib::badret", "cpu", lambda x: 3)
    with pytest.raises(TypeError, match="where a Tensor was expected"):
        vt.ops.pytest_lib.badret(vt.ones(1))


def test_python_layer_wraps_and_redispatches():
    library.define("pytest_lib::double(Tensor x) -> Tensor")
    library.impl("pytest_lib::double", "cpu", lambda x: x * 2)
    seen = []

    @library.impl_layer("pytest_lib::double")
    def layer(op, x):
        seen.append(op.name)
        return op.call_below(library.LAYER_PYTHON, x) + 100

    x = vt.tensor([1.0])
    assert vt.ops.pytest_lib.double(x).tolist() == [2.0]  # no layer bit: layer skipped
    library.set_layer_mask(x, 1 << library.LAYER_PYTHON)
    assert vt.ops.pytest_lib.double(x).tolist() == [102.0]
    assert seen == ["pytest_lib::double"]
    y = vt.tensor([3.0])
    with library.include_layers(1 << library.LAYER_PYTHON):
        assert vt.ops.pytest_lib.double(y).tolist() == [106.0]
    assert vt.ops.pytest_lib.double(y).tolist() == [6.0]


def test_included_layers_are_thread_local():
    library.define("pytest_lib::tl(Tensor x) -> Tensor")
    library.impl("pytest_lib::tl", "cpu", lambda x: x)
    library.impl_layer("pytest_lib::tl", lambda op, x: op.call_below(library.LAYER_PYTHON, x) + 1)
    results = {}

    def other_thread():
        results["other"] = vt.ops.pytest_lib.tl(vt.zeros(1)).item()

    with library.include_layers(1 << library.LAYER_PYTHON):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        results["here"] = vt.ops.pytest_lib.tl(vt.zeros(1)).item()
    assert results == {"other": 0.0, "here": 1.0}


def test_core_ops_called_from_cpp_see_the_python_layer():
    # Layers wrap every caller: the C++ `+` path reaches the Python layer registered on add.Tensor.
    calls = []

    def layer(op, a, b, alpha):
        calls.append(op.name)
        return op.call_below(library.LAYER_PYTHON, a, b, alpha=alpha)

    library.impl_layer("vt::add.Tensor", layer)
    x = vt.tensor([1.0, 2.0])
    library.set_layer_mask(x, 1 << library.LAYER_PYTHON)
    assert (x + x).tolist() == [2.0, 4.0]
    assert calls == ["vt::add.Tensor"]
    library.set_layer_mask(x, 0)
    assert (x + x).tolist() == [2.0, 4.0] and len(calls) == 1


def test_api_capsule_and_abi_version():
    capsule = vt._C._api_capsule()
    assert type(capsule).__name__ == "PyCapsule"
    assert "vt.core.api" in repr(capsule)
    assert vt.abi_version() == (1, 2)
