"""View ops against torch: values, strides, storage offsets, storage sharing, shared version
counters and writes through views, on contiguous and non-contiguous inputs."""

import operator

import pytest
from reference import assert_same

import vt.core as vt

torch = pytest.importorskip("torch")

# Inputs, each built the same way with m = torch or m = vt. All are 3-D.
BASES = {
    "contiguous": lambda m: m.arange(24, dtype=m.float32).reshape(2, 3, 4),
    "transposed": lambda m: m.arange(24, dtype=m.float32).reshape(2, 3, 4).transpose(0, 2),
    "sliced_steps": lambda m: m.arange(120, dtype=m.float32).reshape(4, 5, 6)[1:, ::2, 1::3],
    "expanded": lambda m: m.arange(4, dtype=m.float32).reshape(1, 4, 1).expand(3, 4, 2),
    "permuted_int": lambda m: m.arange(60, dtype=m.int32).reshape(3, 4, 5).permute(1, 2, 0),
    "size1_dims": lambda m: m.arange(6, dtype=m.float64).reshape(3, 2).t().unsqueeze(1),
    "offset_contiguous": lambda m: m.arange(40, dtype=m.int64)[4:].view(3, 4, 3),
}

# View (and copy) ops that apply to any 3-D input.
OPS = {
    "view_flat": lambda t: t.view(-1),
    "view_infer_first": lambda t: t.view(-1, t.shape[-1]),
    "view_infer_last": lambda t: t.view(t.shape[0], -1),
    "view_split_last": lambda t: t.view(t.shape[0], t.shape[1], t.shape[2], 1),
    "view_same_tuple": lambda t: t.view(tuple(t.shape)),
    "reshape_flat": lambda t: t.reshape(-1),
    "reshape_list": lambda t: t.reshape([-1]),
    "reshape_infer_first": lambda t: t.reshape(-1, t.shape[-1]),
    "reshape_infer_last": lambda t: t.reshape(t.shape[0], -1),
    "reshape_reversed": lambda t: t.reshape(t.shape[2], t.shape[1], t.shape[0]),
    "reshape_same": lambda t: t.reshape(t.shape),
    "reshape_add_leading": lambda t: t.reshape(1, *t.shape),
    "permute": lambda t: t.permute(2, 0, 1),
    "permute_negative": lambda t: t.permute(-1, -3, -2),
    "permute_identity": lambda t: t.permute(0, 1, 2),
    "transpose": lambda t: t.transpose(0, 2),
    "transpose_negative": lambda t: t.transpose(-1, 0),
    "transpose_same_dim": lambda t: t.transpose(1, 1),
    "unsqueeze_0": lambda t: t.unsqueeze(0),
    "unsqueeze_end": lambda t: t.unsqueeze(3),
    "unsqueeze_-1": lambda t: t.unsqueeze(-1),
    "unsqueeze_-2": lambda t: t.unsqueeze(-2),
    "unsqueeze_-4": lambda t: t.unsqueeze(-4),
    "squeeze_all": lambda t: t.squeeze(),
    "squeeze_dim1": lambda t: t.squeeze(1),
    "squeeze_-2": lambda t: t.squeeze(-2),
    "squeeze_tuple": lambda t: t.squeeze((0, 1)),
    "squeeze_after_unsqueeze": lambda t: t.unsqueeze(1).unsqueeze(-1).squeeze((1, -1)),
    "expand_new_leading": lambda t: t.expand(2, *t.shape),
    "expand_minus1": lambda t: t.expand(-1, -1, -1),
    "expand_new_and_minus1": lambda t: t.expand(2, -1, -1, -1),
    "expand_size1_dim": lambda t: t.unsqueeze(1).expand(-1, 5, -1, -1),
    "narrow": lambda t: t.narrow(1, 1, 1),
    "narrow_negative_dim": lambda t: t.narrow(-1, 0, 1),
    "narrow_negative_start": lambda t: t.narrow(0, -1, 1),
    "narrow_empty": lambda t: t.narrow(2, 1, 0),
    "select": lambda t: t.select(1, 0),
    "select_negative_index": lambda t: t.select(0, -1),
    "select_negative_dim": lambda t: t.select(-1, 1),
    "as_strided": lambda t: t.as_strided((2, 2), (1, 2)),
    "as_strided_offset": lambda t: t.as_strided((3,), (2,), t.storage_offset() + 1),
    "as_strided_zero_stride": lambda t: t.as_strided((2, 3), (0, 1)),
    "contiguous": lambda t: t.contiguous(),
    "clone": lambda t: t.clone(),
    "chain_select_t": lambda t: t.select(0, 0).t(),
    "chain_unsqueeze_transpose_squeeze": lambda t: t.unsqueeze(1).transpose(0, 1).squeeze(0),
    "chain_permute_view": lambda t: t.permute(1, 0, 2).contiguous().view(-1),
}

def _cases(keep=lambda b, o: True):
    return [pytest.param(b, o, id=f"{b}-{o}") for b in BASES for o in OPS if keep(b, o)]


def _overlaps(b, o):
    """torch lets fill_ write to self-overlapping (expanded) views; those are tested separately."""
    try:
        return torch._debug_has_internal_overlap(OPS[o](BASES[b](torch))) == 1
    except Exception:
        return False


CASES = _cases()
WRITE_CASES = _cases(keep=lambda b, o: not _overlaps(b, o))


def shares_storage_torch(a, b) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def apply_both(base, op):
    """(vt base, vt result, torch base, torch result); when torch raises, vt must raise the same type."""
    ref_base = BASES[base](torch)
    t_base = BASES[base](vt)
    try:
        ref = OPS[op](ref_base)
    except Exception as e:  # torch rejects this combination; vt must reject it the same way
        with pytest.raises(type(e)):
            OPS[op](t_base)
        return t_base, None, ref_base, None
    return t_base, OPS[op](t_base), ref_base, ref


@pytest.mark.parametrize("base, op", CASES)
def test_view_op_matches_torch(base, op):
    t_base, t, ref_base, ref = apply_both(base, op)
    if ref is None:
        return
    assert_same(t, ref, check_stride=True, rtol=0, atol=0)
    assert t.storage_offset() == ref.storage_offset()
    assert t.is_contiguous() == ref.is_contiguous()
    assert t._is_view_of(t_base) == shares_storage_torch(ref, ref_base)


@pytest.mark.parametrize("base, op", WRITE_CASES)
def test_write_through_result_matches_torch(base, op):
    """fill_ on the result changes the input exactly when it does in torch (views share memory)."""
    t_base, t, ref_base, ref = apply_both(base, op)
    if ref is None:
        return
    version = t_base._version
    try:
        ref.fill_(-7)
    except Exception as e:
        with pytest.raises(type(e)):
            t.fill_(-7)
        return
    t.fill_(-7)
    assert_same(t_base, ref_base, rtol=0, atol=0)
    assert_same(t, ref, rtol=0, atol=0)
    assert (t_base._version > version) == t._is_view_of(t_base)


# --------------------------------------------------------------------------------------------
# Specific view behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda m: m.arange(6).reshape(2, 3), lambda m: m.arange(6).reshape(3, 2)[::2], lambda m: m.arange(4),
     lambda m: m.zeros(()), lambda m: m.zeros(0, 3)],
    ids=["2d", "2d_strided", "1d", "0d", "empty"],
)
def test_t_matches_torch(make):
    t, ref = make(vt).t(), make(torch).t()
    assert_same(t, ref, check_stride=True)
    assert t.storage_offset() == ref.storage_offset()


@pytest.mark.parametrize(
    "make",
    [lambda m: m.zeros(1, 3, 1, 2), lambda m: m.zeros(2, 1, 3).transpose(0, 2), lambda m: m.zeros(1, 1), lambda m: m.zeros(())],
    ids=["4d", "transposed", "all_ones", "0d"],
)
def test_squeeze_none_means_all_dims(make):
    t, ref = make(vt).squeeze(None), make(torch).squeeze()
    assert_same(t, ref, check_stride=True)


@pytest.mark.parametrize(
    "make, shape",
    [
        pytest.param(lambda m: m.arange(24).reshape(2, 3, 4).transpose(0, 2), (-1, 2), id="3d_transposed_to_2d"),
        pytest.param(lambda m: m.arange(24).reshape(2, 3, 4).transpose(0, 2), (4, 6), id="3d_transposed_merge"),
        pytest.param(lambda m: m.arange(24).reshape(2, 3, 4).transpose(1, 2), (2, 12), id="inner_transposed"),
        pytest.param(lambda m: m.arange(24).reshape(2, 3, 4).permute(2, 0, 1), (-1,), id="permuted_flat"),
        pytest.param(lambda m: m.arange(12).reshape(3, 4).t(), (12,), id="2d_t_flat"),
        pytest.param(lambda m: m.arange(3).reshape(3, 1).expand(3, 4), (12,), id="expanded_flat"),
        pytest.param(lambda m: m.arange(24).reshape(4, 6)[:, :4], (16,), id="sliced_flat"),
        pytest.param(lambda m: m.arange(24).reshape(4, 6)[::2, 1::2], (6,), id="strided_2d"),
    ],
)
def test_reshape_that_must_copy(make, shape):
    base, ref_base = make(vt), make(torch)
    ref = ref_base.reshape(shape)
    assert not shares_storage_torch(ref, ref_base)
    with pytest.raises(RuntimeError):
        ref_base.view(shape)
    out = base.reshape(shape)
    assert_same(out, ref, check_stride=True)
    assert not out._is_view_of(base)
    out.fill_(-1)  # a copy: the input is unchanged
    assert_same(base, make(torch))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.arange(24).reshape(2, 3, 4), (6, -1)),
        (lambda m: m.arange(24).reshape(2, 3, 4).transpose(0, 2), (4, 3, 2, 1)),
        (lambda m: m.arange(24).reshape(2, 3, 4)[:, :, ::2], (6, 2)),
        (lambda m: m.arange(24).reshape(2, 3, 4)[1], (-1,)),
        (lambda m: m.arange(24).reshape(4, 6).t(), (3, 2, 4)),
        (lambda m: m.arange(3).reshape(3, 1).expand(3, 4), (3, 2, 2)),
        (lambda m: m.arange(12).reshape(3, 4)[:, ::2], (6,)),
    ],
    ids=["contiguous", "transposed_add_dim", "strided_merge_outer", "selected", "t_split", "expanded_split",
         "strided_flat"],
)
def test_reshape_that_can_view(make, shape):
    base, ref_base = make(vt), make(torch)
    ref = ref_base.reshape(shape)
    assert shares_storage_torch(ref, ref_base)
    out = base.reshape(shape)
    assert_same(out, ref, check_stride=True)
    assert out.storage_offset() == ref.storage_offset()
    assert out._is_view_of(base) and base._is_view_of(out)


# --------------------------------------------------------------------------------------------
# Version counter and shared memory
# --------------------------------------------------------------------------------------------


def _views(m):
    root = m.zeros(4, 6)
    return [root, root[1], root.t(), root.view(-1), root[:, ::2], root.unsqueeze(0).expand(2, 4, 6),
            root.narrow(0, 1, 2), root.as_strided((3,), (7,))]


VIEW_NAMES = ["root", "select", "t", "view", "strided", "expand", "narrow", "as_strided"]

INPLACE = {
    "add_": lambda m, v: v.add_(1),
    "add_tensor_alpha": lambda m, v: v.add_(m.ones(v.shape[-1]), alpha=2),
    "sub_": lambda m, v: v.sub_(0.5),
    "mul_": lambda m, v: v.mul_(3),
    "div_": lambda m, v: v.div_(2),
    "fill_": lambda m, v: v.fill_(2),
    "zero_": lambda m, v: v.zero_(),
    "copy_": lambda m, v: v.copy_(m.ones(v.shape[-1])),
    "iadd": lambda m, v: operator.iadd(v, 1),
    "imul_tensor": lambda m, v: operator.imul(v, m.ones(())),
    "setitem_number": lambda m, v: v.__setitem__(0, 5),
    "setitem_tensor": lambda m, v: v.__setitem__(..., m.ones(1)),
    "out_of_place_add": lambda m, v: v + 1,
    "out_of_place_clone": lambda m, v: v.clone(),
}


@pytest.mark.parametrize("through", [0, 1, 2, 4, 6, 7], ids=[VIEW_NAMES[i] for i in [0, 1, 2, 4, 6, 7]])
@pytest.mark.parametrize("op", INPLACE.values(), ids=INPLACE.keys())
def test_views_share_version_counter_and_memory(op, through):
    vts, refs = _views(vt), _views(torch)
    unrelated = vt.zeros(3)
    unrelated_version = unrelated._version
    before = [v._version for v in vts]
    ref_before = [v._version for v in refs]
    op(vt, vts[through])
    op(torch, refs[through])
    deltas = [v._version - b for v, b in zip(vts, before)]
    ref_deltas = [v._version - b for v, b in zip(refs, ref_before)]
    assert deltas == ref_deltas
    assert len(set(v._version for v in vts)) == 1, "all views of one storage share one counter"
    assert unrelated._version == unrelated_version
    for v, ref in zip(vts, refs):  # the write is visible through every view
        assert_same(v, ref, rtol=0, atol=0)


@pytest.mark.parametrize("op", ["fill_", "zero_"])
def test_fill_on_expanded_view_like_torch(op):
    ops = {"fill_": lambda v: v.fill_(2), "zero_": lambda v: v.zero_()}
    base, ref_base = vt.ones(3), torch.ones(3)
    ops[op](ref_base.expand(2, 3))
    ops[op](base.expand(2, 3))
    assert_same(base, ref_base)


def test_setitem_on_expanded_view_raises_like_torch():
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ones(3).expand(2, 3)[...] = 2
    with pytest.raises(RuntimeError, match="single memory location"):
        vt.ones(3).expand(2, 3)[...] = 2


def test_in_place_op_on_expanded_view_matches_torch():
    base, ref_base = vt.zeros(3), torch.zeros(3)
    with pytest.raises(RuntimeError):
        ref_base.expand(2, 3).add_(1)
    with pytest.raises(RuntimeError):
        base.expand(2, 3).add_(1)


def test_indexing_view_shares_version_with_base():
    a, ref = vt.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    row, ref_row = a[1], ref[1]
    row[0] = 10.0
    ref_row[0] = 10.0
    assert (a._version, row._version) == (ref._version, ref_row._version)
    assert_same(a, ref)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.arange(12.0).reshape(3, 4), lambda m: m.arange(12.0)[4:].view(2, 4), lambda m: m.zeros(()),
     lambda m: m.zeros(2, 0), lambda m: m.arange(12.0).reshape(3, 4)[1:2]],
    ids=["2d", "offset", "0d", "empty", "row_slice"],
)
def test_contiguous_of_contiguous_returns_same_storage(make):
    t, ref = make(vt), make(torch)
    assert ref.contiguous().data_ptr() == ref.data_ptr()
    c = t.contiguous()
    assert c.data_ptr() == t.data_ptr()
    assert c._is_view_of(t)
    assert (c.shape, c.stride(), c.storage_offset()) == (t.shape, t.stride(), t.storage_offset())
    c.fill_(3)
    ref.contiguous().fill_(3)
    assert_same(t, ref)
    assert t._version == c._version


CLONE_CASES = {
    "transposed": lambda m: m.arange(6.0).reshape(2, 3).t(),
    "permuted_4d": lambda m: m.arange(120.0).reshape(2, 3, 4, 5).permute(3, 1, 0, 2),
    "channels_last": lambda m: m.arange(24.0).reshape(1, 2, 3, 4).permute(0, 2, 3, 1),
    "size1_odd_strides": lambda m: m.arange(12.0).reshape(3, 1, 4).transpose(0, 1),
    "sliced_steps": lambda m: m.arange(24.0).reshape(4, 6)[:, ::2],
    "sliced_transposed": lambda m: m.arange(24.0).reshape(4, 6)[1:].t(),
    "expanded": lambda m: m.arange(3.0).reshape(3, 1).expand(3, 4),
    "expanded_transposed": lambda m: m.arange(3.0).expand(4, 3).t(),
    "0d": lambda m: m.arange(3.0)[1],
    "empty_transposed": lambda m: m.zeros(0, 3).t(),
    "bool_transposed": lambda m: m.zeros(2, 5, dtype=m.bool).t(),
}


def _clone_params():
    return [pytest.param(make, id=name) for name, make in CLONE_CASES.items()]


@pytest.mark.parametrize("make", _clone_params())
def test_clone_keeps_dense_layouts_like_torch(make):
    t, ref = make(vt), make(torch)
    c, ref_c = t.clone(), ref.clone()
    assert_same(c, ref_c, check_stride=True)
    assert c.storage_offset() == 0
    assert not c._is_view_of(t)
    c.fill_(1)
    assert_same(t, ref)  # the clone is independent


@pytest.mark.parametrize("make", _clone_params())
def test_contiguous_matches_torch(make):
    t, ref = make(vt), make(torch)
    c, ref_c = t.contiguous(), ref.contiguous()
    assert_same(c, ref_c, check_stride=True)
    assert c.is_contiguous()
    assert c._is_view_of(t) == shares_storage_torch(ref_c, ref)
