"""Helpers shared by vt-core's Python tests: moving values between vt and torch, and one comparison.

Test modules import them by name: ``from reference import assert_same, from_torch, to_torch``.

torch is the reference implementation: every value vt computes is compared with what torch
computes for the same input. numpy has no bfloat16, so bfloat16 travels as float32 (exactly).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import vt.core as vt  # noqa: E402  (after the torch check, so a missing torch skips cleanly)


def torch_dtype(vt_dtype):
    """The torch dtype with the same name as a vt dtype (vt.float32 -> torch.float32)."""
    return getattr(torch, vt_dtype.name)


def to_torch(t) -> "torch.Tensor":
    """A contiguous torch tensor holding a copy of the values of vt tensor ``t`` (same dtype and shape).

    Strides are not carried over; compare them with ``assert_same(..., check_stride=True)``.
    """
    if t.dtype == vt.bfloat16:
        return torch.from_numpy(np.array(t.float().numpy(), copy=True)).to(torch.bfloat16)
    return torch.from_numpy(np.array(t.numpy(), copy=True))


def from_torch(t: "torch.Tensor"):
    """A new vt tensor with the values, dtype and dense layout (strides) of CPU torch tensor ``t``.

    Kernels must see non-contiguous inputs exactly as torch does, or layout tests prove nothing.
    """
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return from_torch(t.float()).to(vt.bfloat16)
    if t.is_contiguous() or t.numel() == 0 or t.dim() < 2:
        return vt.tensor(t.contiguous().numpy())
    perm = sorted(range(t.dim()), key=lambda d: -t.stride(d))
    dense = vt.tensor(t.permute(perm).contiguous().numpy())
    return dense.permute(*[perm.index(d) for d in range(t.dim())])


def assert_same(actual, expected: "torch.Tensor", check_stride: bool = False, **close_kwargs) -> None:
    """Asserts vt tensor ``actual`` matches torch tensor ``expected``.

    Compares the dtype name, the shape and the values: exactly for integer and bool dtypes,
    with ``torch.testing.assert_close`` for floating dtypes (NaNs compare equal; pass ``rtol=0,
    atol=0`` for an exact comparison). With ``check_stride`` the strides must match as well.
    """
    assert isinstance(actual, vt.Tensor), f"expected a vt tensor, got {type(actual).__name__}"
    expected_name = str(expected.dtype).removeprefix("torch.")
    assert actual.dtype.name == expected_name, f"dtype {actual.dtype.name} != torch's {expected_name}"
    assert actual.shape == tuple(expected.shape), f"shape {actual.shape} != torch's {tuple(expected.shape)}"
    if check_stride:
        assert actual.stride() == expected.stride(), f"stride {actual.stride()} != torch's {expected.stride()}"
    values = to_torch(actual)
    if expected.is_floating_point():
        torch.testing.assert_close(values, expected.detach().cpu(), equal_nan=True, **close_kwargs)
    else:
        assert torch.equal(values, expected.detach().cpu()), f"values differ:\n{values}\n!= torch's\n{expected}"
