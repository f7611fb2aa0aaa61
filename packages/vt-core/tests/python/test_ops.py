"""Forward tests driven by the op table: values, dtypes, shapes and strides against torch."""

from __future__ import annotations

import pytest
import torch

import vt.core as vt
from op_table import TOLERANCE, all_rows
from reference import assert_same, to_torch
from reference import from_torch as to_vt


def _cases():
    for op in all_rows():
        for dtype in op.dtypes:
            for sample in op.samples(dtype if dtype != "mixed" else "float32"):
                yield pytest.param(op, sample, id=f"{op.name}-{dtype}-{sample.desc}")


def _convert(value):
    return to_vt(value) if isinstance(value, torch.Tensor) else value


def _assert_matches(got: vt.Tensor, want: torch.Tensor, check_strides: bool) -> None:
    name = str(want.dtype).removeprefix("torch.")
    rtol, atol = TOLERANCE.get(name, (0, 0))
    tol = {"rtol": rtol, "atol": atol} if want.dtype.is_floating_point else {}
    assert_same(got, want, check_stride=check_strides and want.numel() > 1, **tol)


@pytest.mark.parametrize("op,sample", list(_cases()))
def test_forward_matches_torch(op, sample):
    want = op.torch_fn(*sample.args, **sample.kwargs)
    got = op.vt_fn(*[_convert(a) for a in sample.args], **sample.kwargs)
    _assert_matches(got, want, op.check_strides)


def test_table_inputs_reach_non_contiguous_layouts():
    # The transposed samples must arrive in vt with the same strides, or the layout tests lie.
    t = torch.arange(12.0).view(3, 4).t()
    assert to_vt(t).stride() == t.stride()
    assert not to_vt(t).is_contiguous()


@pytest.mark.parametrize("inplace", ["add_", "sub_", "mul_", "div_"])
@pytest.mark.parametrize("other_kind", ["tensor", "broadcast", "number"])
def test_inplace_matches_torch_and_bumps_version(inplace, other_kind):
    base = torch.linspace(1, 3, 12).view(3, 4)
    other = {"tensor": torch.linspace(2, 5, 12).view(3, 4), "broadcast": torch.tensor([1.5, 2, 3, 4]),
             "number": 2.5}[other_kind]
    want = getattr(base.clone(), inplace)(other)
    x = to_vt(base)
    version = x._version
    result = getattr(x, inplace)(_convert(other))
    assert result.data_ptr() == x.data_ptr()
    assert x._version > version
    _assert_matches(x, want, True)


def test_inplace_casts_to_self_dtype():
    # float32 += float64 computes in float64 and stores float32, as torch.
    x, y = torch.ones(3), torch.full((3,), 1 / 3, dtype=torch.float64)
    v = to_vt(x)
    v += to_vt(y)
    x += y
    _assert_matches(v, x, True)


def test_operators_and_reflected_forms():
    a = torch.arange(1.0, 7.0).view(2, 3)
    v = to_vt(a)
    for expr in (lambda t: t + 2, lambda t: 2 + t, lambda t: t - 2, lambda t: 2 - t,
                 lambda t: t * 3, lambda t: 3 * t, lambda t: t / 4, lambda t: 4 / t, lambda t: -t,
                 lambda t: t + t.sum(), lambda t: (t * t).mean(dim=1)):
        _assert_matches(expr(v), expr(a), True)


@pytest.mark.parametrize("a,b", [("int32", 2.5), ("float16", 3), ("uint8", -1), ("bool", True),
                                 ("int8", 1000), ("bfloat16", 1.5), ("int64", False)])
def test_result_type_with_python_numbers(a, b):
    want = torch.result_type(torch.ones(2, dtype=getattr(torch, a)), b)
    assert vt.result_type(vt.ones(2, dtype=getattr(vt, a)), b).name == str(want).removeprefix("torch.")


@pytest.mark.parametrize("a", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                               "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("b", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                               "bfloat16", "float32", "float64"])
def test_promote_types_matches_torch(a, b):
    want = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert vt.promote_types(getattr(vt, a), getattr(vt, b)).name == str(want).removeprefix("torch.")


def test_zero_dim_tensors_rank_below_dimensioned_ones():
    # A 0-dim float64 tensor does not promote a float32 tensor; a 0-dim float does promote an int.
    f = vt.ones(3) + vt.tensor(1.0, dtype=vt.float64)
    i = vt.ones(3, dtype=vt.int32) + vt.tensor(1.5, dtype=vt.float64)
    assert f.dtype == vt.float32 and i.dtype == vt.float64


def test_large_sum_is_accurate():
    # Parallel partial sums must combine exactly once each.
    x = torch.rand(1 << 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(to_torch(to_vt(x).sum()), x.sum(), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(to_torch(to_vt(x.view(1024, 1024)).sum(0)), x.view(1024, 1024).sum(0))
