"""The op table's building blocks: OpInfo rows, Sample inputs, data makers, tolerances.

The rows themselves live in one module per op family, op_rows_<family>.py, each defining
ROWS: list[OpInfo]; all_rows() gathers them. The table drives the forward tests (test_ops.py)
and, later, the autograd tests. Adding an op means adding its row to its family's module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

ALL_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64",
              "float16", "bfloat16", "float32", "float64")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
NUMERIC_DTYPES = tuple(d for d in ALL_DTYPES if d != "bool")

# Per-dtype tolerances for comparing against torch (rtol, atol).
TOLERANCE = {
    "float16": (2e-3, 1e-3),  # one float16 ulp, plus fused multiply-add differences
    "bfloat16": (1.6e-2, 1e-2),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


def make(shape, dtype: str, *, seed: int = 0, low: float = -4, high: float = 4,
         transpose: bool = False) -> torch.Tensor:
    """Deterministic torch test data; transpose=True gives a non-contiguous layout."""
    g = torch.Generator().manual_seed(seed)
    tdt = getattr(torch, dtype)
    if dtype == "bool":
        t = torch.rand(shape, generator=g) > 0.5
    elif tdt.is_floating_point:
        t = (torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low).to(tdt)
    else:
        lo = 0 if dtype == "uint8" else int(low)
        t = torch.randint(lo, int(high) + 1, shape, generator=g).to(tdt)
    return t.transpose(0, 1) if transpose and t.dim() >= 2 else t


@dataclass
class Sample:
    args: tuple  # torch tensors and Python values, in call order
    kwargs: dict = field(default_factory=dict)
    desc: str = ""


@dataclass
class OpInfo:
    name: str
    vt_fn: Callable
    torch_fn: Callable
    dtypes: tuple
    samples: Callable[[str], Iterator[Sample]]
    check_strides: bool = True  # torch defines the output layout for elementwise ops


def binary_samples(dtype: str, *, nonzero_rhs: bool = False) -> Iterator[Sample]:
    low = 1 if nonzero_rhs else -4
    yield Sample((make((5, 7), dtype, seed=1), make((5, 7), dtype, seed=2, low=low)), desc="same")
    yield Sample((make((3, 1), dtype, seed=1), make((1, 4), dtype, seed=2, low=low)), desc="broadcast")
    yield Sample((make((4, 6), dtype, seed=1, transpose=True), make((6, 4), dtype, seed=2, low=low)),
                 desc="transposed")
    yield Sample((make((2, 3, 4), dtype, seed=1)[:, ::2], make((4,), dtype, seed=2, low=low)), desc="strided")
    yield Sample((make((0, 3), dtype, seed=1), make((3,), dtype, seed=2, low=low)), desc="empty")
    yield Sample((make((), dtype, seed=1), make((4,), dtype, seed=2, low=low)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=1), make((400,), dtype, seed=2, low=low)), desc="parallel")
    integral = dtype != "bool" and not getattr(torch, dtype).is_floating_point
    scalar = True if dtype == "bool" else 2 if integral else 2.5
    yield Sample((make((3, 4), dtype, seed=1), scalar), desc="scalar")


def mixed_dtype_samples(_: str) -> Iterator[Sample]:
    """Promotion across dtypes and with Python numbers (torch's result_type rules)."""
    pairs = [("int32", "float16"), ("uint8", "int8"), ("bool", "int16"), ("bfloat16", "float16"),
             ("int64", "float32"), ("float32", "float64")]
    for a, b in pairs:
        yield Sample((make((3, 4), a, seed=1, low=1), make((4,), b, seed=2, low=1)), desc=f"{a}+{b}")
    for dt, number in [("int32", 2.5), ("float16", 3), ("uint8", 300), ("bool", 2), ("int8", True)]:
        yield Sample((make((3,), dt, seed=3, low=1), number), desc=f"{dt} with {number!r}")
    yield Sample((make((3,), "int32", seed=4), make((), "float64", seed=5)), desc="0-dim float64")


def unary_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((make((5, 7), dtype, seed=1, low=-3, high=3),), desc="contiguous")
    yield Sample((make((6, 5), dtype, seed=2, transpose=True, low=-3, high=3),), desc="transposed")
    yield Sample((make((0, 4), dtype),), desc="empty")
    yield Sample((make((), dtype, seed=3),), desc="0-dim")
    yield Sample((make((200, 300), dtype, seed=4, low=-3, high=3),), desc="parallel")


def reduction_samples(dtype: str) -> Iterator[Sample]:
    x = make((4, 5, 6), dtype, seed=1)
    yield Sample((x,), desc="all")
    for dim in (0, 1, -1, (0, 2), [1, 2], ()):
        for keepdim in (False, True):
            yield Sample((x,), {"dim": dim, "keepdim": keepdim}, desc=f"dim={dim},keepdim={keepdim}")
    yield Sample((make((6, 4), dtype, seed=2, transpose=True),), {"dim": 0}, desc="transposed")
    yield Sample((make((0, 3), dtype),), {"dim": 1}, desc="empty rows")
    yield Sample((make((0, 3), dtype),), desc="empty all")
    yield Sample((make((), dtype, seed=3),), desc="0-dim")
    yield Sample((make((1000, 300), dtype, seed=4, low=0, high=1),), desc="parallel all")
    yield Sample((make((1000, 300), dtype, seed=4, low=0, high=1),), {"dim": 0}, desc="parallel dim0")
    yield Sample((make((300, 1000), dtype, seed=5, low=0, high=1),), {"dim": 1}, desc="parallel dim1")


def sum_dtype_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((make((3, 4), dtype, seed=1),), {"dtype": "float64"}, desc="dtype=float64")
    yield Sample((make((3, 4), dtype, seed=1),), {"dim": 1, "dtype": "int64"}, desc="dtype=int64")


def all_rows() -> list[OpInfo]:
    """Every family's rows, from the op_rows_*.py modules beside this one."""
    import importlib
    import pathlib

    rows: list[OpInfo] = []
    for path in sorted(pathlib.Path(__file__).parent.glob("op_rows_*.py")):
        rows.extend(importlib.import_module(path.stem).ROWS)
    return rows
