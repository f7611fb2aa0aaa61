import re

import pytest
import torch
import torch.nn.functional as F
from tolerances import DTYPES, assert_close
from vt.kernels import nn as vnn


def run(module, inputs, dout=None):
    """Output of module(*inputs) and the gradients of the float inputs and the parameters."""
    leafs = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs]
    out = module(*leafs)
    out.backward(dout if dout is not None else torch.ones_like(out))
    grads = [t.grad for t in leafs if t.is_floating_point()]
    return out, grads + [p.grad for p in module.parameters()]


def compare(vt_module, torch_module, inputs, dtype, dout=None):
    vt_module.load_state_dict(torch_module.state_dict())
    out, grads = run(vt_module, inputs, dout)
    ref_out, ref_grads = run(torch_module, inputs, dout)
    assert out.shape == ref_out.shape and out.dtype == ref_out.dtype
    assert_close(out, ref_out, dtype)
    assert len(grads) == len(ref_grads)
    for g, ref in zip(grads, ref_grads):
        assert_close(g, ref, dtype, reduced=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_matches_torch(device, dtype):
    torch.manual_seed(0)
    ref = torch.nn.RMSNorm(40, eps=1e-6, device=device)
    with torch.no_grad():  # parameters that the low-precision module holds exactly
        ref.weight.copy_(torch.randn(40, device=device).to(dtype))
    x = torch.randn(2, 3, 40, device=device, dtype=dtype)
    dy = torch.randn_like(x)
    mine = vnn.RMSNorm(40, eps=1e-6, device=device, dtype=dtype)
    mine.load_state_dict(ref.state_dict())
    out, grads = run(mine, [x], dy)
    ref_out, ref_grads = run(ref, [x.float()], dy.float())
    assert out.dtype == dtype
    assert_close(out, ref_out, dtype)
    assert_close(grads[0], ref_grads[0], dtype)
    assert_close(grads[1], ref_grads[1], dtype, reduced=True)


def test_rms_norm_layout_and_default_eps_match_torch(device):
    # eps=None takes the input dtype's machine epsilon in both
    ref = torch.nn.RMSNorm(8, elementwise_affine=False)
    mine = vnn.RMSNorm(8, elementwise_affine=False)
    assert repr(mine) == repr(ref) and isinstance(mine, torch.nn.RMSNorm)
    assert list(vnn.RMSNorm([8]).state_dict()) == ["weight"]
    compare(mine.to(device), ref.to(device), [torch.randn(5, 8, device=device)], torch.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_matches_torch(device, dtype, affine, bias):
    torch.manual_seed(1)
    ref = torch.nn.LayerNorm(24, eps=1e-5, elementwise_affine=affine, bias=bias, device=device)
    with torch.no_grad():  # parameters that the low-precision module holds exactly
        for p in ref.parameters():
            p.copy_(torch.randn_like(p).to(dtype))
    mine = vnn.LayerNorm(24, elementwise_affine=affine, bias=bias, device=device, dtype=dtype)
    assert repr(mine) == repr(ref)
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(3, 7, 24, device=device, dtype=dtype)
    dy = torch.randn_like(x)
    out, grads = run(mine, [x], dy)
    ref_out, ref_grads = run(ref, [x.float()], dy.float())
    assert out.dtype == dtype
    assert_close(out, ref_out, dtype)
    assert_close(grads[0], ref_grads[0], dtype)
    for g, r in zip(grads[1:], ref_grads[1:]):
        assert_close(g, r, dtype, reduced=True)


def _norm_modules(name, normalized_shape, affine, device, dtype):
    """(vt.kernels module in `dtype`, torch's in float32) with the same parameters, exact in
    `dtype`."""
    kwargs = {"eps": 1e-6, "elementwise_affine": affine}
    ref = getattr(torch.nn, name)(normalized_shape, device=device, **kwargs)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn_like(p).to(dtype))
    mine = getattr(vnn, name)(normalized_shape, device=device, dtype=dtype, **kwargs)
    assert repr(mine) == repr(ref)
    mine.load_state_dict(ref.state_dict())
    return mine, ref


def _trailing_input(normalized_shape, layout, device, dtype):
    """(4, *normalized_shape) laid out as `layout`: contiguous, every other row of a larger batch
    (the flattened rows stay a view) or with the last dims transposed (the rows are a copy)."""
    shape = (4, *normalized_shape)
    if layout == "contiguous":
        return torch.randn(shape, device=device, dtype=dtype)
    if layout == "strided_rows":
        return torch.randn((8, *normalized_shape), device=device, dtype=dtype)[::2]
    swapped = torch.randn((*shape[:-2], shape[-1], shape[-2]), device=device, dtype=dtype)
    return swapped.transpose(-1, -2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["LayerNorm", "RMSNorm"])
@pytest.mark.parametrize("normalized_shape, affine, layout", [
    ((5, 6), True, "contiguous"), ((5, 6), False, "transposed"), ((3, 4, 7), True, "transposed"),
    ((3, 4, 7), False, "strided_rows"), ((2, 9), True, "strided_rows")])
def test_norms_over_several_trailing_dims_match_torch(device, dtype, name, normalized_shape,
                                                      affine, layout):
    torch.manual_seed(11)
    mine, ref = _norm_modules(name, normalized_shape, affine, device, dtype)
    x = _trailing_input(normalized_shape, layout, device, dtype)
    assert x.is_contiguous() == (layout == "contiguous")
    dy = torch.randn_like(x)
    out, grads = run(mine, [x], dy)
    ref_out, ref_grads = run(ref, [x.float()], dy.float())
    assert out.shape == x.shape and out.dtype == dtype
    assert_close(out, ref_out, dtype)
    assert_close(grads[0], ref_grads[0], dtype)
    assert len(grads) == len(ref_grads) == 1 + (2 if affine and name == "LayerNorm" else affine)
    for g, r, p in zip(grads[1:], ref_grads[1:], mine.parameters()):
        assert g.shape == p.shape == normalized_shape
        assert_close(g, r, dtype, reduced=True)


@pytest.mark.parametrize("name", ["LayerNorm", "RMSNorm"])
def test_norms_over_trailing_dims_compile_without_graph_breaks(device, name):
    torch.manual_seed(12)
    mine, ref = _norm_modules(name, (3, 8), True, device, torch.float32)
    x = _trailing_input((3, 8), "transposed", device, torch.float32)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(mine)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    dy = torch.randn_like(x)
    out, grads = run(torch.compile(mine, fullgraph=True, backend="aot_eager"), [x], dy)
    ref_out, ref_grads = run(ref, [x], dy)
    assert_close(out, ref_out)
    for g, r in zip(grads, ref_grads):
        assert_close(g, r, reduced=True)


@pytest.mark.parametrize("name", ["LayerNorm", "RMSNorm"])
@pytest.mark.parametrize("normalized_shape, affine, shape", [
    ((5, 6), True, (2, 6, 5)), ((5, 6), False, (3, 5, 7)), ((8,), False, (4, 9)),
    ((2, 3, 4), True, (3, 4))])
def test_norms_reject_inputs_not_ending_in_normalized_shape(device, name, normalized_shape,
                                                            affine, shape):
    x = torch.randn(shape, device=device)
    # torch's RMSNorm raises ValueError for an input of fewer dims, else RuntimeError
    error = ValueError if name == "RMSNorm" and len(shape) < len(normalized_shape) else RuntimeError
    with pytest.raises(error):
        getattr(torch.nn, name)(normalized_shape, elementwise_affine=affine, device=device)(x)
    dims = ", ".join(map(str, normalized_shape))
    message = f"{name}: normalized_shape {normalized_shape} expects input of shape (*, {dims}), "
    with pytest.raises(error, match=re.escape(message + f"got {shape}")):
        getattr(vnn, name)(normalized_shape, elementwise_affine=affine, device=device)(x)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(device, approximate):
    ref, mine = torch.nn.GELU(approximate), vnn.GELU(approximate)
    assert repr(mine) == repr(ref)
    compare(mine, ref, [torch.randn(4, 33, device=device)], torch.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_loss_matches_torch(device, reduction):
    torch.manual_seed(2)
    kwargs = {"ignore_index": -1, "reduction": reduction, "label_smoothing": 0.1}
    ref, mine = torch.nn.CrossEntropyLoss(**kwargs), vnn.CrossEntropyLoss(**kwargs)
    assert repr(mine) == repr(ref)
    logits = torch.randn(6, 50, device=device)
    target = torch.randint(0, 50, (6,), device=device)
    target[2] = -1
    dout = torch.randn(6, device=device) if reduction == "none" else None
    compare(mine, ref, [logits, target], torch.float32, dout)


def test_cross_entropy_loss_takes_classes_at_dim_1(device):
    torch.manual_seed(3)
    logits = torch.randn(2, 11, 3, 4, device=device)  # (N, C, d1, d2) as torch
    target = torch.randint(0, 11, (2, 3, 4), device=device)
    compare(vnn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), [logits, target], torch.float32)
    probs = torch.softmax(torch.randn(2, 11, 3, 4, device=device), dim=1)  # classes at dim 1
    weight = torch.rand(11, device=device) + 0.5
    kwargs = {"weight": weight, "label_smoothing": 0.1}
    compare(vnn.CrossEntropyLoss(**kwargs), torch.nn.CrossEntropyLoss(**kwargs),
            [logits, probs], torch.float32)
    compare(vnn.CrossEntropyLoss(**kwargs), torch.nn.CrossEntropyLoss(**kwargs),
            [logits, target], torch.float32)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_loss_with_class_weights_matches_torch(device, reduction, smoothing):
    torch.manual_seed(4)
    weight = torch.rand(1000, device=device) + 0.5
    kwargs = {"weight": weight, "ignore_index": 3, "reduction": reduction,
              "label_smoothing": smoothing}
    ref, mine = torch.nn.CrossEntropyLoss(**kwargs), vnn.CrossEntropyLoss(**kwargs)
    assert repr(mine) == repr(ref)
    assert list(mine.state_dict()) == ["weight"] and not list(mine.parameters())
    logits = torch.randn(6, 1000, device=device)
    target = torch.randint(0, 1000, (6,), device=device)
    target[2] = 3
    dout = torch.randn(6, device=device) if reduction == "none" else None
    compare(mine, ref, [logits, target], torch.float32, dout)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_loss_with_probability_targets_matches_torch(device, reduction, weighted):
    torch.manual_seed(5)
    weight = torch.rand(37, device=device) + 0.5 if weighted else None
    kwargs = {"weight": weight, "reduction": reduction, "label_smoothing": 0.05}
    ref, mine = torch.nn.CrossEntropyLoss(**kwargs), vnn.CrossEntropyLoss(**kwargs)
    logits = torch.randn(5, 37, device=device)
    probs = torch.softmax(torch.randn(5, 37, device=device), -1)
    dout = torch.randn(5, device=device) if reduction == "none" else None
    compare(mine, ref, [logits, probs], torch.float32, dout)  # the targets' gradient too


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_loss_options_in_low_precision(device, dtype):
    torch.manual_seed(6)
    weight = (torch.rand(257, device=device) + 0.5).to(dtype)
    logits = torch.randn(4, 257, device=device, dtype=dtype)
    target = torch.tensor([0, 256, 7, -100], device=device)
    probs = torch.softmax(torch.randn(4, 257, device=device), -1).to(dtype)
    mine = vnn.CrossEntropyLoss(weight=weight, label_smoothing=0.1).to(device)
    ref = torch.nn.CrossEntropyLoss(weight=weight.float(), label_smoothing=0.1)
    for tgt in (target, probs):
        out, grads = run(mine, [logits, tgt])
        ref_out, ref_grads = run(ref, [logits.float(), tgt.float() if tgt.is_floating_point()
                                       else tgt])
        assert out.dtype == dtype
        assert_close(out, ref_out, dtype)
        for g, r in zip(grads, ref_grads):
            assert g.dtype == dtype
            assert_close(g, r, dtype)


def test_cross_entropy_loss_bad_weights_raise_as_torch(device):
    logits = torch.randn(3, 8, device=device)
    target = torch.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match=r"cross_entropy: weight must hold one value per class"):
        vnn.CrossEntropyLoss(weight=torch.ones(7, device=device))(logits, target)
    with pytest.raises(RuntimeError, match="weight must have the logits' dtype float32"):
        vnn.CrossEntropyLoss(weight=torch.ones(8, device=device).double())(logits, target)
    with pytest.raises(RuntimeError, match=r"class-probability target has shape \(3, 7\)"):
        vnn.CrossEntropyLoss()(logits, torch.rand(3, 7, device=device))


class TorchGated(torch.nn.Module):
    """The composite the gated MLPs must equal, on the same parameter names."""

    def __init__(self, hidden, intermediate, bias, act):
        super().__init__()
        self.gate_up = torch.nn.Linear(hidden, 2 * intermediate, bias=bias)
        self.down = torch.nn.Linear(intermediate, hidden, bias=bias)
        self.act = act

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(self.act(gate) * up)


@pytest.mark.parametrize("bias", [False, True])
def test_swiglu_mlp_matches_the_composite(device, bias):
    torch.manual_seed(4)
    ref = TorchGated(16, 40, bias, F.silu).to(device)
    mine = vnn.SwiGLU(16, 40, bias=bias, device=device)
    assert list(mine.state_dict()) == list(ref.state_dict())
    assert "hidden=16, intermediate=40" in repr(mine)
    compare(mine, ref, [torch.randn(2, 3, 16, device=device)], torch.float32)


def test_geglu_mlp_matches_the_composite(device):
    torch.manual_seed(5)
    ref = TorchGated(16, 24, False, lambda t: F.gelu(t, approximate="tanh")).to(device)
    mine = vnn.GeGLU(16, 24, approximate="tanh", device=device)
    compare(mine, ref, [torch.randn(5, 16, device=device)], torch.float32)


@pytest.mark.parametrize("bias", [False, True])
def test_linear_cross_entropy_loss_matches_torch(device, bias):
    torch.manual_seed(6)
    hidden = torch.randn(2, 5, 16, device=device)
    weight = torch.randn(70, 16, device=device) * 0.3
    b = torch.randn(70, device=device) if bias else None
    target = torch.randint(0, 70, (2, 5), device=device)
    target[0, 1] = -100
    leafs = [t.detach().clone().requires_grad_(True) for t in (hidden, weight)]
    b1 = b.detach().clone().requires_grad_(True) if bias else None
    loss = vnn.LinearCrossEntropyLoss(label_smoothing=0.05)(*leafs, target, b1)
    loss.backward()
    refs = [t.detach().clone().requires_grad_(True) for t in (hidden, weight)]
    b2 = b.detach().clone().requires_grad_(True) if bias else None
    ref_loss = F.cross_entropy(F.linear(refs[0], refs[1], b2).flatten(0, 1), target.flatten(),
                               label_smoothing=0.05)
    ref_loss.backward()
    assert_close(loss, ref_loss)
    for g, r in zip(leafs + ([b1] if bias else []), refs + ([b2] if bias else [])):
        assert_close(g.grad, r.grad, reduced=True)


def reference_rope(x, head_dim, base, interleaved, offset):
    """Rotary embedding written out: angle(pos, i) = pos * base^(-2i / head_dim)."""
    seq = x.shape[2]
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(offset, offset + seq, dtype=torch.float64), inv_freq)
    cos, sin = angles.cos().float().to(x.device), angles.sin().float().to(x.device)
    xf = x.float()
    if interleaved:
        x1, x2 = xf[..., 0::2], xf[..., 1::2]
        return torch.stack((x1 * cos - x2 * sin, x2 * cos + x1 * sin), -1).flatten(-2).to(x.dtype)
    x1, x2 = xf.chunk(2, -1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), -1).to(x.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interleaved", [False, True])
def test_rotary_embedding_matches_the_formula(device, dtype, interleaved):
    torch.manual_seed(7)
    rope = vnn.RotaryEmbedding(16, 32, base=500.0, interleaved=interleaved, device=device)
    assert rope.state_dict() == {} and rope.cos.shape == (32, 8)
    q = torch.randn(2, 4, 6, 16, device=device, dtype=dtype)
    k = torch.randn(2, 2, 6, 16, device=device, dtype=dtype)
    q1, k1 = (t.clone().requires_grad_(True) for t in (q, k))
    q_out, k_out = rope(q1, k1, position_offset=3)
    dq, dk = torch.randn_like(q), torch.randn_like(k)
    torch.autograd.backward([q_out, k_out], [dq, dk])
    q2, k2 = (t.float().requires_grad_(True) for t in (q, k))
    ref_q = reference_rope(q2, 16, 500.0, interleaved, 3)
    ref_k = reference_rope(k2, 16, 500.0, interleaved, 3)
    torch.autograd.backward([ref_q, ref_k], [dq.float(), dk.float()])
    assert q_out.dtype == dtype
    for a, b in ((q_out, ref_q), (k_out, ref_k), (q1.grad, q2.grad), (k1.grad, k2.grad)):
        assert_close(a, b, dtype)


def test_rotary_embedding_bshd_and_query_only(device):
    rope = vnn.RotaryEmbedding(8, 10)
    assert "head_dim=8, max_seq_len=10" in repr(rope)
    rope = rope.to(device)
    q = torch.randn(1, 5, 3, 8, device=device)  # (batch, seq, heads, head_dim)
    q_out, k_out = rope(q, layout="bshd")
    assert k_out is None
    expected = reference_rope(q.transpose(1, 2), 8, 10000.0, False, 0).transpose(1, 2)
    assert_close(q_out, expected)
    with pytest.raises(ValueError, match="head_dim must be even"):
        vnn.RotaryEmbedding(7, 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx,deterministic", [(None, False), (-2, True)])
def test_embedding_matches_torch(device, dtype, padding_idx, deterministic):
    torch.manual_seed(8)
    ref = torch.nn.Embedding(12, 20, padding_idx=padding_idx, device=device, dtype=dtype)
    mine = vnn.Embedding(12, 20, padding_idx=padding_idx, device=device, dtype=dtype,
                         deterministic=deterministic)
    assert isinstance(mine, torch.nn.Embedding)
    assert list(mine.state_dict()) == list(ref.state_dict()) == ["weight"]
    tokens = torch.tensor([[3, 10, 3], [0, 10, 10]], device=device)
    dout = torch.randn(2, 3, 20, device=device, dtype=dtype)
    compare(mine, ref, [tokens], dtype, dout)
    # The padding row (10) gets no gradient though three tokens use it.
    assert (padding_idx is None) == bool(mine.weight.grad[10].any())


def test_embedding_repr_and_from_pretrained(device):
    assert repr(vnn.Embedding(5, 3, padding_idx=1)) == repr(torch.nn.Embedding(5, 3, padding_idx=1))
    assert "deterministic=True" in repr(vnn.Embedding(5, 3, deterministic=True))
    options = dict(max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)
    assert repr(vnn.Embedding(5, 3, **options)) == repr(torch.nn.Embedding(5, 3, **options))
    table = torch.randn(5, 3, device=device)
    mine = vnn.Embedding.from_pretrained(table, freeze=False, padding_idx=4)
    assert isinstance(mine, vnn.Embedding) and mine.padding_idx == 4
    compare(mine, torch.nn.Embedding.from_pretrained(table, freeze=False, padding_idx=4),
            [torch.tensor([4, 0, 2, 0], device=device)], torch.float32)
    mine = vnn.Embedding.from_pretrained(table, freeze=False, max_norm=1.0,
                                         scale_grad_by_freq=True)
    assert mine.max_norm == 1.0 and mine.scale_grad_by_freq
    compare(mine, torch.nn.Embedding.from_pretrained(table, freeze=False, max_norm=1.0,
                                                     scale_grad_by_freq=True),
            [torch.tensor([4, 0, 2, 0], device=device)], torch.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [
    dict(max_norm=1.0), dict(max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True),
    dict(scale_grad_by_freq=True), dict(sparse=True), dict(max_norm=1.0, sparse=True)],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("padding_idx", [None, 10])
def test_embedding_options_match_torch(device, dtype, options, padding_idx):
    torch.manual_seed(10)
    ref = torch.nn.Embedding(12, 20, padding_idx=padding_idx, device=device, dtype=dtype,
                             **options)
    with torch.no_grad():
        ref.weight[::2] *= 0.1  # even rows under max_norm, odd rows over it
    mine = vnn.Embedding(12, 20, padding_idx=padding_idx, device=device, dtype=dtype, **options)
    mine.load_state_dict(ref.state_dict())
    tokens = torch.tensor([[3, 10, 3], [0, 10, 10], [4, 3, 7]], device=device)
    dout = torch.randn(3, 3, 20, device=device, dtype=dtype)
    out, (grad,) = run(mine, [tokens], dout)
    ref_out, (ref_grad,) = run(ref, [tokens], dout)
    assert out.dtype == dtype
    assert_close(out, ref_out, dtype)
    assert_close(mine.weight.detach(), ref.weight.detach(), dtype)  # rescaled in place alike
    assert grad.layout == ref_grad.layout
    if options.get("sparse"):  # torch drops the padding tokens' rows, which are zero here
        grad, ref_grad = grad.to_dense(), ref_grad.to_dense()
    assert_close(grad, ref_grad, dtype, reduced=True)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_modules_match_torch(device, name, dim):
    torch.manual_seed(9)
    ref, mine = getattr(torch.nn, name)(dim=dim), getattr(vnn, name)(dim=dim)
    assert repr(mine) == repr(ref) and isinstance(mine, getattr(torch.nn, name))
    assert mine.state_dict() == {}
    x = torch.randn(3, 5, 7, device=device)
    compare(mine, ref, [x], torch.float32, torch.randn_like(x))
    with pytest.raises(IndexError, match="dimension out of range"):
        getattr(vnn, name)(dim=3)(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, function", [("Softmax", "softmax"), ("LogSoftmax", "log_softmax")])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (3, 5, 7), (2, 3, 4, 5)])
def test_softmax_modules_take_torchs_implicit_dim(device, dtype, name, function, shape):
    # dim=None: dim 0 for 0-, 1- and 3-dim inputs, else 1, with torch's deprecation warning
    torch.manual_seed(13)
    ref, mine = getattr(torch.nn, name)(), getattr(vnn, name)()
    assert repr(mine) == repr(ref) and mine.dim is None
    x = torch.randn(shape, device=device, dtype=dtype)
    dy = torch.randn_like(x)
    message = (f"Implicit dimension choice for {function} has been deprecated. Change the call "
               "to include dim=X as an argument.")
    with pytest.warns(UserWarning, match=re.escape(message)) as record:
        out, (grad,) = run(mine, [x], dy)
    assert [w.filename for w in record] == [__file__]  # points at the module's caller
    with pytest.warns(UserWarning, match=re.escape(message)):
        ref_out, (ref_grad,) = run(ref, [x.float()], dy.float())
    assert out.dtype == dtype
    assert_close(out, ref_out, dtype)
    assert_close(grad, ref_grad, dtype)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_softmax_modules_with_implicit_dim_compile_without_graph_breaks(device, name):
    torch.manual_seed(14)
    ref, mine = getattr(torch.nn, name)(), getattr(vnn, name)()
    x = torch.randn(3, 5, 7, device=device)
    dy = torch.randn_like(x)
    torch._dynamo.reset()
    out, (grad,) = run(torch.compile(mine, fullgraph=True, backend="aot_eager"), [x], dy)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ref_out, (ref_grad,) = run(ref, [x], dy)
    assert_close(out, ref_out)
    assert_close(grad, ref_grad)


def test_rotary_embedding_with_offset_tensors_compiles_without_graph_breaks(device):
    torch.manual_seed(10)
    rope = vnn.RotaryEmbedding(8, 16).to(device)
    q = torch.randn(2, 2, 4, 8, device=device, requires_grad=True)
    offsets = torch.tensor([0, 9], device=device)

    def fn(t):
        return rope(t, position_offset=offsets)[0]

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(fn)(q)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    out = torch.compile(fn, fullgraph=True, backend="aot_eager")(q)
    dout = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, q, dout)
    q_ref = q.detach().requires_grad_(True)
    expected = torch.cat([reference_rope(q_ref[b:b + 1], 8, 10000.0, False, int(offsets[b]))
                          for b in range(2)])
    (expected_grad,) = torch.autograd.grad(expected, q_ref, dout)
    assert_close(out, expected)
    assert_close(grad, expected_grad)
