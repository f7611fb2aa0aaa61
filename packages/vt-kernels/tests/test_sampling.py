import pytest
import torch
from tolerances import DTYPES

import vt.kernels as vk
from vt.kernels import sampling
from vt.kernels.sampling import sample


def filtered_probs(logits, temperature, top_k, top_p):
    """The renormalized filtered softmax of one row, by sorting (an independent composite)."""
    z = logits.double() / temperature
    probs = torch.softmax(z, -1)
    order = torch.argsort(z, descending=True)
    keep = torch.zeros_like(z, dtype=torch.bool)
    k = top_k or z.numel()
    sorted_probs = probs[order][:k]
    sorted_probs = sorted_probs / sorted_probs.sum()
    before = sorted_probs.cumsum(0) - sorted_probs
    n = int((before < (top_p or 1.0) - 1e-12).sum()) if top_p else k
    keep[order[:n]] = True
    out = torch.where(keep, probs, 0.0)
    return out / out.sum()


def logits_rows(device, dtype, batch, vocab, seed=0, scale=2.0):
    gen = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(batch, vocab, generator=gen)).to(device=device, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch, vocab", [(1, 7), (5, 100), (3, 2500)])  # the last spans blocks
def test_greedy_and_top_k_one_equal_argmax(device, dtype, batch, vocab):
    logits = logits_rows(device, dtype, batch, vocab)
    expected = logits.float().argmax(-1)
    greedy = sample(logits, temperature=0.0)
    assert greedy.dtype == torch.int64 and greedy.shape == (batch,)
    assert torch.equal(greedy, expected)
    assert torch.equal(sample(logits, temperature=0.8, top_k=1), expected)


def test_greedy_takes_the_first_of_equal_maxima(device):
    logits = torch.tensor([[0.0, 3.0, 1.0, 3.0], [5.0, 5.0, 5.0, 5.0]], device=device)
    assert sample(logits, temperature=0).tolist() == [1, 0]


@pytest.mark.parametrize("top_k, top_p", [(5, None), (None, 0.6), (8, 0.5), (None, 0.05)])
@pytest.mark.parametrize("vocab", [50, 1500])
def test_tokens_outside_the_filter_are_never_drawn(device, top_k, top_p, vocab):
    row = logits_rows(device, torch.float32, 1, vocab, seed=1)
    batch = 1000 if vocab == 50 else 30
    generator = torch.Generator(device).manual_seed(0)
    tokens = sample(row.expand(batch, vocab), 0.9, top_k, top_p, generator=generator)
    allowed = filtered_probs(row[0].cpu(), 0.9, top_k, top_p) > 0
    assert allowed[tokens.cpu()].all()
    if vocab == 50:  # with 1000 draws every allowed token shows up
        assert set(tokens.tolist()) == set(torch.nonzero(allowed).flatten().tolist())


def test_empirical_distribution_matches_the_filtered_softmax(device):
    row = torch.tensor([[2.0, 1.5, 1.2, 1.0, 0.8, 0.3, 0.0, -1.0, -2.0, -3.0]], device=device)
    draws = 20000
    tokens = sample(row.expand(draws, -1), temperature=0.7, top_k=7, top_p=0.95,
                    generator=torch.Generator(device).manual_seed(1234))
    expected = filtered_probs(row[0].cpu(), 0.7, 7, 0.95)
    counts = torch.bincount(tokens.cpu(), minlength=10).double()
    support = expected > 0
    assert (counts[~support] == 0).all()
    chi2 = ((counts[support] - draws * expected[support]) ** 2 / (draws * expected[support])).sum()
    # df = support - 1 (5 here); the 99.99% quantile of chi2(5) is 25.7.
    assert chi2 < 25.7, (counts, draws * expected)


def test_a_fixed_generator_seed_reproduces_the_draws(device):
    logits = logits_rows(device, torch.bfloat16, 64, 300, seed=2, scale=0.5)
    first = sample(logits, top_k=50, top_p=0.9, generator=torch.Generator(device).manual_seed(7))
    second = sample(logits, top_k=50, top_p=0.9, generator=torch.Generator(device).manual_seed(7))
    other = sample(logits, top_k=50, top_p=0.9, generator=8)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_triton_and_reference_backends_agree(device):
    logits = logits_rows(device, torch.float32, 40, 90, seed=3)
    for top_k, top_p in [(None, None), (10, None), (None, 0.8), (20, 0.7)]:
        with vk.use_impl("reference"):
            ref = sample(logits, 1.0, top_k, top_p, generator=5)
        assert torch.equal(sample(logits, 1.0, top_k, top_p, generator=5), ref)
    assert vk.explain("sample", logits, 1.0, None, None, None, 0)[0] == ("triton", None)


def test_the_philox_draw_without_torch_uniforms(device):
    # The path arrays of other libraries take: uniform numbers from an in-kernel Philox stream.
    row = logits_rows(device, torch.float32, 1, 40, seed=4)
    batch = 1000
    draw = lambda seed: sampling._triton_forward(row.expand(batch, 40), 1.0, 6, None, None, seed)
    tokens = draw(11)
    allowed = filtered_probs(row[0].cpu(), 1.0, 6, None) > 0
    assert allowed[tokens.cpu()].all()
    assert len(set(tokens.tolist())) == 6
    assert torch.equal(draw(11), tokens) and not torch.equal(draw(12), tokens)


def test_non_contiguous_logits_and_filters_that_keep_everything(device):
    logits = logits_rows(device, torch.float32, 30, 8, seed=5).t().contiguous().t()
    assert logits.stride(1) != 1
    everything = sample(logits, top_k=8, top_p=1.0, generator=3)
    assert torch.equal(everything, sample(logits.contiguous(), generator=3))


def test_bad_input_raises(device):
    logits = torch.randn(2, 5, device=device)
    with pytest.raises(TypeError, match="sample: logits must be float32.*int64"):
        sample(torch.zeros(2, 5, dtype=torch.int64, device=device))
    with pytest.raises(RuntimeError, match=r"must be 2-D \(batch, vocab\), got shape \(5,\)"):
        sample(logits[0])
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        sample(logits, top_k=0)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        sample(logits, top_p=1.5)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample(logits, temperature=-1.0)
