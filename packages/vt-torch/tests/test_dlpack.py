"""vt.torch.utils.dlpack: capsules and __dlpack__ objects shared with torch and numpy without copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch as real_torch
import torch.utils.dlpack as real_dlpack
from reference import assert_same
from vt import torch
from vt.torch.utils import dlpack


def test_vt_capsule_becomes_a_torch_tensor_over_the_same_memory():
    t = torch.arange(6.0).reshape(2, 3)
    shared = real_dlpack.from_dlpack(dlpack.to_dlpack(t))
    assert_same(t, shared, rtol=0, atol=0)
    shared[0, 0] = 42.0
    assert t[0, 0].item() == 42.0


@pytest.mark.parametrize("dtype", [real_torch.float32, real_torch.int64, real_torch.bool, real_torch.float16])
def test_torch_tensors_and_capsules_become_vt_tensors(dtype):
    source = (real_torch.arange(12).reshape(3, 4) % 3).to(dtype)
    assert_same(dlpack.from_dlpack(source), source, rtol=0, atol=0)
    assert_same(dlpack.from_dlpack(real_dlpack.to_dlpack(source)), source, rtol=0, atol=0)
    view = source.t()
    assert_same(dlpack.from_dlpack(view), view, rtol=0, atol=0)


def test_copy_flag_and_numpy():
    array = np.arange(4.0)
    shared, copied = dlpack.from_dlpack(array), dlpack.from_dlpack(array, copy=True)
    array[0] = 9.0
    assert shared[0].item() == 9.0 and copied[0].item() == 0.0


def test_bad_inputs_raise_type_errors():
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        dlpack.to_dlpack([1.0])
    with pytest.raises(TypeError, match="from_dlpack"):
        dlpack.from_dlpack([1.0])
