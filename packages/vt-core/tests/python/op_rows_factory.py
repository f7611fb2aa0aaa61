"""Op table rows: deterministic factories (arange, linspace, eye, full, zeros, ones, *_like).

Factories take the dtype under test as a name (kwargs {"dtype": "float32"}); each row's two
functions turn it into their library's dtype object.
"""

from __future__ import annotations

from typing import Iterator

import torch

import vt.core as vt
from op_table import ALL_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, make


def _with_dtype(fn, lib):
    """fn(*args, dtype=lib.<name>, **rest) from a sample whose kwargs name the dtype."""
    return lambda *args, dtype, **rest: fn(lib)(*args, dtype=getattr(lib, dtype), **rest)


def _integral(dtype: str) -> bool:
    return dtype == "bool" or not getattr(torch, dtype).is_floating_point


def sized_samples(dtype: str) -> Iterator[Sample]:
    for size, desc in [((2, 3), "2-D"), ((), "0-dim"), ((0, 3), "empty"), ((300, 400), "parallel")]:
        yield Sample((size,), {"dtype": dtype}, desc=desc)


def full_samples(dtype: str) -> Iterator[Sample]:
    value = True if dtype == "bool" else -1 if dtype == "uint8" else 7 if _integral(dtype) else -2.5
    for s in sized_samples(dtype):
        yield Sample((s.args[0], value), s.kwargs, desc=s.desc)
    if dtype == "float32":
        yield Sample(((4,), 1 / 3), {"dtype": "float32"}, desc="rounded value")


def full_inferred_samples(_: str) -> Iterator[Sample]:
    for value in (True, 3, -2.5, 0):
        yield Sample(((2, 2), value), desc=f"infer from {value!r}")


def arange_samples(dtype: str) -> Iterator[Sample]:
    kw = {"dtype": dtype}
    yield Sample((5,), kw, desc="end")
    yield Sample((0, 10, 3), kw, desc="step 3")
    yield Sample((10, 0, -3), kw, desc="negative step")
    yield Sample((4, 4), kw, desc="empty")
    yield Sample((0.5, 5, 1.5), kw, desc="float bounds")
    yield Sample((0, 10, 2.5), kw, desc="float step")
    if dtype in ("float16", "bfloat16", "float32", "float64"):
        yield Sample((0, 1, 0.1), kw, desc="step 0.1")
        yield Sample((-1, 1, 0.25), kw, desc="fractions")
    yield Sample((-3, 3), kw, desc="negative start")
    yield Sample((0, 3000 if dtype in ("float16", "bfloat16") else 100000), kw, desc="parallel")


def arange_inferred_samples(_: str) -> Iterator[Sample]:
    yield Sample((5,), desc="int")
    yield Sample((0, 5.5), desc="float end")
    yield Sample((1, 2.3, 0.1), desc="float step")
    yield Sample((0.0, 2 ** 53 + 4, 2 ** 52), desc="large float")
    yield Sample((0, 2 ** 60, 2 ** 57), desc="large int")


def linspace_samples(dtype: str) -> Iterator[Sample]:
    kw = {"dtype": dtype}
    yield Sample((0, 10, 5), kw, desc="5 steps")
    yield Sample((10, 0, 7), kw, desc="decreasing")
    yield Sample((3, 3, 4), kw, desc="constant")
    yield Sample((0, 1, 1), kw, desc="one step")
    yield Sample((0, 1, 0), kw, desc="no steps")
    if dtype != "uint8":
        yield Sample((-5.7, 3.2, 6), kw, desc="fractional bounds")
    if not _integral(dtype):
        yield Sample((0, 1, 11), kw, desc="tenths")
        yield Sample((-1, 1, 100001), kw, desc="parallel")
    elif dtype in ("int32", "int64"):
        yield Sample((0, 99999, 100000), kw, desc="parallel")
    else:
        yield Sample((5, 5, 100000), kw, desc="parallel")


def linspace_inferred_samples(_: str) -> Iterator[Sample]:
    yield Sample((0, 10, 5), desc="ints give the default float")
    yield Sample((True, False, 3), desc="bools")


def eye_samples(dtype: str) -> Iterator[Sample]:
    kw = {"dtype": dtype}
    yield Sample((3,), kw, desc="square")
    yield Sample((2, 5), kw, desc="wide")
    yield Sample((5, 2), kw, desc="tall")
    yield Sample((0,), kw, desc="empty")
    yield Sample((3, 0), kw, desc="no columns")
    yield Sample((300, 400), kw, desc="parallel")


def like_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((make((5, 7), dtype, seed=1),), desc="contiguous")
    yield Sample((make((6, 5), dtype, seed=2, transpose=True),), desc="transposed")
    yield Sample((make((2, 3, 4), dtype, seed=3).permute(2, 0, 1),), desc="permuted")
    yield Sample((make((4, 6), dtype, seed=4)[:, ::2].t(),), desc="strided")
    yield Sample((make((2, 3, 4), dtype, seed=5).permute(2, 0, 1)[::2],), desc="strided permuted")
    yield Sample((make((3, 1), dtype, seed=6).expand(3, 4),), desc="expanded")
    yield Sample((make((0, 4), dtype),), desc="empty")
    yield Sample((make((), dtype, seed=8),), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=9, transpose=True),), desc="parallel")


def like_dtype_samples(_: str) -> Iterator[Sample]:
    x = make((4, 6), "int32", seed=1, transpose=True)
    for target in ("float16", "bool", "float64"):
        yield Sample((x,), {"dtype": target}, desc=f"int32 to {target}")


def _like_dtype(fn):
    return lambda x, dtype: fn(x, dtype=getattr(vt if isinstance(x, vt.Tensor) else torch, dtype))


ROWS: list[OpInfo] = [
    OpInfo("zeros", _with_dtype(lambda m: m.zeros, vt), _with_dtype(lambda m: m.zeros, torch),
           ALL_DTYPES, sized_samples),
    OpInfo("ones", _with_dtype(lambda m: m.ones, vt), _with_dtype(lambda m: m.ones, torch),
           ALL_DTYPES, sized_samples),
    OpInfo("full", _with_dtype(lambda m: m.full, vt), _with_dtype(lambda m: m.full, torch),
           ALL_DTYPES, full_samples),
    OpInfo("full_inferred", vt.full, torch.full, ("mixed",), full_inferred_samples),
    OpInfo("arange", _with_dtype(lambda m: m.arange, vt), _with_dtype(lambda m: m.arange, torch),
           NUMERIC_DTYPES, arange_samples),
    OpInfo("arange_inferred", vt.arange, torch.arange, ("mixed",), arange_inferred_samples),
    OpInfo("linspace", _with_dtype(lambda m: m.linspace, vt), _with_dtype(lambda m: m.linspace, torch),
           NUMERIC_DTYPES, linspace_samples),
    OpInfo("linspace_inferred", vt.linspace, torch.linspace, ("mixed",), linspace_inferred_samples),
    OpInfo("eye", _with_dtype(lambda m: m.eye, vt), _with_dtype(lambda m: m.eye, torch),
           ALL_DTYPES, eye_samples),
    OpInfo("zeros_like", vt.zeros_like, torch.zeros_like, ALL_DTYPES, like_samples),
    OpInfo("ones_like", vt.ones_like, torch.ones_like, ALL_DTYPES, like_samples),
    OpInfo("full_like", lambda x: vt.full_like(x, 3), lambda x: torch.full_like(x, 3), ALL_DTYPES,
           like_samples),
    OpInfo("zeros_like_dtype", _like_dtype(vt.zeros_like), _like_dtype(torch.zeros_like), ("mixed",),
           like_dtype_samples),
    OpInfo("ones_like_dtype", _like_dtype(vt.ones_like), _like_dtype(torch.ones_like), ("mixed",),
           like_dtype_samples),
]
