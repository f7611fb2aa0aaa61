"""Op table rows: reductions."""

from __future__ import annotations

import torch

import vt.core as vt
from op_table import ALL_DTYPES, FLOAT_DTYPES, OpInfo, reduction_samples, sum_dtype_samples


def _dtype_kwargs(kwargs: dict, module) -> dict:
    return {k: getattr(module, v) if k == "dtype" else v for k, v in kwargs.items()}


ROWS: list[OpInfo] = [
    OpInfo("sum", lambda a, **kw: vt.sum(a, **_dtype_kwargs(kw, vt)),
           lambda a, **kw: torch.sum(a, **_dtype_kwargs(kw, torch)), ALL_DTYPES, reduction_samples,
           check_strides=False),
    OpInfo("sum_dtype", lambda a, **kw: a.sum(**_dtype_kwargs(kw, vt)),
           lambda a, **kw: a.sum(**_dtype_kwargs(kw, torch)), ("int32", "float16", "bool"),
           sum_dtype_samples, check_strides=False),
    OpInfo("mean", lambda a, **kw: vt.mean(a, **kw), lambda a, **kw: torch.mean(a, **kw),
           FLOAT_DTYPES, reduction_samples, check_strides=False),
]
