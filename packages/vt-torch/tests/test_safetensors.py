"""vt.torch.safetensors against the safetensors.torch API: same bytes, same refusals (shared or
non-contiguous tensors), save_model/load_model with tied weights."""

from __future__ import annotations

import pytest
import safetensors.torch as reference
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch
from vt.torch import safetensors as st


def test_save_gives_the_reference_bytes():
    g = torch.Generator().manual_seed(0)
    tensors = {"w": torch.randn(3, 4, generator=g), "b": torch.arange(5, dtype=torch.int64),
               "h": torch.randn(2, generator=g).half()}
    want = reference.save(tensors)
    got = st.save({k: from_torch(v) for k, v in tensors.items()})
    assert got == want
    loaded = st.load(got)
    for k, v in tensors.items():
        assert_same(loaded[k], v, rtol=0, atol=0)


def test_save_file_and_load_file_interoperate(tmp_path):
    vt_path, torch_path = tmp_path / "vt.safetensors", tmp_path / "torch.safetensors"
    st.save_file({"x": vtorch.arange(6.0).reshape(2, 3)}, vt_path, metadata={"note": "vt"})
    assert reference.load_file(str(vt_path))["x"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    reference.save_file({"y": torch.ones(2, 2)}, str(torch_path))
    assert st.load_file(torch_path)["y"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with st.safe_open(vt_path, framework="pt") as f:
        assert f.metadata() == {"note": "vt"} and isinstance(f.get_tensor("x"), torch.Tensor)


def test_shared_and_non_contiguous_tensors_are_refused_like_the_reference():
    base = vtorch.arange(8.0)
    with pytest.raises(RuntimeError, match="share memory"):
        st.save({"a": base, "b": base[2:6]})
    with pytest.raises(ValueError, match="non contiguous"):
        st.save({"t": base.reshape(2, 4).t()})
    torch_base = torch.arange(8.0)
    with pytest.raises(RuntimeError):
        reference.save({"a": torch_base, "b": torch_base[2:6]})
    with pytest.raises(ValueError):
        reference.save({"t": torch_base.reshape(2, 4).t()})
    # Adjacent slices of one buffer do not overlap and are fine in both.
    assert st.load(st.save({"a": base[:4], "b": base[4:]}))["b"].tolist() == [4.0, 5.0, 6.0, 7.0]


class Tied(vtorch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = vtorch.nn.Embedding(10, 4)
        self.head = vtorch.nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight


def test_save_model_writes_tied_weights_once_and_load_model_restores_them(tmp_path):
    model = Tied()
    path = tmp_path / "tied.safetensors"
    st.save_model(model, path)
    with st.safe_open(path, framework="vt") as f:
        assert f.keys() == ["embed.weight"] and f.metadata() == {"format": "pt"}
    fresh = Tied()
    missing, unexpected = st.load_model(fresh, path)
    assert missing == [] and unexpected == []
    assert vtorch.equal(fresh.head.weight, model.embed.weight)
    assert fresh.head.weight is fresh.embed.weight


def test_load_model_strict_reports_missing_and_unexpected(tmp_path):
    path = tmp_path / "lin.safetensors"
    st.save_file({"weight": vtorch.ones(2, 3), "extra": vtorch.ones(1)}, path)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\): "bias".*\n.*Unexpected key\(s\): "extra"'):
        st.load_model(vtorch.nn.Linear(3, 2), path)
    model = vtorch.nn.Linear(3, 2)
    assert st.load_model(model, path, strict=False) == (["bias"], ["extra"])
    assert model.weight.tolist() == [[1.0] * 3] * 2
