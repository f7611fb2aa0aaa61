"""Matrix products, linear and einsum beyond the op table: real-valued accuracy, errors like
torch's, out= and in-place semantics, special values, layouts BLAS reads in place, threading."""

from __future__ import annotations

import math

import pytest
import torch
import vt.core as vt
from gil_probe import python_work_during
from reference import assert_same, from_torch, to_torch


def randn(*shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


def close_to_exact(got, a, b, fn, dtype, k):
    """got (vt) against fn computed in float64 and rounded to dtype; the bound grows with the
    reduction length k like a float32 (or the dtype's) accumulation error does."""
    want = fn(a.double(), b.double())
    eps = {torch.float32: 2**-24, torch.float64: 2**-53, torch.float16: 2**-11, torch.bfloat16: 2**-8}[dtype]
    scale = fn(a.double().abs(), b.double().abs())
    bound = (2 * eps + 2 * k * 2**-24) * scale + 1e-30
    err = (to_torch(got).double() - want).abs()
    assert got.dtype.name == str(dtype).removeprefix("torch."), got.dtype
    assert bool((err <= bound).all()), f"max error {err.max().item()} over bound {bound.max().item()}"


# ---- accuracy on real-valued data -------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shapes", [((33, 65), (65, 17)), ((128, 256), (256, 96)), ((1, 500), (500, 3))])
def test_mm_real_values(dtype, shapes):
    a, b = randn(*shapes[0], dtype=dtype, seed=1), randn(*shapes[1], dtype=dtype, seed=2)
    close_to_exact(vt.mm(from_torch(a), from_torch(b)), a, b, torch.mm, dtype, shapes[0][1])
    close_to_exact(vt.mm(from_torch(a.t().contiguous()).t(), from_torch(b)), a, b, torch.mm, dtype, shapes[0][1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_batched_and_einsum_real_values(dtype):
    a, b = randn(4, 3, 20, 40, dtype=dtype, seed=3), randn(4, 3, 30, 40, dtype=dtype, seed=4)
    scores = lambda x, y: torch.einsum("bhqd,bhkd->bhqk", x, y)
    close_to_exact(vt.einsum("bhqd,bhkd->bhqk", from_torch(a), from_torch(b)), a, b, scores, dtype, 40)
    close_to_exact(from_torch(a) @ from_torch(b).transpose(-1, -2), a, b,
                   lambda x, y: x @ y.transpose(-1, -2), dtype, 40)


def test_addmm_real_values_match_torch():
    s, a, b = randn(40, 30, seed=1), randn(40, 50, seed=2), randn(50, 30, seed=3)
    got = vt.addmm(from_torch(s), from_torch(a), from_torch(b), beta=0.25, alpha=-1.5)
    assert_same(got, torch.addmm(s, a, b, beta=0.25, alpha=-1.5), rtol=1e-5, atol=1e-5)


def test_results_do_not_depend_on_thread_count():
    a, b = randn(300, 400, seed=1), randn(400, 500, seed=2)
    before = vt.get_num_threads()
    try:
        vt.set_num_threads(1)
        one = to_torch(vt.mm(from_torch(a), from_torch(b)))
        vt.set_num_threads(3)
        three = to_torch(vt.mm(from_torch(a), from_torch(b)))
    finally:
        vt.set_num_threads(before)
    torch.testing.assert_close(one, three, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(one, a @ b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_batches_that_do_not_divide_among_threads(threads, transpose_b):
    # 3 matrices on 2 or 4 threads split into row (m >= n) or column blocks: every block once.
    a = randn(3, 300, 64, seed=1)
    b = randn(3, 400, 64, seed=2).transpose(1, 2) if transpose_b else randn(3, 64, 200, seed=2)
    before = vt.get_num_threads()
    try:
        vt.set_num_threads(threads)
        got = vt.bmm(from_torch(a), from_torch(b))
    finally:
        vt.set_num_threads(before)
    assert_same(got, torch.bmm(a, b), rtol=1e-5, atol=1e-4)


# ---- layouts ----------------------------------------------------------------------------

def test_transposed_operands_are_not_copied():
    # BLAS takes transposed float operands through its trans flags: the output is the only
    # allocation.
    a, b = from_torch(randn(64, 48).t()), from_torch(randn(80, 64).t())
    assert not a.is_contiguous() and not b.is_contiguous()
    before = vt.allocator_stats()["num_allocs"]
    r = vt.mm(a, b)
    assert vt.allocator_stats()["num_allocs"] - before == 1
    assert_same(r, to_torch(a) @ to_torch(b), rtol=1e-5, atol=1e-5)


def test_broadcast_batch_is_not_materialized():
    a = from_torch(randn(1, 32, 16)).expand(8, 32, 16)
    b = from_torch(randn(8, 16, 24))
    before = vt.allocator_stats()["num_allocs"]
    r = vt.bmm(a, b)
    assert vt.allocator_stats()["num_allocs"] - before == 1
    assert_same(r, torch.bmm(to_torch(a).expand(8, 32, 16), to_torch(b)), rtol=1e-5, atol=1e-5)


def test_einsum_permutation_is_a_view_like_torch():
    x = from_torch(randn(3, 4))
    y = vt.einsum("ij->ji", x)
    assert y.data_ptr() == x.data_ptr() and y.stride() == (1, 4)


# ---- special values ---------------------------------------------------------------------

def test_nan_and_inf_propagate_like_torch():
    a = torch.tensor([[1.0, float("nan")], [2.0, 3.0], [float("inf"), 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert_same(vt.mm(from_torch(a), from_torch(b)), a @ b)


def test_beta_zero_ignores_nan_input_and_alpha_zero_ignores_product():
    s = torch.full((2, 3), float("nan"))
    a, b = torch.ones(2, 4), torch.ones(4, 3)
    assert_same(vt.addmm(from_torch(s), from_torch(a), from_torch(b), beta=0), torch.addmm(s, a, b, beta=0))
    nan_a = torch.full((2, 4), float("nan"))
    ones = torch.ones(2, 3)
    want = torch.addmm(ones, nan_a, b, alpha=0)
    assert_same(vt.addmm(from_torch(ones), from_torch(nan_a), from_torch(b), alpha=0), want)
    assert not bool(want.isnan().any())


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_integer_products_wrap_like_torch(dtype):
    info = torch.iinfo(getattr(torch, dtype))
    a = torch.full((3, 40), info.max // 3, dtype=getattr(torch, dtype))
    b = torch.full((40, 2), 7, dtype=getattr(torch, dtype))
    assert_same(vt.mm(from_torch(a), from_torch(b)), a @ b)
    assert_same(vt.dot(from_torch(a[0]), from_torch(b[:, 0])), torch.dot(a[0], b[:, 0]))


def test_integer_addmm_truncates_float_factors_like_torch():
    s, a, b = torch.full((2, 4), 3, dtype=torch.int32), torch.ones(2, 3, dtype=torch.int32), torch.ones(3, 4, dtype=torch.int32)
    for beta, alpha in [(0.5, 2), (1.5, 2.7), (True, 2)]:
        want = torch.addmm(s, a, b, beta=beta, alpha=alpha)
        assert_same(vt.addmm(from_torch(s), from_torch(a), from_torch(b), beta=beta, alpha=alpha), want)


def test_integer_einsum_dtypes_follow_torch():
    a = torch.arange(6, dtype=torch.int32).view(2, 3)
    b = torch.arange(12, dtype=torch.int32).view(3, 4)
    for eq, ops in [("ij,jk->ik", (a, b)), ("ij->", (a,)), ("ij->j", (a,)), ("ji->ij", (a,)), ("i,j->ij", (a[0], b[0]))]:
        assert_same(vt.einsum(eq, *[from_torch(o) for o in ops]), torch.einsum(eq, *ops))


# ---- out= and in-place ------------------------------------------------------------------

@pytest.mark.parametrize("name,args", [
    ("mm", ((3, 4), (4, 5))), ("bmm", ((2, 3, 4), (2, 4, 5))), ("matmul", ((2, 3, 4), (4, 5))),
    ("matmul", ((3, 4), (4,))), ("dot", ((4,), (4,))), ("mv", ((3, 4), (4,))), ("outer", ((3,), (4,))),
])
def test_out_is_written_and_returned(name, args):
    ops = [randn(*s, seed=i) for i, s in enumerate(args)]
    want = getattr(torch, name)(*ops)
    out = vt.empty(tuple(want.shape))
    version = out._version
    got = getattr(vt, name)(*[from_torch(o) for o in ops], out=out)
    assert got is out and out._version > version
    assert_same(out, want, rtol=1e-5, atol=1e-5)


def test_addmm_and_baddbmm_out():
    s, a, b = randn(3, 5, seed=1), randn(3, 4, seed=2), randn(4, 5, seed=3)
    out = vt.empty((3, 5))
    assert vt.addmm(from_torch(s), from_torch(a), from_torch(b), beta=2, alpha=0.5, out=out) is out
    assert_same(out, torch.addmm(s, a, b, beta=2, alpha=0.5), rtol=1e-5, atol=1e-5)
    s3, a3, b3 = randn(2, 3, 5, seed=1), randn(2, 3, 4, seed=2), randn(2, 4, 5, seed=3)
    out3 = vt.empty((2, 3, 5))
    assert vt.baddbmm(from_torch(s3), from_torch(a3), from_torch(b3), alpha=3, out=out3) is out3
    assert_same(out3, torch.baddbmm(s3, a3, b3, alpha=3), rtol=1e-5, atol=1e-5)


def test_out_with_transposed_layout_is_filled_in_place():
    a, b = randn(3, 4, seed=1), randn(4, 5, seed=2)
    base = vt.zeros((5, 3))
    out = base.t()
    vt.mm(from_torch(a), from_torch(b), out=out)
    assert_same(out, a @ b, rtol=1e-5, atol=1e-5)
    assert_same(base, (a @ b).t(), rtol=1e-5, atol=1e-5)


def test_out_aliasing_an_operand_gives_the_right_answer():
    a, b = randn(4, 4, seed=1), randn(4, 4, seed=2)
    x = from_torch(a)
    vt.mm(x, from_torch(b), out=x)
    assert_same(x, a @ b, rtol=1e-5, atol=1e-5)
    s = from_torch(a)
    vt.addmm(s, s, from_torch(b), out=s)
    assert_same(s, torch.addmm(a, a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_inplace_addmm_and_baddbmm(dtype):
    tdt = getattr(torch, dtype)
    s, a, b = (torch.arange(n, dtype=torch.float64).view(shape).remainder(5).to(tdt)
               for n, shape in [(15, (3, 5)), (12, (3, 4)), (20, (4, 5))])
    x = from_torch(s)
    version = x._version
    assert x.addmm_(from_torch(a), from_torch(b), beta=2, alpha=3) is x
    assert x._version > version
    assert_same(x, s.clone().addmm_(a, b, beta=2, alpha=3))
    y = from_torch(s[None].repeat(2, 1, 1))
    assert y.baddbmm_(from_torch(a[None].repeat(2, 1, 1)), from_torch(b[None].repeat(2, 1, 1))) is y
    assert_same(y, s[None].repeat(2, 1, 1).baddbmm_(a[None].repeat(2, 1, 1), b[None].repeat(2, 1, 1)))


def test_inplace_on_a_transposed_self():
    s, a, b = randn(5, 3, seed=1), randn(3, 4, seed=2), randn(4, 5, seed=3)
    x = from_torch(s)
    x.t().addmm_(from_torch(a), from_torch(b))
    assert_same(x, s.t().clone().addmm_(a, b).t(), rtol=1e-5, atol=1e-5)


# ---- errors like torch's -----------------------------------------------------------------

def t(*shape, dtype=torch.float32):
    return torch.ones(shape, dtype=dtype)


ERRORS = [
    ("mm", lambda m: m.mm(t(2, 3), t(4, 5)), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    ("mm", lambda m: m.mm(t(2, 3), t(3, 5, dtype=torch.float64)), "expected m1 and m2 to have the same dtype"),
    ("mm", lambda m: m.mm(t(3), t(3, 5)), "self must be a matrix"),
    ("mm", lambda m: m.mm(t(3, 3), t(3)), "mat2 must be a matrix"),
    ("mm", lambda m: m.mm(t(2, 3, dtype=torch.bool), t(3, 2, dtype=torch.bool)), "not implemented for 'Bool'"),
    ("bmm", lambda m: m.bmm(t(3, 4), t(3, 4, 6)), "batch1 must be a 3D tensor"),
    ("bmm", lambda m: m.bmm(t(2, 3, 4), t(2, 5, 6)), "[2, 4] but got: [2, 5]"),
    ("bmm", lambda m: m.bmm(t(2, 3, 4), t(3, 4, 6)), "[2, 4] but got: [3, 4]"),
    ("bmm", lambda m: m.bmm(t(2, 3, 4), t(2, 4, 6, dtype=torch.float64)), "float"),
    ("bmm", lambda m: m.bmm(t(1, 2, 3, dtype=torch.bool), t(1, 3, 2, dtype=torch.bool)), "not implemented for 'Bool'"),
    ("matmul", lambda m: m.matmul(t(), t(3)), "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    ("matmul", lambda m: m.matmul(t(3), t()), "but they are 1D and 0D"),
    ("matmul", lambda m: m.matmul(t(3), t(4)), "inconsistent tensor size"),
    ("matmul", lambda m: m.matmul(t(2, 3), t(4)), "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("matmul", lambda m: m.matmul(t(3), t(4, 5)), "cannot be multiplied (1x3 and 4x5)"),
    ("matmul", lambda m: m.matmul(t(2, 2, 3), t(3, 4, 5)), "3"),
    ("matmul", lambda m: m.matmul(t(2, 3, 4), t(2, 5, 6)), "4"),
    ("matmul", lambda m: m.matmul(t(2, 3), t(3, dtype=torch.float64)), "dtype"),
    ("dot", lambda m: m.dot(t(3), t(4)), "expected tensor [3] and src [4]"),
    ("dot", lambda m: m.dot(t(3), t(3, dtype=torch.float64)), "dot : expected both vectors to have same dtype"),
    ("dot", lambda m: m.dot(t(3, 1), t(3)), "1D tensors expected, but got 2D and 1D tensors"),
    ("dot", lambda m: m.dot(t(3, dtype=torch.bool), t(3, dtype=torch.bool)), "not implemented for 'Bool'"),
    ("outer", lambda m: m.outer(t(3, 2), t(3)), "outer: Expected 1-D argument self, but got 2-D"),
    ("addmm", lambda m: m.addmm(t(2, 3), t(2, 3), t(3, 4)), "4"),
    ("addmm", lambda m: m.addmm(t(2, 4, dtype=torch.float64), t(2, 3), t(3, 4)), "self and mat2 must have the same dtype"),
    ("baddbmm", lambda m: m.baddbmm(t(2, 3, 4, dtype=torch.float64), t(2, 3, 4), t(2, 4, 4)), "Input dtypes must be the same"),
    ("addmm_", lambda m: t(1, 3).addmm_(t(2, 3), t(3, 3)) if m is torch else from_torch(t(1, 3)).addmm_(
        from_torch(t(2, 3)), from_torch(t(3, 3))), "Bad in-place call"),
    ("linear", lambda m: linear_of(m)(t(2, 3), t(4, 5)), "mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)"),
    ("linear", lambda m: linear_of(m)(t(), t(4, 3)), "both arguments to linear need to be at least 1D"),
    ("linear", lambda m: linear_of(m)(t(2, 3), t(4, 3), t(4, dtype=torch.float64)), "same dtype"),
    ("einsum", lambda m: m.einsum("ij,jk->ik", t(2, 3), t(4, 4)), "einsum(): "),
    ("einsum", lambda m: m.einsum("ij,jk->ik", t(2, 3)), "fewer operands were provided than specified"),
    ("einsum", lambda m: m.einsum("ij", t(2, 3), t(3)), "more operands were provided than specified"),
    ("einsum", lambda m: m.einsum("ij->ik", t(2, 3)), "output subscript k does not appear"),
    ("einsum", lambda m: m.einsum("ijk->ij", t(2, 3)), "does not match the number of dimensions (2) for operand 0"),
    ("einsum", lambda m: m.einsum("ij->ii", t(2, 3)), "output subscript i appears more than once"),
    ("einsum", lambda m: m.einsum("i1->i", t(2, 3)), "invalid subscript given at index 1"),
    ("einsum", lambda m: m.einsum("i.j->j", t(2, 3)), "not part of any ellipsis"),
    ("einsum", lambda m: m.einsum("iij->j", t(2, 3, 3)), "subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
    ("einsum", lambda m: m.einsum("ij,jk->ik", t(2, 3), t(3, 4, dtype=torch.float64)), ""),
    ("einsum", lambda m: m.einsum("i,i->", t(3, dtype=torch.bool), t(3, dtype=torch.bool)), "not implemented for 'Bool'"),
]


def linear_of(module):
    return torch.nn.functional.linear if module is torch else module.linear


class _VtArgs:
    """vt.core with torch tensors converted on the way in."""

    def __getattr__(self, name):
        fn = getattr(vt, name)
        return lambda *args, **kw: fn(*[from_torch(a) if isinstance(a, torch.Tensor) else a for a in args], **kw)


@pytest.mark.parametrize("case", ERRORS, ids=[f"{c[0]}-{i}" for i, c in enumerate(ERRORS)])
def test_errors_match_torch(case):
    _, call, fragment = case
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(want.type) as got:
        call(_VtArgs())
    assert fragment in str(got.value), f"{got.value!r} lacks {fragment!r}"


def test_matmul_operator_with_a_number_is_a_type_error_like_torch():
    with pytest.raises(TypeError):
        torch.ones(3) @ 2
    with pytest.raises(TypeError):
        vt.ones(3) @ 2
    with pytest.raises(TypeError):
        2 @ vt.ones(3)


def test_out_errors():
    a, b = vt.ones((2, 3)), vt.ones((3, 4))
    with pytest.raises(RuntimeError):
        torch.mm(torch.ones(2, 3), torch.ones(3, 4), out=torch.empty(2, 4, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype float32, but got float64"):
        vt.mm(a, b, out=vt.empty((2, 4), dtype=vt.float64))
    # torch resizes a wrongly shaped out (with a deprecation warning); vt refuses by name.
    with pytest.raises(NotImplementedError, match="resizing out= tensors is not implemented"):
        vt.mm(a, b, out=vt.empty((1,)))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        vt.mm(a, b, out=vt.empty((1, 4)).expand(2, 4))
    with pytest.raises(TypeError):
        vt.mm(a, b, out=3)


def test_einsum_takes_a_list_of_operands_like_torch():
    a, b = randn(2, 3, seed=1), randn(3, 4, seed=2)
    assert_same(vt.einsum("ij,jk->ik", [from_torch(a), from_torch(b)]), torch.einsum("ij,jk->ik", [a, b]),
                rtol=1e-5, atol=1e-5)


def test_large_dot_accuracy():
    x = randn(1 << 18, seed=5)
    got = to_torch(vt.dot(from_torch(x), from_torch(x))).item()
    assert math.isclose(got, float(x.double().square().sum()), rel_tol=1e-5)


def test_products_release_the_gil_while_they_compute():
    a = vt.randn(3072, 3072)  # a product of a few hundred milliseconds
    python_end, op_end = python_work_during(lambda: a @ a)
    assert python_end < op_end - 0.02
