"""Advanced indexing (integer tensors, bool masks, lists, mixed with slices/None/Ellipsis/ints)
in __getitem__ and __setitem__, and the index ops' semantics beyond the op table: errors,
in-place forms, version counters, repeated indices. Every case is compared with torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import vt.core as vt
from reference import assert_same, from_torch

_ = slice(None)


def T(*values, dtype=torch.int64):
    return torch.tensor(values, dtype=dtype)


def both(index):
    """The index for torch and the same index for vt (tensors converted, the rest as is)."""
    def conv(i):
        if isinstance(i, torch.Tensor):
            return from_torch(i)
        if isinstance(i, tuple):
            return tuple(conv(j) for j in i)
        if isinstance(i, list):
            return [conv(j) for j in i]
        return i
    return index, conv(index)


# Built the same way in both libraries, so views of them have the same strides.
BASES = {
    "3d": lambda m: m.arange(60.0).reshape(3, 4, 5),
    "3d_permuted": lambda m: m.arange(60).reshape(5, 4, 3).permute(2, 1, 0),
    "3d_strided": lambda m: m.arange(120, dtype=m.int32).reshape(3, 8, 5)[:, ::2],
}

MASK_34 = torch.tensor([[True, False, True, False], [False, False, True, True], [True, True, False, False]])

INDICES = {
    "tensor": T(2, 0, 2),
    "negative": T(-1, -3),
    "int32": T(1, 2, dtype=torch.int32),
    "2d_tensor": T(0, 1, 2, 1).reshape(2, 2),
    "empty_tensor": T(),
    "list": [0, 2],
    "nested_list_as_tuple": [[0, 1], [1, 2]],
    "list_of_bools": [True, False, True],
    "empty_list": [],
    "mask_1d": T(True, False, True, dtype=torch.bool),
    "mask_2d": MASK_34,
    "mask_3d": torch.arange(60).reshape(3, 4, 5) % 3 == 0,
    "uint8_mask": T(1, 0, 1, dtype=torch.uint8),
    "python_true": True,
    "python_false": False,
    "0d_bool": torch.tensor(True),
    "0d_int_tensor": torch.tensor(1),
    "second_dim": (_, T(3, 0)),
    "last_dim_ellipsis": (Ellipsis, T(4, 1, 1)),
    "adjacent_pair": (_, T(0, 3), T(1, 4)),
    "separated_pair": (T(0, 2), _, T(1, 4)),
    "separated_by_int": (T(0, 2), 1, T(1, 4)),
    "broadcast_pair": (T(0, 2).reshape(2, 1), T(1, 3, 0)),
    "with_none": (None, T(1, 2), None),
    "none_between": (T(0, 1), None, T(1, 2)),
    "slice_then_tensor": (slice(1, None), T(0, 2)),
    "int_then_tensor": (1, _, T(0, 4)),
    "0d_tensor_with_list": (torch.tensor(2), [0, 1]),
    "mask_then_slice": (T(True, False, True, dtype=torch.bool), slice(None, None, 2)),
    "slice_then_mask": (_, MASK_34[0]),
    "mask_and_tensor": (MASK_34, T(0)),
    "bool_and_tensor": (True, T(1, 2)),
    "strided_index": T(0, 1, 2, 0, 1, 2)[::2],
    "float_list": [0.5, 2.9],
    "all_three": (T(0, 1), T(1, 2), T(2, 3)),
}

CASES = [pytest.param(b, i, id=f"{b}-{i}") for b in BASES for i in INDICES]


def _getitem(t, index):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return t[index]


def _setitem(t, index, value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t[index] = value


def assert_same_layout(got, want):
    """Values, shape and strides; a dim of size 1 may have any stride (torch's rule too)."""
    assert_same(got, want, rtol=0, atol=0)
    for size, a, b in zip(want.shape, got.stride(), want.stride()):
        assert size == 1 or a == b, f"stride {got.stride()} != torch's {want.stride()}"


@pytest.mark.parametrize("base, index", CASES)
def test_getitem_matches_torch(base, index):
    ref, x = BASES[base](torch), BASES[base](vt)
    ti, vi = both(INDICES[index])
    try:
        want = _getitem(ref, ti)
    except (IndexError, RuntimeError, TypeError, ValueError) as e:
        with pytest.raises(type(e)):
            _getitem(x, vi)
        return
    got = _getitem(x, vi)
    assert_same_layout(got, want)
    # Advanced indexing copies; basic indexing (a 0-dim integer tensor too) gives a view.
    is_view = want._base is not None and want.untyped_storage().data_ptr() == ref.untyped_storage().data_ptr()
    assert got._is_view_of(x) == is_view
    if is_view:
        assert got.storage_offset() == want.storage_offset()


@pytest.mark.parametrize("base, index", CASES)
def test_setitem_matches_torch(base, index):
    ti, vi = both(INDICES[index])
    try:
        shape = _getitem(BASES[base](torch), ti).shape
    except (IndexError, RuntimeError, TypeError, ValueError):
        return  # getitem already compares the error
    for kind in ("number", "tensor", "one element"):
        ref, x = BASES[base](torch), BASES[base](vt)
        if kind == "number":
            tv = vv = -7
        else:
            n = 1 if kind == "one element" else int(np.prod(shape))
            tv = torch.arange(1, 1 + n).to(ref.dtype).reshape([1] if kind == "one element" else shape)
            vv = from_torch(tv)
        version = x._version
        try:
            _setitem(ref, ti, tv)
        except (IndexError, RuntimeError, TypeError, ValueError) as e:
            with pytest.raises(type(e)):
                _setitem(x, vi, vv)
            continue
        _setitem(x, vi, vv)
        assert_same(x, ref, rtol=0, atol=0)
        assert x._version > version or index == "python_false"


def test_setitem_through_a_view_writes_the_base():
    ref = torch.zeros(4, 6)
    x = from_torch(ref)
    v, rv = x[1:, ::2], ref[1:, ::2]
    v[[0, 2], 1] = vt.tensor([5.0, 6.0])
    rv[[0, 2], 1] = torch.tensor([5.0, 6.0])
    v[vt.tensor([[True, False, True]] * 3)] = 9.0
    rv[torch.tensor([[True, False, True]] * 3)] = 9.0
    assert_same(x, ref)
    assert x._version == v._version


def test_setitem_value_broadcasts_and_drops_leading_ones():
    ref = torch.zeros(3, 4)
    x = from_torch(ref)
    for ti, tv in (([0, 2], torch.ones(1, 1, 4)), ((_, [1, 3]), torch.tensor([[1.0], [2.0], [3.0]])),
                   (MASK_34, torch.tensor(4.0))):
        ref[ti] = tv
        x[both(ti)[1]] = from_torch(tv)
    assert_same(x, ref)


def test_setitem_value_overlapping_self_raises_like_torch():
    for index, value in (([1, 2, 3], slice(0, 3)), ([0, 1], slice(3, 5))):
        ref, x = torch.arange(6.0), vt.arange(6.0)
        with pytest.raises(RuntimeError):
            ref[index] = ref[value]
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            x[index] = x[value]
    # A strided value is too irregular for torch to check; it must still read the old values.
    ref, x = torch.arange(6.0), vt.arange(6.0)
    ref[[1, 2]] = ref[::3]
    x[[1, 2]] = x[::3]
    assert_same(x, ref)


def test_lone_mask_with_one_value_fills_like_masked_fill():
    ref, x = torch.arange(6.0).reshape(2, 3), vt.arange(6.0).reshape(2, 3)
    mask = torch.tensor([[True, False, True], [False, True, False]])
    ref[mask] = torch.tensor(2.5, dtype=torch.float64)  # one element: the dtype does not matter
    x[from_torch(mask)] = vt.tensor(2.5, dtype=vt.float64)
    assert_same(x, ref)
    ref[:, mask[0]] = torch.tensor([7.0])
    x[:, from_torch(mask[0])] = vt.tensor([7.0])
    assert_same(x, ref)
    with pytest.raises(RuntimeError, match="boolean masks"):
        x[from_torch(mask.to(torch.uint8))] = 1.0


def test_setitem_false_writes_nothing():
    ref, x = torch.zeros(2), vt.zeros(2)
    ref[False] = torch.ones(5)
    x[False] = vt.ones(5)
    assert_same(x, ref)


def test_repeated_indices_in_setitem_and_index_put():
    x = vt.zeros(3)
    x[[0, 0, 0]] = vt.tensor([1.0, 1.0, 1.0])
    assert x.tolist() == [1.0, 0.0, 0.0]
    ref = torch.zeros(3).index_put_((T(0, 0, 2),), torch.tensor([1.0, 2.0, 5.0]), accumulate=True)
    got = vt.zeros(3).index_put_((vt.tensor([0, 0, 2]),), vt.tensor([1.0, 2.0, 5.0]), accumulate=True)
    assert_same(got, ref)


def test_0d_integer_tensor_index_is_a_view_like_an_int():
    ref = torch.arange(12).reshape(3, 4).clone()
    x = from_torch(ref)
    got, want = x[vt.tensor(1)], ref[torch.tensor(1)]
    assert want._base is ref
    assert got._is_view_of(x) and got.storage_offset() == want.storage_offset()
    assert_same(got, want, check_stride=True)


def test_non_tuple_sequence_warns_like_torch():
    ref = torch.arange(9).reshape(3, 3)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        want = ref[[[0, 1], [1, 2]]]
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        got = from_torch(ref)[[[0, 1], [1, 2]]]
    assert_same(got, want)


def test_numpy_array_index():
    ref = torch.arange(10) * 3
    idx = np.array([[1, 3], [9, 0]])
    assert_same(from_torch(ref)[idx], ref[torch.from_numpy(idx)])


INDEX_ERRORS = {
    "out_of_bounds": (lambda m: m.zeros(3)[m.tensor([0, 5])], IndexError, r"index 5 is out of bounds for dimension 0 with size 3"),
    "negative_out_of_bounds": (lambda m: m.zeros(3)[[-4]], IndexError, r"index -4 is out of bounds for dimension 0 with size 3"),
    "out_of_bounds_second_dim": (lambda m: m.zeros(2, 3)[[0, 1], [1, 7]], IndexError, r"index 7 is out of bounds"),
    "0d_tensor_out_of_bounds": (lambda m: m.zeros(3)[m.tensor(5)], IndexError, r"index 5 is out of bounds"),
    "mask_shape": (lambda m: m.zeros(3, 4)[m.tensor([True, False])], IndexError,
                   r"shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor \[3, 4\] at index 0"),
    "mask_shape_second_dim": (lambda m: m.zeros(3, 4)[:, m.tensor([True])], IndexError, r"shape of the mask"),
    "broadcast": (lambda m: m.zeros(3, 4)[[0, 1], [1, 2, 3]], IndexError,
                  r"shape mismatch: indexing tensors could not be broadcast together with shapes \[2\], \[3\]"),
    "float_tensor": (lambda m: m.zeros(3)[m.tensor([0.0])], IndexError, r"long, int, byte or bool"),
    "int16_tensor": (lambda m: m.zeros(3)[m.tensor([0], dtype=m.int16)], IndexError, r"long, int, byte or bool"),
    "too_many": (lambda m: m.zeros(2, 3)[[0], [0], [0]], IndexError, r"too many indices for tensor of dimension 2"),
    "too_many_mask": (lambda m: m.zeros(2)[m.ones(2, 2, dtype=m.bool)], IndexError, r"too many indices"),
    "string": (lambda m: m.zeros(2)["a"], TypeError, r"str"),
    "float": (lambda m: m.zeros(2)[1.5], IndexError, r"only integers, slices"),
    "setitem_dtype": (lambda m: m.zeros(3).__setitem__([0, 1], m.ones(2, dtype=m.float64)), RuntimeError,
                      r"Index put requires the source and destination dtypes match, got Float for the destination and Double"),
    "setitem_shape": (lambda m: m.zeros(3, 4).__setitem__([0, 2], m.ones(3, 4)), RuntimeError,
                      r"shape mismatch: value tensor of shape \[3, 4\] cannot be broadcast to indexing result of shape \[2, 4\]"),
    "setitem_out_of_bounds": (lambda m: m.zeros(3).__setitem__([3], 1.0), IndexError, r"index 3 is out of bounds"),
    "index_put_none": (lambda m: m.zeros(3, 2).index_put_((None, m.tensor([0])), m.ones(1)), TypeError, r"element 0"),
    "index_put_dtype": (lambda m: m.zeros(3).index_put_((m.tensor([0]),), m.ones(1, dtype=m.int64)), RuntimeError,
                        r"Float for the destination and Long for the source"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", list(INDEX_ERRORS))
def test_indexing_errors_match_torch(case):
    call, error, match = INDEX_ERRORS[case]
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=match):
        call(vt)


def test_failed_setitem_leaves_tensor_unchanged():
    x = vt.arange(3.0)
    version = x._version
    with pytest.raises(IndexError):
        x[[0, 3]] = vt.tensor([9.0, 9.0])
    assert x.tolist() == [0.0, 1.0, 2.0] and x._version == version


# --------------------------------------------------------------------------------------------
# index ops: errors and in-place semantics
# --------------------------------------------------------------------------------------------

def one_hot_of(m):
    return torch.nn.functional.one_hot if m is torch else vt.one_hot


OP_ERRORS = {
    "masked_fill_uint8_mask": (lambda m: m.zeros(3).masked_fill(m.ones(3, dtype=m.uint8), 1), RuntimeError, r"boolean masks"),
    "masked_fill_1d_value": (lambda m: m.zeros(3).masked_fill(m.ones(3, dtype=m.bool), m.ones(1)), RuntimeError,
                             r"0-dimensional value tensor, but got tensor with 1 dimension"),
    "masked_fill__broadcast_self": (lambda m: m.zeros(4).masked_fill_(m.ones(3, 4, dtype=m.bool), 2), RuntimeError,
                                    r"shape \[4\] doesn't match the broadcast shape \[3, 4\]"),
    "masked_fill_overflow": (lambda m: m.zeros(3, dtype=m.int8).masked_fill(m.ones(3, dtype=m.bool), 300), RuntimeError,
                             r"value cannot be converted to type int8_t without overflow"),
    "masked_select_uint8": (lambda m: m.zeros(3).masked_select(m.ones(3, dtype=m.uint8)), RuntimeError, r"BoolTensor"),
    "index_select_2d_index": (lambda m: m.zeros(3, 4).index_select(1, m.tensor([[0, 3]])), IndexError, r"vector"),
    "index_select_float": (lambda m: m.zeros(3, 4).index_select(1, m.tensor([0.0])), RuntimeError, r"int32 or int64"),
    "index_select_out_of_range": (lambda m: m.zeros(3).index_select(0, m.tensor([3])), IndexError, r"out of"),
    "index_select_0d_many": (lambda m: m.ones(()).index_select(0, m.tensor([0, 0])), RuntimeError, r"only 1 value"),
    "gather_float": (lambda m: m.zeros(3, 4).gather(1, m.tensor([[0.0]])), RuntimeError, r"int64 for index"),
    "gather_ndim": (lambda m: m.zeros(3, 4).gather(1, m.tensor([0])), RuntimeError, r"same number of dimensions"),
    "gather_size": (lambda m: m.zeros(2, 3).gather(0, m.zeros(2, 5, dtype=m.int64)), RuntimeError,
                    r"Size does not match at dimension 1"),
    "gather_out_of_bounds": (lambda m: m.zeros(3, 4).gather(1, m.tensor([[5]])), RuntimeError,
                             r"index 5 is out of bounds for dimension 1 with size 4"),
    "gather_negative": (lambda m: m.zeros(3, 4).gather(1, m.tensor([[-1]])), RuntimeError,
                        r"index -1 is out of bounds for dimension 1 with size 4"),
    "scatter_dtype": (lambda m: m.zeros(3, 4).scatter(1, m.tensor([[0]]), m.ones(1, 1, dtype=m.float64)), RuntimeError,
                      r"self.dtype to be equal to src.dtype"),
    "scatter_src_small": (lambda m: m.zeros(3, 4).scatter(1, m.tensor([[0, 1], [1, 2], [3, 1]]), m.ones(3, 1)),
                          RuntimeError, r"no larger size than src \[3, 1\]"),
    "scatter_index_big": (lambda m: m.zeros(3, 4).scatter(1, m.zeros(4, 1, dtype=m.int64), 1.0), RuntimeError,
                          r"Expected index \[4, 1\] to be no larger than self \[3, 4\] apart from dimension 1"),
    "scatter_out_of_bounds": (lambda m: m.zeros(3, 4).scatter(1, m.tensor([[4], [1], [3]]), 1.0), RuntimeError,
                              r"index 4 is out of bounds for dimension 1 with size 4"),
    "scatter_bad_reduce": (lambda m: m.zeros(3, 4).scatter(1, m.tensor([[0]]), 1.0, reduce="max"), RuntimeError,
                           r"either add or multiply"),
    "scatter_ndim": (lambda m: m.zeros(3, 4).scatter(1, m.tensor([0]), 1.0), RuntimeError, r"same number of dimensions"),
    "scatter_reduce_bad": (lambda m: m.ones(3).scatter_reduce(0, m.tensor([0]), m.ones(1), "foo"), RuntimeError,
                           r"sum, prod, mean, amax or amin, got foo"),
    "scatter_reduce_bool_mean": (lambda m: m.ones(2, dtype=m.bool).scatter_reduce(0, m.tensor([0]), m.ones(1, dtype=m.bool), "mean"),
                                 NotImplementedError, r"Bool"),
    "index_add_dtype": (lambda m: m.zeros(3, 2).index_add(0, m.tensor([0]), m.ones(1, 2, dtype=m.float64)), RuntimeError,
                        r"self \(Float\) and source \(Double\) must have the same scalar type"),
    "index_add_shape": (lambda m: m.zeros(3, 2).index_add(0, m.tensor([0, 0]), m.ones(2, 3)), RuntimeError,
                        r"source tensor shape must match self tensor shape"),
    "index_add_count": (lambda m: m.zeros(3, 2).index_add(0, m.tensor([0, 0]), m.ones(3, 2)), RuntimeError,
                        r"Number of indices \(2\) should be equal to source.size\(dim\)"),
    "index_add_out_of_bounds": (lambda m: m.zeros(3, 2).index_add(0, m.tensor([0, 3]), m.ones(2, 2)), RuntimeError,
                                r"index 3 is out of bounds for dimension 0 with size 3"),
    "index_add_2d_index": (lambda m: m.zeros(3, 2).index_add(0, m.tensor([[0, 1]]), m.ones(2, 2)), IndexError, r"vector"),
    "index_copy_int32": (lambda m: m.zeros(3, 2).index_copy(0, m.tensor([1, 0], dtype=m.int32), m.ones(2, 2)),
                         RuntimeError, r"long tensor for index, but got Int"),
    "index_copy_out_of_bounds": (lambda m: m.zeros(3, 2).index_copy(0, m.tensor([3, 0]), m.ones(2, 2)), IndexError,
                                 r"index_copy_\(\): index 3 is out of bounds for dimension 0 with size 3"),
    "index_copy_count": (lambda m: m.zeros(3, 2).index_copy(0, m.tensor([1, 0]), m.ones(3, 2)), IndexError,
                         r"Number of indices \(2\)"),
    "index_copy_dtype": (lambda m: m.zeros(3, 2).index_copy(0, m.tensor([1]), m.ones(1, 2, dtype=m.int64)), RuntimeError,
                         r"same dtype"),
    "topk_k": (lambda m: m.ones(4).topk(5), RuntimeError, r"selected index k out of range"),
    "topk_negative_k": (lambda m: m.ones(4).topk(-1), RuntimeError, r"selected index k out of range"),
    "topk_bool": (lambda m: m.ones(2, dtype=m.bool).topk(1), RuntimeError, r"bool"),
    "sort_dim": (lambda m: m.ones(()).sort(1), IndexError, r"Dimension out of range"),
    "unique_dim_zero_size": (lambda m: m.ones(2, 0).unique(dim=0), RuntimeError, r"0 sized dimensions"),
    "one_hot_int32": (lambda m: one_hot_of(m)(m.tensor([0, 2], dtype=m.int32)), RuntimeError, r"LongTensor"),
    "one_hot_negative": (lambda m: one_hot_of(m)(m.tensor([0, -2])), RuntimeError, r"non-negative"),
    "one_hot_too_big": (lambda m: one_hot_of(m)(m.tensor([0, 2]), 2), RuntimeError, r"smaller than num_classes"),
    "one_hot_empty": (lambda m: one_hot_of(m)(m.tensor([], dtype=m.int64)), RuntimeError, r"Can not infer"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", list(OP_ERRORS))
def test_index_op_errors_match_torch(case):
    call, error, match = OP_ERRORS[case]
    with pytest.raises(error):
        call(torch)
    with pytest.raises(error, match=match):
        call(vt)


MASK_34_ROWS = [[True, False, True, False], [False, False, True, True], [True, True, False, False]]

INPLACE = {
    "masked_fill_": lambda m, x: x.masked_fill_(m.tensor(MASK_34_ROWS), -1),
    "masked_fill__tensor_value": lambda m, x: x.masked_fill_(m.tensor(MASK_34_ROWS[0]), m.tensor(2.5, dtype=m.float64)),
    "scatter_": lambda m, x: x.scatter_(1, m.tensor([[0, 2], [1, 3], [2, 0]]), m.ones(3, 2)),
    "scatter__value": lambda m, x: x.scatter_(0, m.tensor([[2, 0, 1, 1]]), 5.0),
    "scatter__reduce": lambda m, x: x.scatter_(0, m.tensor([[2, 2, 1, 1]]), m.ones(1, 4), reduce="add"),
    "scatter_add_": lambda m, x: x.scatter_add_(0, m.tensor([[0, 0, 0, 0], [0, 1, 2, 0]]), m.ones(2, 4)),
    "scatter_reduce_": lambda m, x: x.scatter_reduce_(1, m.tensor([[0, 0], [1, 1], [3, 3]]), m.ones(3, 2) * 3, "amax",
                                                      include_self=False),
    "index_add_": lambda m, x: x.index_add_(1, m.tensor([0, 0, 3]), m.ones(3, 3), alpha=2),
    "index_copy_": lambda m, x: x.index_copy_(0, m.tensor([2, 0]), m.zeros(2, 4)),
    "index_put_": lambda m, x: x.index_put_((m.tensor([0, 2]), m.tensor([1, 3])), m.tensor([7.0, 8.0])),
    "index_put__accumulate": lambda m, x: x.index_put_((m.tensor([0, 0]),), m.ones(2, 4), accumulate=True),
    "tril_": lambda m, x: x.tril_(1),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_ops_write_self_and_bump_version(name):
    base = torch.arange(12.0).reshape(3, 4)
    want = INPLACE[name](torch, base.clone())
    x = from_torch(base)
    version, ptr = x._version, x.data_ptr()
    got = INPLACE[name](vt, x)
    assert got.data_ptr() == ptr == x.data_ptr()
    assert x._version > version
    assert_same(x, want)


def test_inplace_ops_through_strided_views():
    base = torch.arange(24.0).reshape(4, 6)
    x = from_torch(base)
    for m, t in ((torch, base), (vt, x)):
        v = t[:, ::2]
        v.masked_fill_(m.tensor([[True, False, True]] * 2 + [[False] * 3] * 2), 0)
        v.index_add_(0, m.tensor([3, 3]), m.ones(2, 3))
        v.scatter_(1, m.tensor([[2], [1], [0], [2]]), -1.0)
    assert_same(x, base)


def test_failed_scatter_leaves_self_unchanged():
    x = vt.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError):
        x.scatter_(1, vt.tensor([[0, 1, 5]]), 9.0)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_sort_and_topk_results_unpack_and_name_their_parts():
    ref = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    x = from_torch(ref)
    values, _ = x.sort(descending=True)
    assert_same(values, ref.sort(descending=True).values)
    assert_same(x.sort(dim=0).indices, ref.sort(dim=0).indices)
    top = vt.topk(x, 2)
    assert_same(top.values, ref.topk(2).values)
    assert_same(top.indices, ref.topk(2).indices)


def test_topk_unsorted_holds_the_same_set():
    ref = torch.randperm(1000, generator=torch.Generator().manual_seed(0)).float()
    got = vt.topk(from_torch(ref), 10, sorted=False)
    want = ref.topk(10, sorted=False)
    assert sorted(got.values.tolist()) == sorted(want.values.tolist())
    assert sorted(got.indices.tolist()) == sorted(want.indices.tolist())


def test_nan_ordering_in_sort_topk_and_unique():
    ref = torch.tensor([1.0, float("nan"), 3.0, float("nan"), -1.0])
    x = from_torch(ref)
    assert_same(x.sort(stable=True).indices, ref.sort(stable=True).indices)
    assert_same(x.topk(2).values, ref.topk(2).values)
    assert_same(x.topk(2, largest=False).indices, ref.topk(2, largest=False).indices)
    got, want = x.unique(return_counts=True), ref.unique(return_counts=True)
    assert_same(got[0], want[0])
    assert_same(got[1], want[1])


def test_unique_return_forms_match_torch():
    ref = torch.tensor([[3, 1, 3], [2, 1, 0]])
    x = from_torch(ref)
    assert isinstance(x.unique(), vt.Tensor)
    for kwargs in ({"return_inverse": True}, {"return_counts": True},
                   {"return_inverse": True, "return_counts": True}, {"dim": 1, "return_counts": True}):
        got, want = vt.unique(x, **kwargs), torch.unique(ref, **kwargs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)


def test_nonzero_as_tuple_feeds_indexing():
    ref = torch.tensor([[0, 2, 0], [3, 0, 4]])
    x = from_torch(ref)
    got, want = vt.nonzero(x, as_tuple=True), torch.nonzero(ref, as_tuple=True)
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        assert_same(g, w, check_stride=True)
    assert_same(x[got], ref[want])
    assert [t.tolist() for t in vt.nonzero(vt.tensor(5), as_tuple=True)] == [[0]]
