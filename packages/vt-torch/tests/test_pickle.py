"""Pickling vt tensors (vt/torch/_pickle.py): round trips keep dtype, shape, values and
requires_grad; views come back contiguous; malformed pickles are refused; tensors cross processes."""

from __future__ import annotations

import copy
import multiprocessing
import pickle

import pytest
import torch as real_torch
from reference import assert_same, from_torch
from vt import torch
from vt.torch import _pickle

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def _sample(dtype_name: str, shape=(3, 4)) -> real_torch.Tensor:
    gen = real_torch.Generator().manual_seed(0)
    values = real_torch.randn(shape, generator=gen, dtype=real_torch.float64) * 50
    if dtype_name == "bool":
        return values > 0
    if dtype_name == "uint8":
        return values.abs().to(real_torch.uint8)
    return values.to(getattr(real_torch, dtype_name))


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_round_trip_every_dtype(dtype_name, protocol):
    expected = _sample(dtype_name)
    got = pickle.loads(pickle.dumps(from_torch(expected), protocol=protocol))
    assert_same(got, expected, rtol=0, atol=0)
    assert got.is_contiguous() and not got.requires_grad


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16", "float32"])
def test_special_float_values_survive(dtype_name):
    expected = real_torch.tensor([float("inf"), -float("inf"), float("nan"), -0.0, 1e-3],
                                 dtype=getattr(real_torch, dtype_name))
    assert_same(pickle.loads(pickle.dumps(from_torch(expected))), expected, rtol=0, atol=0)
    assert str(pickle.loads(pickle.dumps(torch.tensor([-0.0])))[0].item()) == "-0.0"


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,)])
def test_scalar_and_empty_shapes(shape):
    expected = _sample("float32", shape)
    assert_same(pickle.loads(pickle.dumps(from_torch(expected))), expected, rtol=0, atol=0)


def test_views_come_back_as_contiguous_copies():
    expected = _sample("float64", (4, 6))
    view = from_torch(expected).transpose(0, 1)[1:, ::2]
    got = pickle.loads(pickle.dumps(view))
    assert_same(got, expected.transpose(0, 1)[1:, ::2], rtol=0, atol=0)
    assert got.is_contiguous()
    offset_rows = from_torch(expected)[2:]  # contiguous, but starting inside its storage
    assert_same(pickle.loads(pickle.dumps(offset_rows)), expected[2:], rtol=0, atol=0)


def test_requires_grad_is_kept_and_the_copy_is_a_leaf():
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    non_leaf = leaf * 3
    for t in (leaf, non_leaf):
        got = pickle.loads(pickle.dumps(t))
        assert got.requires_grad and got.is_leaf and got.grad_fn is None
    got = pickle.loads(pickle.dumps(non_leaf))
    (got * got).sum().backward()
    assert got.grad.tolist() == [6.0, 12.0]


def test_copy_is_independent_of_the_original():
    t = torch.arange(4.0)
    got = pickle.loads(pickle.dumps(t))
    t.add_(1)
    assert got.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_shallow_copy_shares_memory_like_torch():
    for lib in (real_torch, torch):
        t = lib.arange(3.0).requires_grad_()
        alias = copy.copy(t)
        with lib.no_grad():
            alias.add_(1)
        assert t.tolist() == [1.0, 2.0, 3.0] and alias.requires_grad and alias.is_leaf and alias is not t


class _Tagged(torch.Tensor):
    pass


def test_subclass_and_its_attributes_survive():
    t = _Tagged.__new__(_Tagged)
    torch.Tensor.__init__(t, torch.arange(3.0))
    t.tag = "train"
    got = pickle.loads(pickle.dumps(t))
    assert type(got) is _Tagged and got.tag == "train" and got.tolist() == [0.0, 1.0, 2.0]


def test_containers_and_devices_pickle():
    batch = {"x": torch.ones(2, 2), "y": [torch.tensor([True]), torch.device("cpu")], "dtype": torch.bfloat16}
    got = pickle.loads(pickle.dumps(batch))
    assert got["x"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert got["y"][0].dtype == torch.bool and str(got["y"][1]) == "cpu" and got["dtype"] == torch.bfloat16


@pytest.mark.parametrize("args, error, message", [
    (("complex64", (2,), "cpu", False, b"\0" * 16), ValueError, "unknown dtype"),
    (("float32", (2, -1), "cpu", False, b""), ValueError, "negative size"),
    (("float32", (3,), "cpu", False, b"\0" * 8), ValueError, "expected 12 bytes"),
    (("float32", [2], "cpu", False, b"\0" * 8), TypeError, "shape must be a tuple of ints"),
    (("float32", (2.0,), "cpu", False, b"\0" * 8), TypeError, "shape must be a tuple of ints"),
    (("int64", (1,), "cpu", False, "not bytes"), TypeError, "expected bytes data"),
    (("int64", (1,), None, False, b"\0" * 8), TypeError, "a device string"),
])
def test_malformed_pickles_are_refused(args, error, message):
    with pytest.raises(error, match=message):
        _pickle._rebuild_tensor(*args)


def test_malformed_subclass_pickles_are_refused():
    tensor_args = ("float32", (0,), "cpu", False, b"")
    with pytest.raises(TypeError, match="not a Tensor subclass"):
        _pickle._rebuild_subclass(dict, tensor_args, {})
    with pytest.raises(TypeError, match="state must be a dict"):
        _pickle._rebuild_subclass(_Tagged, tensor_args, [])


def _echo_doubled(inbox, outbox):
    outbox.put(inbox.get(timeout=30) * 2)


def test_tensor_crosses_a_process_boundary():
    ctx = multiprocessing.get_context("fork")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    worker = ctx.Process(target=_echo_doubled, args=(inbox, outbox))
    worker.start()
    expected = _sample("bfloat16")
    inbox.put(from_torch(expected))
    got = outbox.get(timeout=30)
    worker.join(timeout=30)
    assert_same(got, expected * 2, rtol=0, atol=0)


def test_parameters_and_modules_pickle_like_torch():
    p = torch.nn.Parameter(torch.randn(2, 3))
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is torch.nn.Parameter and q.requires_grad and q.is_leaf and torch.equal(p, q)
    frozen = pickle.loads(pickle.dumps(torch.nn.Parameter(torch.ones(2), requires_grad=False)))
    assert type(frozen) is torch.nn.Parameter and not frozen.requires_grad
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    clone = pickle.loads(pickle.dumps(model))
    x = torch.randn(5, 3)
    assert torch.equal(clone(x), model(x)) and type(clone[0].weight) is torch.nn.Parameter
