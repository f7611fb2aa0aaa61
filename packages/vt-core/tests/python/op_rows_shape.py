"""Op table rows: shape ops (join, split, reorder, pad). Each sample covers a layout case:
contiguous, transposed, strided, zero-size, 0-dim, and a size that takes the parallel path."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import vt.core as vt
from op_table import ALL_DTYPES, OpInfo, Sample, make


def _layouts(dtype: str, shape=(4, 5, 6), strided: bool = True):
    """(tensor, desc) pairs of one shape family in every layout the kernels distinguish.

    Views of a strided input keep its gaps, which from_torch cannot reproduce (it makes dense
    copies), so rows of view ops leave that layout out."""
    yield make(shape, dtype, seed=1), "contiguous"
    yield make(shape[::-1], dtype, seed=2).permute(2, 1, 0), "permuted"
    if strided:
        yield make((shape[0], shape[1] * 2, shape[2]), dtype, seed=3)[:, ::2], "strided"
    yield make(shape, dtype, seed=4)[:, :0], "empty"


def expanding(f):
    """f applied to x.expand(*expand_to): from_torch copies expanded inputs, so expand after."""
    def call(x, *args, expand_to=None, **kwargs):
        return f(x.expand(*expand_to) if expand_to else x, *args, **kwargs)
    return call


def cat_samples(dtype: str):
    for dim in (0, 1, -1):
        a, b = make((3, 4, 5), dtype, seed=1), make((3, 4, 5), dtype, seed=2)
        shape = [3, 4, 5]
        shape[dim] = 2
        c = make(tuple(shape), dtype, seed=3)
        yield Sample((a, b, c), {"dim": dim}, desc=f"dim={dim}")
    t = make((5, 4), dtype, seed=4, transpose=True)
    yield Sample((t, make((4, 5), dtype, seed=5)[::1, ::1], t), {"dim": 1}, desc="transposed")
    yield Sample((make((4, 10), dtype, seed=6)[:, ::2], make((2, 5), dtype, seed=7)), desc="strided")
    yield Sample((make((0, 3), dtype), make((2, 3), dtype, seed=8), make((0,), dtype)), desc="empty parts")
    yield Sample((make((0,), dtype), make((0,), dtype)), desc="only empty")
    cl = make((2, 3, 4, 5), dtype, seed=9).to(memory_format=torch.channels_last)
    yield Sample((cl, cl), {"dim": 1}, desc="channels_last")
    yield Sample((make((200, 300), dtype, seed=10), make((200, 100), dtype, seed=11)), {"dim": 1},
                 desc="parallel rows")
    yield Sample((make((100000,), dtype, seed=12), make((70000,), dtype, seed=13)), desc="parallel 1-D")


def cat_mixed_samples(_: str):
    for a, b in [("int32", "float16"), ("uint8", "int8"), ("bool", "int64"), ("bfloat16", "float16"),
                 ("float32", "float64")]:
        yield Sample((make((2, 3), a, seed=1), make((1, 3), b, seed=2)), desc=f"{a}+{b}")
    yield Sample((make((0,), "int8"), make((2,), "uint8", seed=3)), desc="skipped empty promotes")


def stack_samples(dtype: str):
    for dim in (0, 1, 2, -1):
        yield Sample((make((3, 4), dtype, seed=1), make((3, 4), dtype, seed=2)), {"dim": dim}, desc=f"dim={dim}")
    t = make((4, 3), dtype, seed=3, transpose=True)
    yield Sample((t, t, t), {"dim": 1}, desc="transposed")
    yield Sample((make((), dtype, seed=4), make((), dtype, seed=5)), desc="0-dim")
    yield Sample((make((0, 2), dtype), make((0, 2), dtype)), desc="empty")
    yield Sample((make((300, 200), dtype, seed=6), make((300, 200), dtype, seed=7)), {"dim": 2}, desc="parallel")


def split_samples(dtype: str):
    for x, desc in _layouts(dtype, (6, 7, 5), strided=False):
        yield Sample((x, 2, 1), desc=f"{desc} int")
        yield Sample((x, [1, 0, 4, 2] if x.shape[1] == 7 else [0], 1), desc=f"{desc} sizes")
    yield Sample((make((0,), dtype), 2, 0), desc="empty dim")


def chunk_samples(dtype: str):
    for x, desc in _layouts(dtype, (6, 7, 5), strided=False):
        yield Sample((x, 3, 1), desc=desc)
    yield Sample((make((3,), dtype, seed=1), 5, 0), desc="more chunks than elements")
    yield Sample((make((0, 2), dtype), 3, 0), desc="empty dim")


def view_op_samples(dtype: str):
    for x, desc in _layouts(dtype, strided=False):
        yield Sample((x,), desc=desc)
    yield Sample((make((), dtype, seed=5),), desc="0-dim")


def fn(module, name, which=None):
    """module.name, looked up at call time; `which` picks one output of a multi-output op
    (the table compares one tensor per call)."""
    def call(*args, **kwargs):
        out = getattr(module, name)(*args, **kwargs)
        return out if which is None else out[which]
    return call


def flip_samples(dtype: str):
    for x, desc in _layouts(dtype):
        for dims in ((0,), (1, -1), (0, 1, 2), ()):
            yield Sample((x, dims), desc=f"{desc} dims={dims}")
    yield Sample((make((3,), dtype, seed=1), (0,)), {"expand_to": (4, 3)}, desc="expanded")
    yield Sample((make((), dtype, seed=2), (0,)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=3), (1,)), desc="parallel")


def roll_samples(dtype: str):
    for x, desc in _layouts(dtype):
        yield Sample((x, 2, 1), desc=f"{desc} one dim")
        yield Sample((x, (1, -7, 3), (0, 1, 2)), desc=f"{desc} three dims")
    x = make((3, 4), dtype, seed=1)
    yield Sample((x, 5), desc="flattened")
    yield Sample((x, (1, 2), (0, 0)), desc="repeated dim")
    yield Sample((x, (1, 1, 1, 1), (0, 1, 0, 1)), desc="four shifts")
    yield Sample((make((), dtype, seed=2), 3), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=3), (17, -5), (0, 1)), desc="parallel")


def repeat_samples(dtype: str):
    for x, desc in _layouts(dtype):
        yield Sample((x, (2, 1, 3)), desc=desc)
        yield Sample((x, (2, 1, 1, 2)), desc=f"{desc} new dim")
    yield Sample((make((), dtype, seed=1), (2, 3)), desc="0-dim")
    yield Sample((make((3,), dtype, seed=2), (0, 2)), desc="zero repeat")
    yield Sample((make((100, 300), dtype, seed=3), (3, 2)), desc="parallel")


def tile_samples(dtype: str):
    x = make((2, 3), dtype, seed=1)
    yield Sample((x, (2,)), desc="fewer dims")
    yield Sample((x, (2, 1, 2)), desc="more dims")
    yield Sample((make((3, 2), dtype, seed=2, transpose=True), (2, 2)), desc="transposed")
    yield Sample((make((), dtype, seed=3), ()), desc="0-dim")


def tri_samples(dtype: str):
    for x, desc in _layouts(dtype, (3, 5, 4)):
        for k in (0, 1, -2, 10, -10):
            yield Sample((x, k), desc=f"{desc} diagonal={k}")
    yield Sample((make((5, 3), dtype, seed=1, transpose=True), 0), desc="transposed 2-D")
    yield Sample((make((400, 300), dtype, seed=2), 3), desc="parallel")


def flatten_samples(dtype: str):
    for x, desc in _layouts(dtype, strided=False):
        for args in ((), (1,), (0, 1), (1, 2), (-2, -1), (2, 2)):
            yield Sample((x, *args), desc=f"{desc} {args}")
    yield Sample((make((), dtype, seed=1),), desc="0-dim")


def unflatten_samples(dtype: str):
    for x, desc in _layouts(dtype, (4, 6, 5), strided=False):
        yield Sample((x, 1, (2, 3) if x.shape[1] else (0, 3)), desc=desc)
        yield Sample((x, -1, (5, -1)), desc=f"{desc} inferred")


def movedim_samples(dtype: str):
    for x, desc in _layouts(dtype, strided=False):
        yield Sample((x, 0, -1), desc=f"{desc} int")
        yield Sample((x, (0, 1), (2, 0)), desc=f"{desc} tuple")


def narrow_samples(dtype: str):
    for x, desc in _layouts(dtype, strided=False):
        yield Sample((x, 2, 1, 3), desc=desc)
        yield Sample((x, -1, -2, 2), desc=f"{desc} negative start")


def pad_samples(dtype: str):
    x3 = make((2, 3, 5), dtype, seed=1)
    xt = make((2, 5, 3), dtype, seed=2).transpose(1, 2)
    for mode in ("reflect", "replicate", "circular"):
        if mode != "circular" and dtype == "bool":
            continue
        yield Sample((x3, (2, 1)), {"mode": mode}, desc=f"{mode} last dim")
        yield Sample((xt, (1, 3)), {"mode": mode}, desc=f"{mode} transposed")
        yield Sample((x3, (-1, 2)), {"mode": mode}, desc=f"{mode} negative")
        yield Sample((x3, (1, 1, 2, 0)), {"mode": mode}, desc=f"{mode} two dims")
        yield Sample((x3[0], (2, 2)), {"mode": mode}, desc=f"{mode} 2-D")
        yield Sample((make((1, 2, 3, 4), dtype, seed=3), (1, 2, 2, 1, 1, 0)), {"mode": mode}, desc=f"{mode} 3 dims")
        yield Sample((make((0, 3, 5), dtype), (2, 1)), {"mode": mode}, desc=f"{mode} empty batch")
        yield Sample((make((4, 200, 300), dtype, seed=4), (3, 3, 2, 2)), {"mode": mode}, desc=f"{mode} parallel")
    for pad in ((1, 2), (0, 0, 2, 1), (-1, 2), (-2, -1, 1, 0), (1, 1, 1, 1, 1, 1), (0, 0)):
        yield Sample((x3, pad), desc=f"constant {pad}")
        yield Sample((xt, pad), {"value": 1}, desc=f"constant transposed {pad} value=1")
    yield Sample((make((), dtype, seed=5), ()), desc="constant 0-dim")
    yield Sample((make((0, 3), dtype), (1, 1, 1, 1)), desc="constant empty")
    yield Sample((make((300, 400), dtype, seed=6), (2, 2, 2, 2)), desc="constant parallel")


def _pad(vt_or_torch):
    def run(x, pad, mode="constant", value=None):
        if vt_or_torch is torch:
            return F.pad(x, pad, mode=mode, value=value)
        return vt.pad(x, pad, mode=mode, value=value)
    return run


ROWS: list[OpInfo] = [
    OpInfo("cat", lambda *ts, dim=0: vt.cat(list(ts), dim), lambda *ts, dim=0: torch.cat(list(ts), dim),
           ALL_DTYPES, cat_samples),
    OpInfo("cat_mixed", lambda *ts: vt.cat(ts), lambda *ts: torch.cat(ts), ("mixed",), cat_mixed_samples),
    OpInfo("stack", lambda *ts, dim=0: vt.stack(list(ts), dim), lambda *ts, dim=0: torch.stack(list(ts), dim),
           ALL_DTYPES, stack_samples),
    OpInfo("split_first", fn(vt, "split", 0), fn(torch, "split", 0), ALL_DTYPES, split_samples),
    OpInfo("split_last", fn(vt, "split", -1), fn(torch, "split", -1), ALL_DTYPES, split_samples),
    OpInfo("chunk_middle", lambda x, c, d: x.chunk(c, d)[len(x.chunk(c, d)) // 2],
           lambda x, c, d: x.chunk(c, d)[len(x.chunk(c, d)) // 2], ALL_DTYPES, chunk_samples),
    OpInfo("chunk_count", lambda x, c, d: vt.tensor(len(vt.chunk(x, c, d))),
           lambda x, c, d: torch.tensor(len(torch.chunk(x, c, d))), ("float32",), chunk_samples),
    OpInfo("unbind_last", lambda x: x.unbind(0)[-1] if x.shape[0] else vt.tensor(0),
           lambda x: x.unbind(0)[-1] if x.shape[0] else torch.tensor(0), ALL_DTYPES,
           lambda dt: (s for s in view_op_samples(dt) if s.desc != "0-dim")),
    OpInfo("narrow", lambda x, *a: x.narrow(*a), lambda x, *a: x.narrow(*a), ALL_DTYPES, narrow_samples),
    OpInfo("flatten", lambda x, *a: vt.flatten(x, *a), lambda x, *a: torch.flatten(x, *a), ALL_DTYPES,
           flatten_samples),
    OpInfo("unflatten", lambda x, d, s: x.unflatten(d, s), lambda x, d, s: x.unflatten(d, s), ALL_DTYPES,
           unflatten_samples),
    OpInfo("movedim", fn(vt, "movedim"), fn(torch, "movedim"), ALL_DTYPES, movedim_samples),
    OpInfo("flip", expanding(fn(vt, "flip")), expanding(fn(torch, "flip")), ALL_DTYPES, flip_samples),
    OpInfo("roll", lambda x, s, d=None: vt.roll(x, s, d), lambda x, s, d=None: torch.roll(x, s, d),
           ALL_DTYPES, roll_samples),
    OpInfo("repeat", lambda x, r: x.repeat(*r), lambda x, r: x.repeat(*r), ALL_DTYPES, repeat_samples),
    OpInfo("tile", fn(vt, "tile"), fn(torch, "tile"), ALL_DTYPES, tile_samples),
    OpInfo("tril", fn(vt, "tril"), fn(torch, "tril"), ALL_DTYPES, tri_samples),
    OpInfo("triu", lambda x, k: x.triu(k), lambda x, k: x.triu(k), ALL_DTYPES, tri_samples),
    OpInfo("pad", _pad(vt), _pad(torch), ALL_DTYPES, pad_samples),
]
