"""Shape ops beyond the op table: errors (torch's exception type, a message naming the
problem), which results are views, in-place forms, and layouts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import vt.core as vt
from reference import assert_same, from_torch


def pad_of(m):
    return F.pad if m is torch else vt.pad


ERRORS = {
    # cat / stack
    "cat_empty_list": (lambda m: m.cat([]), ValueError, r"non-empty list of Tensors"),
    "cat_zero_dim": (lambda m: m.cat([m.ones(()), m.ones(())]), RuntimeError, r"zero-dimensional tensor \(at position 0\)"),
    "cat_sizes": (lambda m: m.cat([m.ones(2, 3), m.ones(3, 3)], 1), RuntimeError,
                  r"Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for tensor number 1"),
    "cat_ndim": (lambda m: m.cat([m.ones(2, 3), m.ones(3)]), RuntimeError, r"same number of dimensions: got 2 and 1"),
    "cat_dim": (lambda m: m.cat([m.ones(2, 3)], 2), IndexError, r"Dimension out of range"),
    "cat_not_tensors": (lambda m: m.cat([m.ones(2), 3]), TypeError, r"element 1"),
    "cat_tensor_not_list": (lambda m: m.cat(m.ones(2)), TypeError, r"tuple of Tensors"),
    "stack_empty": (lambda m: m.stack([]), RuntimeError, r"non-empty TensorList"),
    "stack_sizes": (lambda m: m.stack([m.ones(2), m.ones(3)]), RuntimeError,
                    r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"),
    "stack_dim": (lambda m: m.stack([m.ones(2)], 3), IndexError, r"Dimension out of range"),
    # split family
    "split_zero": (lambda m: m.ones(3).split(0), RuntimeError, r"split_size can only be 0 if dimension size is 0"),
    "split_negative": (lambda m: m.ones(3).split(-1), RuntimeError, r"non-negative, but got split_size=-1"),
    "split_sizes_sum": (lambda m: m.ones(3).split([1, 1]), RuntimeError, r"sum exactly to 3.*split_sizes=\[1, 1\]"),
    "split_sizes_negative": (lambda m: m.ones(3).split([4, -1]), RuntimeError, r"non-negative entries"),
    "split_0d": (lambda m: m.ones(()).split(1), RuntimeError, r"at least a 1-dimensional tensor"),
    "chunk_zero": (lambda m: m.ones(3).chunk(0), RuntimeError, r"greater than 0, got: 0"),
    "unbind_0d": (lambda m: m.ones(()).unbind(), IndexError, r"no dimensions"),
    "narrow_0d": (lambda m: m.ones(()).narrow(0, 0, 1), RuntimeError, r"0-dim tensor"),
    "narrow_negative_length": (lambda m: m.ones(3).narrow(0, 0, -1), RuntimeError, r"length must be non-negative"),
    "narrow_start": (lambda m: m.ones(3).narrow(0, 4, 0), IndexError, r"start out of range.*\[-3, 3\].*4"),
    "narrow_end": (lambda m: m.ones(3).narrow(0, 2, 2), RuntimeError, r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)"),
    # reshaping views
    "flatten_order": (lambda m: m.ones(2, 3, 4).flatten(2, 1), RuntimeError, r"start_dim cannot come after end_dim"),
    "flatten_dim": (lambda m: m.ones(2, 3).flatten(0, 2), IndexError, r"Dimension out of range"),
    "unflatten_product": (lambda m: m.ones(6, 2).unflatten(0, (4, 2)), RuntimeError,
                          r"sizes \[4, 2\] don't multiply up to the size of dim 0 \(6\)"),
    "unflatten_empty": (lambda m: m.ones(6, 2).unflatten(0, ()), RuntimeError, r"sizes must be non-empty"),
    "unflatten_infer": (lambda m: m.ones(6, 2).unflatten(0, (4, -1)), RuntimeError, r"\[4, -1\]"),
    "movedim_lengths": (lambda m: m.ones(2, 3, 4).movedim((0, 1), (2,)), RuntimeError,
                        r"source \(\[0, 1\] dims\) should contain the same number of dims as destination \(\[2\] dims\)"),
    "movedim_repeat_source": (lambda m: m.ones(2, 3, 4).movedim((0, 0), (1, 2)), RuntimeError, r"repeated dim in `source`"),
    "movedim_repeat_destination": (lambda m: m.ones(2, 3, 4).movedim((0, 1), (2, 2)), RuntimeError,
                                   r"repeated dim in `destination`"),
    "movedim_dim": (lambda m: m.ones(2, 3, 4).movedim(0, 3), IndexError, r"Dimension out of range"),
    # copies
    "flip_repeated": (lambda m: m.ones(3, 2).flip(0, 0), RuntimeError, r"dim 0 appears multiple times"),
    "flip_dim": (lambda m: m.ones(3, 2).flip(2), IndexError, r"Dimension out of range"),
    "roll_mismatch": (lambda m: m.ones(2, 3).roll((1, 2), (0,)), RuntimeError, r"shifts and dimensions must align"),
    "roll_no_dims_two_shifts": (lambda m: m.ones(2, 3).roll((1, 2)), RuntimeError, r"shifts and dimensions must align"),
    "roll_0d_dim": (lambda m: m.ones(()).roll(1, 0), IndexError, r"no dimensions"),
    "repeat_too_few": (lambda m: m.ones(2, 3).repeat(2), RuntimeError, r"can not be smaller than number of dimensions"),
    "repeat_negative": (lambda m: m.ones(2, 3).repeat(-1, 2), RuntimeError, r"negative dimension -2: \[-2, 6\]"),
    "tril_1d": (lambda m: m.ones(3).tril(), RuntimeError, r"tril: input tensor must have at least 2 dimensions"),
    "triu__1d": (lambda m: m.ones(3).triu_(), RuntimeError, r"triu: input tensor must have at least 2 dimensions"),
    # pad
    "pad_odd": (lambda m: pad_of(m)(m.ones(2, 3), (1,)), RuntimeError, r"divisible by 2"),
    "pad_too_long": (lambda m: pad_of(m)(m.ones(3), (1, 1, 1, 1)), RuntimeError,
                     r"two times the input dimension but got padding length 4 and input of dimension 1"),
    "pad_crop_too_much": (lambda m: pad_of(m)(m.ones(1, 3), (-2, -2)), RuntimeError, r"length must be non-negative"),
    "pad_mode": (lambda m: pad_of(m)(m.ones(1, 3), (1, 1), mode="wrap"), NotImplementedError,
                 r"Unrecognised padding mode wrap"),
    "pad_reflect_value": (lambda m: pad_of(m)(m.ones(1, 3), (1, 1), mode="reflect", value=2.0), RuntimeError,
                          r"Padding mode \"reflect\" doesn't take in value argument"),
    "pad_reflect_1d": (lambda m: pad_of(m)(m.ones(3), (1, 1), mode="reflect"), NotImplementedError,
                       r"Padding size 2 is not supported for 1D input"),
    "pad_reflect_big": (lambda m: pad_of(m)(m.ones(1, 2, 3), (3, 1), mode="reflect"), RuntimeError,
                        r"Padding size should be less than the corresponding input dimension.*\(3, 1\)"),
    "pad_reflect_bool": (lambda m: pad_of(m)(m.ones(1, 3, dtype=m.bool), (1, 1), mode="reflect"),
                         NotImplementedError, r"reflection_pad1d.*Bool"),
    "pad_replicate_empty": (lambda m: pad_of(m)(m.ones(1, 0, 3), (1, 1), mode="replicate"), RuntimeError,
                            r"non-zero dimensions for input, but got: \[1, 0, 3\]"),
    "pad_reflect_crop": (lambda m: pad_of(m)(m.ones(1, 5), (-3, -3), mode="reflect"), RuntimeError,
                         r"too small.*output W: -1"),
    "pad_circular_wrap": (lambda m: pad_of(m)(m.ones(1, 2, 3), (4, 0), mode="circular"), RuntimeError,
                          r"wrapping around more than once"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    call, error, match = ERRORS[case]
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=match):
        call(vt)


def _pair(t: torch.Tensor):
    return t, from_torch(t)


@pytest.mark.parametrize("name, call", [
    ("split", lambda x: x.split(2, 1)),
    ("split_sizes", lambda x: x.split([1, 3], 1)),
    ("chunk", lambda x: x.chunk(3, 0)),
    ("unbind", lambda x: x.unbind(1)),
    ("narrow", lambda x: (x.narrow(1, 1, 2),)),
    ("movedim", lambda x: (x.movedim(0, -1),)),
    ("flatten_view", lambda x: (x.flatten(1),)),
    ("unflatten", lambda x: (x.unflatten(1, (2, 2)),)),
])
def test_views_share_storage_and_match_torch(name, call):
    ref, x = _pair(torch.arange(24.0).reshape(3, 4, 2))
    got, want = call(x), call(ref)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w, check_stride=True)
        assert g._is_view_of(x)
        assert g.storage_offset() == w.storage_offset()
    # A write through the view reaches the base, as in torch.
    got[0].fill_(-1)
    want[0].fill_(-1)
    assert_same(x, ref)


def test_flatten_copies_when_strides_forbid_a_view():
    ref, x = _pair(torch.arange(6.0).reshape(2, 3).t())
    got = x.flatten()
    assert_same(got, ref.flatten(), check_stride=True)
    assert got.is_contiguous()
    got.fill_(0)
    assert_same(x, ref)  # the base is untouched


def test_copies_do_not_alias_their_input():
    ref, x = _pair(torch.arange(12.0).reshape(3, 4))
    for out in (x.flip(0), x.roll(1, 0), x.repeat(1, 1), x.tile((1,)), x.tril(), vt.cat([x]), vt.pad(x, (0, 0))):
        assert not out._is_view_of(x)
        out.fill_(0)
    assert_same(x, ref)


@pytest.mark.parametrize("name", ["tril_", "triu_"])
@pytest.mark.parametrize("diagonal", [0, 1, -1])
def test_inplace_triangles(name, diagonal):
    ref, x = _pair(torch.arange(1.0, 25.0).reshape(2, 3, 4))
    view, ref_view = x[:, :, 1:], ref[:, :, 1:]
    version = x._version
    out = getattr(view, name)(diagonal)
    getattr(ref_view, name)(diagonal)
    assert out.data_ptr() == view.data_ptr()
    assert x._version > version
    assert_same(x, ref)


def test_cat_promotes_and_skips_legacy_empty():
    a = torch.tensor([], dtype=torch.int8)
    b = torch.ones(2, 3, dtype=torch.uint8)
    want = torch.cat([a, b, a])
    got = vt.cat([from_torch(a), from_torch(b), from_torch(a)])
    assert_same(got, want, check_stride=True)


def test_cat_keeps_channels_last_only_when_all_inputs_have_it():
    cl = torch.ones(1, 2, 3, 3).to(memory_format=torch.channels_last)
    plain = torch.ones(1, 2, 3, 3)
    for parts in ([cl, cl], [cl, plain]):
        assert_same(vt.cat([from_torch(p) for p in parts], 1), torch.cat(parts, 1), check_stride=True)


def test_roll_and_flip_special_values():
    ref = torch.tensor([float("nan"), -0.0, float("inf"), 1.0])
    x = from_torch(ref)
    assert_same(x.roll(-5), ref.roll(-5))
    assert_same(x.flip(0), ref.flip(0))
    assert_same(vt.pad(x[None], (2, 2), mode="reflect"), F.pad(ref[None], (2, 2), mode="reflect"))


def test_pad_value_and_dtype():
    ref = torch.arange(6).reshape(2, 3)
    got = vt.pad(from_torch(ref), (1, 2, 0, 1), value=7.9)
    assert_same(got, F.pad(ref, (1, 2, 0, 1), value=7.9), check_stride=True)
    boolean = torch.tensor([[True, False]])
    assert_same(vt.pad(from_torch(boolean), (1, 1), value=1), F.pad(boolean, (1, 1), value=1))


def test_split_accepts_tuple_and_list_sizes():
    ref, x = _pair(torch.arange(10))
    for sizes in ((3, 7), [5, 0, 5]):
        got, want = vt.split(x, sizes), torch.split(ref, sizes)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)


def test_flip_and_repeat_take_varargs_and_sequences():
    ref, x = _pair(torch.arange(6).reshape(2, 3))
    assert_same(x.flip(0, 1), ref.flip(0, 1))
    assert_same(x.flip([1]), ref.flip([1]))
    assert_same(x.repeat(2, 1), ref.repeat(2, 1))
    assert_same(x.repeat((1, 2)), ref.repeat((1, 2)))
    assert_same(x.tile(2), ref.tile(2))
    assert_same(x.moveaxis(0, 1), ref.moveaxis(0, 1))
    assert_same(vt.concat([x, x], 1), torch.concat([ref, ref], 1))


@pytest.mark.parametrize("call", [
    lambda m, x: m.roll(x, 2),
    lambda m, x: m.roll(x, 2, ()),
    lambda m, x: m.roll(x, shifts=-1, dims=None),
    lambda m, x: x.roll(3),
    lambda m, x: x.roll(shifts=(1, 2), dims=(0, 1)),
    lambda m, x: x.roll(1, dims=[]),
], ids=["default_dims", "empty_dims", "dims_none", "method_default", "method_keywords", "method_empty_list"])
def test_roll_takes_torch_defaults_and_keywords(call):
    ref, x = _pair(torch.arange(12).reshape(3, 4))
    assert_same(call(vt, x), call(torch, ref))
