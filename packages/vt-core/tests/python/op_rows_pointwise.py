"""Op table rows: elementwise arithmetic."""

from __future__ import annotations

import torch

import vt.core as vt
from op_table import (ALL_DTYPES, NUMERIC_DTYPES, OpInfo, binary_samples, mixed_dtype_samples,
                      unary_samples)

ROWS: list[OpInfo] = [
    OpInfo("add", lambda a, b: vt.add(a, b), torch.add, ALL_DTYPES, binary_samples),
    OpInfo("add_alpha", lambda a, b: vt.add(a, b, alpha=2), lambda a, b: torch.add(a, b, alpha=2),
           NUMERIC_DTYPES, binary_samples),
    OpInfo("add_mixed", lambda a, b: a + b, lambda a, b: a + b, ("mixed",), mixed_dtype_samples),
    OpInfo("sub", lambda a, b: vt.sub(a, b), torch.sub, NUMERIC_DTYPES, binary_samples),
    OpInfo("sub_alpha", lambda a, b: a.sub(b, alpha=3), lambda a, b: a.sub(b, alpha=3),
           NUMERIC_DTYPES, binary_samples),
    OpInfo("rsub", lambda a, b: b - a, lambda a, b: b - a, NUMERIC_DTYPES, binary_samples),
    OpInfo("mul", lambda a, b: a * b, lambda a, b: a * b, ALL_DTYPES, binary_samples),
    OpInfo("mul_mixed", lambda a, b: a * b, lambda a, b: a * b, ("mixed",), mixed_dtype_samples),
    OpInfo("div", lambda a, b: a / b, lambda a, b: a / b, ALL_DTYPES,
           lambda dt: binary_samples(dt, nonzero_rhs=True)),
    OpInfo("rdiv", lambda a, b: b / a, lambda a, b: b / a, NUMERIC_DTYPES,
           lambda dt: (s for s in binary_samples(dt, nonzero_rhs=True) if s.desc == "scalar")),
    OpInfo("div_mixed", lambda a, b: a / b, lambda a, b: a / b, ("mixed",), mixed_dtype_samples),
    OpInfo("neg", lambda a: -a, lambda a: -a, NUMERIC_DTYPES, unary_samples),
    OpInfo("exp", vt.exp, torch.exp, ALL_DTYPES, unary_samples),
]
