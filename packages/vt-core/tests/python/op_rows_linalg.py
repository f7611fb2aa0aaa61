"""Op table rows: matrix products, linear and einsum.

Inputs are small integers (also for float dtypes): every product and sum is then exact, so vt's
BLAS and torch's (MKL) agree bit for bit whatever their summation order, and the table's shared
tolerances test the indexing, layouts and dtype handling. test_linalg.py compares real-valued
float data with tolerances that scale with the reduction length.
"""

from __future__ import annotations

from typing import Iterator

import torch

import vt.core as vt
from op_table import ALL_DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, make


def imake(shape, dtype: str, seed: int = 0) -> torch.Tensor:
    """Small integers in [-3, 3] ([0, 3] for uint8) stored in dtype."""
    return make(shape, "int64", seed=seed, low=-3, high=3).clamp(min=0 if dtype == "uint8" else -3).to(
        getattr(torch, dtype))


def t12(x: torch.Tensor) -> torch.Tensor:
    """The last two dims swapped, data laid out so the result is non-contiguous."""
    return x.transpose(-1, -2).contiguous().transpose(-1, -2)


def mm_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((imake((5, 7), dtype, 1), imake((7, 4), dtype, 2)), desc="contiguous")
    yield Sample((t12(imake((5, 7), dtype, 1)), imake((7, 4), dtype, 2)), desc="transposed a")
    yield Sample((imake((5, 7), dtype, 1), t12(imake((7, 4), dtype, 2))), desc="transposed b")
    yield Sample((t12(imake((5, 7), dtype, 1)), t12(imake((7, 4), dtype, 2))), desc="both transposed")
    yield Sample((imake((5, 14), dtype, 1)[:, ::2], imake((7, 8), dtype, 2)[:, 1::2]), desc="strided")
    yield Sample((imake((1, 7), dtype, 1), imake((7, 5), dtype, 2)), desc="one row")
    yield Sample((imake((5, 1), dtype, 1), imake((1, 4), dtype, 2)), desc="k=1")
    yield Sample((imake((0, 3), dtype, 1), imake((3, 4), dtype, 2)), desc="m=0")
    yield Sample((imake((3, 0), dtype, 1), imake((0, 4), dtype, 2)), desc="k=0")
    yield Sample((imake((3, 4), dtype, 1), imake((4, 0), dtype, 2)), desc="n=0")
    yield Sample((imake((300, 200), dtype, 1), imake((200, 260), dtype, 2)), desc="parallel")
    yield Sample((t12(imake((260, 300), dtype, 1)), imake((300, 70), dtype, 2)), desc="parallel transposed")


def bmm_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((imake((3, 4, 5), dtype, 1), imake((3, 5, 6), dtype, 2)), desc="contiguous")
    yield Sample((t12(imake((3, 4, 5), dtype, 1)), t12(imake((3, 5, 6), dtype, 2))), desc="transposed")
    yield Sample((imake((1, 4, 5), dtype, 1).expand(3, 4, 5), imake((3, 5, 6), dtype, 2)), desc="broadcast batch")
    yield Sample((imake((4, 3, 5), dtype, 1).permute(1, 0, 2), imake((3, 5, 6), dtype, 2)), desc="batch not outermost")
    yield Sample((imake((3, 4, 10), dtype, 1)[:, :, ::2], imake((3, 5, 6), dtype, 2)), desc="strided")
    yield Sample((imake((0, 4, 5), dtype, 1), imake((0, 5, 6), dtype, 2)), desc="empty batch")
    yield Sample((imake((2, 4, 0), dtype, 1), imake((2, 0, 6), dtype, 2)), desc="k=0")
    yield Sample((imake((8, 64, 96), dtype, 1), imake((8, 96, 80), dtype, 2)), desc="parallel")
    yield Sample((imake((1, 200, 96), dtype, 1), imake((1, 96, 300), dtype, 2)), desc="parallel one matrix")


def _scalars(dtype: str) -> dict:
    integral = not getattr(torch, dtype).is_floating_point
    return {"beta": 2, "alpha": 3} if integral else {"beta": 0.5, "alpha": 2.0}


def addmm_samples(dtype: str) -> Iterator[Sample]:
    m1, m2 = imake((5, 7), dtype, 1), imake((7, 4), dtype, 2)
    yield Sample((imake((5, 4), dtype, 3), m1, m2), desc="default")
    yield Sample((imake((5, 4), dtype, 3), m1, m2), _scalars(dtype), desc="beta alpha")
    yield Sample((imake((4,), dtype, 3), m1, m2), desc="broadcast row")
    yield Sample((imake((5, 1), dtype, 3), t12(m1), t12(m2)), _scalars(dtype), desc="broadcast column transposed")
    yield Sample((imake((), dtype, 3), m1, m2), desc="0-dim self")
    yield Sample((t12(imake((5, 4), dtype, 3)), m1, m2), {"beta": 0}, desc="beta=0")
    yield Sample((imake((3, 4), dtype, 3), imake((3, 0), dtype, 1), imake((0, 4), dtype, 2)), _scalars(dtype),
                 desc="k=0")
    yield Sample((imake((0, 4), dtype, 3), imake((0, 7), dtype, 1), m2), desc="empty")
    yield Sample((imake((260,), dtype, 3), imake((300, 200), dtype, 1), imake((200, 260), dtype, 2)), desc="parallel")


def baddbmm_samples(dtype: str) -> Iterator[Sample]:
    b1, b2 = imake((3, 4, 5), dtype, 1), imake((3, 5, 6), dtype, 2)
    yield Sample((imake((3, 4, 6), dtype, 3), b1, b2), desc="default")
    yield Sample((imake((3, 4, 6), dtype, 3), t12(b1), t12(b2)), _scalars(dtype), desc="beta alpha transposed")
    yield Sample((imake((6,), dtype, 3), b1, b2), desc="broadcast")
    yield Sample((imake((), dtype, 3), b1, b2), _scalars(dtype), desc="0-dim self")
    yield Sample((imake((3, 4, 6), dtype, 3), imake((3, 4, 0), dtype, 1), imake((3, 0, 6), dtype, 2)),
                 _scalars(dtype), desc="k=0")
    yield Sample((imake((8, 64, 80), dtype, 3), imake((8, 64, 96), dtype, 1), imake((8, 96, 80), dtype, 2)),
                 desc="parallel")


def matmul_samples(dtype: str) -> Iterator[Sample]:
    def s(a, b, desc):
        return Sample((imake(a, dtype, 1) if isinstance(a, tuple) else a,
                       imake(b, dtype, 2) if isinstance(b, tuple) else b), desc=desc)
    yield s((7,), (7,), "1d.1d")
    yield s((5, 7), (7,), "2d.1d")
    yield s((7,), (7, 4), "1d.2d")
    yield s((5, 7), (7, 4), "2d.2d")
    yield s(t12(imake((5, 7), dtype, 1)), (7,), "transposed 2d.1d")
    yield s((2, 5, 7), (7, 4), "3d.2d folded")
    yield s(t12(imake((2, 5, 7), dtype, 1)), (7, 4), "transposed 3d.2d")
    yield s((2, 5, 7), (7,), "3d.1d")
    yield s((7,), (2, 7, 4), "1d.3d")
    yield s((5, 7), (2, 7, 4), "2d.3d")
    yield s((2, 1, 5, 7), (3, 7, 4), "broadcast batch dims")
    yield s((3, 5, 7), (1, 7, 4), "broadcast size-1 batch")
    yield s((2, 3, 5, 7), t12(imake((2, 3, 7, 4), dtype, 2)), "4d transposed")
    yield s((0, 5, 7), (7, 4), "empty batch")
    yield s((2, 5, 0), (2, 0, 4), "k=0")
    yield s((0,), (0,), "empty dot")
    yield s((4, 64, 96), (4, 96, 80), "parallel")


def dot_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((imake((7,), dtype, 1), imake((7,), dtype, 2)), desc="contiguous")
    yield Sample((imake((14,), dtype, 1)[::2], imake((21,), dtype, 2)[::3]), desc="strided")
    yield Sample((imake((1,), dtype, 1).expand(7), imake((7,), dtype, 2)), desc="broadcast")
    yield Sample((imake((0,), dtype, 1), imake((0,), dtype, 2)), desc="empty")
    yield Sample((imake((4096,), dtype, 1), imake((4096,), dtype, 2)), desc="long")


def mv_samples(dtype: str) -> Iterator[Sample]:
    yield Sample((imake((5, 7), dtype, 1), imake((7,), dtype, 2)), desc="contiguous")
    yield Sample((t12(imake((5, 7), dtype, 1)), imake((14,), dtype, 2)[::2]), desc="transposed strided")
    yield Sample((imake((0, 7), dtype, 1), imake((7,), dtype, 2)), desc="empty")
    yield Sample((imake((300, 400), dtype, 1), imake((400,), dtype, 2)), desc="parallel")


def outer_samples(dtype: str) -> Iterator[Sample]:
    mk = (lambda shape, seed: make(shape, dtype, seed=seed)) if dtype == "bool" else (
        lambda shape, seed: imake(shape, dtype, seed))
    yield Sample((mk((5,), 1), mk((4,), 2)), desc="contiguous")
    yield Sample((mk((10,), 1)[::2], mk((4,), 2)), desc="strided")
    yield Sample((mk((0,), 1), mk((4,), 2)), desc="empty")
    yield Sample((mk((300,), 1), mk((400,), 2)), desc="parallel")


def linear_samples(dtype: str) -> Iterator[Sample]:
    x, w, b = imake((5, 7), dtype, 1), imake((4, 7), dtype, 2), imake((4,), dtype, 3)
    yield Sample((x, w, b), desc="2d bias")
    yield Sample((x, w), desc="2d no bias")
    yield Sample((imake((2, 5, 7), dtype, 1), w, b), desc="3d bias")
    yield Sample((t12(imake((2, 5, 7), dtype, 1)), w), desc="3d transposed no bias")
    yield Sample((imake((7,), dtype, 1), w, b), desc="1d input")
    yield Sample((x, imake((7,), dtype, 2)), desc="1d weight")
    yield Sample((x, w, imake((), dtype, 3)), desc="0-dim bias")
    yield Sample((imake((0, 7), dtype, 1), w, b), desc="empty")
    yield Sample((imake((64, 300), dtype, 1), imake((200, 300), dtype, 2), imake((200,), dtype, 3)), desc="parallel")


EINSUM_CASES = [
    ("ij,jk->ik", [(5, 7), (7, 4)]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("ij->ji", [(5, 7)]),
    ("ij->", [(5, 7)]),
    ("ij->j", [(5, 7)]),
    ("i,i->", [(7,), (7,)]),
    ("i,j->ij", [(5,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 6, 8)]),
    ("bhqk,bhkd->bhqd", [(2, 3, 5, 6), (2, 3, 6, 8)]),
    ("...ij,...jk->...ik", [(2, 1, 4, 5), (3, 5, 6)]),
    ("ij,jk", [(5, 7), (7, 4)]),
    ("ij,ij->", [(5, 7), (5, 7)]),
    ("ij,ij->ij", [(5, 7), (5, 7)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->j", [(3, 3, 5)]),
    ("bij,bkj->", [(2, 3, 4), (2, 5, 4)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ("i,i,i->", [(6,), (6,), (6,)]),
    ("ij,jk->ik", [(2, 1), (4, 4)]),
    ("i...->...", [(5, 2, 3)]),
    ("Ab,bA->A", [(3, 4), (4, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
    ("->", [()]),
    ("bhqd,bhkd->bhqk", [(2, 4, 64, 32), (2, 4, 48, 32)]),
]


def einsum_samples(dtype: str) -> Iterator[Sample]:
    for i, (eq, shapes) in enumerate(EINSUM_CASES):
        ops = [imake(s, dtype, seed) for seed, s in enumerate(shapes)]
        if i % 3 == 1:
            ops = [t12(o) if o.dim() >= 2 else o for o in ops]
        yield Sample((eq, *ops), desc=f"{eq} {shapes}")


def _einsum(module):
    return lambda eq, *ops: module.einsum(eq, *ops)


ROWS: list[OpInfo] = [
    OpInfo("mm", lambda a, b: vt.mm(a, b), torch.mm, NUMERIC_DTYPES, mm_samples),
    OpInfo("mm_method", lambda a, b: a.mm(b), lambda a, b: a.mm(b), ("float32", "int16"), mm_samples),
    OpInfo("bmm", lambda a, b: vt.bmm(a, b), torch.bmm, NUMERIC_DTYPES, bmm_samples),
    OpInfo("addmm", lambda s, a, b, **kw: vt.addmm(s, a, b, **kw),
           lambda s, a, b, **kw: torch.addmm(s, a, b, **kw), NUMERIC_DTYPES, addmm_samples),
    OpInfo("baddbmm", lambda s, a, b, **kw: s.baddbmm(a, b, **kw),
           lambda s, a, b, **kw: s.baddbmm(a, b, **kw), NUMERIC_DTYPES, baddbmm_samples),
    OpInfo("matmul", lambda a, b: vt.matmul(a, b), torch.matmul, NUMERIC_DTYPES, matmul_samples),
    OpInfo("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b, ("float32", "float16", "int32"),
           matmul_samples),
    OpInfo("dot", lambda a, b: vt.dot(a, b), torch.dot, NUMERIC_DTYPES, dot_samples),
    OpInfo("mv", lambda a, b: a.mv(b), lambda a, b: a.mv(b), NUMERIC_DTYPES, mv_samples),
    OpInfo("outer", lambda a, b: vt.outer(a, b), torch.outer, ALL_DTYPES, outer_samples),
    OpInfo("linear", lambda *a: vt.linear(*a), torch.nn.functional.linear, NUMERIC_DTYPES, linear_samples),
    OpInfo("einsum", _einsum(vt), _einsum(torch), FLOAT_DTYPES + ("int64",), einsum_samples),
]
