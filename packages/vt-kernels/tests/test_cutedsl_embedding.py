"""The CuTeDSL backend of the embedding kernel.

Without a GPU (CI) every kernel variant is compiled for sm_90a and the launch arguments are
checked against the DSL's own marshalling; with a GPU the forward and dweight are compared with
F.embedding (float32 reference from the same low-precision inputs).
"""

import os

import pytest
import torch
import torch.nn.functional as F
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.cutedsl import _common as C
from vt.kernels.cutedsl import embedding as cuted  # registers the backend
from vt.kernels.embedding import embedding, embedding_backward, embedding_forward

ARCH = None if ON_GPU else "sm_90a"


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, launch arguments, registration


@pytest.mark.parametrize("dtype, dim", [("float32", 37), ("bfloat16", 64), ("float16", 1000)])
def test_every_kernel_compiles_for_sm90(dtype, dim):
    # forward gather, claim, owner stores, atomic adds, sorted run sums (int32 and int64
    # indices), and the dweight gather
    assert cuted.compile_all(dtype, dim, ARCH) == 11


def test_vector_widths_of_the_compiled_variants():
    assert cuted._widest(64, ("bfloat16",)) == 8
    assert cuted._widest(64, ("bfloat16", "float32")) == 4
    assert cuted._widest(1000, ("float16",)) == 8
    assert cuted._widest(130, ("float16",)) == 2
    assert cuted._widest(37, ("float32",)) == 1


@pytest.mark.parametrize("build", [
    lambda: cuted._compiled_gather(C.row_tiling(64, 8), "int64", "bfloat16", "bfloat16", 0, ARCH),
    lambda: cuted._compiled_gather(C.row_tiling(64, 4), "int32", "float32", "bfloat16", 1, ARCH),
    lambda: cuted._compiled_claim("int64", ARCH),
    lambda: cuted._compiled_scatter(C.row_tiling(64, 4), "int32", "bfloat16", False, ARCH),
    lambda: cuted._compiled_sum_runs(C.row_tiling(64, 4), "int64", "float16", ARCH),
], ids=["forward", "write_dweight", "claim", "atomic_add", "sum_runs"])
def test_fast_launch_arguments_match_the_dsl_marshalling(build):
    kernel = build()
    assert_launch_arguments_match(kernel)


def test_backend_is_registered_and_declines_what_it_cannot_run():
    assert "cutedsl" in vk.implementations("embedding")
    indices, weight = torch.zeros(3, dtype=torch.long), torch.randn(5, 4)
    assert "CUDA" in cuted._supports(indices, weight)
    assert "int32 or int64" in cuted._supports(indices.float(), weight)
    assert "int32 or int64" in cuted._supports(indices.numpy(), weight)
    assert "CUDA" in dict(_registry.explain("embedding", indices, weight))["cutedsl"]


# ---------------------------------------------------------------------------------------------
# on a GPU: values against F.embedding


def make(dtype, shape, vocab, dim, seed=0, index_dtype=torch.int64):
    gen = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, vocab, shape, generator=gen).to("cuda", index_dtype)
    weight = torch.randn(vocab, dim, generator=gen).to(device="cuda", dtype=dtype)
    dy = torch.randn(*shape, dim, generator=gen).to(device="cuda", dtype=dtype)
    return indices, weight, dy


def reference(indices, weight, dy, padding_idx):
    """F.embedding in float32 from the same low-precision inputs: (out, dweight)."""
    w = weight.detach().float().requires_grad_(True)
    out = F.embedding(indices.long(), w, padding_idx=padding_idx)
    out.backward(dy.float())
    return out, w.grad


# (tokens, vocab, dim): one token; odd dim (1-element vectors); many tokens per CTA; one row
# over many threads; the longest row a CTA holds
CASES = [((1,), 5, 8), ((2, 7), 11, 37), ((40,), 6, 130), ((3, 5, 4), 50, 64),
         ((300,), 1000, 1024), ((17,), 9, C.MAX_N)]


@pytest.mark.cuda
@pytest.mark.parametrize("index_dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, vocab, dim", CASES)
def test_forward_and_backward_match_f_embedding(shape, vocab, dim, dtype, deterministic,
                                                index_dtype):
    indices, weight, dy = make(dtype, shape, vocab, dim, index_dtype=index_dtype)
    flat, rows = indices.reshape(-1), dy.reshape(-1, dim)
    assert cuted._supports(flat, weight) is None and cuted._supports(flat, rows) is None
    out = cuted._forward(flat, weight)
    dw = cuted._backward(rows, flat, vocab, None, deterministic)
    expected, expected_dw = reference(indices, weight, dy, None)
    assert out.dtype == dtype and torch.equal(out, expected.reshape(-1, dim).to(dtype))
    assert dw.dtype == dtype and dw.shape == (vocab, dim)
    assert_close(dw, expected_dw, dtype, reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("padding_idx", [0, 3, 7])
@pytest.mark.parametrize("deterministic", [False, True])
def test_padding_and_unused_rows_are_zero(padding_idx, deterministic):
    indices = torch.tensor([2] * 13 + [3] + [2] * 10 + [0, 7, 7], device="cuda")
    weight = torch.randn(9, 33, device="cuda")
    dy = torch.randn(indices.shape[0], 33, device="cuda")
    dw = cuted._backward(dy, indices, 9, padding_idx, deterministic)
    _, expected = reference(indices, weight, dy, padding_idx)
    assert_close(dw, expected, reduced=True)
    assert torch.count_nonzero(dw[[1, 4, 5, 6, 8, padding_idx]]) == 0


@pytest.mark.cuda
@pytest.mark.parametrize("deterministic", [False, True])
def test_out_of_range_indices_touch_no_memory(deterministic):
    # the forward writes zero rows for them, the backward drops their tokens
    weight = torch.randn(6, 40, device="cuda")
    indices = torch.tensor([1, -1, 6, 2, 1 << 40, 5], device="cuda")
    out = cuted._forward(indices, weight)
    good = torch.tensor([True, False, False, True, False, True], device="cuda")
    assert torch.equal(out[good], weight[indices[good]])
    assert torch.count_nonzero(out[~good]) == 0
    dy = torch.randn(6, 40, device="cuda")
    dw = cuted._backward(dy, indices, 6, None, deterministic)
    _, expected = reference(indices[good], weight, dy[good], None)
    assert_close(dw, expected, reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_deterministic_backward_is_bitwise_reproducible(dtype):
    # many repeats of few rows: atomic sums would differ in their last bits between runs
    indices, weight, dy = make(dtype, (8192,), 64, 1024, seed=3)
    runs = [cuted._backward(dy, indices, 64, None, True) for _ in range(5)]
    assert all(torch.equal(runs[0], r) for r in runs[1:])
    assert_close(runs[0], reference(indices, weight, dy, None)[1], dtype, reduced=True)
    atomic = cuted._backward(dy, indices, 64, None, False)
    assert_close(atomic, runs[0], dtype, reduced=True)


@pytest.mark.cuda
def test_strided_rows_and_misaligned_bases_take_narrower_vectors():
    base = torch.randn(12, 70, device="cuda", dtype=torch.bfloat16)
    indices = torch.tensor([3, 0, 11, 3], device="cuda", dtype=torch.int32)
    for weight in (base[:, :64], base[:, 2:66], base[:, 1:64]):  # stride 70; +2; odd length
        out = cuted._forward(indices, weight)
        assert torch.equal(out, weight[indices.long()])
    dy = torch.randn(4, 70, device="cuda")[:, 1:65]
    dw = cuted._backward(dy, indices, 12, None, False)
    assert_close(dw, reference(indices, base[:, :64], dy, None)[1], reduced=True)


@pytest.mark.cuda
def test_empty_inputs():
    weight = torch.randn(5, 16, device="cuda")
    empty = torch.zeros(0, dtype=torch.long, device="cuda")
    assert cuted._forward(empty, weight).shape == (0, 16)
    dw = cuted._backward(torch.zeros(0, 16, device="cuda"), empty, 5, None, False)
    assert dw.shape == (5, 16) and torch.count_nonzero(dw) == 0


@pytest.mark.cuda
@pytest.mark.parametrize("deterministic", [False, True])
def test_public_embedding_runs_on_cutedsl_and_long_rows_fall_back(deterministic):
    indices, weight, dy = make(torch.bfloat16, (4, 9), 30, 256, seed=4)
    w = weight.clone().requires_grad_(True)
    with vk.use_impl("cutedsl"):
        assert vk.explain("embedding", indices.view(-1), weight)[0] == ("cutedsl", None)
        out = embedding(indices, w, padding_idx=2, deterministic=deterministic)
        out.backward(dy)
        assert torch.equal(embedding_forward(indices.view(-1), weight), out.detach().view(-1, 256))
        dw = embedding_backward(dy.view(-1, 256), indices.view(-1), 30, padding_idx=2,
                                deterministic=deterministic)
        long = torch.randn(4, C.MAX_N + 8, device="cuda")
        assert "exceed" in dict(vk.explain("embedding", indices.view(-1)[:3] % 4, long))["cutedsl"]
        assert torch.equal(embedding(indices % 4, long), long[indices % 4])  # the next backend
    expected, expected_dw = reference(indices, weight, dy, 2)
    assert torch.equal(out, expected.to(torch.bfloat16))
    assert_close(w.grad, expected_dw, torch.bfloat16, reduced=True)
    if deterministic:
        assert torch.equal(dw, w.grad)
    else:  # float32 atomics: the order of the adds varies between runs
        assert_close(dw, w.grad, torch.bfloat16, reduced=True)
