import pytest
import torch
import torch.nn.functional as F
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.embedding import embedding, embedding_backward, embedding_forward


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
