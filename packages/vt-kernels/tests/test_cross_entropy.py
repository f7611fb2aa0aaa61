import importlib

import pytest
import torch
import torch.nn.functional as F
import vt.kernels as vk
from foreign_producers import DLPackOnly
from tolerances import DTYPES, assert_close
from vt.kernels.cross_entropy import cross_entropy, cross_entropy_backward, cross_entropy_forward

# The module (vt.kernels.cross_entropy is also the name of the function vt.kernels exports).
ce_module = importlib.import_module("vt.kernels.cross_entropy")


def reference(x, t, ignore_index=-100, label_smoothing=0.0, z_loss=0.0, reduction="mean"):
    """F.cross_entropy in float32 plus PaLM's z-loss, written independently of the kernels."""
    xf = x.float()
    loss = F.cross_entropy(xf, t, ignore_index=ignore_index, label_smoothing=label_smoothing,
                           reduction=reduction)
    valid = t != ignore_index
    z_rows = torch.where(valid, z_loss * torch.logsumexp(xf, -1).square(), 0.0)
    z = {"none": z_rows, "sum": z_rows.sum(), "mean": z_rows.sum() / valid.sum()}[reduction]
    return loss + z, z


def targets(n, v, device, ignored=(1,)):
    t = torch.randint(0, v, (n,), device=device)
    for i in ignored:
        if i < n:
            t[i] = -100
    return t


def leaf(x):
    return x.detach().clone().requires_grad_(True)


def upstream(loss):
    return torch.rand_like(loss) + 0.5  # not 1: checks the scaling by the upstream gradient


# (rows, vocab): one row, non-powers of two, and rows past one block (online logsumexp forward)
SHAPES = [(1, 8), (5, 37), (4, 1000), (2, 20000)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_backward_match_torch(device, shape, dtype, reduction):
    torch.manual_seed(0)
    n, v = shape
    x = (torch.randn(shape, device=device) * 3).to(dtype)
    t = targets(n, v, device)
    x1 = leaf(x)
    loss = cross_entropy(x1, t, reduction=reduction)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x.float())
    loss2, _ = reference(x2, t, reduction=reduction)
    loss2.backward(g.float())
    assert loss.dtype == dtype and loss.shape == loss2.shape
    assert x1.grad.dtype == dtype
    assert_close(loss, loss2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_label_smoothing_and_z_loss_match_composite(device, dtype, reduction):
    torch.manual_seed(1)
    x = (torch.randn(6, 300, device=device) * 2).to(dtype)
    t = targets(6, 300, device, ignored=(0, 4))
    x1 = leaf(x)
    loss, z = cross_entropy(x1, t, label_smoothing=0.1, z_loss=1e-3, reduction=reduction,
                            return_z_loss=True)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x.float())
    loss2, z2 = reference(x2, t, label_smoothing=0.1, z_loss=1e-3, reduction=reduction)
    loss2.backward(g.float())
    assert not z.requires_grad and z.dtype == dtype
    assert_close(loss, loss2, dtype)
    assert_close(z, z2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_backward_writes_the_gradient_into_the_logits(device, dtype, reduction):
    torch.manual_seed(2)
    x = torch.randn(5, 700, device=device).to(dtype)
    t = targets(5, 700, device)
    w = leaf(torch.ones((), device=device, dtype=dtype))
    logits = x * w  # a fresh non-leaf whose values nothing else needs
    loss, z = cross_entropy(logits, t, label_smoothing=0.05, z_loss=1e-2, reduction=reduction,
                            inplace_backward=True, return_z_loss=True)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x.float())
    loss2, z2 = reference(x2, t, label_smoothing=0.05, z_loss=1e-2, reduction=reduction)
    loss2.backward(g.float())
    assert_close(loss, loss2, dtype)
    assert_close(z, z2, dtype)
    assert_close(logits.detach(), x2.grad, dtype)  # the logits' memory holds their gradient
    assert_close(w.grad, (x2.grad * x.float()).sum(), dtype, reduced=True, atol=5e-2)


def test_inplace_backward_into_a_leaf_makes_its_memory_the_gradient_without_a_copy(device):
    x = torch.randn(6, 300, device=device)
    t = targets(6, 300, device)
    x2 = leaf(x.clone())
    reference(x2, t)[0].backward()
    logits = leaf(x)
    cross_entropy(logits, t, inplace_backward=True).backward()
    assert logits.grad.data_ptr() == logits.data_ptr()
    assert_close(logits.grad, x2.grad, torch.float32)


def test_inplace_backward_runs_once_and_is_refused_when_the_graph_saved_the_logits(device):
    x = torch.randn(3, 40, device=device, requires_grad=True)
    t = targets(3, 40, device)
    loss = cross_entropy(x * 1.0, t, inplace_backward=True)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="only once"):
        loss.backward()
    capped = torch.tanh(x)  # tanh's backward needs its output, which the kernel overwrites
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        cross_entropy(capped, t, inplace_backward=True).backward()


@pytest.mark.parametrize("inplace", [False, True])
def test_long_rows_stream_through_the_online_logsumexp(device, monkeypatch, inplace):
    # Force the multi-block paths (blocks of 4096) at a vocab the interpreter handles quickly.
    monkeypatch.setattr(ce_module, "_SINGLE_PASS_MAX", 16)
    monkeypatch.setattr(ce_module, "_SINGLE_PASS_MAX_GRAD", 16)
    torch.manual_seed(3)
    x = torch.randn(3, 9000, device=device) * 4
    x[0, 4096:] = float("-inf")  # whole blocks of masked vocab after the running max...
    x[2, :8192] = float("-inf")  # ...and before it
    t = torch.tensor([5, -100, 8999], device=device)
    x1 = leaf(x)
    loss = cross_entropy(x1 * 1.0, t, label_smoothing=0.0, z_loss=1e-3, inplace_backward=inplace)
    loss.backward()
    x2 = leaf(x)
    loss2, _ = reference(x2, t, z_loss=1e-3)
    loss2.backward()
    assert_close(loss, loss2)
    assert_close(x1.grad, x2.grad)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # 0 / 0
def test_ignored_and_out_of_range_targets(device):
    x = torch.randn(4, 10, device=device, requires_grad=True)
    all_ignored = torch.full((4,), -100, device=device)
    loss = cross_entropy(x, all_ignored)
    loss.backward()
    assert torch.isnan(loss)  # as torch: 0 / 0
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert cross_entropy(x, all_ignored, reduction="sum").item() == 0.0
    # Out-of-range targets cannot raise without a host sync: their rows give NaN instead.
    bad = torch.tensor([3, 10, -1, -100], device=device)
    rows = cross_entropy(x.detach(), bad, reduction="none")
    assert torch.isfinite(rows[0]) and rows[3].item() == 0.0
    assert torch.isnan(rows[1]) and torch.isnan(rows[2])
    x.grad = None
    cross_entropy(x, bad, reduction="sum").backward()
    assert torch.isnan(x.grad[1]).all() and torch.isfinite(x.grad[0]).all()
    assert torch.equal(x.grad[3], torch.zeros(10, device=device))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # 0 / 0
def test_custom_ignore_index_int32_targets_and_empty_batch(device):
    x = torch.randn(5, 33, device=device)
    t = torch.tensor([1, 7, 7, 32, 0], device=device)
    expected = F.cross_entropy(x, t, ignore_index=7)
    assert_close(cross_entropy(x, t.int(), ignore_index=7), expected)
    empty = torch.randn(0, 33, device=device)
    none = torch.zeros(0, dtype=torch.long, device=device)
    assert torch.isnan(cross_entropy(empty, none))
    assert cross_entropy(empty, none, reduction="sum").item() == 0.0
    assert cross_entropy(empty, none, reduction="none").shape == (0,)


def test_batched_and_non_contiguous_logits(device):
    torch.manual_seed(4)
    base = torch.randn(50, 2, 3, device=device)
    x = base.permute(1, 2, 0)  # (2, 3, 50) with a strided class dim: copied to unit stride
    t = torch.randint(0, 50, (2, 3), device=device)
    x1 = leaf(x)
    loss = cross_entropy(x1, t, reduction="none")
    loss.sum().backward()
    x2 = leaf(x)
    expected = F.cross_entropy(x2.reshape(-1, 50), t.reshape(-1), reduction="none").view(2, 3)
    expected.sum().backward()
    assert loss.shape == (2, 3)
    assert_close(loss, expected)
    assert_close(x1.grad, x2.grad)
    # One row of logits with a 0-d target, as torch.
    assert_close(cross_entropy(x[0, 0], t[0, 0]), F.cross_entropy(x[0, 0], t[0, 0]))


def test_explicit_forward_and_backward_without_autograd(device):
    torch.manual_seed(5)
    x = torch.randn(4, 64, device=device, dtype=torch.float16)
    t = targets(4, 64, device)
    loss_rows, lse = cross_entropy_forward(x, t, label_smoothing=0.1)
    assert loss_rows.dtype == torch.float32 and lse.dtype == torch.float32
    x2 = leaf(x.float())
    expected, _ = reference(x2, t, label_smoothing=0.1, reduction="none")
    assert_close(loss_rows, expected, torch.float16)
    assert lse[1].item() == 0.0
    count = (t != -100).sum()
    expected.sum().div(count).backward()
    grad_rows = torch.full((1,), 1.0, device=device) / count
    dx = cross_entropy_backward(x, t, lse, grad_rows, label_smoothing=0.1)
    assert_close(dx, x2.grad, torch.float16)
    buffer = x.clone()
    cross_entropy_forward(buffer, t, label_smoothing=0.1, inplace_backward=True,
                          grad_scale=grad_rows)
    assert_close(buffer, x2.grad, torch.float16)


@pytest.mark.parametrize("inplace", [False, True])
def test_triton_and_reference_backends_agree(device, inplace):
    torch.manual_seed(6)
    x = torch.randn(6, 100, device=device)
    t = targets(6, 100, device)
    t[2] = 150  # out of range: NaN in both
    results = {}
    for backend in ("reference", "triton"):
        with vk.use_impl(backend):
            assert vk.get_impl("cross_entropy") == backend
            x1 = leaf(x)
            loss = cross_entropy(x1 * 1.0, t, label_smoothing=0.2, z_loss=1e-2, reduction="none",
                                 inplace_backward=inplace)
            loss.backward(torch.linspace(0.5, 2.0, 6, device=device))
            results[backend] = (loss, x1.grad)
    # The default: Triton, or the CuTeDSL backend where it measured faster (when installed).
    assert vk.explain("cross_entropy", x, t, -100, 0.0, 0.0)[0] in (("triton", None),
                                                                    ("cutedsl", None))
    assert_close(results["triton"][0], results["reference"][0], equal_nan=True)
    assert_close(results["triton"][1], results["reference"][1], equal_nan=True)


def test_bad_input_raises_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    t = targets(4, 8, device)
    with pytest.raises(RuntimeError, match=r"target has shape \(3,\), expected \(4,\)"):
        cross_entropy(x, t[:3])
    with pytest.raises(RuntimeError, match=r"cross_entropy: a target of the batch shape \(4,\) "
                                           "must hold class indices.*float32"):
        cross_entropy(x, t.float())
    with pytest.raises(TypeError, match="cross_entropy: logits must be float32.*int64"):
        cross_entropy(t.view(4, 1), t)
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        cross_entropy(x, t, reduction="avg")
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="0-d"):
        cross_entropy(torch.tensor(1.0, device=device), t)


@pytest.mark.cuda
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", [32000, 32768, 50257, 128256])
def test_large_vocabularies_on_gpu(dtype, vocab, inplace):
    torch.manual_seed(7)
    x = (torch.randn(64, vocab, device="cuda") * 2).to(dtype)
    t = targets(64, vocab, "cuda", ignored=(0, 13, 40))
    x1 = leaf(x)
    loss = cross_entropy(x1 * 1, t, label_smoothing=0.1, z_loss=1e-4, inplace_backward=inplace)
    loss.backward()
    x2 = leaf(x.float())
    loss2, _ = reference(x2, t, label_smoothing=0.1, z_loss=1e-4)
    loss2.backward()
    assert_close(loss, loss2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_foreign_arrays_without_autograd(reduction):
    torch.manual_seed(8)
    x = torch.randn(16, 1000, device="cuda", dtype=torch.bfloat16)
    t = targets(16, 1000, "cuda")
    loss = cross_entropy(DLPackOnly(x), DLPackOnly(t), label_smoothing=0.1, reduction=reduction)
    x2 = leaf(x.float())
    expected, _ = reference(x2, t, label_smoothing=0.1, reduction=reduction)
    assert isinstance(loss, DLPackOnly)
    assert_close(loss.t, expected, torch.bfloat16)
    loss_rows, lse = cross_entropy_forward(DLPackOnly(x), DLPackOnly(t), label_smoothing=0.1)
    grad_rows = torch.ones(16, device="cuda")
    dx = cross_entropy_backward(DLPackOnly(x), DLPackOnly(t), lse, DLPackOnly(grad_rows),
                                label_smoothing=0.1)
    expected_rows, _ = reference(x2, t, label_smoothing=0.1, reduction="none")
    expected_rows.sum().backward()
    assert_close(loss_rows.t, expected_rows, torch.bfloat16)
    assert_close(dx.t, x2.grad, torch.bfloat16)


# ---------------------------------------------------------------------------------------------
# class weights and class-probability targets


def class_weights(v, device, dtype=torch.float32, seed=20):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(v, generator=g) * 2 + 0.1).to(device, dtype)


def soft_targets(shape, device, dtype=torch.float32, seed=21):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(shape, generator=g) * 2, -1).to(device, dtype)


def weighted_reference(x, t, w, **kwargs):
    """F.cross_entropy in float32 (weights and targets upcast), written without the kernels."""
    w = w.float() if w is not None else None
    t = t.float() if t.is_floating_point() else t
    return F.cross_entropy(x.float(), t, weight=w, **kwargs)


# odd class counts: a prime, 1000, a 50257-like odd size past one block of the online path
WEIGHT_SHAPES = [(5, 37), (4, 1000), (3, 5003), (2, 20011)]


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_class_weights_match_torch(device, shape, dtype, reduction, smoothing):
    torch.manual_seed(20)
    n, v = shape
    x = (torch.randn(shape, device=device) * 3).to(dtype)
    t = targets(n, v, device)
    w = class_weights(v, device, dtype)  # torch wants the weight in the logits' dtype
    x1 = leaf(x)
    loss = cross_entropy(x1, t, label_smoothing=smoothing, reduction=reduction, weight=w)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x.float())
    loss2 = weighted_reference(x2, t, w, label_smoothing=smoothing, reduction=reduction)
    loss2.backward(g.float())
    assert loss.dtype == dtype and loss.shape == loss2.shape and x1.grad.dtype == dtype
    assert_close(loss, loss2, dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_weights_with_a_custom_ignore_index_and_int32_targets(device, reduction, smoothing):
    torch.manual_seed(21)
    x = torch.randn(7, 33, device=device)
    t = torch.tensor([1, 7, 7, 32, 0, 7, 5], device=device)
    w = class_weights(33, device)
    x1 = leaf(x)
    loss = cross_entropy(x1, t.int(), ignore_index=7, label_smoothing=smoothing,
                         reduction=reduction, weight=w)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x)
    loss2 = F.cross_entropy(x2, t, weight=w, ignore_index=7, label_smoothing=smoothing,
                            reduction=reduction)
    loss2.backward(g)
    assert_close(loss, loss2)
    assert_close(x1.grad, x2.grad)
    assert torch.equal(x1.grad[1], torch.zeros(33, device=device))  # an ignored row


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_class_weights_with_inplace_backward(device, dtype, reduction):
    torch.manual_seed(22)
    x = torch.randn(5, 701, device=device).to(dtype)
    t = targets(5, 701, device, ignored=(0, 3))
    w = class_weights(701, device, dtype)
    scale = leaf(torch.ones((), device=device, dtype=dtype))
    logits = x * scale
    loss = cross_entropy(logits, t, label_smoothing=0.05, reduction=reduction,
                         inplace_backward=True, weight=w)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x.float())
    loss2 = weighted_reference(x2, t, w, label_smoothing=0.05, reduction=reduction)
    loss2.backward(g.float())
    assert_close(loss, loss2, dtype)
    assert_close(logits.detach(), x2.grad, dtype)


@pytest.mark.parametrize("inplace", [False, True])
def test_class_weights_on_the_online_logsumexp_path(device, monkeypatch, inplace):
    monkeypatch.setattr(ce_module, "_SINGLE_PASS_MAX", 16)
    monkeypatch.setattr(ce_module, "_SINGLE_PASS_MAX_GRAD", 16)
    torch.manual_seed(23)
    x = torch.randn(3, 9001, device=device) * 4
    x[0, 4096:] -= 30.0  # the running max is reached early in one row, late in another
    x[2, 8192:] += 30.0
    t = torch.tensor([5, -100, 9000], device=device)
    w = class_weights(9001, device)
    x1 = leaf(x)
    loss = cross_entropy(x1 * 1.0, t, label_smoothing=0.1, weight=w, inplace_backward=inplace)
    loss.backward()
    x2 = leaf(x)
    expected = F.cross_entropy(x2, t, weight=w, label_smoothing=0.1)
    expected.backward()
    assert_close(loss, expected)
    assert_close(x1.grad, x2.grad)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # 0 / 0
def test_class_weights_mean_divides_by_the_weights_of_counted_targets(device):
    x = torch.randn(4, 10, device=device, requires_grad=True)
    w = torch.arange(1.0, 11.0, device=device)
    t = torch.tensor([3, 9, -100, 0], device=device)
    rows = cross_entropy(x.detach(), t, reduction="none", weight=w)
    assert_close(cross_entropy(x.detach(), t, weight=w), rows.sum() / (4 + 10 + 1))
    # All ignored: 0 / 0 as torch; out of range: that row is NaN, the others' gradients are not.
    assert torch.isnan(cross_entropy(x.detach(), torch.full((4,), -100, device=device), weight=w))
    bad = torch.tensor([3, 10, -1, -100], device=device)
    cross_entropy(x, bad, weight=w).backward()
    assert torch.isfinite(x.grad[0]).all() and torch.isnan(x.grad[1]).all()


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 8), (5, 37), (3, 1000), (2, 20011)])
def test_probability_targets_match_torch(device, shape, dtype, reduction, weighted, smoothing):
    torch.manual_seed(24)
    x = (torch.randn(shape, device=device) * 3).to(dtype)
    p = soft_targets(shape, device, dtype)
    w = class_weights(shape[1], device, dtype) if weighted else None
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, label_smoothing=smoothing, reduction=reduction, weight=w)
    g = upstream(loss)
    loss.backward(g)
    x2, p2 = leaf(x.float()), leaf(p.float())
    loss2 = weighted_reference(x2, p2, w, label_smoothing=smoothing, reduction=reduction)
    loss2.backward(g.float())
    assert loss.dtype == dtype and loss.shape == loss2.shape
    assert x1.grad.dtype == dtype and p1.grad.dtype == dtype
    assert_close(loss, loss2, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(p1.grad, p2.grad, dtype)


def test_probability_targets_promote_dtypes_and_unnormalized_targets(device):
    torch.manual_seed(25)
    x = torch.randn(4, 50, device=device, dtype=torch.bfloat16)
    p = torch.rand(4, 50, device=device)  # rows that do not sum to 1: sum(t) enters the gradient
    w = class_weights(50, device, torch.float16)
    x1 = leaf(x)
    loss = cross_entropy(x1, p, weight=w, label_smoothing=0.1)
    loss.backward()
    x2 = leaf(x)
    expected = F.cross_entropy(x2, p, weight=w, label_smoothing=0.1)
    expected.backward()
    assert loss.dtype == expected.dtype == torch.float32
    assert_close(loss, expected, torch.bfloat16)
    assert_close(x1.grad, x2.grad, torch.bfloat16)


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(1, 8), (5, 37), (3, 1000), (2, 20011)])
def test_float64_probability_targets_match_torch(device, shape, reduction, weighted, smoothing):
    torch.manual_seed(33)
    x = torch.randn(shape, device=device) * 3
    p = soft_targets(shape, device, torch.float64)
    w = class_weights(shape[1], device) if weighted else None
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, label_smoothing=smoothing, reduction=reduction, weight=w)
    g = upstream(loss)
    loss.backward(g)
    x2, p2 = leaf(x), leaf(p)  # torch itself on the same dtypes
    loss2 = F.cross_entropy(x2, p2, weight=w, label_smoothing=smoothing, reduction=reduction)
    loss2.backward(g)
    assert loss.dtype == loss2.dtype == torch.float64 and loss.shape == loss2.shape
    assert x1.grad.dtype == torch.float32 and p1.grad.dtype == p2.grad.dtype == torch.float64
    assert_close(loss, loss2, torch.float32)
    assert_close(x1.grad, x2.grad, torch.float32)
    assert_close(p1.grad, p2.grad, torch.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float64_probability_targets_with_16_bit_logits(device, reduction):
    torch.manual_seed(34)
    x = (torch.randn(6, 301, device=device) * 2).half()
    p = torch.rand(6, 301, device=device, dtype=torch.float64)  # unnormalized rows
    w = class_weights(301, device)
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, weight=w, label_smoothing=0.1, reduction=reduction)
    g = upstream(loss)
    loss.backward(g)
    x2, p2 = leaf(x.float()), leaf(p)  # the float32 reference of 16-bit logits
    loss2 = F.cross_entropy(x2, p2, weight=w, label_smoothing=0.1, reduction=reduction)
    loss2.backward(g)
    assert loss.dtype == F.cross_entropy(x, p, weight=w).dtype == torch.float64
    assert x1.grad.dtype == torch.float16 and p1.grad.dtype == torch.float64
    assert_close(loss, loss2, torch.float16)
    assert_close(x1.grad, x2.grad, torch.float16)
    assert_close(p1.grad, p2.grad, torch.float16)


def test_float64_probability_targets_through_every_entry_point(device):
    torch.manual_seed(35)
    x = torch.randn(2, 11, 3, device=device)  # (N, C, d): classes at dim 1 for the module
    p = soft_targets((2, 3, 11), device, torch.float64).movedim(-1, 1)
    w = class_weights(11, device)
    x2 = leaf(x)
    expected = F.cross_entropy(x2, p, weight=w, label_smoothing=0.1)
    expected.backward()
    from vt.kernels import nn, torch_ops
    x1 = leaf(x)
    loss = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(x1, p)
    loss.backward()
    assert loss.dtype == torch.float64
    assert_close(loss, expected, torch.float32)
    assert_close(x1.grad, x2.grad, torch.float32)
    x_last, p_last = x.movedim(1, -1), p.movedim(1, -1)
    assert_close(torch_ops.cross_entropy(x_last, p_last, label_smoothing=0.1, weight=w),
                 expected, torch.float32)
    # Without autograd, with the z-loss part reported in the promoted dtype too.
    rows, z = cross_entropy(x_last, p_last, z_loss=1e-2, reduction="none", return_z_loss=True)
    z_rows = 1e-2 * torch.logsumexp(x_last, -1).square()
    assert rows.dtype == z.dtype == torch.float64 and rows.shape == (2, 3)
    assert_close(rows, F.cross_entropy(x, p, reduction="none") + z_rows, torch.float32)
    assert_close(z, z_rows, torch.float32)
    # No CuTeDSL kernel takes class probabilities: preferring it falls back to Triton.
    rows2d, p2d = x_last.reshape(-1, 11), p_last.reshape(-1, 11)
    for backend, runs in (("cutedsl", "triton"), ("triton", "triton"), ("reference", "reference")):
        with vk.use_impl(backend):
            assert ce_module._registry.select("cross_entropy_probs", rows2d, p2d, 0.1, 0.0,
                                              w).backend == runs
            x3, p3 = leaf(x_last), leaf(p_last)
            cross_entropy(x3, p3, label_smoothing=0.1, weight=w).backward()
            assert p3.grad.dtype == torch.float64
            assert_close(x3.grad, x2.grad.movedim(1, -1), torch.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_probability_targets_with_z_loss(device, reduction):
    torch.manual_seed(26)
    x = torch.randn(2, 3, 40, device=device) * 2
    p = soft_targets((2, 3, 40), device)
    w = class_weights(40, device)
    x1 = leaf(x)
    loss, z = cross_entropy(x1, p, weight=w, label_smoothing=0.1, z_loss=1e-2,
                            reduction=reduction, return_z_loss=True)
    g = upstream(loss)
    loss.backward(g)
    x2 = leaf(x)
    z_rows = 1e-2 * torch.logsumexp(x2, -1).square()
    z2 = {"none": z_rows, "sum": z_rows.sum(), "mean": z_rows.mean()}[reduction]
    ce = F.cross_entropy(x2.reshape(-1, 40), p.reshape(-1, 40), weight=w, label_smoothing=0.1,
                         reduction=reduction)
    loss2 = (ce.view(2, 3) if reduction == "none" else ce) + z2
    loss2.backward(g)
    assert loss.shape == loss2.shape and not z.requires_grad
    assert_close(loss, loss2)
    assert_close(z, z2)
    assert_close(x1.grad, x2.grad)


def test_probability_targets_on_the_online_logsumexp_path(device, monkeypatch):
    monkeypatch.setattr(ce_module, "_SINGLE_PASS_MAX", 16)
    torch.manual_seed(27)
    x = torch.randn(3, 9001, device=device) * 4
    p = soft_targets((3, 9001), device)
    w = class_weights(9001, device)
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, weight=w, label_smoothing=0.1, z_loss=1e-3)
    loss.backward()
    x2, p2 = leaf(x), leaf(p)
    expected = (F.cross_entropy(x2, p2, weight=w, label_smoothing=0.1)
                + 1e-3 * torch.logsumexp(x2, -1).square().mean())
    expected.backward()
    assert_close(loss, expected)
    assert_close(x1.grad, x2.grad)
    assert_close(p1.grad, p2.grad)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # 0 / 0
def test_probability_targets_one_row_batched_and_empty(device):
    torch.manual_seed(28)
    x, p = torch.randn(12, device=device), soft_targets((12,), device)
    assert_close(cross_entropy(x, p), F.cross_entropy(x, p))  # input (C,), as torch
    assert cross_entropy(x, p, reduction="none").shape == ()
    base = torch.randn(30, 2, 3, device=device)
    x = base.permute(1, 2, 0)  # strided class dim: copied to unit stride
    p = soft_targets((2, 3, 30), device).transpose(0, 1).contiguous().transpose(0, 1)
    expected = F.cross_entropy(x.reshape(-1, 30), p.reshape(-1, 30), reduction="none")
    assert_close(cross_entropy(x, p, reduction="none"), expected.view(2, 3))
    empty = torch.randn(0, 30, device=device)
    assert torch.isnan(cross_entropy(empty, empty.clone()))
    assert cross_entropy(empty, empty.clone(), reduction="sum").item() == 0.0
    assert cross_entropy(empty, empty.clone(), reduction="none").shape == (0,)


@pytest.mark.parametrize("inplace", [False, True])
def test_triton_and_reference_backends_agree_with_options(device, inplace):
    torch.manual_seed(29)
    x = torch.randn(6, 100, device=device)
    t = targets(6, 100, device)
    t[2] = 150  # out of range: NaN in both
    w = class_weights(100, device)
    p = soft_targets((6, 100), device)
    results = {}
    for backend in ("reference", "triton"):
        with vk.use_impl(backend):
            x1, x2, p2 = leaf(x), leaf(x), leaf(p)
            loss = cross_entropy(x1 * 1.0, t, label_smoothing=0.2, reduction="none", weight=w,
                                 inplace_backward=inplace)
            loss.backward(torch.linspace(0.5, 2.0, 6, device=device))
            soft = cross_entropy(x2, p2, label_smoothing=0.2, z_loss=1e-2, weight=w)
            soft.backward()
            results[backend] = (loss, x1.grad, soft, x2.grad, p2.grad)
            assert ce_module._registry.select("cross_entropy_probs", x, p, 0.0,
                                              0.0).backend == backend
    for a, b in zip(results["triton"], results["reference"]):
        assert_close(a, b, equal_nan=True)


def test_cutedsl_refuses_class_weights(device):
    x = torch.randn(4, 64, device=device)
    t = targets(4, 64, device)
    w = class_weights(64, device)
    if "cutedsl" not in vk.implementations("cross_entropy"):
        pytest.skip("nvidia-cutlass-dsl is not installed")
    reasons = dict(vk.explain("cross_entropy", x, t, -100, 0.0, 0.0, w))
    assert "class weights" in reasons["cutedsl"]
    with vk.use_impl("cutedsl", "cross_entropy"):
        assert ce_module._registry.select("cross_entropy", x, t, -100, 0.0, 0.0,
                                          w).backend == "triton"
        assert_close(cross_entropy(x, t, weight=w), F.cross_entropy(x, t, weight=w))


def test_explicit_forward_and_backward_with_class_weights(device):
    torch.manual_seed(30)
    x = torch.randn(4, 64, device=device)
    t = targets(4, 64, device)
    w = class_weights(64, device)
    loss_rows, lse = cross_entropy_forward(x, t, label_smoothing=0.1, weight=w)
    x2 = leaf(x)
    expected = F.cross_entropy(x2, t, weight=w, label_smoothing=0.1, reduction="none")
    assert_close(loss_rows, expected)
    expected.sum().backward()
    dx = cross_entropy_backward(x, t, lse, torch.ones(1, device=device), label_smoothing=0.1,
                                weight=w)
    assert_close(dx, x2.grad)
    buffer = x.clone()
    cross_entropy_forward(buffer, t, label_smoothing=0.1, inplace_backward=True, weight=w)
    assert_close(buffer, x2.grad)
    with pytest.raises(NotImplementedError, match="z_loss with class weights"):
        cross_entropy_forward(x, t, z_loss=1e-3, weight=w)


def test_bad_weights_and_probability_targets_raise_torch_exception_types(device):
    x = torch.randn(4, 8, device=device)
    t = targets(4, 8, device)
    p = soft_targets((4, 8), device)
    w = class_weights(8, device)
    with pytest.raises(RuntimeError, match=r"cross_entropy: weight must hold one value per class, "
                                           r"shape \(8,\), got shape \(7,\)"):
        cross_entropy(x, t, weight=w[:7])
    with pytest.raises(RuntimeError, match=r"weight .* got shape \(8, 1\)"):
        cross_entropy(x, p, weight=w.view(8, 1))
    with pytest.raises(RuntimeError, match="cross_entropy: weight must have the logits' dtype "
                                           "float32, got float16"):
        cross_entropy(x, t, weight=w.half())
    with pytest.raises(TypeError, match="cross_entropy: weight must be float32.*int64"):
        cross_entropy(x, p, weight=w.long())
    with pytest.raises(RuntimeError, match="cross_entropy: expected all tensors on one device, "
                                           "got logits on .* and weight on meta"):
        cross_entropy(x, t, weight=w.to("meta"))
    with pytest.raises(RuntimeError, match=r"cross_entropy: class-probability target has shape "
                                           r"\(4, 7\), expected the logits' shape \(4, 8\)"):
        cross_entropy(x, p[:, :7])
    with pytest.raises(RuntimeError, match=r"class-probability target has shape \(3, 8\)"):
        cross_entropy(x, p[:3])
    with pytest.raises(TypeError, match=r"class probabilities \(float32, float16, bfloat16 or "
                                        r"float64, .* got int16 of shape \(4, 8\)"):
        cross_entropy(x, p.to(torch.int16))
    with pytest.raises(TypeError, match="cross_entropy: logits must be float32.*float64"):
        cross_entropy(x.double(), p.double())  # float64 logits: only the target may be float64
    with pytest.raises(RuntimeError, match="ignore_index is not supported for class-probability"):
        cross_entropy(x, p, ignore_index=0)
    with pytest.raises(NotImplementedError, match="inplace_backward=True with class-probability"):
        cross_entropy(leaf(x) * 1.0, p, inplace_backward=True)
    with pytest.raises(NotImplementedError, match="z_loss with class weights and class-index"):
        cross_entropy(x, t, z_loss=1e-3, weight=w)
    with pytest.raises(NotImplementedError, match="gradients with respect to weight"):
        cross_entropy(leaf(x), t, weight=leaf(w))


@pytest.mark.cuda
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", [32768, 50257])
def test_class_weights_at_large_vocabularies_on_gpu(dtype, vocab, inplace):
    torch.manual_seed(31)
    x = (torch.randn(64, vocab, device="cuda") * 2).to(dtype)
    t = targets(64, vocab, "cuda", ignored=(0, 13, 40))
    w = class_weights(vocab, "cuda", dtype)
    x1 = leaf(x)
    loss = cross_entropy(x1 * 1, t, label_smoothing=0.1, weight=w, inplace_backward=inplace)
    loss.backward()
    x2 = leaf(x.float())
    weighted_reference(x2, t, w, label_smoothing=0.1).backward()
    assert_close(loss, weighted_reference(x.float(), t, w, label_smoothing=0.1), dtype)
    assert_close(x1.grad, x2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("vocab", [32768, 50257])
def test_probability_targets_at_large_vocabularies_on_gpu(dtype, vocab):
    torch.manual_seed(32)
    x = (torch.randn(64, vocab, device="cuda") * 2).to(dtype)
    p = soft_targets((64, vocab), "cuda", dtype)
    w = class_weights(vocab, "cuda", dtype)
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, label_smoothing=0.1, weight=w)
    loss.backward()
    x2, p2 = leaf(x.float()), leaf(p.float())
    expected = weighted_reference(x2, p2, w, label_smoothing=0.1)
    expected.backward()
    assert_close(loss, expected, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(p1.grad, p2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_float64_probability_targets_at_a_large_vocabulary_on_gpu(dtype):
    torch.manual_seed(36)
    x = (torch.randn(64, 50257, device="cuda") * 2).to(dtype)
    p = soft_targets((64, 50257), "cuda", torch.float64)
    w = class_weights(50257, "cuda")
    x1, p1 = leaf(x), leaf(p)
    loss = cross_entropy(x1, p1, label_smoothing=0.1, weight=w)
    loss.backward()
    x2, p2 = leaf(x.float()), leaf(p)
    expected = F.cross_entropy(x2, p2, weight=w, label_smoothing=0.1)
    expected.backward()
    assert loss.dtype == p1.grad.dtype == torch.float64 and x1.grad.dtype == dtype
    assert_close(loss, expected, dtype)
    assert_close(x1.grad, x2.grad, dtype)
    assert_close(p1.grad, p2.grad, dtype)


def test_strided_and_misshapen_weights_through_the_explicit_apis_and_the_op(device):
    torch.manual_seed(7)
    x = torch.randn(4, 10, device=device)
    t = targets(4, 10, device)
    strided = torch.rand(20, device=device)[::2]
    rows, lse = ce_module.cross_entropy_forward(x, t, label_smoothing=0.1, weight=strided)
    want = F.cross_entropy(x, t, weight=strided, label_smoothing=0.1, reduction="none")
    assert_close(rows, want, torch.float32)
    g = torch.rand(4, device=device)
    x2 = leaf(x)
    F.cross_entropy(x2, t, weight=strided, label_smoothing=0.1, reduction="none").backward(g)
    dx = ce_module.cross_entropy_backward(x, t, lse, g, label_smoothing=0.1, weight=strided)
    assert_close(dx, x2.grad, torch.float32)
    from vt.kernels import torch_ops
    assert_close(torch_ops.cross_entropy(x, t, label_smoothing=0.1, weight=strided),
                 F.cross_entropy(x, t, weight=strided, label_smoothing=0.1), torch.float32)
    for api in (lambda w: ce_module.cross_entropy_forward(x, t, weight=w),
                lambda w: ce_module.cross_entropy_backward(x, t, lse, g, weight=w)):
        with pytest.raises(RuntimeError, match=r"one value per class, shape \(10,\)"):
            api(torch.ones(3, device=device))
