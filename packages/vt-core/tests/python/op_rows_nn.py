"""Op table rows: the nn family (torch.nn.functional's softmax, losses, norms, embedding,
pooling, interpolation, convolution and attention)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import vt.core as vt
from op_table import ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, make
from reference import from_torch


def _call(fn, module):
    """fn(*args, **kwargs) with tensor kwargs moved to vt and dtype names resolved in module."""
    def call(*args, **kwargs):
        def convert(k, v):
            if isinstance(v, torch.Tensor) and module is vt:
                return from_torch(v)
            return getattr(module, v) if k == "dtype" else v
        return fn(*args, **{k: convert(k, v) for k, v in kwargs.items()})
    return call


def row(name, vt_fn, torch_fn, dtypes, samples, check_strides=False):
    return OpInfo(name, _call(vt_fn, vt), _call(torch_fn, torch), dtypes, samples, check_strides)


def labels(shape, classes, seed=0):
    return torch.randint(0, classes, shape, generator=torch.Generator().manual_seed(seed))


def softmax_samples(dtype):
    yield Sample((make((5, 7), dtype, seed=1),), {"dim": 1}, desc="last dim")
    yield Sample((make((5, 7), dtype, seed=1),), {"dim": 0}, desc="dim 0")
    yield Sample((make((2, 3, 4), dtype, seed=2),), {"dim": 1}, desc="middle dim")
    yield Sample((make((6, 5), dtype, seed=3, transpose=True),), {"dim": -1}, desc="transposed")
    yield Sample((make((2, 6, 4), dtype, seed=2)[:, ::2],), {"dim": 1}, desc="strided")
    yield Sample((make((1, 9), dtype, seed=2).expand(4, 9),), {"dim": 1}, desc="broadcast")
    yield Sample((make((0, 3), dtype),), {"dim": 1}, desc="empty")
    yield Sample((make((), dtype, seed=4),), {"dim": 0}, desc="0-dim")
    yield Sample((make((300, 1000), dtype, seed=5, low=-30, high=30),), {"dim": 1}, desc="parallel rows")
    yield Sample((make((300, 1000), dtype, seed=5),), {"dim": 0}, desc="parallel dim 0")
    yield Sample((make((4, 37, 300), dtype, seed=6),), {"dim": 1}, desc="two inner blocks")
    yield Sample((make((3, 4), dtype, seed=7),), {"dim": 1, "dtype": "float64"}, desc="dtype=float64")


def cross_entropy_samples(dtype):
    x = make((6, 5), dtype, seed=1)
    t = labels((6,), 5, seed=2)
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, t), {"reduction": reduction}, desc=f"indices {reduction}")
    w = make((5,), dtype, seed=3, low=0.1, high=2)
    ignored = t.clone()
    ignored[1] = -100
    yield Sample((x, ignored), {"weight": w}, desc="weight, ignored")
    yield Sample((x, t), {"ignore_index": 2, "reduction": "none"}, desc="ignore_index=2")
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, ignored), {"weight": w, "label_smoothing": 0.2, "reduction": reduction},
                     desc=f"smoothing, weight {reduction}")
    yield Sample((x, t), {"label_smoothing": 0.1}, desc="smoothing")
    yield Sample((make((2, 5, 3, 4), dtype, seed=4), labels((2, 3, 4), 5, seed=5)), {"reduction": "none"},
                 desc="spatial none")
    yield Sample((make((2, 5, 3), dtype, seed=4), labels((2, 3), 5, seed=5)), {"label_smoothing": 0.3},
                 desc="spatial smoothing")
    yield Sample((make((5,), dtype, seed=6), labels((), 5, seed=7)), desc="unbatched")
    yield Sample((make((5, 6), dtype, seed=8, transpose=True), t), desc="transposed")
    yield Sample((make((0, 5), dtype), labels((0,), 5)), {"reduction": "sum"}, desc="empty")
    yield Sample((make((0, 5), dtype), labels((0,), 5)), desc="empty mean")
    p = torch.softmax(make((6, 5), "float64", seed=9), 1).to(getattr(torch, dtype))
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, p), {"reduction": reduction}, desc=f"probabilities {reduction}")
    yield Sample((x, p), {"weight": w, "label_smoothing": 0.25}, desc="probabilities weight smoothing")
    yield Sample((make((2, 5, 3), dtype, seed=4), make((2, 5, 3), dtype, seed=10, low=0, high=1)),
                 {"reduction": "none"}, desc="spatial probabilities")
    yield Sample((make((512, 300), dtype, seed=11, low=-10, high=10), labels((512,), 300, seed=12)),
                 desc="parallel")
    yield Sample((make((512, 300), dtype, seed=11), labels((512,), 300, seed=12)),
                 {"label_smoothing": 0.1, "reduction": "none"}, desc="parallel none")


def nll_samples(dtype):
    x = make((6, 5), dtype, seed=1)
    t = labels((6,), 5, seed=2)
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, t), {"reduction": reduction}, desc=reduction)
    ignored = t.clone()
    ignored[0] = 7
    yield Sample((x, ignored), {"weight": make((5,), dtype, seed=3, low=0.1, high=2), "ignore_index": 7},
                 desc="weight, ignore_index")
    yield Sample((make((5, 6), dtype, seed=4, transpose=True), t), {"reduction": "none"}, desc="transposed")
    yield Sample((make((2, 5, 3, 4), dtype, seed=5), labels((2, 3, 4), 5, seed=6)), desc="spatial")
    yield Sample((make((2, 5, 3, 4), dtype, seed=5), labels((2, 3, 4), 5, seed=6)), {"reduction": "none"},
                 desc="spatial none")
    yield Sample((make((5,), dtype, seed=7), labels((), 5, seed=8)), {"reduction": "none"}, desc="unbatched")
    yield Sample((x, t.to(torch.uint8)), desc="uint8 target")
    yield Sample((make((0, 5), dtype), labels((0,), 5)), desc="empty")
    yield Sample((make((40000, 3), dtype, seed=9), labels((40000,), 3, seed=10)), desc="parallel")


def distance_samples(dtype):
    yield Sample((make((4, 5), dtype, seed=1), make((4, 5), dtype, seed=2)), desc="mean")
    yield Sample((make((4, 5), dtype, seed=1), make((4, 5), dtype, seed=2)), {"reduction": "sum"}, desc="sum")
    yield Sample((make((6, 4), dtype, seed=1, transpose=True), make((4, 6), dtype, seed=2)),
                 {"reduction": "none"}, desc="transposed none")
    yield Sample((make((3, 1), dtype, seed=1), make((4,), dtype, seed=2)), {"reduction": "none"}, desc="broadcast")
    yield Sample((make((0, 3), dtype), make((0, 3), dtype)), desc="empty")
    yield Sample((make((), dtype, seed=3), make((), dtype, seed=4)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=5), make((300, 400), dtype, seed=6)), desc="parallel")
    if getattr(torch, dtype).is_floating_point:
        yield Sample((make((4, 5), dtype, seed=1), make((4, 5), dtype, seed=2)),
                     {"weight": make((4, 5), dtype, seed=3, low=0, high=2)}, desc="weight")


def l1_integer_samples(dtype):
    yield Sample((make((4, 5), dtype, seed=1), make((4, 5), dtype, seed=2)), {"reduction": "none"}, desc="none")
    yield Sample((make((4, 5), dtype, seed=1), make((4, 5), dtype, seed=2)), {"reduction": "sum"}, desc="sum")


def bce_samples(dtype):
    x = make((4, 5), dtype, seed=1, low=0.02, high=0.98)
    t = make((4, 5), dtype, seed=2, low=0, high=1)
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, t), {"reduction": reduction}, desc=reduction)
    yield Sample((x, t), {"weight": make((5,), dtype, seed=3, low=0, high=2)}, desc="broadcast weight")
    yield Sample((make((5, 4), dtype, seed=1, low=0.02, high=0.98, transpose=True), t), {"reduction": "none"},
                 desc="transposed")
    yield Sample((torch.tensor([0.0, 1.0, 0.0, 1.0]).to(getattr(torch, dtype)),
                  torch.tensor([0.0, 1.0, 1.0, 0.0]).to(getattr(torch, dtype))), {"reduction": "none"},
                 desc="saturated")
    yield Sample((make((0, 3), dtype), make((0, 3), dtype)), desc="empty")
    yield Sample((make((), dtype, seed=4, low=0, high=1), make((), dtype, seed=5, low=0, high=1)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=6, low=0.01, high=0.99), make((300, 400), dtype, seed=7, low=0, high=1)),
                 desc="parallel")


def bce_logits_samples(dtype):
    x = make((4, 5), dtype, seed=1, low=-30, high=30)
    t = make((4, 5), dtype, seed=2, low=0, high=1)
    for reduction in ("mean", "sum", "none"):
        yield Sample((x, t), {"reduction": reduction}, desc=reduction)
    # torch rounds each step of the pos_weight formula to 16 bits; moderate logits keep its
    # cancellation error within the table's tolerance.
    x = make((4, 5), dtype, seed=1)
    yield Sample((x, t), {"pos_weight": make((5,), dtype, seed=3, low=0.5, high=3), "reduction": "none"},
                 desc="pos_weight")
    yield Sample((x, t), {"weight": make((4, 1), dtype, seed=4, low=0, high=2),
                          "pos_weight": make((5,), dtype, seed=3, low=0.5, high=3)}, desc="weight, pos_weight")
    yield Sample((make((5, 4), dtype, seed=1, transpose=True), t), desc="transposed")
    yield Sample((make((0, 3), dtype), make((0, 3), dtype)), {"reduction": "sum"}, desc="empty")
    yield Sample((make((), dtype, seed=4), make((), dtype, seed=5, low=0, high=1)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=6), make((300, 400), dtype, seed=7, low=0, high=1)), desc="parallel")
    yield Sample((x.double(), t), desc="float64 input")


def layer_norm_samples(dtype):
    yield Sample((make((4, 10), dtype, seed=1), [10]), desc="rows")
    yield Sample((make((2, 3, 4), dtype, seed=2), (3, 4)), {"weight": make((3, 4), dtype, seed=3),
                                                           "bias": make((3, 4), dtype, seed=4)}, desc="affine")
    yield Sample((make((2, 3, 4), dtype, seed=2), (4,)), {"weight": make((4,), dtype, seed=3), "eps": 1e-3},
                 desc="weight only")
    yield Sample((make((2, 3, 4), dtype, seed=2), (4,)), {"bias": make((4,), dtype, seed=3)}, desc="bias only")
    yield Sample((make((6, 5), dtype, seed=5, transpose=True), (6,)), desc="transposed")
    yield Sample((make((0, 4), dtype), (4,)), desc="empty")
    yield Sample((make((300, 1000), dtype, seed=6, low=5, high=9), (1000,)), desc="parallel, offset mean")
    if dtype in ("float16", "bfloat16"):
        yield Sample((make((3, 8), dtype, seed=7), (8,)), {"weight": make((8,), "float32", seed=8),
                                                          "bias": make((8,), "float32", seed=9)},
                     desc="float32 parameters")


def rms_norm_samples(dtype):
    yield Sample((make((4, 10), dtype, seed=1), [10]), desc="rows")
    yield Sample((make((2, 3, 4), dtype, seed=2), (3, 4)), {"weight": make((3, 4), dtype, seed=3)}, desc="weight")
    yield Sample((make((2, 3, 4), dtype, seed=2), (4,)), {"eps": 0.5}, desc="eps")
    yield Sample((make((4, 3), dtype, seed=2, low=-1e-3, high=1e-3), (3,)), desc="default eps matters")
    yield Sample((make((6, 5), dtype, seed=5, transpose=True), (6,)), desc="transposed")
    yield Sample((make((0, 4), dtype), (4,)), desc="empty")
    yield Sample((make((300, 1000), dtype, seed=6), (1000,)), {"weight": make((1000,), "float32", seed=7)},
                 desc="parallel, float32 weight")


def group_norm_samples(dtype):
    yield Sample((make((2, 6, 5), dtype, seed=1), 3), desc="groups")
    yield Sample((make((3, 6), dtype, seed=2), 2), desc="2-D")
    yield Sample((make((2, 4, 3, 3), dtype, seed=3), 2), {"weight": make((4,), dtype, seed=4),
                                                          "bias": make((4,), dtype, seed=5)}, desc="affine")
    yield Sample((make((2, 4, 3), dtype, seed=3), 4), {"bias": make((4,), dtype, seed=5), "eps": 0.1},
                 desc="group per channel")
    yield Sample((make((2, 5, 4), dtype, seed=6, transpose=True), 2), desc="transposed")
    yield Sample((make((0, 6, 2), dtype), 3), desc="empty")
    yield Sample((make((4, 32, 32, 32), dtype, seed=7, low=-2, high=6), 8), desc="parallel")


def embedding_samples(dtype):
    w = make((10, 5), dtype, seed=1)
    yield Sample((labels((3, 4), 10, seed=2), w), desc="2-D indices")
    yield Sample((labels((3,), 10, seed=2).to(torch.int32), w), desc="int32 indices")
    yield Sample((labels((), 10, seed=3), w), desc="0-dim index")
    yield Sample((labels((4,), 10, seed=4), make((5, 10), dtype, seed=5, transpose=True)), desc="transposed weight")
    yield Sample((labels((0, 2), 10), w), desc="empty")
    yield Sample((labels((6,), 10, seed=6), w), {"padding_idx": 3}, desc="padding_idx")
    yield Sample((labels((6,), 10, seed=6), w), {"padding_idx": -2}, desc="negative padding_idx")
    yield Sample((labels((20000,), 500, seed=7), make((500, 8), dtype, seed=8)), desc="parallel")


def pool_samples(dtype, dilation=True):
    x = make((2, 3, 8, 9), dtype, seed=1)
    yield Sample((x, 2), desc="k2")
    yield Sample((x, 3), {"stride": 2, "padding": 1}, desc="k3 s2 p1")
    yield Sample((x, (2, 3)), {"stride": (1, 2), "padding": (1, 0)}, desc="rectangular")
    yield Sample((x, 3), {"stride": 2, "padding": 1, "ceil_mode": True}, desc="ceil_mode")
    yield Sample((x, 2), {"stride": 3, "ceil_mode": True}, desc="ceil_mode, last window partial")
    if dilation:
        yield Sample((x, 3), {"dilation": 2, "padding": 1}, desc="dilation")
    yield Sample((make((3, 7, 7), dtype, seed=2), 2), {"stride": 1}, desc="3-D input")
    yield Sample((make((2, 3, 9, 8), dtype, seed=3).transpose(2, 3), 2), desc="transposed")
    yield Sample((make((0, 3, 4, 4), dtype), 2), desc="empty batch")
    yield Sample((make((4, 16, 32, 32), dtype, seed=4), 3), {"stride": 2, "padding": 1}, desc="parallel")


def avg_pool_samples(dtype):
    yield from pool_samples(dtype, dilation=False)
    x = make((2, 3, 8, 9), dtype, seed=1)
    yield Sample((x, 3), {"stride": 2, "padding": 1, "count_include_pad": False}, desc="exclude pad")
    yield Sample((x, 3), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
                 desc="exclude pad, ceil_mode")
    yield Sample((x, 2), {"divisor_override": 3}, desc="divisor_override")


def adaptive_samples(dtype):
    x = make((2, 3, 7, 9), dtype, seed=1)
    yield Sample((x, (3, 4)), desc="shrink")
    yield Sample((x, 1), desc="global")
    yield Sample((x, (None, 5)), desc="None keeps size")
    yield Sample((x, (14, 20)), desc="grow")
    yield Sample((make((3, 5, 6), dtype, seed=2), (2, 3)), desc="3-D input")
    yield Sample((make((2, 3, 9, 7), dtype, seed=3).transpose(2, 3), 3), desc="transposed")
    yield Sample((make((0, 3, 4, 4), dtype), 2), desc="empty batch")
    yield Sample((make((4, 16, 64, 64), dtype, seed=4), (7, 7)), desc="parallel")


def nearest_samples(dtype):
    x = make((2, 3, 5, 6), dtype, seed=1)
    yield Sample((x,), {"size": (7, 4)}, desc="size")
    yield Sample((x,), {"scale_factor": 2}, desc="scale 2")
    yield Sample((x,), {"scale_factor": 0.5}, desc="scale 0.5")
    yield Sample((x,), {"scale_factor": (1.7, 2.3)}, desc="scale 1.7, 2.3")
    yield Sample((x,), {"scale_factor": 1.7, "recompute_scale_factor": True}, desc="recompute")
    yield Sample((make((2, 3, 5), dtype, seed=2),), {"size": 11}, desc="3-D size")
    yield Sample((make((2, 3, 5), dtype, seed=2),), {"scale_factor": 2.5}, desc="3-D scale")
    yield Sample((make((2, 3, 6, 5), dtype, seed=3).transpose(2, 3),), {"size": 8}, desc="transposed")
    yield Sample((make((0, 3, 4, 4), dtype),), {"scale_factor": 2}, desc="empty batch")
    yield Sample((make((4, 16, 32, 32), dtype, seed=4),), {"scale_factor": 2}, desc="parallel")


def linear_samples(dtype):
    x = make((2, 3, 5, 6), dtype, seed=1)
    for corners in (False, True):
        yield Sample((x,), {"size": (7, 4), "mode": "bilinear", "align_corners": corners}, desc=f"size ac={corners}")
        yield Sample((x,), {"scale_factor": 2, "mode": "bilinear", "align_corners": corners}, desc=f"x2 ac={corners}")
        yield Sample((x,), {"size": (1, 1), "mode": "bilinear", "align_corners": corners}, desc=f"to 1x1 ac={corners}")
        yield Sample((make((2, 3, 5), dtype, seed=2),), {"size": 9, "mode": "linear", "align_corners": corners},
                     desc=f"linear ac={corners}")
    yield Sample((x,), {"scale_factor": (0.6, 1.7), "mode": "bilinear"}, desc="scales")
    yield Sample((make((2, 3, 6, 5), dtype, seed=3).transpose(2, 3),), {"size": 8, "mode": "bilinear"},
                 desc="transposed")
    yield Sample((make((0, 3, 4, 4), dtype),), {"scale_factor": 2, "mode": "bilinear"}, desc="empty batch")
    yield Sample((make((4, 16, 32, 32), dtype, seed=4),), {"scale_factor": 2, "mode": "bilinear"}, desc="parallel")


def conv2d_samples(dtype):
    x = make((2, 3, 7, 8), dtype, seed=1, low=-1, high=1)
    w = make((4, 3, 3, 3), dtype, seed=2, low=-1, high=1)
    b = make((4,), dtype, seed=3, low=-1, high=1)
    yield Sample((x, w, b), desc="bias")
    yield Sample((x, w), {"stride": 2, "padding": 1}, desc="stride 2 padding 1")
    dilated = dtype != "int32"  # torch has no dilated int32 convolution to compare with
    if dilated:
        yield Sample((x, w, b), {"dilation": 2, "padding": (2, 1)}, desc="dilation")
    yield Sample((x, make((4, 3, 2, 3), dtype, seed=4, low=-1, high=1)), {"stride": (1, 2)}, desc="rectangular")
    yield Sample((make((2, 4, 6, 6), dtype, seed=5, low=-1, high=1), make((6, 2, 3, 3), dtype, seed=6, low=-1, high=1),
                  make((6,), dtype, seed=7, low=-1, high=1)), {"groups": 2, "padding": 1}, desc="groups")
    yield Sample((make((1, 4, 5, 5), dtype, seed=8, low=-1, high=1), make((4, 1, 3, 3), dtype, seed=9, low=-1, high=1)),
                 {"groups": 4}, desc="depthwise")
    yield Sample((x, make((4, 3, 4, 4), dtype, seed=10, low=-1, high=1), b), {"padding": "same"}, desc="same, even")
    if dilated:
        yield Sample((x, w), {"padding": "same", "dilation": 2}, desc="same, dilated")
    yield Sample((x, w), {"padding": "valid"}, desc="valid")
    yield Sample((x, make((5, 3, 1, 1), dtype, seed=11, low=-1, high=1)), desc="1x1")
    yield Sample((make((3, 7, 8), dtype, seed=12, low=-1, high=1), w, b), desc="unbatched")
    yield Sample((make((2, 3, 8, 7), dtype, seed=13, low=-1, high=1).transpose(2, 3), w), desc="transposed")
    yield Sample((make((0, 3, 7, 8), dtype), w, b), desc="empty batch")
    yield Sample((make((8, 16, 32, 32), dtype, seed=14, low=-1, high=1), make((32, 16, 3, 3), dtype, seed=15,
                  low=-1, high=1)), {"padding": 1}, desc="parallel")
    if dtype in ("float32", "float64"):
        # Larger than one 16M-element columns buffer: two chunks, the second partial. Values in
        # {-1, 0, 1} keep float32's k = 576 sums exact whatever the summation order.
        yield Sample((make((8, 64, 64, 64), dtype, seed=16, low=-1, high=1).round(),
                      make((8, 64, 3, 3), dtype, seed=17, low=-1, high=1).round()), {"padding": 1}, desc="chunks")


def conv1d_samples(dtype):
    x = make((2, 3, 10), dtype, seed=1, low=-1, high=1)
    w = make((4, 3, 3), dtype, seed=2, low=-1, high=1)
    b = make((4,), dtype, seed=3, low=-1, high=1)
    yield Sample((x, w, b), desc="bias")
    yield Sample((x, w), {"stride": 2, "padding": 1}, desc="stride 2 padding 1")
    yield Sample((x, w, b), {"dilation": 2, "padding": [2]}, desc="dilation")
    yield Sample((make((2, 4, 9), dtype, seed=4, low=-1, high=1), make((6, 2, 3), dtype, seed=5, low=-1, high=1)),
                 {"groups": 2}, desc="groups")
    yield Sample((x, make((4, 3, 4), dtype, seed=6, low=-1, high=1)), {"padding": "same"}, desc="same, even")
    yield Sample((x, w), {"padding": "valid"}, desc="valid")
    yield Sample((make((3, 10), dtype, seed=7, low=-1, high=1), w), desc="unbatched")
    yield Sample((make((2, 10, 3), dtype, seed=8, low=-1, high=1).transpose(1, 2), w), desc="transposed")
    yield Sample((make((64, 32, 256), dtype, seed=9, low=-1, high=1), make((32, 32, 5), dtype, seed=10, low=-1,
                  high=1)), desc="parallel")


def attention_samples(dtype):
    def qkv(batch, heads, L, S, E, Ev, seed, kv_heads=None):
        kv = kv_heads or heads
        return (make(batch + (heads, L, E), dtype, seed=seed, low=-1, high=1),
                make(batch + (kv, S, E), dtype, seed=seed + 1, low=-1, high=1),
                make(batch + (kv, S, Ev), dtype, seed=seed + 2, low=-1, high=1))
    q, k, v = qkv((2,), 3, 4, 5, 8, 6, seed=1)
    yield Sample((q, k, v), desc="plain")
    mask = torch.rand(4, 5, generator=torch.Generator().manual_seed(4)) > 0.4
    mask[0] = False
    yield Sample((q, k, v), {"attn_mask": mask}, desc="bool mask, one row fully masked")
    yield Sample((q, k, v), {"attn_mask": make((2, 1, 4, 5), dtype, seed=5)}, desc="additive mask")
    yield Sample(qkv((2,), 3, 6, 6, 8, 8, seed=6), {"is_causal": True}, desc="causal")
    yield Sample(qkv((1,), 2, 6, 4, 8, 8, seed=7), {"is_causal": True}, desc="causal L > S")
    yield Sample(qkv((1,), 2, 3, 7, 8, 8, seed=8), {"is_causal": True}, desc="causal L < S")
    yield Sample((q, k, v), {"scale": 0.3}, desc="scale")
    yield Sample(qkv((2,), 6, 4, 5, 8, 6, seed=9, kv_heads=3), {"enable_gqa": True}, desc="gqa")
    yield Sample((make((4, 8), dtype, seed=10, low=-1, high=1), make((5, 8), dtype, seed=11, low=-1, high=1),
                  make((5, 6), dtype, seed=12, low=-1, high=1)), desc="2-D")
    yield Sample((q, k[:1], v[:1]), desc="broadcast batch")
    yield Sample((make((2, 4, 3, 8), dtype, seed=13, low=-1, high=1).transpose(1, 2), k, v), desc="transposed")
    yield Sample((q[:, :, :0], k, v), desc="no queries")
    yield Sample((q, k[:, :, :0], v[:, :, :0]), desc="no keys")
    yield Sample(qkv((4,), 8, 128, 128, 64, 64, seed=14), {"is_causal": True}, desc="parallel")


INT_POOL_DTYPES = tuple(d for d in NUMERIC_DTYPES if d not in FLOAT_DTYPES)


def _first(fn):
    return lambda *a, **k: fn(*a, **k)[0]


def _second(fn):
    return lambda *a, **k: fn(*a, **k)[1]


def masked_scale_samples(dtype):
    x = make((4, 5), dtype, seed=1)
    mask = (make((4, 5), "float64", seed=2, low=0, high=1) > 0.5).to(getattr(torch, dtype))
    yield Sample((x, mask, 2.0), desc="same shape")
    yield Sample((x, mask[:1], 1.25), desc="broadcast mask")
    yield Sample((make((5, 4), dtype, seed=3, transpose=True), mask, 4.0), desc="transposed")
    yield Sample((make((0, 5), dtype), mask[:0], 2.0), desc="empty")


ROWS: list[OpInfo] = [
    row("_masked_scale", vt.ops.vt._masked_scale, lambda x, m, s: x * (m * s), FLOAT_DTYPES,
        masked_scale_samples, check_strides=True),
    row("softmax", vt.softmax, F.softmax, FLOAT_DTYPES, softmax_samples, check_strides=True),
    row("log_softmax", vt.log_softmax, F.log_softmax, FLOAT_DTYPES, softmax_samples, check_strides=True),
    row("Tensor.softmax", lambda a, **k: a.softmax(**k), lambda a, **k: a.softmax(**k), ("float32",),
        softmax_samples, check_strides=True),
    row("Tensor.log_softmax", lambda a, **k: a.log_softmax(**k), lambda a, **k: a.log_softmax(**k), ("float32",),
        softmax_samples, check_strides=True),
    row("cross_entropy", vt.cross_entropy, F.cross_entropy, FLOAT_DTYPES, cross_entropy_samples),
    row("nll_loss", vt.nll_loss, F.nll_loss, FLOAT_DTYPES, nll_samples),
    row("mse_loss", vt.mse_loss, F.mse_loss, FLOAT_DTYPES, distance_samples),
    row("l1_loss", vt.l1_loss, F.l1_loss, FLOAT_DTYPES, distance_samples),
    row("l1_loss_integers", vt.l1_loss, F.l1_loss, ("uint8", "int8", "int32", "int64"), l1_integer_samples),
    row("binary_cross_entropy", vt.binary_cross_entropy, F.binary_cross_entropy, FLOAT_DTYPES, bce_samples),
    row("binary_cross_entropy_with_logits", vt.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits, FLOAT_DTYPES, bce_logits_samples),
    row("layer_norm", vt.layer_norm, F.layer_norm, FLOAT_DTYPES, layer_norm_samples, check_strides=True),
    row("rms_norm", vt.rms_norm, F.rms_norm, FLOAT_DTYPES, rms_norm_samples, check_strides=True),
    row("group_norm", vt.group_norm, F.group_norm, FLOAT_DTYPES, group_norm_samples, check_strides=True),
    row("embedding", vt.embedding, F.embedding, ALL_DTYPES, embedding_samples, check_strides=True),
    row("conv2d", vt.conv2d, F.conv2d, FLOAT_DTYPES + ("int32", "int64"), conv2d_samples, check_strides=True),
    row("conv1d", vt.conv1d, F.conv1d, FLOAT_DTYPES + ("int64",), conv1d_samples, check_strides=True),
    row("scaled_dot_product_attention", vt.scaled_dot_product_attention, F.scaled_dot_product_attention,
        FLOAT_DTYPES, attention_samples, check_strides=True),
    row("max_pool2d", vt.max_pool2d, F.max_pool2d, FLOAT_DTYPES + INT_POOL_DTYPES, pool_samples),
    row("max_pool2d_indices", _second(lambda *a, **k: vt.max_pool2d(*a, return_indices=True, **k)),
        _second(lambda *a, **k: F.max_pool2d(*a, return_indices=True, **k)), ("float32", "int32"), pool_samples),
    row("max_pool2d_values", _first(lambda *a, **k: vt.max_pool2d(*a, return_indices=True, **k)),
        _first(lambda *a, **k: F.max_pool2d(*a, return_indices=True, **k)), ("bfloat16",), pool_samples),
    row("avg_pool2d", vt.avg_pool2d, F.avg_pool2d, FLOAT_DTYPES + ("int64",), avg_pool_samples),
    row("adaptive_avg_pool2d", vt.adaptive_avg_pool2d, F.adaptive_avg_pool2d, FLOAT_DTYPES, adaptive_samples),
    row("interpolate_nearest", vt.interpolate, F.interpolate, FLOAT_DTYPES + ("uint8",), nearest_samples),
    row("interpolate_linear", vt.interpolate, F.interpolate, FLOAT_DTYPES, linear_samples),
]
