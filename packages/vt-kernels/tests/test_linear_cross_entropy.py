import numpy as np
import pytest
import torch
import torch.nn.functional as F
import vt.kernels as vk
from tolerances import DTYPES, assert_close
from vt.kernels.linear_cross_entropy import (
    default_chunk_size,
    linear_cross_entropy,
    linear_cross_entropy_backward,
    linear_cross_entropy_forward,
)


def reference(h, w, t, b=None, ignore_index=-100, label_smoothing=0.0, z_loss=0.0,
              reduction="mean"):
    """F.linear + F.cross_entropy in float32 plus PaLM's z-loss, independent of the kernels."""
    logits = F.linear(h.float(), w.float(), b.float() if b is not None else None)
    loss = F.cross_entropy(logits, t, ignore_index=ignore_index, label_smoothing=label_smoothing,
                           reduction=reduction)
    valid = t != ignore_index
    z_rows = torch.where(valid, z_loss * torch.logsumexp(logits, -1).square(), 0.0)
    z = {"none": z_rows, "sum": z_rows.sum(), "mean": z_rows.sum() / valid.sum()}[reduction]
    return loss + z, z


def inputs(n, hidden, vocab, dtype, device, bias=True, seed=0):
    torch.manual_seed(seed)
    h = torch.randn(n, hidden, device=device).to(dtype)
    w = (torch.randn(vocab, hidden, device=device) / hidden ** 0.5).to(dtype)
    b = torch.randn(vocab, device=device).to(dtype) if bias else None
    t = torch.randint(0, vocab, (n,), device=device)
    t[1::7] = -100
    return h, w, b, t


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def check_grads(ours, theirs, dtype):
    for a, e in zip(ours, theirs):
        if e is not None:
            assert a.grad.dtype == dtype
            assert_close(a.grad, e.grad, dtype, reduced=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunk_size", [None, 6])  # one chunk; four chunks, the last of 1 row
def test_forward_and_gradients_match_torch(device, dtype, chunk_size, reduction):
    h, w, b, t = inputs(19, 16, 300, dtype, device)
    ours = leaves(h, w, b)
    loss = linear_cross_entropy(*ours[:2], t, ours[2], reduction=reduction, chunk_size=chunk_size)
    g = torch.rand_like(loss) + 0.5  # not 1: the saved gradients are scaled in backward
    loss.backward(g)
    theirs = leaves(h, w, b)
    loss2, _ = reference(*theirs[:2], t, theirs[2], reduction=reduction)
    loss2.backward(g.float())
    assert loss.dtype == dtype and loss.shape == loss2.shape
    assert_close(loss, loss2, dtype, reduced=True)
    check_grads(ours, theirs, dtype)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_label_smoothing_z_loss_and_batched_hidden(device, reduction):
    h, w, _, t = inputs(12, 8, 129, torch.float32, device, bias=False, seed=1)
    h3, t3 = h.view(3, 4, 8), t.view(3, 4)
    ours = leaves(h3, w)
    loss, z = linear_cross_entropy(ours[0], ours[1], t3, label_smoothing=0.1, z_loss=1e-3,
                                   reduction=reduction, chunk_size=5, return_z_loss=True)
    loss.sum().backward()
    theirs = leaves(h3, w)
    loss2, z2 = reference(theirs[0].reshape(12, 8), theirs[1], t, label_smoothing=0.1,
                          z_loss=1e-3, reduction=reduction)
    loss2.sum().backward()
    assert loss.shape == (t3.shape if reduction == "none" else ()) and not z.requires_grad
    assert_close(loss.reshape(loss2.shape), loss2)
    assert_close(z.reshape(z2.shape), z2)
    check_grads(ours, theirs, torch.float32)


def test_only_the_gradients_asked_for_and_no_grad(device):
    h, w, b, t = inputs(9, 8, 50, torch.float32, device, seed=2)
    frozen_head = leaves(h)[0]
    linear_cross_entropy(frozen_head, w, t, b, chunk_size=4).backward()
    h2 = leaves(h)[0]
    reference(h2, w, t, b)[0].backward()
    assert_close(frozen_head.grad, h2.grad, reduced=True)
    w1, b1 = leaves(w, b)
    linear_cross_entropy(h, w1, t, b1, reduction="sum", chunk_size=4).backward()
    w2, b2 = leaves(w, b)
    reference(h, w2, t, b2, reduction="sum")[0].backward()
    assert_close(w1.grad, w2.grad, reduced=True)
    assert_close(b1.grad, b2.grad, reduced=True)
    with torch.no_grad():
        inference = linear_cross_entropy(*leaves(h, w), t, reduction="none", chunk_size=4)
    assert not inference.requires_grad
    assert_close(inference, reference(h, w, t, reduction="none")[0])


def test_gradients_are_taken_once(device):
    h, w, _, t = inputs(4, 8, 20, torch.float32, device, bias=False)
    h1, w1 = leaves(h, w)
    loss = linear_cross_entropy(h1, w1, t)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="only once"):
        loss.backward()


def test_explicit_forward_and_backward_without_autograd(device):
    h, w, b, t = inputs(10, 8, 70, torch.float32, device, seed=3)
    count = (t != -100).sum()
    loss_rows, lse, (dh, dw, db) = linear_cross_entropy_forward(
        h, w, t, b, chunk_size=3, want_grads=(True, True, True), grad_scale=1.0 / count)
    theirs = leaves(h, w, b)
    expected, _ = reference(*theirs[:2], t, theirs[2], reduction="none")
    assert_close(loss_rows, expected)
    assert_close(lse[t != -100], torch.logsumexp(F.linear(h, w, b), -1)[t != -100])
    (expected.sum() / count).backward()
    for ours, leaf in zip((dh, dw, db), theirs):
        assert_close(ours, leaf.grad, reduced=True)
    grad_rows = torch.linspace(0.5, 1.5, 10, device=device)
    dh, dw, db = linear_cross_entropy_backward(h, w, t, grad_rows, b, chunk_size=4)
    theirs = leaves(h, w, b)
    (reference(*theirs[:2], t, theirs[2], reduction="none")[0] * grad_rows).sum().backward()
    for ours, leaf in zip((dh, dw, db), theirs):
        assert_close(ours, leaf.grad, reduced=True)


def test_triton_and_reference_backends_agree(device):
    h, w, b, t = inputs(11, 8, 90, torch.float32, device, seed=4)
    grads = {}
    for backend in ("reference", "triton"):
        with vk.use_impl(backend):
            assert vk.get_impl("linear_cross_entropy") == backend
            leaves_ = leaves(h, w, b)
            loss = linear_cross_entropy(*leaves_[:2], t, leaves_[2], label_smoothing=0.1,
                                        z_loss=1e-3, chunk_size=4)
            loss.backward(torch.tensor(2.0, device=device))
            grads[backend] = [loss] + [x.grad for x in leaves_]
    assert vk.explain("linear_cross_entropy", h, w, b, t)[0] == ("triton", None)
    for a, e in zip(grads["triton"], grads["reference"]):
        assert_close(a, e, reduced=True)


def test_default_chunk_keeps_chunk_logits_under_256_mib():
    assert default_chunk_size(8192, 32768, 2) == 4096
    assert default_chunk_size(100, 32768, 2) == 100
    assert default_chunk_size(10 ** 6, 128256, 4) == 523
    assert default_chunk_size(5, 10 ** 9, 4) == 1


def test_bad_input_raises_torch_exception_types(device):
    h, w, b, t = inputs(4, 8, 20, torch.float32, device)
    with pytest.raises(RuntimeError, match=r"weight has shape \(20, 7\), expected \(vocab, 8\)"):
        linear_cross_entropy(h, w[:, :7], t)
    with pytest.raises(TypeError, match="weight dtype torch.float16 differs from hidden dtype"):
        linear_cross_entropy(h, w.half(), t)
    with pytest.raises(RuntimeError, match=r"bias has shape \(19,\), expected \(20,\)"):
        linear_cross_entropy(h, w, t, b[:19])
    with pytest.raises(RuntimeError, match=r"target has shape \(3,\), expected \(4,\)"):
        linear_cross_entropy(h, w, t[:3])
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        linear_cross_entropy(h, w, t, chunk_size=0)
    with pytest.raises(NotImplementedError, match="needs torch tensors.*cuBLAS"):
        linear_cross_entropy(np.zeros((4, 8), np.float32), w, t)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_large_shapes_and_peak_memory_on_gpu(dtype):
    n, hidden, vocab = 4096, 1024, 32000
    h, w, _, t = inputs(n, hidden, vocab, dtype, "cuda", bias=False)
    theirs = leaves(h, w)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    F.cross_entropy(F.linear(*theirs), t).backward()
    torch_peak = torch.cuda.max_memory_allocated() - base
    ours = leaves(h, w)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    chunk = 1024
    linear_cross_entropy(*ours, t, chunk_size=chunk).backward()
    our_peak = torch.cuda.max_memory_allocated() - base
    check_grads(ours, theirs, dtype)
    # torch holds the (n, vocab) logits and their gradient; we hold one chunk of them.
    assert our_peak < torch_peak / 2
    assert our_peak < 3 * chunk * vocab * 4 + 3 * vocab * hidden * 4 + n * hidden * 4


def test_empty_batch_and_autocast(device):
    _, w, b, _ = inputs(2, 8, 20, torch.float32, device)
    h = torch.randn(0, 8, device=device, requires_grad=True)
    w1, b1 = leaves(w, b)
    loss = linear_cross_entropy(h, w1, torch.zeros(0, dtype=torch.long, device=device), b1,
                                reduction="sum")
    loss.backward()
    assert loss.item() == 0.0 and h.grad.shape == (0, 8)
    assert torch.equal(w1.grad, torch.zeros_like(w)) and torch.equal(b1.grad, torch.zeros_like(b))
    h, w, b, t = inputs(6, 8, 20, torch.float32, device, seed=5)
    ours = leaves(h, w, b)
    with torch.autocast(device, dtype=torch.bfloat16):
        loss = linear_cross_entropy(*ours[:2], t, ours[2], chunk_size=4)
    loss.backward()
    theirs = leaves(h, w, b)
    reference(*theirs[:2], t, theirs[2])[0].backward()
    assert loss.dtype == torch.float32
    check_grads(ours, theirs, torch.float32)
