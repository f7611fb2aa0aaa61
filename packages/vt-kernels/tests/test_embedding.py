import math
import os

import pytest
import torch
import torch.nn.functional as F
from conftest import ON_GPU
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.embedding import (
    embedding,
    embedding_backward,
    embedding_forward,
    embedding_renorm_,
)


def reference(indices, weight, dy, padding_idx):
    """F.embedding in float32 from the same low-precision inputs: (out, dweight)."""
    w = weight.detach().float().requires_grad_(True)
    out = F.embedding(indices, w, padding_idx=padding_idx)
    out.backward(dy.float())
    return out, w.grad


def make(device, dtype, shape, vocab, dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, vocab, shape, generator=gen).to(device)
    weight = torch.randn(vocab, dim, generator=gen).to(device=device, dtype=dtype)
    dy = torch.randn(*shape, dim, generator=gen).to(device=device, dtype=dtype)
    return indices, weight, dy


CASES = [((2, 7), 11, 37), ((1,), 5, 8), ((40,), 6, 130), ((3, 5, 4), 50, 64)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, vocab, dim", CASES)
@pytest.mark.parametrize("deterministic", [False, True])
def test_forward_and_backward_match_f_embedding(device, dtype, shape, vocab, dim, deterministic):
    indices, weight, dy = make(device, dtype, shape, vocab, dim)
    w = weight.clone().requires_grad_(True)
    out = embedding(indices, w, deterministic=deterministic)
    out.backward(dy)
    expected, dw = reference(indices, weight, dy, None)
    assert out.shape == (*shape, dim) and out.dtype == dtype
    assert torch.equal(out, expected.to(dtype))  # a gather is exact
    assert w.grad.dtype == dtype
    assert_close(w.grad, dw, dtype, reduced=True)


@pytest.mark.parametrize("padding_idx", [0, 3, -1])
@pytest.mark.parametrize("deterministic", [False, True])
def test_padding_rows_get_no_gradient(device, padding_idx, deterministic):
    indices, weight, dy = make(device, torch.float32, (6, 9), 8, 20, seed=1)
    indices[0, :4] = padding_idx % 8  # surely present
    w = weight.clone().requires_grad_(True)
    out = embedding(indices, w, padding_idx=padding_idx, deterministic=deterministic)
    out.backward(dy)
    expected, dw = reference(indices, weight, dy, padding_idx)
    assert torch.equal(out, expected)
    assert torch.count_nonzero(w.grad[padding_idx % 8]) == 0
    assert_close(w.grad, dw, reduced=True)


@pytest.mark.parametrize("deterministic", [False, True])
def test_long_runs_of_one_index_and_unused_rows(device, deterministic):
    # 23 copies of row 2 (several tiles of the sorted sum), rows 0, 1, 4.. never used.
    indices = torch.tensor([2] * 13 + [3] + [2] * 10, device=device)
    weight = torch.randn(9, 33, device=device)
    dy = torch.randn(24, 33, device=device)
    dw = embedding_backward(dy, indices, 9, deterministic=deterministic)
    _, expected = reference(indices, weight, dy, None)
    assert_close(dw, expected, reduced=True)
    assert torch.count_nonzero(dw[[0, 1, 4, 5, 6, 7, 8]]) == 0


def test_deterministic_backward_is_reproducible(device):
    indices, weight, dy = make(device, torch.float32, (64,), 5, 48, seed=2)
    first = embedding_backward(dy, indices, 5, deterministic=True)
    second = embedding_backward(dy, indices, 5, deterministic=True)
    assert torch.equal(first, second)
    assert_close(first, reference(indices, weight, dy, None)[1], reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_deterministic_backward_is_bitwise_reproducible_on_gpu(dtype):
    # Many repeats of few rows: atomic sums would differ in their last bits between runs.
    indices, weight, dy = make("cuda", dtype, (8192,), 64, 1024, seed=3)
    runs = [embedding_backward(dy, indices, 64, deterministic=True) for _ in range(5)]
    assert all(torch.equal(runs[0], r) for r in runs[1:])
    assert_close(runs[0], reference(indices, weight, dy, None)[1], dtype, reduced=True)


def test_int32_indices_non_contiguous_inputs_and_empty_indices(device):
    weight_t = torch.randn(24, 10, device=device).t()  # (10, 24) with strided rows
    indices = torch.tensor([[1, 9, 1], [0, 2, 9]], dtype=torch.int32, device=device).t()
    w = weight_t.clone().requires_grad_(True)  # keeps the strides
    out = embedding(indices, w)
    dy = torch.randn_like(out)
    out.backward(dy)
    expected, dw = reference(indices.long(), weight_t, dy, None)
    assert torch.equal(out, expected)
    assert_close(w.grad, dw, reduced=True)
    empty = embedding(torch.zeros(0, 3, dtype=torch.long, device=device), weight_t)
    assert empty.shape == (0, 3, 24)


def test_explicit_forward_and_backward(device):
    indices, weight, dy = make(device, torch.bfloat16, (30,), 7, 16, seed=4)
    assert torch.equal(embedding_forward(indices, weight), F.embedding(indices, weight))
    dw = embedding_backward(dy, indices, 7, padding_idx=2)
    assert_close(dw, reference(indices, weight, dy, 2)[1], torch.bfloat16, reduced=True)


def test_triton_and_reference_backends_agree(device):
    indices, weight, dy = make(device, torch.float32, (5, 6), 13, 24, seed=5)
    with vk.use_impl("reference"):
        ref_out = embedding(indices, weight)
        ref_dw = embedding_backward(dy.view(-1, 24), indices.view(-1), 13, padding_idx=1)
    assert vk.explain("embedding", indices.view(-1), weight)[0] == ("triton", None)
    assert torch.equal(embedding(indices, weight), ref_out)
    assert_close(embedding_backward(dy.view(-1, 24), indices.view(-1), 13, padding_idx=1), ref_dw,
                 reduced=True)


def test_bad_input_raises(device):
    weight = torch.randn(5, 4, device=device)
    with pytest.raises(TypeError, match="embedding: indices must be int64 or int32, got float32"):
        embedding(torch.zeros(3, device=device), weight)
    with pytest.raises(TypeError, match="weight must be float32.*int64"):
        embedding(torch.zeros(3, dtype=torch.long, device=device), weight.long())
    with pytest.raises(RuntimeError, match=r"weight must be 2-D .* got shape \(20,\)"):
        embedding(torch.zeros(3, dtype=torch.long, device=device), weight.view(-1))
    with pytest.raises(ValueError, match="padding_idx 5 is out of range for 5"):
        embedding(torch.zeros(3, dtype=torch.long, device=device), weight, padding_idx=5)
    with pytest.raises(RuntimeError, match=r"dy has shape \(2, 4\), expected \(3, dim\)"):
        embedding_backward(torch.randn(2, 4, device=device), torch.zeros(3, dtype=torch.long,
                                                                        device=device), 5)


# ---------------------------------------------------------------------------------------------
# torch's options: max_norm / norm_type, scale_grad_by_freq, sparse

# Triton's interpreter evaluates log2(0) of zero entries in numpy (general norm types), which warns.
LOG2_OF_ZERO = pytest.mark.filterwarnings("ignore:divide by zero encountered in log2")


def reference_with(indices, weight, dy, padding_idx, **options):
    """F.embedding with `options` on a float32 CPU copy of weight (torch's CUDA renorm takes no
    absolute value for odd norm types): (out, dense dweight, the renormed weight)."""
    w = weight.detach().float().cpu().clone().requires_grad_(True)  # max_norm writes to it
    out = F.embedding(indices.cpu(), w, padding_idx=padding_idx, **options)
    out.backward(dy.float().cpu())
    return out, w.grad.to_dense() if w.grad.is_sparse else w.grad, w.detach()


def make_renormable(device, dtype, shape, vocab, dim, max_norm, norm_type, seed=0):
    """make()'s inputs with even rows at half max_norm and odd rows at twice max_norm, far from
    the threshold in every dtype."""
    indices, weight, dy = make("cpu", torch.float32, shape, vocab, dim, seed)
    norm = torch.linalg.vector_norm(weight, norm_type, dim=1, keepdim=True)
    target = torch.where(torch.arange(vocab)[:, None] % 2 == 0, 0.5, 2.0) * max_norm
    weight = weight / norm * target
    return indices.to(device), weight.to(device=device, dtype=dtype), dy.to(device, dtype)


OPTIONS = [
    {"max_norm": 1.5},
    {"max_norm": 0.7, "norm_type": 1.0},
    {"scale_grad_by_freq": True},
    {"sparse": True},
    {"max_norm": 1.5, "norm_type": 3.0, "scale_grad_by_freq": True},
    {"max_norm": 1.5, "norm_type": math.inf, "sparse": True},
]
OPTION_IDS = ["max_norm", "max_norm_l1", "scale_grad_by_freq", "sparse", "max_norm_p3_scale",
              "max_norm_inf_sparse"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_IDS)
@pytest.mark.parametrize("padding_idx", [None, 3])
@pytest.mark.parametrize("deterministic", [False, True])
@LOG2_OF_ZERO
def test_options_match_f_embedding(device, dtype, options, padding_idx, deterministic):
    shape, vocab, dim = (3, 9), 8, 37
    indices, weight, dy = make_renormable(device, dtype, shape, vocab, dim,
                                          options.get("max_norm", 1.0),
                                          options.get("norm_type", 2.0))
    indices[0, :4] = 3  # repeats of the padding row
    indices[1, :5] = 6  # repeats of a large row
    expected, dw, renormed = reference_with(indices, weight, dy, padding_idx, **options)
    assert ("max_norm" in options) != torch.equal(renormed, weight.float().cpu())
    w = weight.clone().requires_grad_(True)
    out = embedding(indices, w, padding_idx=padding_idx, deterministic=deterministic, **options)
    out.backward(dy)
    assert out.shape == (*shape, dim) and out.dtype == dtype
    assert_close(out.cpu(), expected, dtype)
    assert_close(w.detach().cpu(), renormed, dtype)  # rescaled in place (or untouched)
    if options.get("sparse"):
        assert w.grad.layout == torch.sparse_coo and w.grad.shape == (vocab, dim)
        assert w.grad._nnz() == indices.numel()  # padding tokens stay, as zero rows
        grad = w.grad.to_dense()
    else:
        assert w.grad.layout == torch.strided
        grad = w.grad
    assert grad.dtype == dtype
    assert_close(grad.cpu(), dw, dtype, reduced=True)
    if padding_idx is not None:
        assert torch.count_nonzero(grad[padding_idx]) == 0


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0, -1.5])
@LOG2_OF_ZERO
def test_max_norm_rescales_weight_in_place_exactly_as_torch(device, norm_type):
    # Strided weight, repeated indices, rows above and below max_norm, rows never used.
    gen = torch.Generator().manual_seed(7)
    table = (torch.randn(12, 40, generator=gen) * torch.rand(40, generator=gen) * 3).t()
    table[5] = 0  # a zero row: norm 0 (infinite for negative norm types)
    indices = torch.tensor([[1, 5, 1, 9], [0, 2, 9, 9]])
    # just under the median norm of the rows used (all alike for norm_type 0: nonzero counts)
    max_norm = 0.999 * float(torch.linalg.vector_norm(table[[0, 1, 2, 9]], norm_type, dim=1)
                             .median())
    expected = table.clone()
    torch.embedding_renorm_(expected, indices, max_norm, norm_type)
    weight = table.clone().to(device).requires_grad_(True)  # a leaf: the rescale is unrecorded
    version, pointer = weight._version, weight.data_ptr()
    out = embedding(indices.to(device), weight, max_norm=max_norm, norm_type=norm_type)
    assert weight.data_ptr() == pointer and weight.stride() == table.stride()
    assert weight._version > version  # an in-place change, as torch's
    changed = (expected != table).any(1)
    assert changed.any() and not changed[indices.view(-1)].all()
    assert torch.equal(weight.detach().cpu()[~changed], table[~changed])  # bitwise
    assert_close(weight.detach().cpu(), expected, atol=1e-6, rtol=1e-6)
    assert torch.equal(out.detach(), weight.detach()[indices.to(device)])
    out.sum().backward()  # the gradient ignores the rescale
    assert torch.equal(weight.grad.cpu(), F.one_hot(indices.view(-1), 40).sum(0).float()
                       [:, None].expand(40, 12))


def test_embedding_renorm_function_and_backends(device):
    indices, weight, _ = make_renormable(device, torch.float32, (2, 6), 10, 24, 2.0, 2.0, seed=3)
    expected = weight.cpu().clone()
    torch.embedding_renorm_(expected, indices.cpu(), 2.0, 2.0)
    for backend in ("triton", "reference"):
        w = weight.clone()
        with vk.use_impl(backend):
            assert embedding_renorm_(w, indices.int(), 2.0) is None
        assert_close(w.cpu(), expected)
    assert vk.explain("embedding_renorm", indices.view(-1), weight)[0] == ("triton", None)
    with pytest.raises(TypeError, match="embedding_renorm_: indices must be int64 or int32"):
        embedding_renorm_(weight, indices.float(), 1.0)
    with pytest.raises(RuntimeError, match=r"embedding_renorm_: weight must be 2-D"):
        embedding_renorm_(weight.view(-1), indices, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_sparse_with_scale_grad_by_freq_matches_the_dense_gradient(device, dtype, padding_idx):
    # torch raises for this pair; the sparse values are the per-token rows of the dense gradient
    indices, weight, dy = make(device, dtype, (5, 6), 7, 20, seed=6)
    _, dw, _ = reference_with(indices, weight, dy, padding_idx, scale_grad_by_freq=True)
    w = weight.clone().requires_grad_(True)
    out = embedding(indices, w, padding_idx=padding_idx, scale_grad_by_freq=True, sparse=True)
    out.backward(dy)
    assert w.grad.layout == torch.sparse_coo
    assert_close(w.grad.to_dense().cpu(), dw, dtype, reduced=True)


def test_sparse_gradient_of_a_strided_weight_and_int32_indices(device):
    weight_t = torch.randn(16, 9, device=device).t()  # (9, 16) with strided rows
    indices = torch.tensor([[1, 8, 1], [0, 2, 8]], dtype=torch.int32, device=device).t()
    w = weight_t.clone().requires_grad_(True)
    out = embedding(indices, w, padding_idx=2, sparse=True)
    dy = torch.randn_like(out)
    out.backward(dy)
    _, dw, _ = reference_with(indices.long(), weight_t, dy, 2, sparse=True)
    assert w.grad.layout == torch.sparse_coo and w.grad.dtype == torch.float32
    assert torch.equal(w.grad.to_dense().cpu(), dw)  # a sparse gradient copies the rows: exact
    empty = torch.zeros(0, dtype=torch.long, device=device)
    w.grad = None
    embedding(empty, w, sparse=True).sum().backward()
    assert w.grad.layout == torch.sparse_coo and w.grad._nnz() == 0 and w.grad.shape == (9, 16)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_explicit_backward_options(device, deterministic, padding_idx):
    indices, weight, dy = make(device, torch.float32, (30,), 7, 16, seed=8)
    _, scaled, _ = reference_with(indices, weight, dy, padding_idx, scale_grad_by_freq=True)
    _, summed, _ = reference_with(indices, weight, dy, padding_idx)
    for backend in ("triton", "reference"):
        with vk.use_impl(backend):
            dw = embedding_backward(dy, indices, 7, padding_idx, deterministic,
                                    scale_grad_by_freq=True)
        assert_close(dw.cpu(), scaled, reduced=True)
    sparse = embedding_backward(dy, indices.int(), 7, padding_idx, sparse=True)
    assert sparse.layout == torch.sparse_coo and sparse.shape == (7, 16)
    assert_close(sparse.to_dense().cpu(), summed, reduced=True)
    sparse_scaled = embedding_backward(dy, indices, 7, padding_idx, sparse=True,
                                       scale_grad_by_freq=True)
    assert_close(sparse_scaled.to_dense().cpu(), scaled, reduced=True)


def test_options_without_autograd_and_the_reference_backend(device):
    indices, weight, dy = make_renormable(device, torch.float32, (4, 5), 9, 10, 1.0, 2.0, seed=9)
    expected, dw, renormed = reference_with(indices, weight, dy, 1, max_norm=1.0,
                                            scale_grad_by_freq=True)
    w = weight.clone()
    with torch.no_grad():
        out = embedding(indices, w, padding_idx=1, max_norm=1.0, scale_grad_by_freq=True)
    assert_close(out.cpu(), expected)
    assert_close(w.cpu(), renormed)
    w = weight.clone().requires_grad_(True)
    with vk.use_impl("reference"):
        out = embedding(indices, w, padding_idx=1, max_norm=1.0, scale_grad_by_freq=True)
    out.backward(dy)
    assert_close(out.detach().cpu(), expected)
    assert_close(w.detach().cpu(), renormed)
    assert_close(w.grad.cpu(), dw, reduced=True)


def test_cutedsl_backend_refuses_scale_grad_by_freq(device):
    if not ON_GPU:
        os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # as test_cutedsl_embedding.py
    pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")
    from vt.kernels.cutedsl import embedding as cuted

    indices, weight, dy = make(device, torch.float32, (12,), 5, 8, seed=10)
    assert "scale_grad_by_freq" in cuted._supports(indices, weight, scale_grad_by_freq=True)
    with vk.use_impl("cutedsl", "embedding"):
        reasons = dict(vk.explain("embedding", indices, weight, scale_grad_by_freq=True))
        assert "scale_grad_by_freq" in reasons["cutedsl"] and reasons["triton"] is None
        w = weight.clone().requires_grad_(True)
        embedding(indices, w, scale_grad_by_freq=True).backward(dy)  # runs on triton
    assert_close(w.grad.cpu(), reference_with(indices, weight, dy, None,
                                              scale_grad_by_freq=True)[1], reduced=True)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_options_at_gpu_scale(dtype):
    # Many tokens over few rows: several programs claim, count and rescale the same rows.
    indices, weight, dy = make_renormable("cuda", dtype, (4096,), 300, 1000, 4.0, 2.0, seed=11)
    expected, dw, renormed = reference_with(indices, weight, dy, 7, max_norm=4.0,
                                            scale_grad_by_freq=True)
    for deterministic in (False, True):
        w = weight.clone().requires_grad_(True)
        out = embedding(indices, w, padding_idx=7, deterministic=deterministic, max_norm=4.0,
                        scale_grad_by_freq=True)
        out.backward(dy)
        assert_close(out.detach().cpu(), expected, dtype)
        assert_close(w.detach().cpu(), renormed, dtype)
        assert_close(w.grad.cpu(), dw, dtype, reduced=True)


def test_bad_option_input_raises(device):
    weight, indices = torch.randn(5, 4, device=device), torch.tensor([0, 4], device=device)
    with pytest.raises(ValueError, match="padding_idx -6 is out of range for 5"):
        embedding(indices, weight, padding_idx=-6, sparse=True)
    with pytest.raises(TypeError, match="embedding: indices must be int64 or int32, got float32"):
        embedding(indices.float(), weight, max_norm=1.0)
