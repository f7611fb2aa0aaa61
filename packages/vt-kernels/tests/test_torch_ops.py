import pytest
import torch
import vt.kernels as vk
from conftest import ON_GPU
from tolerances import assert_close
from torch.library import opcheck
from vt.kernels import torch_ops as ops

# test_aot_dispatch_* traces forward and backward through AOTAutograd: slow under the
# interpreter, so CPU runs check it on a few ops and GPU runs on all of them.
BASIC = ("test_schema", "test_autograd_registration", "test_faketensor")
WITH_AOT = BASIC + ("test_aot_dispatch_dynamic",)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def grads_of(fn, inputs, dout):
    """Outputs of fn(*inputs) and the gradients of <outputs, dout> for the float leaves."""
    leafs = leaves(*inputs)
    out = fn(*leafs)
    outs = out if isinstance(out, tuple) else (out,)
    torch.autograd.backward([o for o in outs if o is not None],
                            [d for o, d in zip(outs, dout) if o is not None])
    return outs, [t.grad for t in leafs if t is not None]


def check_against_eager(op_fn, eager_fn, inputs, douts, **tol):
    outs, grads = grads_of(op_fn, inputs, douts)
    outs2, grads2 = grads_of(eager_fn, inputs, douts)
    for a, b in zip(outs, outs2):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape and a.dtype == b.dtype and a.stride() == b.stride()
            assert_close(a, b, **tol)
    assert len(grads) == len(grads2)
    for a, b in zip(grads, grads2):
        assert_close(a, b, reduced=True, **tol)


def cases(device):
    """(name, op, op args, torch_ops function, eager vt.kernels function, function inputs)."""
    g = torch.Generator().manual_seed(0)

    def rnd(*shape):
        return torch.randn(*shape, generator=g).to(device)

    x, w, b = rnd(3, 5, 24), rnd(24), rnd(24)
    cos, sin = rnd(12, 4), rnd(12, 4)
    q, k = rnd(1, 2, 6, 8), rnd(1, 1, 6, 8)
    logits = rnd(2, 3, 33)
    target = torch.tensor([[1, -100, 32], [0, 5, 7]], device=device)
    ce_weight = torch.rand(33, generator=torch.Generator().manual_seed(5)).to(device) + 0.5
    packed = rnd(4, 2, 20)
    aq, ak, av = rnd(1, 2, 16, 64), rnd(1, 1, 16, 64), rnd(1, 1, 16, 64)
    r = rnd(3, 5, 24)
    table = rnd(10, 12)
    indices = torch.tensor([[3, 0, 9], [3, 7, 3]], device=device)
    offsets = torch.tensor([0, 5], device=device)
    q2, k2 = rnd(2, 6, 2, 8), rnd(2, 6, 1, 8)  # bshd
    hidden, head, head_bias = rnd(2, 3, 8), rnd(40, 8), rnd(40)
    return [
        ("rms_norm", ops.rms_norm, vk.rms_norm, (x, w)),
        ("rms_norm_no_weight", ops.rms_norm, vk.rms_norm, (x, None)),
        ("rms_norm_residual", lambda a, c, d: ops.rms_norm(a, c, residual=d),
         lambda a, c, d: vk.rms_norm(a, c, residual=d), (x, w, r)),
        ("rms_norm_residual_no_weight", lambda a, d: ops.rms_norm(a, None, 1e-5, d),
         lambda a, d: vk.rms_norm(a, None, 1e-5, d), (x, r)),
        ("layer_norm", ops.layer_norm, vk.layer_norm, (x, w, b)),
        ("layer_norm_no_bias", ops.layer_norm, vk.layer_norm, (x, w, None)),
        ("layer_norm_residual", lambda a, c, e, d: ops.layer_norm(a, c, e, residual=d),
         lambda a, c, e, d: vk.layer_norm(a, c, e, residual=d), (x, w, b, r)),
        ("embedding", lambda t: ops.embedding(indices, t),
         lambda t: vk.embedding(indices, t), (table,)),
        ("embedding_padding_deterministic",
         lambda t: ops.embedding(indices.int(), t, padding_idx=-7, deterministic=True),
         lambda t: vk.embedding(indices.int(), t, padding_idx=-7, deterministic=True), (table,)),
        ("embedding_max_norm_scale_grad_by_freq",
         lambda t: ops.embedding(indices, t, padding_idx=3, max_norm=1.5, norm_type=1.0,
                                 scale_grad_by_freq=True),
         lambda t: vk.embedding(indices, t, padding_idx=3, max_norm=1.5, norm_type=1.0,
                                scale_grad_by_freq=True), (table,)),
        ("embedding_sparse",
         lambda t: ops.embedding(indices, t, padding_idx=0, scale_grad_by_freq=True, sparse=True),
         lambda t: vk.embedding(indices, t, padding_idx=0, scale_grad_by_freq=True, sparse=True),
         (table,)),
        ("softmax", ops.softmax, vk.softmax, (x,)),
        ("softmax_dim1", lambda t: ops.softmax(t, 1), lambda t: vk.softmax(t, 1), (x,)),
        ("log_softmax", ops.log_softmax, vk.log_softmax, (x,)),
        ("log_softmax_dim0", lambda t: ops.log_softmax(t, 0), lambda t: vk.log_softmax(t, 0),
         (x,)),
        ("apply_rotary", lambda a, c: ops.apply_rotary(a, c, cos, sin, 2),
         lambda a, c: vk.apply_rotary(a, c, cos, sin, 2), (q, k)),
        ("apply_rotary_q_only_interleaved",
         lambda a: ops.apply_rotary(a, None, cos, sin, interleaved=True),
         lambda a: vk.apply_rotary(a, None, cos, sin, interleaved=True), (q,)),
        ("apply_rotary_tensor_offsets",
         lambda a, c: ops.apply_rotary(a, c, cos, sin, offsets, layout="bshd"),
         lambda a, c: vk.apply_rotary(a, c, cos, sin, offsets, layout="bshd"), (q2, k2)),
        ("apply_rotary_learned_tables", lambda a, c, cs, sn: ops.apply_rotary(a, c, cs, sn, 2),
         lambda a, c, cs, sn: vk.apply_rotary(a, c, cs, sn, 2), (q, k, cos, sin)),
        ("apply_rotary_learned_tables_tensor_offsets",  # offsets 0 and 5 share table row 5
         lambda a, cs, sn: ops.apply_rotary(a, None, cs, sn, offsets, True, "bshd"),
         lambda a, cs, sn: vk.apply_rotary(a, None, cs, sn, offsets, True, "bshd"), (q2, cos, sin)),
        ("gelu", ops.gelu, vk.gelu, (x,)),
        ("gelu_tanh", lambda t: ops.gelu(t, "tanh"), lambda t: vk.gelu(t, "tanh"), (x,)),
        ("swiglu_packed", ops.swiglu, vk.swiglu, (packed,)),
        ("swiglu_two_inputs", ops.swiglu, vk.swiglu, (x, w.expand(3, 5, 24))),
        ("geglu_packed", ops.geglu, vk.geglu, (packed,)),
        *[(f"cross_entropy_{r}",
           lambda t, r=r: ops.cross_entropy(t, target, label_smoothing=0.1, reduction=r),
           lambda t, r=r: vk.cross_entropy(t, target, label_smoothing=0.1, reduction=r),
           (logits,)) for r in ("mean", "sum", "none")],
        *[(f"cross_entropy_weighted_{r}",
           lambda t, r=r: ops.cross_entropy(t, target, label_smoothing=0.1, reduction=r,
                                            weight=ce_weight),
           lambda t, r=r: vk.cross_entropy(t, target, label_smoothing=0.1, reduction=r,
                                           weight=ce_weight),
           (logits,)) for r in ("mean", "none")],
        ("cross_entropy_probabilities",  # no op: the eager function behind a graph break
         lambda t, p: ops.cross_entropy(t, p, label_smoothing=0.1, weight=ce_weight),
         lambda t, p: vk.cross_entropy(t, p, label_smoothing=0.1, weight=ce_weight),
         (logits, torch.softmax(logits, -1))),
        *[(f"linear_cross_entropy_{r}",
           lambda h, wt, bs, r=r: ops.linear_cross_entropy(h, wt, target, bs, reduction=r,
                                                           chunk_size=4, z_loss=1e-3),
           lambda h, wt, bs, r=r: vk.linear_cross_entropy(h, wt, target, bs, reduction=r,
                                                          chunk_size=4, z_loss=1e-3),
           (hidden, head, head_bias)) for r in ("mean", "none")],
        ("linear_cross_entropy_frozen_weight",
         lambda h: ops.linear_cross_entropy(h, head, target, label_smoothing=0.1),
         lambda h: vk.linear_cross_entropy(h, head, target, label_smoothing=0.1), (hidden,)),
        ("attention_causal", lambda a, c, d: ops.attention(a, c, d, causal=True),
         lambda a, c, d: vk.attention(a, c, d, causal=True), (aq, ak, av)),
    ]


CASE_NAMES = [c[0] for c in cases("cpu")]


def pick(device, name):
    return next(c for c in cases(device) if c[0] == name)


def douts(outs, gen_seed=1):
    g = torch.Generator().manual_seed(gen_seed)
    return [torch.randn(o.shape, generator=g).to(o.device, o.dtype) if o is not None else None
            for o in (outs if isinstance(outs, tuple) else (outs,))]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_values_and_gradients_match_the_eager_functions(device, name):
    _, op_fn, eager_fn, inputs = pick(device, name)
    dout = douts(eager_fn(*inputs))
    check_against_eager(op_fn, eager_fn, inputs, dout)


def opcheck_args(device):
    """Direct op calls (the raw schemas) for opcheck, with leaves that require grad."""
    g = torch.Generator().manual_seed(2)

    def rnd(*shape, grad=True):
        return torch.randn(*shape, generator=g).to(device).requires_grad_(grad)

    target = torch.tensor([3, -100, 0, 7], device=device)
    return {
        "rms_norm": [(rnd(4, 16), rnd(16), 1e-6), (rnd(4, 16), None, 1e-6)],
        "rms_norm_residual": [(rnd(2, 3, 16), rnd(2, 3, 16), rnd(16), 1e-6)],
        "layer_norm": [(rnd(4, 16), rnd(16), rnd(16), 1e-5), (rnd(4, 16), None, None, 1e-5)],
        "layer_norm_residual": [(rnd(4, 16), rnd(4, 16), rnd(16), None, 1e-5)],
        "embedding": [(torch.tensor([[1, 4], [4, 0]], device=device), rnd(6, 8), None, False),
                      (torch.tensor([5, 2, 5], device=device).int(), rnd(6, 8), 5, True),
                      (torch.tensor([5, 2, 5], device=device), rnd(6, 8), 2, False, True, False),
                      (torch.tensor([[1, 1], [0, 3]], device=device), rnd(6, 8), 0, False, False,
                       True)],
        "embedding_renorm_": [(rnd(6, 8, grad=False), torch.tensor([[1, 4], [1, 0]], device=device),
                               1.0, 2.0)],
        "softmax": [(rnd(3, 4, 8), 1)],
        "log_softmax": [(rnd(3, 8), 1)],
        "apply_rotary": [(rnd(1, 2, 4, 8), rnd(1, 2, 4, 8), rnd(6, 4, grad=False),
                          rnd(6, 4, grad=False), 1, False, "bhsd"),
                         (rnd(1, 4, 2, 8), None, rnd(6, 2, grad=False), rnd(6, 2, grad=False),
                          0, True, "bshd"),
                         (rnd(1, 2, 4, 8), rnd(1, 2, 4, 8), rnd(6, 4), rnd(6, 4), 1, True,
                          "bhsd")],
        "apply_rotary_offsets": [(rnd(2, 1, 4, 8), rnd(2, 1, 4, 8), rnd(8, 4, grad=False),
                                  rnd(8, 4, grad=False), torch.tensor([3, 0], device=device),
                                  False, "bhsd"),
                                 (rnd(2, 4, 1, 8, grad=False), None, rnd(8, 4), rnd(8, 4),
                                  torch.tensor([2, 2], device=device), False, "bshd")],
        "gelu": [(rnd(4, 8), "none")],
        "swiglu": [(rnd(4, 16), None, "none"), (rnd(4, 8), rnd(4, 8), "none")],
        "geglu": [(rnd(4, 16), None, "tanh")],
        "cross_entropy": [(rnd(4, 10), target, -100, 0.0, 0.0, r) for r in ("mean", "sum", "none")]
        + [(rnd(4, 10), target.int(), -100, 0.1, 1e-3, "mean")]
        + [(rnd(4, 10), target, -100, 0.1, 0.0, r,
            torch.rand(10, generator=torch.Generator().manual_seed(3)).to(device) + 0.5)
           for r in ("mean", "none")],
        "linear_cross_entropy": [(rnd(4, 8), rnd(12, 8), target, rnd(12), -100, 0.1, 0.0, r, 3)
                                 for r in ("sum", "none")]
        + [(rnd(4, 8), rnd(12, 8, grad=False), target, None, -100, 0.0, 1e-3, "mean", None)],
        "attention": [(rnd(1, 2, 16, 64), rnd(1, 1, 16, 64), rnd(1, 1, 16, 64), True, None)],
    }


AOT_ON_CPU = ("rms_norm", "rms_norm_residual", "cross_entropy", "embedding")


@pytest.mark.parametrize("name", list(opcheck_args("cpu")))
def test_opcheck(device, name):
    op = getattr(torch.ops.vt_kernels, name)
    utils = WITH_AOT if ON_GPU or name in AOT_ON_CPU else BASIC
    for i, args in enumerate(opcheck_args(device)[name]):
        # One AOT trace per op on CPU is enough: later argument sets reuse the same code paths.
        use = utils if i == 0 or ON_GPU else BASIC
        result = opcheck(op, args, test_utils=use)
        assert all(v == "SUCCESS" for v in result.values()), result


def test_backward_ops_pass_schema_and_fake_checks(device):
    x, dy, w = torch.randn(3, 8, device=device), torch.randn(3, 8, device=device), torch.randn(8)
    w = w.to(device)
    _, rstd = torch.ops.vt_kernels.rms_norm(x, w, 1e-6)
    _, h, res_rstd = torch.ops.vt_kernels.rms_norm_residual(x, dy, w, 1e-6)
    y = torch.ops.vt_kernels.softmax(x, 1)
    indices = torch.tensor([2, 0, 2], device=device)
    q, dq = torch.randn(2, 1, 3, 8, device=device), torch.randn(2, 1, 3, 8, device=device)
    cos, sin = torch.randn(5, 4, device=device), torch.randn(5, 4, device=device)
    rotary = (torch.ops.vt_kernels.apply_rotary_table_backward,
              (q, q, dq, dq, cos, sin, 1, True, "bhsd"))
    rotary_offsets = (torch.ops.vt_kernels.apply_rotary_offsets_table_backward,
                      (q, None, dq, None, cos, sin, torch.tensor([2, 0], device=device), False,
                       "bhsd"))
    for op, args in [rotary, rotary_offsets,
                     (torch.ops.vt_kernels.rms_norm_backward, (dy, x, w, rstd)),
                     (torch.ops.vt_kernels.rms_norm_backward, (dy, x, None, rstd)),
                     (torch.ops.vt_kernels.rms_norm_residual_backward, (dy, dy, h, w, res_rstd)),
                     (torch.ops.vt_kernels.rms_norm_residual_backward, (dy, None, h, w, res_rstd)),
                     (torch.ops.vt_kernels.embedding_backward, (dy, indices, 6, 0, False)),
                     (torch.ops.vt_kernels.embedding_backward, (dy, indices, 6, 0, True, True)),
                     (torch.ops.vt_kernels.embedding_backward,
                      (dy, indices, 6, None, False, True, True)),
                     (torch.ops.vt_kernels.softmax_backward, (y, dy, 1)),
                     (torch.ops.vt_kernels.swiglu_backward, (dy[:, :4], x, None, "none"))]:
        result = opcheck(op, args, test_utils=("test_schema", "test_faketensor"))
        assert all(v == "SUCCESS" for v in result.values()), result


def test_unused_outputs_and_strided_gradients(device):
    q, k = torch.randn(1, 2, 6, 8, device=device), torch.randn(1, 2, 6, 8, device=device)
    cos, sin = torch.randn(8, 4, device=device), torch.randn(8, 4, device=device)
    q1, k1 = leaves(q, k)
    q_out, _ = ops.apply_rotary(q1, k1, cos, sin)
    q_out.sum().backward()  # k_out unused: its gradient is zero
    q2, = leaves(q)
    vk.apply_rotary(q2, None, cos, sin)[0].sum().backward()
    assert_close(q1.grad, q2.grad)
    assert torch.count_nonzero(k1.grad) == 0
    x1, = leaves(torch.randn(8, 6, device=device))
    dy = torch.randn(6, 8, device=device).t()  # a transposed gradient
    ops.softmax(x1).backward(dy)
    x2, = leaves(x1.detach())
    vk.softmax(x2).backward(dy)
    assert_close(x1.grad, x2.grad)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="reduction"):
        ops.cross_entropy(torch.randn(2, 4), torch.tensor([0, 1]), reduction="avg")
    with pytest.raises(RuntimeError, match="target has shape"):
        ops.cross_entropy(torch.randn(2, 4), torch.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"weight must hold one value per class, shape \(4,\)"):
        ops.cross_entropy(torch.randn(2, 4), torch.tensor([0, 1]), weight=torch.ones(3))
    with pytest.raises(NotImplementedError, match="z_loss with class weights"):
        ops.cross_entropy(torch.randn(2, 4), torch.tensor([0, 1]), z_loss=1e-3,
                          weight=torch.ones(4))
    with pytest.raises(RuntimeError, match=r"class-probability target has shape \(2, 3\)"):
        ops.cross_entropy(torch.randn(2, 4), torch.rand(2, 3))
    with pytest.raises(RuntimeError, match="even last dim"):
        ops.swiglu(torch.randn(2, 5))
    with pytest.raises(TypeError, match="rms_norm: x must be float32"):
        ops.rms_norm(torch.ones(2, 4, dtype=torch.int64))
    with pytest.raises(RuntimeError, match=r"layer_norm: weight has shape \(3,\)"):
        ops.layer_norm(torch.randn(2, 4), torch.ones(3))
    with pytest.raises(RuntimeError, match="approximate must be"):
        ops.gelu(torch.randn(2), "fast")
    with pytest.raises(RuntimeError, match="heads_q 3 is not a multiple"):
        ops.attention(torch.randn(1, 3, 4, 64), torch.randn(1, 2, 4, 64), torch.randn(1, 2, 4, 64))
    with pytest.raises(IndexError, match="dimension out of range"):
        ops.softmax(torch.randn(2, 5), 2)
    with pytest.raises(TypeError, match="position_offset must be an int or an int32/int64"):
        ops.apply_rotary(torch.randn(1, 1, 2, 4), None, torch.randn(4, 2), torch.randn(4, 2),
                         torch.tensor([0.0]))
    with pytest.raises(RuntimeError, match=r"residual has shape \(2, 3\)"):
        ops.rms_norm(torch.randn(2, 4), residual=torch.randn(2, 3))
    with pytest.raises(TypeError, match="embedding: indices must be int64 or int32"):
        ops.embedding(torch.tensor([0.0]), torch.randn(3, 4))
    with pytest.raises(ValueError, match="padding_idx 3 is out of range for 3"):
        ops.embedding(torch.tensor([0]), torch.randn(3, 4), padding_idx=3)
    with pytest.raises(TypeError, match="softmax: x must be float32"):
        ops.softmax(torch.ones(2, 3, dtype=torch.int64))


def block(api, tokens, target, table, residual, w, ln_w, ln_b):
    """Embedding, RMSNorm with residual, LayerNorm, softmax and cross-entropy through `api`'s
    functions (vt.kernels, or ReferenceAPI's torch ones)."""
    x = api.embedding(tokens, table, padding_idx=0)
    y, h = api.rms_norm(x, w, 1e-6, residual)
    z = api.layer_norm(y, ln_w, ln_b)
    return api.cross_entropy(z * api.softmax(z, -1) + h, target, label_smoothing=0.1)


class ReferenceAPI:
    """torch's own functions under vt.kernels' names and signatures."""

    embedding = staticmethod(lambda i, t, padding_idx: torch.nn.functional.embedding(
        i, t, padding_idx))
    rms_norm = staticmethod(lambda x, w, eps, r: (torch.nn.functional.rms_norm(
        x + r, (x.shape[-1],), w, eps), x + r))
    layer_norm = staticmethod(lambda x, w, b: torch.nn.functional.layer_norm(
        x, (x.shape[-1],), w, b))
    softmax = staticmethod(torch.softmax)
    cross_entropy = staticmethod(lambda t, y, label_smoothing: torch.nn.functional.cross_entropy(
        t.flatten(0, -2), y.flatten(), label_smoothing=label_smoothing))


def test_compiled_functional_api_has_no_graph_breaks(device):
    g = torch.Generator().manual_seed(4)
    inputs = [torch.randn(*shape, generator=g).to(device)
              for shape in ((8, 16), (2, 3, 16), (16,), (16,), (16,))]
    tokens = torch.tensor([[1, 4, 0], [4, 2, 7]], device=device)
    target = torch.tensor([[3, -100, 1], [0, 5, 2]], device=device)

    def fn(*args):
        return block(vk, tokens, target, *args)

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(fn)(*inputs)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    dout = douts(fn(*inputs))
    check_against_eager(compiled, fn, inputs, dout)
    check_against_eager(compiled, lambda *args: block(ReferenceAPI, tokens, target, *args),
                        inputs, dout)


def test_compiled_embedding_options_have_no_graph_breaks(device):
    # max_norm rescales the weight in place inside the graph; the gradient is sparse
    tokens = torch.tensor([[1, 4, 1], [4, 2, 7]], device=device)
    table = torch.randn(8, 16, generator=torch.Generator().manual_seed(5)).to(device)

    def fn(t):
        return vk.embedding(tokens, t, padding_idx=2, max_norm=2.0, scale_grad_by_freq=True,
                            sparse=True) * 2

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(fn)(table.clone())
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled_weight, eager_weight = leaves(table, table)
    dout = torch.randn(2, 3, 16, device=device)
    out = torch.compile(fn, fullgraph=True, backend="aot_eager")(compiled_weight)
    out.backward(dout)
    ref = torch.nn.functional.embedding(tokens, eager_weight, padding_idx=2, max_norm=2.0) * 2
    ref.backward(dout)
    assert_close(out, ref)
    assert_close(compiled_weight.detach(), eager_weight.detach())  # rescaled in place
    assert compiled_weight.grad.layout == torch.sparse_coo
    counts = torch.bincount(tokens.view(-1), minlength=8).clamp(min=1)[:, None]
    assert_close(compiled_weight.grad.to_dense(), eager_weight.grad / counts)


def test_compiled_rotary_with_learned_tables_has_no_graph_breaks(device):
    g = torch.Generator().manual_seed(5)
    inputs = [torch.randn(*shape, generator=g).to(device)
              for shape in ((2, 2, 6, 8), (2, 1, 6, 8), (9, 4), (9, 4))]
    offsets = torch.tensor([3, 1], device=device)

    def fn(q, k, cos, sin):  # both ops: an int offset and per-sequence offsets
        q_out, _ = vk.apply_rotary(q, None, cos, sin, 2, interleaved=True)
        _, k_out = vk.apply_rotary(q, k, cos, sin, offsets)
        return q_out, k_out

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(fn)(*inputs)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    check_against_eager(compiled, fn, inputs, douts(fn(*inputs)))


def test_variants_without_an_op_run_eagerly_under_compile(device):
    logits = torch.randn(4, 10, device=device)
    target = torch.tensor([1, 9, -100, 0], device=device)

    def fn(t):
        return vk.cross_entropy(t * 2, target, z_loss=1e-2, return_z_loss=True)

    leaf, ref_leaf = leaves(logits, logits)
    loss, z_part = torch.compile(fn, backend="aot_eager")(leaf)  # a graph break, no error
    loss.backward()
    ref_z = 1e-2 * torch.logsumexp(ref_leaf * 2, -1)[target != -100].square().mean()
    ref = torch.nn.functional.cross_entropy(ref_leaf * 2, target) + ref_z
    ref.backward()
    assert_close(loss, ref)
    assert_close(z_part, ref_z)
    assert_close(leaf.grad, ref_leaf.grad)


def test_cross_entropy_options_under_compile(device):
    logits = torch.randn(4, 10, device=device)
    target = torch.tensor([1, 9, -100, 0], device=device)
    probs = torch.softmax(torch.randn(4, 10, device=device), -1)
    weight = torch.rand(10, device=device) + 0.5

    def weighted(t):
        return vk.cross_entropy(t * 2, target, label_smoothing=0.1, weight=weight)

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(weighted)(logits)
    assert explanation.graph_break_count == 0, explanation.break_reasons  # the custom op

    def soft(t, p):
        return vk.cross_entropy(t * 2, p, label_smoothing=0.1, z_loss=1e-3, weight=weight)

    leaf, p_leaf, ref_leaf, ref_p = leaves(logits, probs, logits, probs)
    loss = torch.compile(soft, backend="aot_eager")(leaf, p_leaf)  # a graph break, no error
    loss.backward()
    ref = (torch.nn.functional.cross_entropy(ref_leaf * 2, ref_p, label_smoothing=0.1,
                                             weight=weight)
           + 1e-3 * torch.logsumexp(ref_leaf * 2, -1).square().mean())
    ref.backward()
    assert_close(loss, ref)
    assert_close(leaf.grad, ref_leaf.grad)
    assert_close(p_leaf.grad, ref_p.grad)


class TinyModel(torch.nn.Module):
    """RMSNorm + SwiGLU MLP + cross-entropy through the nn modules (custom ops when compiling)."""

    def __init__(self, hidden=16, intermediate=24, vocab=32):
        super().__init__()
        from vt.kernels import nn as vnn

        self.norm = vnn.RMSNorm(hidden, eps=1e-6)
        self.mlp = vnn.SwiGLU(hidden, intermediate)
        self.head = torch.nn.Linear(hidden, vocab, bias=False)
        self.loss = vnn.CrossEntropyLoss()

    def forward(self, x, target):
        h = x + self.mlp(self.norm(x))
        return self.loss(self.head(h), target)


def _compile_and_compare(device, backend):
    torch.manual_seed(3)
    model = TinyModel().to(device)
    x = torch.randn(2, 5, 16, device=device)
    target = torch.randint(0, 32, (2, 5), device=device).view(-1)
    target[3] = -100

    def step(m, inp):
        m.zero_grad()
        loss = m(inp.reshape(-1, 16), target)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in m.parameters()]

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(x.reshape(-1, 16), target)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled = torch.compile(model, fullgraph=True, backend=backend)
    loss_c, grads_c = step(compiled, x)
    loss_e, grads_e = step(model, x)
    assert_close(loss_c, loss_e)
    for a, b in zip(grads_c, grads_e):
        assert_close(a, b, reduced=True)


def test_compiled_model_has_no_graph_breaks(device):
    _compile_and_compare(device, "aot_eager")


@pytest.mark.cuda
def test_compiled_model_with_inductor(device):
    _compile_and_compare(device, "inductor")
