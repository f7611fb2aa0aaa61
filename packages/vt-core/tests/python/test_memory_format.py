"""memory_format: the contiguous_format / preserve_format / channels_last objects and every op
taking memory_format=, each call made with torch's keywords in vt and in torch and compared
(values, strides, exception types)."""

from __future__ import annotations

import copy
import pickle

import pytest
import vt.core as vt
from reference import assert_same, from_torch

torch = pytest.importorskip("torch")

FORMATS = ["contiguous_format", "preserve_format", "channels_last"]


def exact(got, want, check_stride=True):
    assert_same(got, want, check_stride=check_stride, rtol=0, atol=0)


def transposed(m):
    """A non-contiguous (but dense) 3x4 tensor of 0..11 in module m."""
    return m.arange(12.0).reshape(4, 3).t()


@pytest.mark.parametrize("name", FORMATS)
def test_the_objects_are_interned_and_pickle_by_name(name):
    fmt = getattr(vt, name)
    assert isinstance(fmt, vt.memory_format)
    assert repr(fmt) == f"vt.{name}" and repr(getattr(torch, name)) == f"torch.{name}"
    assert pickle.loads(pickle.dumps(fmt)) is fmt and copy.deepcopy(fmt) is fmt
    assert len({vt.contiguous_format, vt.preserve_format, vt.channels_last}) == 3
    with pytest.raises(TypeError):
        vt.memory_format()


@pytest.mark.parametrize("name", ["contiguous_format", "preserve_format"])
def test_clone_follows_the_format_like_torch(name):
    got = transposed(vt).clone(memory_format=getattr(vt, name))
    exact(got, transposed(torch).clone(memory_format=getattr(torch, name)))
    exact(transposed(vt).clone(), transposed(torch).clone())


def test_contiguous_takes_only_contiguous_format():
    x, tx = transposed(vt), transposed(torch)
    exact(x.contiguous(memory_format=vt.contiguous_format), tx.contiguous(memory_format=torch.contiguous_format))
    y = x.contiguous()
    assert y.contiguous(memory_format=vt.contiguous_format) is y
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported by the contiguous operator"):
        x.contiguous(memory_format=vt.preserve_format)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        tx.contiguous(memory_format=torch.preserve_format)
    with pytest.raises(TypeError):  # keyword-only, as in torch
        x.contiguous(vt.contiguous_format)
    with pytest.raises(TypeError):
        tx.contiguous(torch.contiguous_format)


CHANNELS_LAST_CASES = {  # (shape, strides) of torch layouts; the answers come from torch
    "nchw": ((2, 3, 4, 5), (60, 20, 5, 1)),
    "nhwc": ((2, 3, 4, 5), (60, 1, 15, 3)),
    "size_one_channels": ((2, 1, 4, 5), (20, 20, 5, 1)),
    "single_pixel": ((1, 3, 1, 1), (3, 1, 3, 3)),
    "empty_batch": ((0, 3, 4, 5), (60, 1, 15, 3)),
    "gap": ((2, 3, 2, 5), (60, 1, 30, 3)),
    "three_dims": ((3, 4, 5), (20, 5, 1)),
}


@pytest.mark.parametrize("case", CHANNELS_LAST_CASES)
@pytest.mark.parametrize("name", FORMATS)
def test_is_contiguous_answers_for_every_format_like_torch(case, name):
    shape, strides = CHANNELS_LAST_CASES[case]
    t = torch.empty_strided(shape, strides)
    x = vt.empty(1000).as_strided(shape, strides)
    assert x.is_contiguous(memory_format=getattr(vt, name)) == t.is_contiguous(memory_format=getattr(torch, name))
    assert x.is_contiguous() == t.is_contiguous()


@pytest.mark.parametrize("call", [
    lambda m, x: x.clone(memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.channels_last),
    lambda m, x: x.to(m.float64, memory_format=m.channels_last),
    lambda m, x: m.empty_like(x, memory_format=m.channels_last),
    lambda m, x: m.zeros_like(x, memory_format=m.channels_last),
    lambda m, x: m.ones_like(x, memory_format=m.channels_last),
    lambda m, x: m.full_like(x, 2.0, memory_format=m.channels_last),
    lambda m, x: m.rand_like(x, memory_format=m.channels_last),
    lambda m, x: m.randn_like(x, memory_format=m.channels_last),
    lambda m, x: m.randint_like(x, 5, memory_format=m.channels_last),
    lambda m, x: m.empty(tuple(x.shape), memory_format=m.channels_last),
], ids=["clone", "contiguous", "to_float64", "empty_like", "zeros_like", "ones_like", "full_like", "rand_like",
        "randn_like", "randint_like", "empty"])
def test_channels_last_is_refused_naming_it(call):
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        call(torch, torch.zeros(2, 3))
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        call(vt, vt.zeros(2, 3))
    call(torch, torch.zeros(1, 2, 3, 4))  # torch makes an NHWC layout here; vt cannot
    with pytest.raises(NotImplementedError, match="channels_last is not implemented"):
        call(vt, vt.zeros(1, 2, 3, 4))


def test_wrong_memory_format_type_is_a_type_error():
    for call in (lambda m: m.zeros(2).clone(memory_format=1), lambda m: m.empty(2, memory_format="contiguous"),
                 lambda m: m.zeros_like(m.zeros(2), memory_format=m.float32)):
        with pytest.raises(TypeError, match="memory_format"):
            call(torch)
        with pytest.raises(TypeError, match="memory_format"):
            call(vt)


def test_empty_takes_contiguous_format_only():
    exact(vt.empty(2, 3, memory_format=vt.contiguous_format).zero_(),
          torch.empty(2, 3, memory_format=torch.contiguous_format).zero_())
    with pytest.raises(RuntimeError, match="unsupported memory format Preserve"):
        torch.empty(2, 3, memory_format=torch.preserve_format)
    with pytest.raises(RuntimeError, match="unsupported memory format Preserve"):
        vt.empty(2, 3, memory_format=vt.preserve_format)


LIKE = {
    "empty_like": lambda m, x, **kw: m.empty_like(x, **kw).zero_(),
    "zeros_like": lambda m, x, **kw: m.zeros_like(x, **kw),
    "ones_like": lambda m, x, **kw: m.ones_like(x, **kw),
    "full_like": lambda m, x, **kw: m.full_like(x, 7, **kw),
}


@pytest.mark.parametrize("like", LIKE)
@pytest.mark.parametrize("name", ["contiguous_format", "preserve_format"])
def test_like_factories_follow_the_format_like_torch(like, name):
    fn = LIKE[like]
    exact(fn(vt, transposed(vt), memory_format=getattr(vt, name), dtype=vt.float64),
          fn(torch, transposed(torch), memory_format=getattr(torch, name), dtype=torch.float64))


@pytest.mark.parametrize("call", [
    lambda m, x, f: m.rand_like(x, memory_format=f),
    lambda m, x, f: m.randn_like(x, memory_format=f),
    lambda m, x, f: m.randint_like(x, 3, 9, memory_format=f),
    lambda m, x, f: m.randint_like(x, high=9, memory_format=f, dtype=m.int64),
], ids=["rand_like", "randn_like", "randint_like", "randint_like_high"])
@pytest.mark.parametrize("name", ["contiguous_format", "preserve_format"])
def test_random_like_factories_follow_the_format_like_torch(call, name):
    got = call(vt, transposed(vt), getattr(vt, name))
    want = call(torch, transposed(torch), getattr(torch, name))
    assert got.shape == tuple(want.shape) and got.stride() == want.stride()
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")


def test_random_like_factories_take_a_device():
    x = transposed(vt)
    for fn in (vt.rand_like, vt.randn_like, lambda t, **kw: vt.randint_like(t, 4, **kw)):
        assert fn(x, device="cpu").stride() == x.stride() == (1, 3)
        assert fn(x, device=vt.device("cpu"), memory_format=vt.contiguous_format).stride() == (4, 1)


@pytest.mark.parametrize("call", [
    lambda m, x: x.to(m.float64, memory_format=m.contiguous_format),
    lambda m, x: x.to(m.float64, memory_format=m.preserve_format),
    lambda m, x: x.to(memory_format=m.contiguous_format, copy=True),
    lambda m, x: x.to(memory_format=m.preserve_format, copy=True),
    lambda m, x: x.to(dtype=m.int32, memory_format=m.contiguous_format),
], ids=["float64_contiguous", "float64_preserve", "copy_contiguous", "copy_preserve", "int32_contiguous"])
def test_to_shapes_its_copies_by_memory_format_like_torch(call):
    exact(call(vt, transposed(vt)), call(torch, transposed(torch)))


def test_to_and_cpu_return_the_tensor_itself_when_nothing_is_copied():
    x, tx = transposed(vt), transposed(torch)
    # torch applies memory_format to a copy only: no dtype or device change means no copy.
    assert tx.to(memory_format=torch.contiguous_format) is tx
    assert x.to(memory_format=vt.contiguous_format) is x
    assert x.to(dtype=vt.float32, device="cpu", memory_format=vt.preserve_format) is x
    nhwc, t_nhwc = vt.empty(120).as_strided((2, 3, 4, 5), (60, 1, 15, 3)), torch.empty((2, 4, 5, 3)).permute(0, 3, 1, 2)
    assert t_nhwc.to(memory_format=torch.channels_last) is t_nhwc
    assert nhwc.to(memory_format=vt.channels_last) is nhwc
    exact(nhwc.zero_().to(memory_format=vt.contiguous_format), t_nhwc.zero_().to(memory_format=torch.contiguous_format))
    # A CPU tensor's cpu() is the tensor itself, whatever format is asked for (torch's too).
    assert x.cpu(memory_format=vt.contiguous_format) is x
    assert tx.cpu(memory_format=torch.contiguous_format) is tx
    exact(from_torch(tx).cpu(memory_format=vt.contiguous_format), tx)
