"""Basic indexing (ints, slices, None, Ellipsis) and __setitem__ against torch: values, shapes,
strides, storage offsets and aliasing."""

import numpy as np
import pytest
from reference import assert_same

import vt.core as vt

torch = pytest.importorskip("torch")

_ = slice(None)  # ":" in index tables

TENSORS = {
    "1d": lambda m: m.arange(5, dtype=m.float32),
    "2d": lambda m: m.arange(12).reshape(3, 4),
    "3d": lambda m: m.arange(24, dtype=m.float64).reshape(2, 3, 4),
    "4d": lambda m: m.arange(120, dtype=m.int32).reshape(2, 3, 4, 5),
    "3d_permuted": lambda m: m.arange(60).reshape(3, 4, 5).permute(2, 0, 1),
    "2d_offset_strided": lambda m: m.arange(40, dtype=m.float32).reshape(5, 8)[1:, ::3],
    "2d_expanded": lambda m: m.arange(4, dtype=m.int16).expand(3, 4),
}

INDICES = [
    0, 1, -1, -2, 3, -5,
    _, slice(1, None), slice(None, 2), slice(None, None, 2), slice(1, None, 3), slice(-2, None), slice(None, -1),
    slice(-100, 100), slice(3, 1), slice(10, 20), slice(-1, -3), slice(2, 2), slice(0, 1, 5),
    None, Ellipsis, (), (None,), (Ellipsis,), (None, None),
    (0, 0), (-1, -1), (1, -2), (0, slice(None, None, 2)), (slice(1, 3), slice(None, None, 2)),
    (Ellipsis, 0), (Ellipsis, -1), (Ellipsis, None), (None, Ellipsis, None), (0, Ellipsis, -1),
    (_, None, 1), (0, None, slice(1, None), Ellipsis), (Ellipsis, slice(-2, None)), (_, _, _, _), (1, 2, 3, 4),
    (None, 0, None, _, None), (slice(None, None, 3), Ellipsis, slice(1, None, 2)), (_, -1, Ellipsis),
    (np.int64(1),), (0, 1, 2), (0, 0, 0, 0, 0),
]


def index_id(index) -> str:
    def one(i):
        if i is None:
            return "None"
        if i is Ellipsis:
            return "..."
        if isinstance(i, slice):
            return ":".join("" if x is None else str(x) for x in (i.start, i.stop, i.step)).rstrip(":") or ":"
        return str(i)

    if isinstance(index, tuple):
        return "(" + ",".join(one(i) for i in index) + ")"
    return one(index)


CASES = [pytest.param(t, i, id=f"{t}-{index_id(i)}")
         for t in TENSORS for i in INDICES]


def index_both(name, index):
    """(vt base, vt result, torch base, torch result); when torch raises, vt must raise the same type."""
    base, ref_base = TENSORS[name](vt), TENSORS[name](torch)
    try:
        ref = ref_base[index]
    except Exception as e:
        with pytest.raises(type(e)):
            base[index]
        return base, None, ref_base, None
    return base, base[index], ref_base, ref


@pytest.mark.parametrize("name, index", CASES)
def test_getitem_matches_torch(name, index):
    base, t, ref_base, ref = index_both(name, index)
    if ref is None:
        return
    assert_same(t, ref, check_stride=True, rtol=0, atol=0)
    assert t.storage_offset() == ref.storage_offset()
    assert t.is_contiguous() == ref.is_contiguous()


@pytest.mark.parametrize("name, index", [c for c in CASES if c.values[0] != "2d_expanded"])
def test_getitem_returns_a_view(name, index):
    base, t, ref_base, ref = index_both(name, index)
    if ref is None:
        return
    assert t._is_view_of(base)
    assert t is not base
    t.fill_(-3)
    ref.fill_(-3)
    assert_same(base, ref_base)
    assert base._version == t._version == ref_base._version


@pytest.mark.parametrize(
    "index, error",
    [(0, IndexError), (-1, IndexError), (slice(None), IndexError), (Ellipsis, None), ((), None),
     (None, None), ((None,), None), ((None, Ellipsis, None), None)],
    ids=index_id,
)
def test_getitem_0d(index, error):
    base, ref_base = vt.zeros(()) + 5, torch.zeros(()) + 5
    if error is not None:
        with pytest.raises(error):
            ref_base[index]
        with pytest.raises(error):
            base[index]
        return
    assert_same(base[index], ref_base[index], check_stride=True)


def test_getitem_chained_matches_torch():
    t, ref = vt.arange(120).reshape(2, 3, 4, 5), torch.arange(120).reshape(2, 3, 4, 5)
    got = t[1][:, ::2][..., None, 1:][0, 0]
    want = ref[1][:, ::2][..., None, 1:][0, 0]
    assert_same(got, want, check_stride=True)
    assert got.storage_offset() == want.storage_offset()


# --------------------------------------------------------------------------------------------
# __setitem__
# --------------------------------------------------------------------------------------------

SETITEM = {
    "int_number": (lambda m: m.zeros(3, 4), 0, lambda m: 5),
    "column_float": (lambda m: m.zeros(3, 4), (_, 1), lambda m: 2.5),
    "int_tensor_float_number": (lambda m: m.zeros(3, 4, dtype=m.int64), (_, 1), lambda m: -2.7),
    "bool_number": (lambda m: m.zeros(3, 4), (0, 0), lambda m: True),
    "numpy_scalar": (lambda m: m.zeros(3, 4), (1, slice(1, 3)), lambda m: np.float32(2.5)),
    "all": (lambda m: m.zeros(3, 4), _, lambda m: 3),
    "ellipsis": (lambda m: m.zeros(2, 3), Ellipsis, lambda m: -1),
    "empty_slice": (lambda m: m.zeros(3, 4), slice(2, 2), lambda m: 9),
    "bool_tensor": (lambda m: m.zeros(3, 4, dtype=m.bool), (1, slice(None, None, 3)), lambda m: 1),
    "broadcast_row": (lambda m: m.zeros(3, 4), (slice(1, None), None), lambda m: m.arange(4.0)),
    "broadcast_cast": (lambda m: m.zeros(3, 4, dtype=m.int32), (Ellipsis, slice(None, None, 2)),
                       lambda m: m.tensor([1.5, -2.5])),
    "broadcast_column": (lambda m: m.zeros(2, 3, 4), (Ellipsis, -1), lambda m: m.ones(2, 1) * 7),
    "0d_value": (lambda m: m.zeros(5), slice(1, 4), lambda m: m.ones(()) * 7),
    "same_shape": (lambda m: m.zeros(3, 4), (_, 1), lambda m: m.arange(3.0)),
    "transposed_target": (lambda m: m.zeros(3, 4).t(), 1, lambda m: m.arange(3.0)),
    "transposed_value": (lambda m: m.zeros(4, 3), _, lambda m: m.arange(12.0).reshape(3, 4).t()),
    "leading_ones_value": (lambda m: m.zeros(3, 4), (-1, slice(-2, None)), lambda m: m.tensor([[9.0, 8.0]])),
    "int_value_into_float": (lambda m: m.zeros(2, 2), 0, lambda m: m.tensor([3, 4])),
    "none_in_tuple": (lambda m: m.zeros(2, 3), (None, 1), lambda m: 4),
    "bare_none": (lambda m: m.zeros(2, 3), None, lambda m: 4),
    "shape_mismatch": (lambda m: m.zeros(3, 4), 0, lambda m: m.ones(5)),
    "out_of_range": (lambda m: m.zeros(3, 4), 3, lambda m: 1),
    "too_many_indices": (lambda m: m.zeros(3, 4), (0, 0, 0), lambda m: 1),
}


@pytest.mark.parametrize("case", list(SETITEM))
def test_setitem_matches_torch(case):
    make, index, value = SETITEM[case]
    t, ref = make(vt), make(torch)
    try:
        ref[index] = value(torch)
    except Exception as e:
        with pytest.raises(type(e)):
            t[index] = value(vt)
        return
    version = t._version
    t[index] = value(vt)
    assert_same(t, ref, rtol=0, atol=0)
    assert t._version > version


def test_setitem_through_view_updates_base():
    base, ref_base = vt.zeros(4, 6), torch.zeros(4, 6)
    view, ref_view = base[1:, ::2], ref_base[1:, ::2]
    view[0] = 1.0
    ref_view[0] = 1.0
    view[..., -1] = vt.tensor([2.0, 3.0, 4.0])
    ref_view[..., -1] = torch.tensor([2.0, 3.0, 4.0])
    assert_same(base, ref_base)
    assert base._version == view._version


def test_setitem_value_aliasing_target():
    # The value overlaps the target exactly: must behave like a copy of itself.
    t, ref = vt.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    t[0] = t[0]
    ref[0] = ref[0]
    assert_same(t, ref)
