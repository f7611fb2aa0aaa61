"""Bad input raises the exception type torch raises, with a message that names the problem.

Each case is written once against a module ``m`` (torch or vt). Where torch has the case, the test
first checks that torch raises the same type, so the table documents parity; cases torch supports
(vt has not implemented them) say so with ``torch_raises=False``.
"""

import operator

import numpy as np
import pytest

import vt.core as vt

torch = pytest.importorskip("torch")


def _iadd(m, dtype, value):
    t = m.zeros(3, dtype=getattr(m, dtype))
    operator.iadd(t, value(m) if callable(value) else value)


def _itruediv(m):
    t = m.arange(3)
    t /= 2


class Case:
    def __init__(self, call, error, match, torch_raises=True, bug=None):
        self.call, self.error, self.match, self.torch_raises, self.bug = call, error, match, torch_raises, bug


CASES = {
    # shapes
    "add_shape_mismatch": Case(lambda m: m.zeros(2, 3) + m.zeros(4), RuntimeError, r"tensor a \(3\).*tensor b \(4\)"),
    "add_method_shape_mismatch": Case(lambda m: m.zeros(5, 2).add(m.zeros(3, 1, 3)), RuntimeError, r"\(2\).*\(3\)"),
    "inplace_broadcast_output": Case(lambda m: m.zeros(3).add_(m.zeros(2, 3)), RuntimeError, r"shape \[3\].*\[2, 3\]"),
    "copy_shape_mismatch": Case(lambda m: m.zeros(3).copy_(m.zeros(4)), RuntimeError, r"\(3\).*\(4\)"),
    "view_incompatible_size": Case(lambda m: m.zeros(2, 3).view(4), RuntimeError, r"'\[4\]' is invalid for input of size 6"),
    "reshape_incompatible_size": Case(lambda m: m.zeros(4).reshape(3), RuntimeError, r"'\[3\]' is invalid for input of size 4"),
    "view_two_inferred": Case(lambda m: m.zeros(4).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    "view_not_viewable": Case(lambda m: m.zeros(2, 3).t().view(6), RuntimeError, r"reshape"),
    "view_not_viewable_3d": Case(lambda m: m.zeros(2, 3, 4)[:, :, :2].view(-1), RuntimeError, r"reshape"),
    "expand_incompatible": Case(lambda m: m.zeros(3).expand(4), RuntimeError, r"expanded size .*\(4\).*existing size \(3\)"),
    "expand_too_few_sizes": Case(lambda m: m.zeros(2, 3).expand(3), RuntimeError, r"number of sizes provided \(1\)"),
    "expand_minus1_new_dim": Case(lambda m: m.zeros(3).expand(-1, 3), RuntimeError, r"-1"),
    "permute_too_few": Case(lambda m: m.zeros(2, 3).permute(0), RuntimeError, r"number of dimensions.*does not match"),
    "permute_too_many": Case(lambda m: m.zeros(2, 3).permute(0, 1, 2), RuntimeError, r"does not match"),
    "permute_duplicate": Case(lambda m: m.zeros(2, 3).permute(0, 0), RuntimeError, r"duplicate dims"),
    "permute_duplicate_negative": Case(lambda m: m.zeros(2, 3).permute(1, -1), RuntimeError, r"duplicate dims"),
    "narrow_too_long": Case(lambda m: m.zeros(2, 3).narrow(1, 2, 2), RuntimeError, r"exceeds dimension size \(3\)"),
    "t_of_3d": Case(lambda m: m.zeros(2, 3, 4).t(), RuntimeError, r"<= 2 dimensions"),
    "fill_with_1d_tensor": Case(lambda m: m.zeros(3).fill_(m.zeros(2)), RuntimeError, r"0-dimension"),
    # dims out of range
    "sum_dim": Case(lambda m: m.zeros(2, 3).sum(dim=3), IndexError, r"Dimension out of range.*\[-2, 1\].*3"),
    "sum_dim_in_tuple": Case(lambda m: m.zeros(2, 3).sum(dim=(0, -3)), IndexError, r"Dimension out of range"),
    "mean_dim": Case(lambda m: m.zeros(2, 3).mean(dim=2), IndexError, r"Dimension out of range"),
    "transpose_dim": Case(lambda m: m.zeros(2, 3).transpose(0, 5), IndexError, r"Dimension out of range.*5"),
    "unsqueeze_dim": Case(lambda m: m.zeros(2, 3).unsqueeze(3), IndexError, r"Dimension out of range.*\[-3, 2\]"),
    "unsqueeze_negative_dim": Case(lambda m: m.ones(3).unsqueeze(-3), IndexError, r"Dimension out of range"),
    "select_dim": Case(lambda m: m.zeros(2, 3).select(2, 0), IndexError, r"Dimension out of range"),
    "squeeze_dim": Case(lambda m: m.zeros(2, 3).squeeze(3), IndexError, r"Dimension out of range"),
    "narrow_dim": Case(lambda m: m.zeros(2, 3).narrow(2, 0, 1), IndexError, r"Dimension out of range"),
    "permute_dim": Case(lambda m: m.zeros(2, 3).permute(0, 2), IndexError, r"Dimension out of range"),
    "dim_of_0d": Case(lambda m: m.zeros(()).sum(dim=1), IndexError, r"Dimension out of range"),
    # indices
    "index_out_of_bounds": Case(lambda m: m.zeros(3)[5], IndexError, r"index 5 is out of bounds for dimension 0 with size 3"),
    "negative_index_out_of_bounds": Case(lambda m: m.zeros(3)[-4], IndexError, r"index -4 is out of bounds"),
    "index_out_of_bounds_dim1": Case(lambda m: m.zeros(2, 3)[0, 3], IndexError, r"out of bounds for dimension 1"),
    "index_out_of_bounds_dim1_slice": Case(lambda m: m.zeros(2, 3)[:, 3], IndexError, r"out of bounds for dimension 1"),
    "select_out_of_range": Case(lambda m: m.zeros(3).select(0, 5), IndexError, r"index 5 out of range"),
    "narrow_start_out_of_range": Case(lambda m: m.zeros(2, 3).narrow(1, -4, 1), IndexError, r"start out of range"),
    "too_many_indices": Case(lambda m: m.zeros(2, 3)[0, 0, 0], IndexError, r"too many indices for tensor of dimension 2"),
    "too_many_slices": Case(lambda m: m.zeros(2, 3)[:, :, :], IndexError, r"too many indices"),
    "index_0d": Case(lambda m: m.zeros(())[0], IndexError, r"0-dim|dimension 0"),
    "setitem_out_of_bounds": Case(lambda m: m.zeros(3).__setitem__(3, 1.0), IndexError, r"out of bounds"),
    "slice_step_zero": Case(lambda m: m.zeros(3)[::0], ValueError, r"step cannot be zero"),
    "slice_step_negative": Case(lambda m: m.zeros(3)[::-1], ValueError, r"step must be greater than zero"),
    "slice_float_bounds": Case(lambda m: m.zeros(3)[0.5:2], TypeError, r"slice indices must be integers"),
    "advanced_index_list": Case(lambda m: m.zeros(3)[[0, 5]], IndexError,
                                r"index 5 is out of bounds for dimension 0 with size 3"),
    "advanced_index_tensor": Case(lambda m: m.zeros(3)[m.tensor([0.5, 2.0])], IndexError,
                                  r"tensors used as indices must be long, int, byte or bool tensors"),
    "advanced_index_bool": Case(lambda m: m.zeros(3)[m.tensor([True, False])], IndexError,
                                r"shape of the mask \[2\] at index 0 does not match"),
    "advanced_setitem_list": Case(lambda m: m.zeros(3).__setitem__([0, 1], m.ones(2, dtype=m.int64)), RuntimeError,
                                  r"Index put requires the source and destination dtypes match"),
    "float_index": Case(lambda m: m.zeros(3)[1.5], IndexError, r"float"),
    # sizes
    "zeros_negative_size": Case(lambda m: m.zeros(-1), RuntimeError, r"negative dimension -1"),
    "empty_negative_size": Case(lambda m: m.empty(2, -3), RuntimeError, r"negative dimension -3: \[2, -3\]"),
    "ones_negative_size": Case(lambda m: m.ones((4, -2)), RuntimeError, r"negative dimension"),
    "full_negative_size": Case(lambda m: m.full((-1,), 1.0), RuntimeError, r"negative dimension"),
    "zeros_float_size": Case(lambda m: m.zeros(2.5), TypeError, r"float"),
    "view_float_size": Case(lambda m: m.zeros(4).view(2.0, 2), TypeError, r"float"),
    "as_strided_out_of_storage": Case(lambda m: m.zeros(4).as_strided((3,), (2,)), RuntimeError, r"storage"),
    "as_strided_offset_out_of_storage": Case(lambda m: m.zeros(4).as_strided((2,), (1,), 3), RuntimeError, r"storage"),
    "as_strided_negative_stride": Case(lambda m: m.zeros(4).as_strided((2,), (-1,)), RuntimeError, r"[Nn]egative stride"),
    "arange_zero_step": Case(lambda m: m.arange(0, 5, 0), RuntimeError, r"step must be nonzero"),
    "arange_wrong_sign": Case(lambda m: m.arange(5, 0, 1), RuntimeError, r"inconsistent with step sign"),
    "arange_nan": Case(lambda m: m.arange(float("nan")), RuntimeError, r"unsupported range"),
    # vt.tensor() data
    "tensor_string": Case(lambda m: m.tensor("a"), TypeError, r"str"),
    "tensor_ragged": Case(lambda m: m.tensor([[1, 2], [3]]), ValueError, r"sequence"),
    "tensor_ragged_deep": Case(lambda m: m.tensor([[[1], [2]], [[3], [4, 5]]]), ValueError, r"sequence"),
    "tensor_ragged_scalar_and_list": Case(lambda m: m.tensor([[1, 2], 3]), TypeError, r"sequence"),
    "tensor_list_of_strings": Case(lambda m: m.tensor(["a", "b"]), ValueError, r"str"),
    "tensor_list_of_none": Case(lambda m: m.tensor([None, 1]), RuntimeError, r"NoneType"),
    "tensor_list_of_objects": Case(lambda m: m.tensor([object()]), RuntimeError, r"object"),
    "tensor_numpy_strings": Case(lambda m: m.tensor(np.array(["a"])), TypeError, r"can't convert np.ndarray"),
    "tensor_numpy_objects": Case(lambda m: m.tensor(np.array([object()])), TypeError, r"can't convert np.ndarray"),
    # dtypes and devices
    "string_dtype_zeros": Case(lambda m: m.zeros(2, dtype="float32"), TypeError, r"dtype"),
    "string_dtype_arange": Case(lambda m: m.arange(3, dtype="int64"), TypeError, r"dtype"),
    "string_dtype_full": Case(lambda m: m.full((2,), 1, dtype="float32"), TypeError, r"dtype"),
    "string_dtype_tensor": Case(lambda m: m.tensor([1], dtype="float32"), TypeError, r"dtype"),
    "unknown_device_zeros": Case(lambda m: m.zeros(2, device="tpu"), RuntimeError, r"device string: tpu"),
    "unknown_device_tensor": Case(lambda m: m.tensor([1], device="tpu"), RuntimeError, r"device string: tpu"),
    "unknown_device_to": Case(lambda m: m.zeros(2).to("tpu"), RuntimeError, r"device string: tpu"),
    "invalid_device_index": Case(lambda m: m.zeros(2, device="cuda:x"), RuntimeError, r"Invalid device string: 'cuda:x'"),
    "unknown_device_object": Case(lambda m: m.device("tpu"), RuntimeError, r"tpu"),
    "full_string_value": Case(lambda m: m.full((2,), "a"), TypeError, r"str"),
    # promotion and type rules
    "int_iadd_float": Case(lambda m: _iadd(m, "int64", 1.5), RuntimeError, r"can't be cast"),
    "int_iadd_float_tensor": Case(lambda m: _iadd(m, "int32", lambda m: m.ones(3)), RuntimeError, r"can't be cast"),
    "bool_iadd_int": Case(lambda m: _iadd(m, "bool", 1), RuntimeError, r"can't be cast"),
    "int_itruediv": Case(_itruediv, RuntimeError, r"can't be cast"),
    "int_add_float_alpha": Case(lambda m: m.arange(3).add(m.arange(3), alpha=1.5), RuntimeError, r"alpha"),
    "bool_sub": Case(lambda m: m.tensor([True]) - m.tensor([False]), RuntimeError, r"Subtraction.*bool"),
    "bool_sub_method": Case(lambda m: m.tensor([True]).sub(m.tensor([True])), RuntimeError, r"Subtraction.*bool"),
    "bool_sub_scalar": Case(lambda m: m.tensor([True]) - True, RuntimeError, r"Subtraction.*bool"),
    "bool_neg": Case(lambda m: -m.tensor([True, False]), RuntimeError, r"Negation.*bool"),
    "bool_neg_method": Case(lambda m: m.tensor([True]).neg(), RuntimeError, r"Negation.*bool"),
    "mean_int": Case(lambda m: m.tensor([1, 2]).mean(), RuntimeError, r"mean\(\).*floating point.*int64|Long"),
    "mean_int_dim": Case(lambda m: m.arange(6).reshape(2, 3).mean(0), RuntimeError, r"floating point"),
    "mean_int_dtype": Case(lambda m: m.zeros(2, 3).mean(dim=0, dtype=m.int64), RuntimeError, r"floating point"),
    "sum_duplicate_dims": Case(lambda m: m.zeros(2, 3).sum(dim=(0, 0)), RuntimeError, r"dim 0 appears multiple times"),
    "sum_duplicate_negative_dims": Case(lambda m: m.zeros(2, 3).sum(dim=(1, -1)), RuntimeError, r"appears multiple times"),
    "add_string": Case(lambda m: m.zeros(3) + "a", TypeError, r"unsupported operand"),
    # conversions
    "numpy_bfloat16": Case(lambda m: m.zeros(2, dtype=m.bfloat16).numpy(), TypeError, r"BFloat16"),
    "item_of_many": Case(lambda m: m.zeros(2, 2).item(), RuntimeError, r"4 elements"),
    "len_of_0d": Case(lambda m: len(m.zeros(())), TypeError, r"0-d"),
    "bool_of_many": Case(lambda m: bool(m.zeros(2)), RuntimeError, r"ambiguous"),
    "index_of_float": Case(lambda m: [1, 2][m.ones(())], TypeError, r"integer"),
}


PARAMS = [
    pytest.param(case, id=name, marks=pytest.mark.xfail(strict=True, reason=case.bug) if case.bug else ())
    for name, case in CASES.items()
]


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence:UserWarning")
@pytest.mark.parametrize("case", PARAMS)
def test_bad_input_raises_like_torch(case):
    if case.torch_raises:
        with pytest.raises(case.error):
            case.call(torch)
    else:
        case.call(torch)  # torch supports it; vt does not implement it yet and must say so
    with pytest.raises(case.error, match=case.match):
        case.call(vt)


def test_failed_inplace_op_leaves_tensor_unchanged():
    t, ref = vt.arange(3), torch.arange(3)
    for m, x in ((vt, t), (torch, ref)):
        with pytest.raises(RuntimeError):
            x.add_(m.ones(3) * 0.5)
    assert t.tolist() == ref.tolist() == [0, 1, 2]
    assert t._version == ref._version
