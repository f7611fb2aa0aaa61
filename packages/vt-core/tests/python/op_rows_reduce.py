"""Op table rows: reductions and scans."""

from __future__ import annotations

import math
import warnings
from typing import Iterator

import torch

import vt.core as vt
from op_table import (ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, make,
                      reduction_samples, sum_dtype_samples)


def _dtype_kwargs(kwargs: dict, module) -> dict:
    return {k: getattr(module, v) if k == "dtype" else v for k, v in kwargs.items()}


def _fn(name: str, module, pick=None):
    """module.name(*args, **kwargs) with dtype names resolved; pick selects a result field."""
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            # torch warns when var's degrees of freedom are <= 0; the nan result is compared.
            warnings.simplefilter("ignore", UserWarning)
            out = getattr(module, name)(*args, **_dtype_kwargs(kwargs, module))
        return getattr(out, pick) if isinstance(pick, str) else out if pick is None else out[pick]
    return call


def _row(name: str, dtypes, samples, fn_name: str | None = None, pick=None) -> OpInfo:
    fn_name = fn_name or name
    return OpInfo(name, _fn(fn_name, vt, pick), _fn(fn_name, torch, pick), dtypes, samples,
                  check_strides=False)


def _layouts(dtype: str, shape=(4, 5, 6), **kw):
    """A 3-d input, the same values transposed, and a strided slice."""
    x = make(shape, dtype, seed=1, **kw)
    return [("", x), ("transposed,", x.transpose(0, 2)), ("sliced,", x[:, ::2])]


def dim_samples(dtype: str, *, tuple_dims: bool = True, full: bool = True,
                empty_dims: bool = True, **kw) -> Iterator[Sample]:
    """Reductions over one dim or several, every layout, keepdim, 0-dim, empty, parallel."""
    dims = [0, 1, -1] + ([(0, 2), [1, 2], (-1, 0, 1)] if tuple_dims else [])
    for tag, x in _layouts(dtype, **kw):
        if full:
            yield Sample((x,), desc=f"{tag}all")
        for dim in dims:
            for keepdim in (False, True):
                yield Sample((x,), {"dim": dim, "keepdim": keepdim}, desc=f"{tag}dim={dim},keepdim={keepdim}")
    yield Sample((make((), dtype, seed=3, **kw),), {"dim": 0}, desc="0-dim,dim=0")
    yield Sample((make((), dtype, seed=3, **kw),), {"dim": -1, "keepdim": True}, desc="0-dim,keepdim")
    if full:
        yield Sample((make((), dtype, seed=3, **kw),), desc="0-dim")
    yield Sample((make((0, 3), dtype),), {"dim": 1}, desc="empty rows")
    if empty_dims:
        yield Sample((make((0, 3), dtype),), {"dim": 0}, desc="empty dim")
    yield Sample((make((4, 3), dtype, seed=6, **kw).expand(2, 4, 3),), {"dim": 0}, desc="broadcast")
    # Long sums of mixed signs cancel; torch's float32 accumulation would then differ from
    # vt's wider one by more than the tolerance, so big samples default to [0, 1].
    big = {"low": 0, "high": 1, **kw}
    yield Sample((make((1000, 300), dtype, seed=4, **big),), {"dim": 0}, desc="parallel dim0")
    yield Sample((make((300, 1000), dtype, seed=5, **big),), {"dim": 1}, desc="parallel dim1")
    yield Sample((make((300, 1000), dtype, seed=5, **big).t(),), {"dim": 0}, desc="parallel transposed")
    if full:
        yield Sample((make((1000, 300), dtype, seed=4, **big),), desc="parallel all")
    if tuple_dims:
        yield Sample((make((40, 30, 50), dtype, seed=7, **big),), {"dim": (0, 2)}, desc="parallel dims (0,2)")


def prod_samples(dtype: str) -> Iterator[Sample]:
    # Values near 1 keep long products finite; small integers wrap identically in int64.
    float_kw = {"low": 0.9, "high": 1.1} if getattr(torch, dtype).is_floating_point else {}
    yield from dim_samples(dtype, tuple_dims=False, **float_kw)
    yield Sample((make((3, 4), dtype, seed=1),), {"dtype": "float64"}, desc="dtype=float64")
    yield Sample((make((3, 4), dtype, seed=1),), {"dim": 0, "dtype": "int8"}, desc="dtype=int8")


def extreme_samples(dtype: str) -> Iterator[Sample]:
    # No empty slices (torch raises); small integers give ties, which must pick the first index.
    yield from dim_samples(dtype, full=False, empty_dims=False, tuple_dims=False)


def extreme_full_samples(dtype: str) -> Iterator[Sample]:
    for tag, x in _layouts(dtype):
        yield Sample((x,), desc=f"{tag}all")
    yield Sample((make((), dtype, seed=3),), desc="0-dim")
    yield Sample((make((1000, 300), dtype, seed=4),), desc="parallel all")


def amax_samples(dtype: str) -> Iterator[Sample]:
    yield from dim_samples(dtype, empty_dims=False)
    yield Sample((make((3, 4), dtype, seed=2),), {"dim": ()}, desc="dim=()")


def argmax_samples(dtype: str) -> Iterator[Sample]:
    yield from dim_samples(dtype, tuple_dims=False, empty_dims=False)
    yield Sample((make((6, 5), dtype, seed=2).t(),), {"keepdim": True}, desc="flattened transposed keepdim")


def var_samples(dtype: str) -> Iterator[Sample]:
    yield from dim_samples(dtype)
    x = make((5, 6), dtype, seed=2)
    for kw in ({"dim": 1, "correction": 0}, {"dim": 0, "correction": 2.5}, {"correction": 0},
               {"dim": 1, "unbiased": False}, {"dim": (0, 1), "unbiased": True, "keepdim": True}):
        yield Sample((x,), kw, desc=",".join(f"{k}={v}" for k, v in kw.items()))
    yield Sample((make((4, 1), dtype, seed=3),), {"dim": 1}, desc="single element: nan")
    yield Sample((make((3, 4), dtype, seed=3, low=1000, high=1001),), {"dim": 1}, desc="large mean")


def norm_samples(dtype: str) -> Iterator[Sample]:
    x = make((4, 5, 6), dtype, seed=1)
    for p in (2, 1, math.inf, -math.inf, 0, 3, 0.5, -1.5, "fro", None):
        yield Sample((x, p), desc=f"p={p}")
        yield Sample((x.transpose(0, 2), p), {"dim": (0, 1), "keepdim": True}, desc=f"p={p},transposed dims")
        yield Sample((x, p), {"dim": 1}, desc=f"p={p},dim=1")
    yield Sample((make((0, 3), dtype), 2), {"dim": 0}, desc="empty dim")
    yield Sample((make((0, 3), dtype), math.inf), {"dim": 1}, desc="inf over rows of an empty tensor")
    yield Sample((make((), dtype, seed=3), 2), desc="0-dim")
    yield Sample((make((1000, 300), dtype, seed=4), 2), desc="parallel all")
    yield Sample((make((1000, 300), dtype, seed=4), 1), {"dim": 0}, desc="parallel dim0")
    yield Sample((make((300, 1000), dtype, seed=5), math.inf), {"dim": 1}, desc="parallel dim1 inf")
    if dtype != "float64":
        yield Sample((make((3, 4), dtype, seed=1), 2), {"dtype": "float64"}, desc="dtype=float64")


def logsumexp_samples(dtype: str) -> Iterator[Sample]:
    yield from (s for s in dim_samples(dtype, full=False) if "dim" in s.kwargs)
    if getattr(torch, dtype).is_floating_point:
        x = make((4, 5), dtype, seed=2)
        x[1] = -math.inf
        x[2, 3] = math.inf
        x[3, 1] = math.nan
        yield Sample((x,), {"dim": 1}, desc="-inf row, inf, nan")
        yield Sample((make((3, 4), dtype, seed=2, low=50, high=90),), {"dim": 1}, desc="large values")


def truth_samples(dtype: str) -> Iterator[Sample]:
    # Mostly-true and mostly-false inputs make all and any both non-trivial.
    for low, high in ((-4, 4), (0, 1)):
        kw = {} if dtype == "bool" else {"low": low, "high": high}
        for s in dim_samples(dtype, **kw):
            yield Sample(s.args, s.kwargs, desc=f"[{low},{high}],{s.desc}")
    yield Sample((make((3, 4), dtype, seed=2),), {"dim": ()}, desc="dim=() reduces nothing")
    if getattr(torch, dtype).is_floating_point:
        yield Sample((torch.tensor([[math.nan, 0.0], [0.0, 0.0]]).to(getattr(torch, dtype)),), {"dim": 1},
                     desc="nan is true")


def scan_samples(dtype: str) -> Iterator[Sample]:
    float_kw = {"low": 0.5, "high": 1.5} if getattr(torch, dtype).is_floating_point else {}
    for tag, x in _layouts(dtype, **float_kw):
        for dim in (0, 1, -1):
            yield Sample((x, dim), desc=f"{tag}dim={dim}")
    yield Sample((make((), dtype, seed=3), 0), desc="0-dim")
    yield Sample((make((0, 3), dtype), 1), desc="empty")
    yield Sample((make((4, 3), dtype, seed=6, **float_kw).expand(2, 4, 3), 1), desc="broadcast")
    yield Sample((make((300, 1000), dtype, seed=5, **float_kw), 1), desc="parallel dim1")
    yield Sample((make((1000, 700), dtype, seed=4, **float_kw), 0), desc="parallel dim0")
    yield Sample((make((3, 4), dtype, seed=1), 1), {"dtype": "float64"}, desc="dtype=float64")
    yield Sample((make((3, 4), dtype, seed=1), 0), {"dtype": "int16"}, desc="dtype=int16")


_NO_BOOL = NUMERIC_DTYPES


def _torch_prod(x, *args, **kwargs):
    """torch.prod, except that 16-bit floats multiply in float64 and round once: torch rounds
    every partial product to 16 bits, vt multiplies in float (more accurate)."""
    kwargs = _dtype_kwargs(kwargs, torch)
    if x.dtype in (torch.float16, torch.bfloat16) and "dtype" not in kwargs:
        return torch.prod(x.double(), *args, **kwargs).to(x.dtype)
    return torch.prod(x, *args, **kwargs)

ROWS: list[OpInfo] = [
    OpInfo("sum", lambda a, **kw: vt.sum(a, **_dtype_kwargs(kw, vt)),
           lambda a, **kw: torch.sum(a, **_dtype_kwargs(kw, torch)), ALL_DTYPES, reduction_samples,
           check_strides=False),
    _row("sum_dims", ALL_DTYPES, dim_samples, "sum"),
    OpInfo("sum_dtype", lambda a, **kw: a.sum(**_dtype_kwargs(kw, vt)),
           lambda a, **kw: a.sum(**_dtype_kwargs(kw, torch)), ("int32", "float16", "bool"),
           sum_dtype_samples, check_strides=False),
    OpInfo("mean", lambda a, **kw: vt.mean(a, **kw), lambda a, **kw: torch.mean(a, **kw),
           FLOAT_DTYPES, reduction_samples, check_strides=False),
    _row("mean_dims", FLOAT_DTYPES, dim_samples, "mean"),
    OpInfo("prod", _fn("prod", vt), _torch_prod, ALL_DTYPES, prod_samples, check_strides=False),
    _row("max", ALL_DTYPES, extreme_full_samples),
    _row("min", ALL_DTYPES, extreme_full_samples),
    _row("max_dim.values", ALL_DTYPES, extreme_samples, "max", "values"),
    _row("max_dim.indices", ALL_DTYPES, extreme_samples, "max", "indices"),
    _row("min_dim.values", ALL_DTYPES, extreme_samples, "min", 0),
    _row("min_dim.indices", ALL_DTYPES, extreme_samples, "min", 1),
    _row("amax", ALL_DTYPES, amax_samples),
    _row("amin", ALL_DTYPES, amax_samples),
    _row("argmax", _NO_BOOL, argmax_samples),
    _row("argmin", _NO_BOOL, argmax_samples),
    _row("var", FLOAT_DTYPES, var_samples),
    _row("std", FLOAT_DTYPES, var_samples),
    _row("var_mean.var", FLOAT_DTYPES, var_samples, "var_mean", 0),
    _row("var_mean.mean", FLOAT_DTYPES, var_samples, "var_mean", 1),
    _row("std_mean.std", FLOAT_DTYPES, var_samples, "std_mean", 0),
    _row("std_mean.mean", FLOAT_DTYPES, var_samples, "std_mean", 1),
    _row("norm", FLOAT_DTYPES, norm_samples),
    _row("logsumexp", ALL_DTYPES, logsumexp_samples),
    _row("all", ALL_DTYPES, truth_samples),
    _row("any", ALL_DTYPES, truth_samples),
    _row("cumsum", ALL_DTYPES, scan_samples),
    _row("cumprod", ALL_DTYPES, scan_samples),
]
