"""vt.torch's own top-level functions and torch's top-level calls through `import vt.torch as
torch` (numel, and the ops whose top-level arguments differ from torch.nn.functional's)."""

from __future__ import annotations

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

X = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))


def test_numel_takes_torchs_keyword():
    assert vtorch.numel(input=from_torch(X)) == torch.numel(input=X) == 12


@pytest.mark.parametrize("call", [
    lambda m, x: m.softmax(x, 1, m.float64),
    lambda m, x: m.log_softmax(x, dim=0, dtype=m.float64),
    lambda m, x: m.nn.functional.softmax(x, 1, 3, m.float64),
    lambda m, x: m.nn.functional.softmax(x, dim=1, _stacklevel=5),
    lambda m, x: m.dropout(x, 0.3, False),
    lambda m, x: m.nn.functional.dropout(x, 0.3, training=False),
    lambda m, x: m.layer_norm(x, (4,), None, None, 1e-5, True),
    lambda m, x: m.roll(x, 1),
    lambda m, x: m.nan_to_num(x.log(), None),
    lambda m, x: m.pow(x, exponent=2),
    lambda m, x: m.clamp_min(x, min=0),
    lambda m, x: m.norm(x, 2, 1, False, None, m.float64),
], ids=["softmax", "log_softmax", "functional_softmax", "functional_softmax_stacklevel", "dropout",
        "functional_dropout", "layer_norm", "roll", "nan_to_num", "pow", "clamp_min", "norm"])
def test_top_level_calls_with_torchs_arguments(call):
    assert_same(call(vtorch, from_torch(X)), call(torch, X))


@pytest.mark.parametrize("name", ["contiguous_format", "preserve_format", "channels_last"])
def test_memory_formats_are_vt_cores(name):
    assert getattr(vtorch, name) is getattr(vtorch._core, name)
    assert isinstance(getattr(vtorch, name), vtorch.memory_format)
