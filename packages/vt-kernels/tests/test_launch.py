"""Shared launch helpers (vt.kernels._launch)."""

import dataclasses

import pytest
import torch
from triton.experimental.gluon import language as gl
from triton.experimental.gluon.nvidia.hopper import TensorDescriptor as GluonDescriptor
from triton.tools.tensor_descriptor import TensorDescriptor

from vt.kernels._launch import prechecked_descriptor


def _fields(descriptor):
    return {f.name: getattr(descriptor, f.name) for f in dataclasses.fields(descriptor)}


@pytest.mark.parametrize("gluon", [False, True], ids=["triton", "gluon"])
def test_prechecked_descriptors_equal_checked_ones(gluon):
    x = torch.zeros(2, 3, 40, 64, dtype=torch.bfloat16)[:, :, 8:]  # a view, 16-byte aligned
    block = [1, 1, 16, 64]
    if gluon:
        layout = gl.NVMMASharedLayout.get_default_for(block, gl.bfloat16)
        checked = GluonDescriptor(x, list(x.shape), list(x.stride()), block, layout)
        fast = prechecked_descriptor(GluonDescriptor, x, block, layout)
    else:
        checked = TensorDescriptor(x, list(x.shape), list(x.stride()), block)
        fast = prechecked_descriptor(TensorDescriptor, x, block)
    assert type(fast) is type(checked)
    got, want = _fields(fast), _fields(checked)
    assert got.pop("base") is want.pop("base") is x
    assert got == want
