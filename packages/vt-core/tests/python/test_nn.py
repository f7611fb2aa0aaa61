"""The nn family beyond the op table: errors (torch's exception types), special values,
torch.nn.functional's Python-level argument handling (warnings, legacy reductions), and
properties such as numerical stability and thread-count independence."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
import vt.core as vt
from reference import assert_same, from_torch, to_torch


def _vt_args(args, kwargs):
    def conv(v):
        if isinstance(v, torch.Tensor):
            return from_torch(v)
        return getattr(vt, str(v).removeprefix("torch.")) if isinstance(v, torch.dtype) else v
    return [conv(a) for a in args], {k: conv(v) for k, v in kwargs.items()}


def both_raise(exc, name, *args, match=None, **kwargs):
    """torch.nn.functional.<name> and vt.<name> raise the same exception type on these args."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc):
            getattr(F, name)(*args, **kwargs)
        vargs, vkwargs = _vt_args(args, kwargs)
        with pytest.raises(exc, match=match):
            getattr(vt, name)(*vargs, **vkwargs)


def same(name, *args, rtol=1.3e-6, atol=1e-5, **kwargs):
    """vt.<name> equals torch.nn.functional.<name> on these args (warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(F, name)(*args, **kwargs)
        vargs, vkwargs = _vt_args(args, kwargs)
        got = getattr(vt, name)(*vargs, **vkwargs)
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            assert_same(g, w, rtol=rtol, atol=atol)
    else:
        assert_same(got, want, rtol=rtol, atol=atol)
    return got


X = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
T = torch.tensor([1, 0, 4, 2])


# softmax / log_softmax ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_special_values(name, dim, dtype):
    inf, nan = math.inf, math.nan
    x = torch.tensor([[0.0, 1.0, inf, 2.0], [-inf, -inf, -inf, -inf], [1.0, nan, 2.0, 3.0],
                      [-inf, 0.0, -inf, 5.0], [1e4, -1e4, 0.0, 3e4]], dtype=dtype)
    same(name, x if dim == 1 else x.t().contiguous(), dim=dim, rtol=0, atol=0)


def test_softmax_is_stable_for_large_inputs():
    x = torch.tensor([1000.0, 0.0, -1000.0])
    assert to_torch(vt.softmax(from_torch(x), 0)).tolist() == [1.0, 0.0, 0.0]
    assert to_torch(vt.log_softmax(from_torch(x), 0)).tolist() == [0.0, -1000.0, -2000.0]
    same("softmax", torch.tensor([60000.0, 0.0, -60000.0]).half(), dim=0)


def test_float32_exp_is_accurate_down_to_subnormals():
    # softmax([0, t])[1] = e^t / (1 + e^t): the vectorized exp within a few ulp, subnormals too.
    t = torch.linspace(-103.0, 0.0, 20001)
    x = torch.stack([torch.zeros_like(t), t], 1)
    want = torch.softmax(x.double(), 1)[:, 1].float()
    got = to_torch(vt.softmax(from_torch(x), 1))[:, 1]
    torch.testing.assert_close(got, want, rtol=4e-7, atol=3e-45)


def test_softmax_implicit_dim_warns_and_picks_torchs_dim():
    x = torch.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = vt.softmax(from_torch(x))
    with pytest.warns(UserWarning):
        want = F.softmax(x)
    assert_same(got, want)


def test_softmax_errors():
    both_raise(NotImplementedError, "softmax", torch.tensor([1, 2]), 0, match="int64")
    both_raise(NotImplementedError, "softmax", X, 0, dtype=torch.int64)
    both_raise(IndexError, "softmax", X, 2)
    both_raise(IndexError, "log_softmax", torch.tensor(1.0), 1)
    with pytest.raises(TypeError):
        from_torch(X).softmax()
    with pytest.raises(TypeError):
        X.softmax()


# losses -----------------------------------------------------------------------------------------

def test_cross_entropy_special_cases():
    all_ignored = torch.full((4,), -100)
    got = same("cross_entropy", X, all_ignored)
    assert math.isnan(got.item())
    assert math.isnan(same("cross_entropy", X, all_ignored, label_smoothing=0.2).item())
    same("cross_entropy", X, T, ignore_index=4, label_smoothing=1.0, reduction="none")
    # An ignored target may lie outside the classes.
    same("nll_loss", X, torch.tensor([1, 7, 0, 2]), ignore_index=7)


def test_cross_entropy_with_inf_logits():
    x = torch.tensor([[0.0, -math.inf, 1.0], [math.inf, 0.0, 0.0]])
    same("cross_entropy", x, torch.tensor([0, 1]), reduction="none", rtol=0, atol=0)


@pytest.mark.parametrize("kwargs,exc", [
    ({"target": torch.tensor([1, 2, 9, 0])}, IndexError),
    ({"target": torch.tensor([1, 2, -3, 0])}, IndexError),
    ({"target": T, "label_smoothing": 1.5}, RuntimeError),
    ({"target": torch.rand(4, 5), "ignore_index": 1}, RuntimeError),
    ({"target": torch.randint(0, 3, (4, 5))}, RuntimeError),
    ({"target": torch.tensor([1, 2, 3])}, ValueError),
    ({"target": T, "weight": torch.ones(3)}, RuntimeError),
    ({"target": T, "weight": torch.ones(5, dtype=torch.float64)}, RuntimeError),
    ({"target": T.to(torch.int32)}, RuntimeError),
    ({"target": T, "reduction": "avg"}, ValueError),
])
def test_cross_entropy_errors(kwargs, exc):
    kwargs = dict(kwargs)
    both_raise(exc, "cross_entropy", X, kwargs.pop("target"), **kwargs)


def test_class_target_shape_errors():
    both_raise(ValueError, "nll_loss", torch.tensor(1.0), torch.tensor(0), match="1 or more dimensions")
    both_raise(RuntimeError, "nll_loss", torch.randn(3, 5), torch.zeros(3, 1, dtype=torch.long), match="multi-target")
    both_raise(ValueError, "nll_loss", torch.randn(5), torch.tensor([2, 3]), match="1D target must have size 1")
    both_raise(RuntimeError, "cross_entropy", torch.randn(2, 5, 3), torch.tensor([1, 2]), match="Expected target size")
    both_raise(RuntimeError, "cross_entropy", torch.tensor(1.0), torch.tensor(0), match="floating point")
    both_raise(NotImplementedError, "nll_loss", X.long(), T)
    both_raise(NotImplementedError, "cross_entropy", X.long(), T)
    both_raise(IndexError, "nll_loss", torch.randn(2, 3, 4), torch.tensor([[1, 2, 7, 0], [0, 0, 0, 0]]),
               reduction="none", match="Target 7 is out of bounds")


def test_legacy_reduction_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce"):
        got = vt.cross_entropy(from_torch(X), from_torch(T), size_average=False)
    assert_same(got, F.cross_entropy(X, T, reduction="sum"), rtol=1e-6, atol=1e-6)
    with pytest.warns(UserWarning):
        got = vt.mse_loss(from_torch(X), from_torch(X * 2), reduce=False)
    assert_same(got, F.mse_loss(X, X * 2, reduction="none"))


def test_distance_loss_broadcast_warns_like_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        vt.mse_loss(from_torch(X), from_torch(X[0]))
    both_raise(RuntimeError, "mse_loss", X, torch.randn(3))
    both_raise(NotImplementedError, "mse_loss", X.long(), X.long())
    both_raise(RuntimeError, "l1_loss", X.long(), X.long())  # mean of integers
    both_raise(RuntimeError, "l1_loss", X > 0, X > 0, reduction="none")
    both_raise(ValueError, "mse_loss", X, X, weight=torch.ones(5))


def test_binary_cross_entropy_errors_and_saturation():
    p = torch.rand(2, 3, generator=torch.Generator().manual_seed(1))
    both_raise(ValueError, "binary_cross_entropy", p, p[0], match="target size")
    both_raise(RuntimeError, "binary_cross_entropy", p + 1, p, match="between 0 and 1")
    both_raise(RuntimeError, "binary_cross_entropy", torch.tensor([math.nan]), torch.tensor([0.5]))
    both_raise(RuntimeError, "binary_cross_entropy", p, p.double())
    both_raise(NotImplementedError, "binary_cross_entropy", p.long(), p.long())
    # log is clamped at -100: a confidently wrong prediction costs exactly 100.
    same("binary_cross_entropy", torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]), reduction="none",
         rtol=0, atol=0)
    both_raise(ValueError, "binary_cross_entropy_with_logits", p, p[0], match="must be the same as input size")
    both_raise(RuntimeError, "binary_cross_entropy_with_logits", p, (p > 0.5).long())
    both_raise(RuntimeError, "binary_cross_entropy_with_logits", p, p, pos_weight=torch.ones(4))


@pytest.mark.parametrize("input_dtype,target_dtype", [(torch.float64, torch.float32), (torch.float32, torch.float64),
                                                      (torch.float16, torch.float32), (torch.float32, torch.float16)])
def test_bce_with_logits_result_has_the_targets_dtype(input_dtype, target_dtype):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    t = torch.rand(3, 4, generator=torch.Generator().manual_seed(3))
    same("binary_cross_entropy_with_logits", x.to(input_dtype), t.to(target_dtype), reduction="none",
         rtol=2e-3, atol=1e-3)


def test_bce_with_logits_extreme_logits_are_finite():
    x = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4])
    same("binary_cross_entropy_with_logits", x, torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0]), reduction="none")


def test_loss_reductions_do_not_depend_on_the_thread_count():
    x = torch.randn(3000, 50, generator=torch.Generator().manual_seed(4))
    t = torch.randint(0, 50, (3000,), generator=torch.Generator().manual_seed(5))
    vx, vtt = from_torch(x), from_torch(t)
    threads = vt.get_num_threads()
    try:
        vt.set_num_threads(1)
        one = vt.cross_entropy(vx, vtt, reduction="sum").item()
        vt.set_num_threads(2)
        two = vt.cross_entropy(vx, vtt, reduction="sum").item()
    finally:
        vt.set_num_threads(threads)
    assert one == two


# norms ------------------------------------------------------------------------------------------

def test_norm_errors():
    both_raise(RuntimeError, "layer_norm", torch.randn(2, 3), (4,), match="normalized_shape")
    both_raise(RuntimeError, "layer_norm", torch.randn(2, 4), (4,), weight=torch.ones(3), match="weight")
    both_raise(RuntimeError, "layer_norm", torch.randn(2, 4), (), match="at least 1-dimensional")
    both_raise(TypeError, "layer_norm", torch.randn(2, 4), 4)
    both_raise(NotImplementedError, "layer_norm", torch.ones(2, 4, dtype=torch.long), (4,))
    both_raise(RuntimeError, "layer_norm", torch.randn(2, 4), (4,), weight=torch.ones(4).half(), match="mixed dtype")
    both_raise(RuntimeError, "rms_norm", torch.randn(2, 3), (4,))
    both_raise(NotImplementedError, "rms_norm", torch.ones(2, 4, dtype=torch.long), (4,))
    both_raise(RuntimeError, "group_norm", torch.randn(2, 6, 4), 4, match="divisible by num_groups")
    both_raise(RuntimeError, "group_norm", torch.randn(6), 3, match="at least 2 dimensions")
    both_raise(RuntimeError, "group_norm", torch.randn(2, 6, 4), 3, weight=torch.ones(3))
    both_raise(ZeroDivisionError, "group_norm", torch.randn(2, 6, 4), 0)
    both_raise(NotImplementedError, "group_norm", torch.ones(2, 6, 4, dtype=torch.long), 3)


def test_norms_of_constant_rows():
    # Zero variance: the output is the bias (torch's group_norm is off by rounding in its
    # variance, so exact values are checked against the definition); rms_norm of zeros is zero.
    x = torch.full((3, 8), 2.5)
    same("layer_norm", x, (8,), bias=torch.arange(8.0), rtol=0, atol=0)
    got = vt.group_norm(from_torch(x.view(3, 4, 2)), 2, bias=from_torch(torch.arange(4.0)))
    assert to_torch(got).tolist() == [[[float(c)] * 2 for c in range(4)]] * 3
    assert_same(got, F.group_norm(x.view(3, 4, 2), 2, bias=torch.arange(4.0)), rtol=0, atol=1e-4)
    same("rms_norm", torch.zeros(3, 8), (8,), rtol=0, atol=0)


def test_rms_norm_default_eps_is_the_compute_types():
    x = torch.full((4,), 1e-3)
    for dtype in (torch.float16, torch.float32, torch.float64):
        same("rms_norm", x.to(dtype), (4,), rtol=2e-3, atol=1e-6)


# embedding --------------------------------------------------------------------------------------

def test_embedding_errors():
    w = torch.randn(3, 4)
    both_raise(RuntimeError, "embedding", torch.tensor([1.0]), w, match="indices")
    both_raise(IndexError, "embedding", torch.tensor([5]), w, match="index out of range")
    both_raise(IndexError, "embedding", torch.tensor([-1]), w)
    both_raise(AssertionError, "embedding", torch.tensor([1]), w, padding_idx=3)
    both_raise(AssertionError, "embedding", torch.tensor([1]), w, padding_idx=-4)
    both_raise(RuntimeError, "embedding", torch.tensor([1]), torch.randn(3), match="2-D")
    with pytest.raises(NotImplementedError, match="max_norm"):
        vt.embedding(from_torch(torch.tensor([1])), from_torch(w), max_norm=1.0)


def test_embedding_copies_rows():
    w = from_torch(torch.arange(12.0).view(3, 4))
    out = vt.embedding(from_torch(torch.tensor([2, 0])), w)
    w.fill_(0)
    assert to_torch(out).tolist() == [[8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]]


# pooling ----------------------------------------------------------------------------------------

def test_max_pool_nan_inf_and_ties():
    x = torch.tensor([[[[1.0, math.nan, 3.0, math.nan]]]])
    same("max_pool2d", x, (1, 4), return_indices=True, rtol=0, atol=0)
    x = torch.full((1, 1, 3, 3), -math.inf)
    same("max_pool2d", x, 2, padding=1, return_indices=True, rtol=0, atol=0)
    same("max_pool2d", -torch.arange(1, 17).view(1, 1, 4, 4), 2, return_indices=True)
    same("max_pool2d", torch.ones(1, 1, 4, 4, dtype=torch.int8), 3, stride=1, return_indices=True)


@pytest.mark.parametrize("args,kwargs,match", [
    ((torch.randn(1, 1, 4, 4), 3), {"padding": 2}, "pad should be at most half"),
    ((torch.randn(1, 1, 2, 2), 3), {}, "Output size is too small"),
    ((torch.ones(4, 4), 2), {}, None),
    ((torch.ones(1, 1, 1, 4, 4), 2), {}, None),
    ((torch.ones(2, 0, 4, 4), 2), {}, None),
    ((torch.ones(1, 1, 4, 4), 2), {"stride": 0}, "stride should not be zero"),
    ((torch.ones(1, 1, 4, 4), 2), {"dilation": 0}, "dilation"),
    ((torch.ones(1, 1, 4, 4), (2, 2, 2)), {}, "kernel_size"),
])
def test_max_pool_errors(args, kwargs, match):
    both_raise(RuntimeError, "max_pool2d", *args, match=match, **kwargs)


def test_pool_dtype_and_argument_errors():
    both_raise(RuntimeError, "avg_pool2d", torch.ones(1, 1, 4, 4), 2, divisor_override=0, match="divisor")
    both_raise(NotImplementedError, "avg_pool2d", torch.ones(1, 1, 4, 4, dtype=torch.uint8), 2)
    both_raise(RuntimeError, "avg_pool2d", torch.ones(1, 1, 4, 4), 2, padding=2, match="pad should be")
    both_raise(RuntimeError, "adaptive_avg_pool2d", torch.ones(5, 7), 2, match="3D or 4D")
    both_raise(RuntimeError, "adaptive_avg_pool2d", torch.ones(1, 2, 0, 7), 2, match="non-zero size")
    both_raise(RuntimeError, "adaptive_avg_pool2d", torch.ones(1, 2, 5, 7), (2, 3, 4), match="output_size")
    both_raise(NotImplementedError, "adaptive_avg_pool2d", torch.ones(1, 2, 5, 7, dtype=torch.long), 2)
    same("adaptive_avg_pool2d", torch.ones(1, 2, 5, 7), 0)


# interpolate ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,kwargs,exc", [
    ((torch.randn(1, 1, 4, 4),), {"size": 2, "scale_factor": 2}, ValueError),
    ((torch.randn(1, 1, 4, 4),), {}, ValueError),
    ((torch.randn(1, 1, 4),), {"size": 2, "mode": "bilinear"}, NotImplementedError),
    ((torch.randn(1, 1, 4, 4),), {"size": 2, "mode": "linear"}, NotImplementedError),
    ((torch.randn(1, 1, 4, 4),), {"size": 2, "align_corners": True}, ValueError),
    ((torch.randn(1, 1, 4, 4),), {"size": (2,)}, ValueError),
    ((torch.randn(1, 1, 4, 4),), {"size": 2, "mode": "foo"}, NotImplementedError),
    ((torch.ones(1, 1, 4, 4, dtype=torch.long),), {"size": 2}, NotImplementedError),
    ((torch.ones(1, 1, 4, 4),), {"size": 0}, RuntimeError),
    ((torch.ones(1, 1, 4, 4),), {"scale_factor": 0.1}, RuntimeError),
    ((torch.ones(4, 4),), {"size": 2}, NotImplementedError),
    ((torch.ones(1, 1, 4, 4),), {"size": 2, "recompute_scale_factor": True}, ValueError),
])
def test_interpolate_errors(args, kwargs, exc):
    both_raise(exc, "interpolate", *args, **kwargs)


def test_interpolate_modes_not_implemented_name_the_mode():
    with pytest.raises(NotImplementedError, match="bicubic"):
        vt.interpolate(from_torch(torch.randn(1, 1, 4, 4)), size=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="upsample_bilinear2d"):
        vt.interpolate(from_torch(torch.ones(1, 1, 4, 4, dtype=torch.uint8)), size=2, mode="bilinear")


# convolution ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,args,kwargs,exc", [
    ("conv2d", (torch.randn(1, 3, 5, 5), torch.randn(4, 2, 3, 3)), {}, RuntimeError),
    ("conv2d", (torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3)), {"groups": 3}, RuntimeError),
    ("conv2d", (torch.randn(1, 3, 2, 2), torch.randn(4, 3, 3, 3)), {}, RuntimeError),
    ("conv2d", (torch.randn(1, 3, 5, 5), torch.randn(4, 3, 3, 3)), {"stride": 2, "padding": "same"}, RuntimeError),
    ("conv2d", (torch.randn(1, 3, 5, 5), torch.randn(4, 3, 3, 3)), {"padding": "foo"}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3).double()), {}, RuntimeError),
    ("conv2d", (torch.ones(5, 5), torch.ones(4, 3, 3, 3)), {}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3), torch.ones(3)), {}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3)), {"stride": 0}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3)), {"padding": -1}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3)), {"groups": 0}, RuntimeError),
    ("conv2d", (torch.ones(1, 3, 5, 5), torch.ones(4, 3, 3, 3)), {"stride": (1, 1, 1)}, RuntimeError),
    ("conv1d", (torch.ones(1, 1, 3), torch.ones(1, 1, 2, 2)), {}, RuntimeError),
    ("conv2d", (torch.ones(1, 1, 3, 3, dtype=torch.bool), torch.ones(1, 1, 2, 2, dtype=torch.bool)), {},
     NotImplementedError),
])
def test_conv_errors(name, args, kwargs, exc):
    both_raise(exc, name, *args, **kwargs)


# attention --------------------------------------------------------------------------------------

Q, K, V = (torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 6))


@pytest.mark.parametrize("args,kwargs", [
    ((Q, K, V), {"attn_mask": torch.ones(4, 5, dtype=torch.bool), "is_causal": True}),
    ((Q, K.double(), V), {}),
    ((Q.long(), K.long(), V.long()), {}),
    ((Q, K, V), {"attn_mask": torch.zeros(4, 5, dtype=torch.long)}),
    ((Q, K, V), {"attn_mask": torch.zeros(4, 5, dtype=torch.float64)}),
    ((Q, K, V), {"attn_mask": torch.zeros(3, 5)}),
    ((torch.randn(2, 4, 4, 8), K, V), {"enable_gqa": True}),
    ((torch.randn(2, 6, 4, 8), K, V), {}),
    ((torch.randn(8), torch.randn(8), torch.randn(6)), {}),
])
def test_attention_errors(args, kwargs):
    both_raise(RuntimeError, "scaled_dot_product_attention", *args, **kwargs)


def test_attention_dropout():
    # p = 1 drops every weight; p = 0.5 keeps the output's shape and dtype.
    same("scaled_dot_product_attention", Q, K, V, dropout_p=1.0, rtol=0, atol=0)
    out = vt.scaled_dot_product_attention(from_torch(Q), from_torch(K), from_torch(V), dropout_p=0.5)
    assert out.shape == (2, 3, 4, 6) and out.dtype == vt.float32


def test_attention_fully_masked_float_rows_give_zeros():
    mask = torch.zeros(4, 5)
    mask[2] = -math.inf
    got = same("scaled_dot_product_attention", Q, K, V, attn_mask=mask)
    assert to_torch(got)[:, :, 2].abs().max().item() == 0.0


# dropout ----------------------------------------------------------------------------------------

def test_dropout_keeps_about_1_minus_p_and_scales_exactly():
    x = torch.full((200000,), 3.0)
    out = to_torch(vt.dropout(from_torch(x), 0.3))
    dropped = (out == 0).double().mean().item()
    assert abs(dropped - 0.3) < 0.01
    scale = torch.tensor(1 / 0.7, dtype=torch.float32)
    assert torch.equal(out[out != 0], torch.full_like(out[out != 0], 3.0) * scale)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_dropout_dtypes(dtype):
    x = torch.full((1000,), 1.5, dtype=getattr(torch, dtype))
    out = to_torch(vt.dropout(from_torch(x), 0.25))
    assert out.dtype == x.dtype
    scale = torch.tensor(1 / 0.75, dtype=x.dtype)
    assert set(out.unique().tolist()) <= {0.0, (x[0] * scale).item()}


def test_dropout_returns_the_input_when_it_changes_nothing():
    t = from_torch(X)
    assert vt.dropout(t, 0.5, training=False) is t
    assert vt.dropout(t, 0.0) is t
    i = from_torch(torch.ones(3, dtype=torch.long))
    assert vt.dropout(i, 0.5, training=False) is i


def test_dropout_p_one_keeps_signs_like_torch():
    same("dropout", torch.tensor([-1.0, 2.0, math.inf]), 1.0, rtol=0, atol=0)
    x = torch.tensor([-1.0, 2.0, 0.0, -0.0])
    got = to_torch(vt.dropout(from_torch(x), 1.0))
    assert torch.equal(torch.signbit(got), torch.signbit(F.dropout(x, 1.0)))


def test_dropout_inplace_and_seeded():
    v = from_torch(torch.ones(1000))
    version = v._version
    assert vt.dropout(v, 0.5, inplace=True) is v
    assert v._version > version
    assert set(to_torch(v).unique().tolist()) == {0.0, 2.0}
    vt.manual_seed(123)
    a = to_torch(vt.dropout(from_torch(torch.ones(500)), 0.5))
    vt.manual_seed(123)
    b = to_torch(vt.dropout(from_torch(torch.ones(500)), 0.5))
    assert torch.equal(a, b)


def test_dropout_errors():
    both_raise(ValueError, "dropout", X, 1.5, match="between 0 and 1")
    both_raise(ValueError, "dropout", X, -0.1, training=False)
    both_raise(RuntimeError, "dropout", torch.ones(3, dtype=torch.long), 0.5)


# torch's top-level forms of the nn functions (aten's arguments), next to the functional ones ----

IMG = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("call", [
    lambda m, x: m.softmax(x, 0, m.float64),
    lambda m, x: m.softmax(input=x, dim=1, dtype=m.float64),
    lambda m, x: m.log_softmax(x, -1, m.float64),
    lambda m, x: m.log_softmax(x, 1),
    lambda m, x: m.layer_norm(x, (5,), None, None, 1e-3, False),
    lambda m, x: m.layer_norm(x, [5], cudnn_enable=True),
    lambda m, x: m.group_norm(x.reshape(2, 2, 5), 2, None, None, 1e-5, False),
    lambda m, x: m.group_norm(x.reshape(2, 2, 5), 1, cudnn_enabled=False),
    lambda m, x: m.max_pool2d(IMG if m is torch else from_torch(IMG), 2),
    lambda m, x: m.max_pool2d(IMG if m is torch else from_torch(IMG), 3, ()),
    lambda m, x: m.max_pool2d(IMG if m is torch else from_torch(IMG), kernel_size=2, stride=(), padding=1),
    lambda m, x: m.dropout(x, 0.5, False),
    lambda m, x: m.dropout(input=x, p=0.0, train=True),
], ids=["softmax_dtype_third", "softmax_keywords", "log_softmax_dtype_third", "log_softmax", "layer_norm_cudnn",
        "layer_norm_cudnn_keyword", "group_norm_cudnn", "group_norm_cudnn_keyword", "max_pool2d_default_stride",
        "max_pool2d_empty_stride", "max_pool2d_keywords", "dropout_not_training", "dropout_train_keyword"])
def test_torch_forms_match_torch(call):
    assert_same(call(vt, from_torch(X)), call(torch, X))


@pytest.mark.parametrize("call", [
    lambda m, x: F.softmax(x, 0, 3, torch.float64) if m is torch else m.softmax(x, 0, 3, m.float64),
    lambda m, x: F.log_softmax(x, dim=1, _stacklevel=5) if m is torch else m.log_softmax(x, dim=1, _stacklevel=5),
    lambda m, x: F.max_pool2d(IMG, 2, None) if m is torch else m.max_pool2d(from_torch(IMG), 2, None),
    lambda m, x: F.layer_norm(x, (5,), eps=1e-3) if m is torch else m.layer_norm(x, (5,), eps=1e-3),
], ids=["softmax_stacklevel_then_dtype", "log_softmax_stacklevel_keyword", "max_pool2d_stride_none",
        "layer_norm_functional"])
def test_functional_forms_still_match_torch(call):
    assert_same(call(vt, from_torch(X)), call(torch, X))


def test_torch_dropout_form_returns_the_input_or_scaled_survivors():
    x = from_torch(X)
    assert torch.dropout(X, 0.5, train=False) is X and vt.dropout(x, 0.5, train=False) is x
    kept = to_torch(vt.dropout(vt.ones(1000), p=0.25, train=True))
    assert torch.equal(kept.unique(), torch.tensor([0.0, 1 / 0.75])) and 600 < int((kept != 0).sum()) < 900
    with pytest.raises(TypeError):
        vt.dropout(x, 0.5, train=True, inplace=True)  # the train form has no inplace, as in torch


def test_embedding_options_that_change_the_gradient_are_refused():
    weight, idx = vt.ones(4, 2), vt.tensor([0, 1, 1])
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq"):
        vt.embedding(idx, weight, scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        vt.embedding(idx, weight, sparse=True)
