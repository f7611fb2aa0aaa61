"""Cross-entropy at the TARGETS.md shape (forward; forward+backward with the gradient written in
place), a sweep of vocabulary sizes, and the chunked linear + cross-entropy of an LM head."""

import torch
import torch.nn.functional as F
from case import Case
from vt.kernels.cross_entropy import cross_entropy
from vt.kernels.linear_cross_entropy import linear_cross_entropy


def _targets(m, v):
    t = torch.randint(0, v, (m,), device="cuda")
    t[::16] = -100  # some padding, as in a real batch
    return t


def _setup(m, v, grad):
    def make():
        x = torch.randn(m, v, device="cuda", dtype=torch.bfloat16)
        # vt's in-place backward overwrites its logits: it gets its own copy, so the check
        # (vt runs first) and torch read the original values.
        return {"x": x.requires_grad_(grad), "x_vt": x.detach().clone().requires_grad_(grad),
                "t": _targets(m, v)}
    return make


def _fwd_bwd(loss_fn, key):
    def run(d):
        loss = loss_fn(d)
        loss.backward()
        return loss, d[key].grad
    return run


def _torch_loss(d):
    return F.cross_entropy(d["x"], d["t"])


def _cross_entropy_cases(m, v, tags):
    size = m * v * 2
    label = f"({m}, {v})"
    torch_loss = _torch_loss
    return [
        # The floor: the logits read once; per-row targets read (and the scalar loss written).
        Case("cross_entropy", "fwd", label, "bfloat16", _setup(m, v, False),
             vt=lambda d: cross_entropy(d["x_vt"], d["t"]), torch=torch_loss,
             bytes=size + 8 * m, tags=tags),
        # In place: the logits read once and their gradient written once over them.
        Case("cross_entropy", "fwd+bwd", label + " in-place", "bfloat16", _setup(m, v, True),
             vt=_fwd_bwd(lambda d: cross_entropy(d["x_vt"], d["t"], inplace_backward=True), "x_vt"),
             torch=_fwd_bwd(torch_loss, "x"), bytes=2 * size + 16 * m, tags=tags),
        # Separate backward: the logits read by both passes, the gradient written.
        Case("cross_entropy", "fwd+bwd", label, "bfloat16", _setup(m, v, True),
             vt=_fwd_bwd(lambda d: cross_entropy(d["x_vt"], d["t"]), "x_vt"),
             torch=_fwd_bwd(torch_loss, "x"), bytes=3 * size + 16 * m),
    ]


def _linear_setup(n, hidden, vocab):
    def make():
        h = torch.randn(n, hidden, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        w = (torch.randn(vocab, hidden, device="cuda") / hidden ** 0.5).to(torch.bfloat16)
        return {"h": h, "w": w.requires_grad_(True), "t": _targets(n, vocab)}
    return make


def _linear_fwd_bwd(loss_fn):
    def run(d):
        loss = loss_fn(d)
        loss.backward()
        return loss, d["h"].grad, d["w"].grad
    return run


def _linear_case(n, hidden, vocab, tags):
    return Case(
        "linear_cross_entropy", "fwd+bwd", f"({n} tokens, {hidden} hidden, {vocab} vocab)",
        "bfloat16", _linear_setup(n, hidden, vocab),
        vt=_linear_fwd_bwd(lambda d: linear_cross_entropy(d["h"], d["w"], d["t"])),
        torch=_linear_fwd_bwd(lambda d: F.cross_entropy(F.linear(d["h"], d["w"]), d["t"])),
        flops=6 * n * hidden * vocab, tags=tags)  # logits, d_hidden and d_weight matmuls


def cases():
    out = _cross_entropy_cases(8192, 32768, ("targets",))
    for v in (8192, 32000, 50257, 128256):
        out += _cross_entropy_cases(4096, v, ())
    out.append(_linear_case(8192, 4096, 32768, ("targets",)))
    out.append(_linear_case(8192, 4096, 128256, ()))
    return out


CASES = cases()
