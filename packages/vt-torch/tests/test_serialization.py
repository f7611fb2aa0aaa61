"""vt.torch.save / load: round trips of state dicts and nested containers, agreement with what
torch.save / torch.load give back for the same object, interop with the safetensors package,
and refusal of hostile or foreign files."""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch
import vt.torch as vtorch
from reference import assert_same
from vt.core import safetensors as core_safetensors
from vt.torch.serialization import STRUCTURE_KEY


def to_torch_tree(obj):
    """The same nested object with vt tensors replaced by torch tensors (for comparison)."""
    if isinstance(obj, vtorch.Tensor):
        return torch.from_numpy(obj.detach().float().numpy() if obj.dtype == vtorch.bfloat16 else
                                obj.detach().numpy().copy())
    if isinstance(obj, dict):
        return type(obj)((k, to_torch_tree(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch_tree(v) for v in obj)
    return obj


def assert_same_tree(got, want):
    assert type(got) is type(want) or (isinstance(want, dict) and isinstance(got, dict)), (type(got), type(want))
    if isinstance(want, torch.Tensor):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == want.dtype
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            assert_same_tree(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same_tree(g, w)
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want and type(got) is type(want)


def test_state_dict_round_trip_is_a_plain_safetensors_file(tmp_path):
    model = vtorch.nn.Sequential(vtorch.nn.Linear(4, 8), vtorch.nn.LayerNorm(8), vtorch.nn.Linear(8, 2))
    path = tmp_path / "model.safetensors"
    vtorch.save(model.state_dict(), path)
    loaded = vtorch.load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(model.state_dict())
    for k, v in model.state_dict().items():
        assert vtorch.equal(loaded[k], v)
    # The reference reader sees the same keys and values.
    reference = safetensors.torch.load_file(str(path))
    assert sorted(reference) == sorted(loaded)
    for k, v in reference.items():
        assert_same(loaded[k], v, rtol=0, atol=0)
    fresh = vtorch.nn.Sequential(vtorch.nn.Linear(4, 8), vtorch.nn.LayerNorm(8), vtorch.nn.Linear(8, 2))
    fresh.load_state_dict(loaded)
    x = vtorch.randn(3, 4)
    assert vtorch.equal(fresh(x), model(x))


def nested_object(make_tensor, dtypes):
    return {
        "epoch": 7, "lr": 3e-4, "name": "run-1", "flags": [True, False, None], "big": 2 ** 70,
        "special": [float("inf"), float("-inf"), float("nan"), -0.0], 3: ("int key", 2.5),
        "tensors": [make_tensor(np.arange(6, dtype=np.float32).reshape(2, 3), dtypes[0]),
                    make_tensor(np.array([1, -2, 3], dtype=np.int64), dtypes[1]),
                    make_tensor(np.array([True, False]), dtypes[2]),
                    make_tensor(np.zeros((0, 4), dtype=np.float64), dtypes[3])],
        "optimizer": {"state": {0: {"step": 3, "exp_avg": make_tensor(np.ones(2, np.float32), dtypes[0])}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
    }


def test_nested_containers_round_trip_like_torch_save(tmp_path):
    def vt_tensor(array, dtype):
        return vtorch.tensor(array.tolist() if array.size else [], dtype=dtype).reshape(array.shape)

    def torch_tensor(array, dtype):
        return torch.tensor(array.tolist() if array.size else [], dtype=dtype).reshape(array.shape)

    vt_obj = nested_object(vt_tensor, [vtorch.float32, vtorch.int64, vtorch.bool, vtorch.float64])
    torch_obj = nested_object(torch_tensor, [torch.float32, torch.int64, torch.bool, torch.float64])
    torch.save(torch_obj, tmp_path / "ref.pt")
    want = torch.load(tmp_path / "ref.pt")
    vtorch.save(vt_obj, tmp_path / "vt.safetensors")
    got = vtorch.load(tmp_path / "vt.safetensors")
    assert_same_tree(to_torch_tree(got), want)


def test_file_objects_and_dtypes_devices_and_low_precision():
    buffer = io.BytesIO()
    obj = {"dtype": vtorch.bfloat16, "device": vtorch.device("cpu"),
           "half": vtorch.tensor([1.5, -2.25], dtype=vtorch.float16),
           "bf16": vtorch.tensor([0.5, 3.0], dtype=vtorch.bfloat16)}
    vtorch.save(obj, buffer)
    buffer.seek(0)
    got = vtorch.load(buffer, map_location="cpu", weights_only=True)
    assert got["dtype"] == vtorch.bfloat16 and got["device"] == vtorch.device("cpu")
    assert got["half"].dtype == vtorch.float16 and got["half"].tolist() == [1.5, -2.25]
    assert got["bf16"].dtype == vtorch.bfloat16 and got["bf16"].float().tolist() == [0.5, 3.0]


def test_parameters_requires_grad_and_shared_tensors_survive(tmp_path):
    weight = vtorch.nn.Parameter(vtorch.randn(3, 3))
    frozen = vtorch.randn(2).requires_grad_()
    view = weight.detach()  # same memory and layout as the parameter: stored once
    vtorch.save({"w": weight, "tied": weight, "same_memory": view, "frozen": frozen}, tmp_path / "p.st")
    got = vtorch.load(tmp_path / "p.st")
    assert isinstance(got["w"], vtorch.nn.Parameter) and got["w"].requires_grad
    assert got["tied"] is got["w"]
    assert got["frozen"].requires_grad and got["frozen"].is_leaf
    assert not got["same_memory"].requires_grad
    with core_safetensors.safe_open(tmp_path / "p.st") as f:
        assert len(f.keys()) == 2  # the weight once, the frozen tensor once
    # Tied storage stays tied: writing through one name is seen through the other.
    with vtorch.no_grad():
        got["same_memory"][0, 0] = 42.0
    assert got["w"][0, 0].item() == 42.0


def test_non_contiguous_tensors_are_saved_as_their_values(tmp_path):
    base = vtorch.arange(12.0).reshape(3, 4)
    vtorch.save({"t": base.t(), "row": base[1], "step": base[:, ::2]}, tmp_path / "v.st")
    got = vtorch.load(tmp_path / "v.st")
    assert vtorch.equal(got["t"], base.t()) and vtorch.equal(got["row"], base[1])
    assert vtorch.equal(got["step"], base[:, ::2])


def test_unsupported_objects_raise_type_error_naming_the_place(tmp_path):
    with pytest.raises(TypeError, match=r"numpy.ndarray at the saved object\['opt'\]\[0\]"):
        vtorch.save({"opt": [np.zeros(2)]}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict keys"):
        vtorch.save({(1, 2): 1}, tmp_path / "x")
    with pytest.raises(ValueError, match="never pickles"):
        vtorch.save({}, tmp_path / "x", pickle_module=object())


def test_save_takes_torchs_defaults_and_refuses_other_pickle_modules(tmp_path):
    import copyreg
    import pickle

    state = {"w": vtorch.arange(3.0)}
    vtorch.save(state, tmp_path / "a", pickle, 2, True, False)  # torch's defaults, by position
    vtorch.save(state, tmp_path / "b", pickle_module=pickle, pickle_protocol=4, _use_new_zipfile_serialization=False,
                _disable_byteorder_record=True)
    for name in ("a", "b"):
        assert vtorch.equal(vtorch.load(tmp_path / name)["w"], state["w"])
    for other in (None, copyreg, "pickle"):
        with pytest.raises(ValueError, match="never pickles; pickle_module must be left at its default"):
            vtorch.save(state, tmp_path / "c", pickle_module=other)


def test_plain_safetensors_files_load_as_dicts(tmp_path):
    safetensors.torch.save_file({"a": torch.arange(4.0), "b": torch.ones(2, dtype=torch.int32)}, str(tmp_path / "f"))
    got = vtorch.load(tmp_path / "f")
    assert sorted(got) == ["a", "b"] and got["a"].tolist() == [0.0, 1.0, 2.0, 3.0]


def structure_file(tmp_path, document):
    path = tmp_path / "hostile.safetensors"
    core_safetensors.save_file({"x": vtorch.ones(2)}, path, metadata={STRUCTURE_KEY: document})
    return path


@pytest.mark.parametrize("document, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"version": 99, "root": {}}), "expected version 1"),
    (json.dumps({"version": 1, "root": {"kind": "tensor", "name": "missing"}}), "does not contain"),
    (json.dumps({"version": 1, "root": {"kind": "object", "value": "os.system"}}), "unknown node kind"),
    (json.dumps({"version": 1, "root": {"kind": "int", "value": "12x"}}), "int value"),
    (json.dumps({"version": 1, "root": {"kind": "dict", "items": [[1, 2]]}}), "expected an object"),
    (json.dumps({"version": 1, "root": {"kind": "dict", "items": [["k"]]}}), r"\[key, value\] pairs"),
    (json.dumps({"version": 1, "root": {"kind": "dtype", "value": "complex1024"}}), "dtype value"),
    (json.dumps({"version": 1, "root": {"kind": "dtype", "value": "Tensor"}}), "dtype value"),
    ('{"version": 1, "root": ' + '{"kind": "list", "items": [' * 5000 + ']}' * 5000 + '}', "nested deeper|JSON"),
])
def test_hostile_structures_raise_value_error(tmp_path, document, message):
    with pytest.raises(ValueError, match=message):
        vtorch.load(structure_file(tmp_path, document))


def test_torch_pickle_archives_are_refused_without_unpickling(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(RuntimeError, match="PyTorch pickle/zip archive"):
        vtorch.load(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="never unpickles"):
        vtorch.load(tmp_path / "model.pt", pickle_module=object())


def test_load_validates_the_safetensors_container(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}")
    with pytest.raises(ValueError):
        vtorch.load(tmp_path / "junk")
    with pytest.raises(TypeError, match="path or a readable"):
        vtorch.load(1234)


def test_optimizer_state_round_trip_continues_training_identically(tmp_path):
    def make():
        vtorch.manual_seed(0)
        model = vtorch.nn.Linear(3, 1)
        return model, vtorch.optim.AdamW(model.parameters(), lr=0.05)

    x, y = vtorch.randn(8, 3), vtorch.randn(8, 1)

    def train(model, opt, steps):
        for _ in range(steps):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss.item()

    model, opt = make()
    train(model, opt, 5)
    vtorch.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt")
    want = train(model, opt, 5)
    model2, opt2 = make()
    ckpt = vtorch.load(tmp_path / "ckpt")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    assert train(model2, opt2, 5) == want
