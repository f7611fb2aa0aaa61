"""Every kernel family that takes foreign arrays, on CuPy arrays with torch blocked (run on a GPU).

Run by tests/test_foreign_arrays.py::test_kernel_families_on_cupy_without_torch, or directly:
    PYTHONPATH=src python tests/gpu_no_torch_families.py
gpu_no_torch.py covers rms_norm and the import paths; this covers the other families' functional
APIs and explicit forward/backward functions: layer_norm, softmax/log_softmax, rotary, gelu/
swiglu/geglu, cross_entropy, matmul, attention and attention_decode, embedding, the AdamW and SGD
steps and sampling. Each runs on a non-default CuPy stream and must return CuPy arrays (or update
its arguments in place) that match NumPy float64 references (gpu_no_torch_helpers.py), with every
Triton launch on that stream. Sampling is checked where a draw has a definite answer (greedy,
top-k 1, a tiny top-p, the top-k set, a repeated seed) and by its frequencies over many rows. The
calls that need torch must refuse CuPy arrays. Prints "gpu_no_torch_families: ok".
"""

import sys

sys.modules["torch"] = None  # `import torch` fails from here on, as on a machine without it

import functools
import math

import cupy as cp
import gpu_no_torch_helpers as reference
import numpy as np
import vt.kernels as vk
from gpu_no_torch_helpers import check, expect_launches_on, record_launches
from vt.kernels import optim
from vt.kernels._compat import torch as maybe_torch

assert maybe_torch is None
record_launches()

rng = np.random.default_rng(0)
stream = cp.cuda.Stream(non_blocking=True)
# (dtype, tolerance of values rounded once, of sums over rows); NumPy has no bfloat16
DTYPES = ((np.float32, 1e-5, 1e-4), (np.float16, 2e-3, 1e-2))


def normal(*shape, dtype=np.float32, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def upload(*arrays):
    """CuPy copies, made on the current stream (the side stream inside `with stream`)."""
    return [cp.asarray(a) for a in arrays]


def finish(what):
    """Waits for the side stream; every Triton launch since the last call must have used it."""
    stream.synchronize()
    expect_launches_on(stream.ptr, what)


def expect_cupy(*arrays, dtype=None):
    for a in arrays:
        assert type(a) is cp.ndarray, type(a)
        assert dtype is None or a.dtype == dtype, (a.dtype, dtype)


def expect_refusal(error, words, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except error as e:
        assert words in str(e), e
    else:
        raise AssertionError(f"{fn.__name__} took CuPy arrays it should refuse")


# ---------------------------------------------------------------------------------------------
# layer_norm with weight, bias and residual: the (2, 3, n) API and the explicit 2-D functions

EPS = 1e-5
for dtype, tol, sum_tol in DTYPES:
    x_np, r_np = normal(2, 3, 300, dtype=dtype), normal(2, 3, 300, dtype=dtype)
    w_np, b_np = normal(300, dtype=dtype), normal(300, dtype=dtype)
    dy_np, dh_np = normal(6, 300, dtype=dtype), normal(6, 300, dtype=dtype)
    with stream:
        x, r, w, b, dy, dh = upload(x_np, r_np, w_np, b_np, dy_np, dh_np)
        y, h = vk.layer_norm(x, w, b, EPS, residual=r)
        y2d, h2d, mean, rstd = vk.layer_norm_forward(x.reshape(6, 300), w, b, EPS,
                                                     residual=r.reshape(6, 300))
        dx, dw, db = vk.layer_norm_backward(dy, h2d, w, b, mean, rstd, dh)
    finish(f"layer_norm {dtype.__name__}")
    expect_cupy(y, h, y2d, h2d, dx, dw, db, dtype=dtype)
    expect_cupy(mean, rstd, dtype=np.float32)
    assert y.shape == h.shape == x_np.shape and dx.shape == (6, 300) and dw.shape == (300,)
    # h = x + residual is summed in float32 and rounded once to x's dtype
    h_np = (x_np.astype(np.float32) + r_np.astype(np.float32)).astype(dtype).reshape(6, 300)
    assert np.array_equal(h.get().reshape(6, 300), h_np) and np.array_equal(h2d.get(), h_np)
    y_ref, mean_ref, rstd_ref = reference.layer_norm(h_np, w_np, b_np, EPS)
    check("layer_norm y", y.get().reshape(6, 300), y_ref, tol)
    check("layer_norm y rows", y2d.get(), y_ref, tol)
    check("layer_norm mean", mean.get(), mean_ref, 1e-5)
    check("layer_norm rstd", rstd.get(), rstd_ref, 1e-5)
    dx_ref, dw_ref, db_ref = reference.layer_norm_backward(dy_np, h_np, w_np, EPS, dh_np)
    check("layer_norm dx", dx.get(), dx_ref, tol)
    check("layer_norm dw", dw.get(), dw_ref, sum_tol)
    check("layer_norm db", db.get(), db_ref, sum_tol)

# ---------------------------------------------------------------------------------------------
# softmax and log_softmax: the (2, 3, n) API, the explicit 2-D forward and backward

SOFTMAXES = (
    ("softmax", vk.softmax, vk.softmax_forward, vk.softmax_backward, reference.softmax,
     reference.softmax_backward),
    ("log_softmax", vk.log_softmax, vk.log_softmax_forward, vk.log_softmax_backward,
     reference.log_softmax, reference.log_softmax_backward),
)
for dtype, tol, _ in DTYPES:
    x_np, dy_np = normal(2, 3, 300, dtype=dtype, scale=3.0), normal(6, 300, dtype=dtype)
    for name, op, forward, backward, op_ref, backward_ref in SOFTMAXES:
        with stream:
            x, dy = upload(x_np, dy_np)
            y = op(x)
            y2d = forward(x.reshape(6, 300))
            dx = backward(y2d, dy)
        finish(f"{name} {dtype.__name__}")
        expect_cupy(y, y2d, dx, dtype=dtype)
        assert y.shape == x_np.shape and y2d.shape == dx.shape == (6, 300)
        check(name, y.get(), op_ref(x_np), tol)
        check(f"{name} rows", y2d.get(), op_ref(x_np.reshape(6, 300)), tol)
        check(f"{name} dx", dx.get(), backward_ref(y2d.get(), dy_np), tol)
        # no transposed copies of foreign arrays: the reduced dim must be the last
        expect_refusal(NotImplementedError, "transposed copy", op, x, 1)

# ---------------------------------------------------------------------------------------------
# rotary: GQA heads, a pass-through tail (rotary_dim 32 of head_dim 64); half-split "bhsd" with
# an int offset, interleaved "bshd" with per-sequence int32 offsets

BATCH, SEQ, HEADS_Q, HEADS_K, HEAD_DIM, HALF, MAX_SEQ = 2, 10, 4, 2, 64, 16, 32
angles = np.arange(MAX_SEQ)[:, None] / 10000.0 ** (np.arange(HALF) / HALF)
cos_np, sin_np = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
for (dtype, tol, _), layout, interleaved, offsets in zip(
        DTYPES, ("bhsd", "bshd"), (False, True), (3, np.array([0, 7], dtype=np.int32))):
    q_shape, k_shape = ((BATCH, heads, SEQ, HEAD_DIM) if layout == "bhsd"
                        else (BATCH, SEQ, heads, HEAD_DIM) for heads in (HEADS_Q, HEADS_K))
    q_np, dq_np = normal(*q_shape, dtype=dtype), normal(*q_shape, dtype=dtype)
    k_np, dk_np = normal(*k_shape, dtype=dtype), normal(*k_shape, dtype=dtype)
    int_offset = isinstance(offsets, int)
    positions = np.reshape(offsets, (-1, 1)) + np.arange(SEQ)  # (batch or 1, seq) table rows
    with stream:
        q, k, dq, dk, cos, sin = upload(q_np, k_np, dq_np, dk_np, cos_np, sin_np)
        offset = offsets if int_offset else cp.asarray(offsets)
        q_out, k_out = vk.apply_rotary(q, k, cos, sin, offset, interleaved, layout)
        q_fwd, k_fwd = vk.rotary_forward(q, k, cos, sin, offset, interleaved, layout)
        dq_in, dk_in = vk.rotary_backward(dq, dk, cos, sin, offset, interleaved, layout)
    what = f"rotary {layout} interleaved={interleaved}"
    finish(what)
    expect_cupy(q_out, k_out, q_fwd, k_fwd, dq_in, dk_in, dtype=dtype)
    assert q_out.shape == dq_in.shape == q_np.shape and k_out.shape == dk_in.shape == k_np.shape
    rotate = functools.partial(reference.rotary, cos=cos_np, sin=sin_np, positions=positions,
                               interleaved=interleaved, layout=layout)
    check(f"{what} q", q_out.get(), rotate(q_np), tol)
    check(f"{what} k", k_out.get(), rotate(k_np), tol)
    check(f"{what} q (rotary_forward)", q_fwd.get(), rotate(q_np), tol)
    check(f"{what} dq", dq_in.get(), rotate(dq_np, conjugate=True), tol)
    check(f"{what} dk", dk_in.get(), rotate(dk_np, conjugate=True), tol)

# ---------------------------------------------------------------------------------------------
# gelu (erf and tanh forms); swiglu and geglu with separate gate and up, and packed [gate | up]

for dtype, tol, _ in DTYPES:
    for approximate in ("none", "tanh"):
        x_np, dy_np = normal(2, 3, 500, dtype=dtype, scale=2.0), normal(6, 500, dtype=dtype)
        with stream:
            x, dy = upload(x_np, dy_np)
            y = vk.gelu(x, approximate)
            y2d = vk.gelu_forward(x.reshape(6, 500), approximate)
            dx = vk.gelu_backward(dy, x.reshape(6, 500), approximate)
        what = f"gelu {approximate} {dtype.__name__}"
        finish(what)
        expect_cupy(y, y2d, dx, dtype=dtype)
        assert y.shape == x_np.shape and dx.shape == (6, 500)
        check(what, y.get(), reference.gelu(x_np, approximate), tol)
        check(f"{what} rows", y2d.get(), reference.gelu(x_np.reshape(6, 500), approximate), tol)
        dx_ref = dy_np * reference.gelu_grad(x_np.reshape(6, 500), approximate)
        check(f"{what} dx", dx.get(), dx_ref, tol)

GATED = [("swiglu", vk.swiglu, vk.swiglu_forward, vk.swiglu_backward, {}, reference.silu,
          reference.silu_grad)]
for approximate in ("none", "tanh"):
    GATED.append((f"geglu {approximate}", vk.geglu, vk.geglu_forward, vk.geglu_backward,
                  {"approximate": approximate},
                  functools.partial(reference.gelu, approximate=approximate),
                  functools.partial(reference.gelu_grad, approximate=approximate)))
for dtype, tol, _ in DTYPES:
    for name, op, forward, backward, options, act, act_grad in GATED:
        gate_np, up_np = normal(2, 3, 256, dtype=dtype), normal(2, 3, 256, dtype=dtype)
        dout_np = normal(6, 256, dtype=dtype)
        with stream:
            gate, up, dout = upload(gate_np, up_np, dout_np)
            packed = cp.concatenate([gate, up], -1)  # (2, 3, 512): [gate | up] in each row
            gate2d, up2d = gate.reshape(6, 256), up.reshape(6, 256)
            packed2d = packed.reshape(6, 512)
            out = op(gate, up, **options)
            out_packed = op(packed, **options)
            out2d = forward(gate2d, up2d, **options)
            out2d_packed = forward(packed2d, None, **options)
            dgate, dup = backward(dout, gate2d, up2d, **options)
            dpacked, no_dup = backward(dout, packed2d, None, **options)
        what = f"{name} {dtype.__name__}"
        finish(what)
        expect_cupy(out, out_packed, out2d, out2d_packed, dgate, dup, dpacked, dtype=dtype)
        assert out.shape == out_packed.shape == gate_np.shape and dpacked.shape == (6, 512)
        assert no_dup is None
        g64, u64 = (a.astype(np.float64).reshape(6, 256) for a in (gate_np, up_np))
        out_ref = act(g64) * u64
        check(what, out.get().reshape(6, 256), out_ref, tol)
        check(f"{what} packed", out_packed.get().reshape(6, 256), out_ref, tol)
        check(f"{what} rows", out2d.get(), out_ref, tol)
        check(f"{what} packed rows", out2d_packed.get(), out_ref, tol)
        dgate_ref, dup_ref = dout_np * u64 * act_grad(g64), dout_np * act(g64)
        check(f"{what} dgate", dgate.get(), dgate_ref, tol)
        check(f"{what} dup", dup.get(), dup_ref, tol)
        check(f"{what} packed dx", dpacked.get(), np.concatenate([dgate_ref, dup_ref], -1), tol)

# ---------------------------------------------------------------------------------------------
# cross_entropy with ignore_index, label smoothing and z-loss: the reduced API over (2, 4, V)
# logits, the explicit per-row forward and backward (int32 targets), and the in-place gradient

VOCAB, SMOOTHING, Z_LOSS = 1000, 0.1, 1e-3
logits_np = normal(2, 4, VOCAB, scale=4.0)
target_np = rng.integers(0, VOCAB, (2, 4))
target_np[0, 1] = target_np[1, 3] = -100
rows_np, targets_np = logits_np.reshape(8, VOCAB), target_np.reshape(8)
targets32_np = np.where(targets_np == -100, -1, targets_np).astype(np.int32)
grad_rows_np = normal(8)
with stream:
    logits, target, target32, grad_rows = upload(logits_np, target_np, targets32_np, grad_rows_np)
    loss_mean = vk.cross_entropy(logits, target, label_smoothing=SMOOTHING)
    loss_none, z_part = vk.cross_entropy(logits, target, label_smoothing=SMOOTHING, z_loss=Z_LOSS,
                                         reduction="none", return_z_loss=True)
    rows = logits.reshape(8, VOCAB)
    loss_rows, lse = vk.cross_entropy_forward(rows, target32, ignore_index=-1,
                                              label_smoothing=SMOOTHING)
    dlogits = vk.cross_entropy_backward(rows, target32, lse, grad_rows, ignore_index=-1,
                                        label_smoothing=SMOOTHING)
    grad_in_place = rows.copy()
    vk.cross_entropy_forward(grad_in_place, target32, ignore_index=-1, label_smoothing=SMOOTHING,
                             inplace_backward=True, grad_scale=grad_rows)
finish("cross_entropy")
expect_cupy(loss_mean, loss_none, z_part, loss_rows, lse, dlogits, grad_in_place, dtype=np.float32)
assert loss_mean.shape == () and loss_none.shape == z_part.shape == (2, 4)
assert loss_rows.shape == lse.shape == (8,) and dlogits.shape == (8, VOCAB)
plain_ref, lse_ref = reference.cross_entropy_rows(rows_np, targets_np, -100, SMOOTHING)
z_ref, _ = reference.cross_entropy_rows(rows_np, targets_np, -100, SMOOTHING, Z_LOSS)
check("cross_entropy mean", loss_mean.get(), plain_ref.sum() / (targets_np != -100).sum(), 1e-5)
check("cross_entropy none with z-loss", loss_none.get().reshape(8), z_ref, 1e-5)
check("cross_entropy z part", z_part.get().reshape(8), Z_LOSS * lse_ref ** 2, 1e-5)
check("cross_entropy_forward loss", loss_rows.get(), plain_ref, 1e-5)
check("cross_entropy_forward lse", lse.get(), lse_ref, 1e-5)
dlogits_ref = reference.cross_entropy_backward(rows_np, targets_np, grad_rows_np, -100, SMOOTHING)
check("cross_entropy_backward", dlogits.get(), dlogits_ref, 1e-5)
check("cross_entropy in-place gradient", grad_in_place.get(), dlogits_ref, 1e-5)

# ---------------------------------------------------------------------------------------------
# matmul: gelu(a @ b + bias) with b a transposed CuPy view (read by its strides); Triton is the
# only backend without torch

a_np, weight_np, bias_np = normal(70, 50), normal(90, 50), normal(90)
dc_np = normal(70, 90)
with stream:
    a, weight, bias, dc = upload(a_np, weight_np, bias_np, dc_np)
    c3d = vk.matmul(a.reshape(2, 35, 50), weight.T, bias, "gelu")
    c, saved = vk.matmul_forward(a, weight.T, bias, "gelu")
    da, db, dbias = vk.matmul_backward(dc, a, weight.T, saved, "gelu", has_bias=True)
finish("matmul")
expect_cupy(c3d, c, saved, da, db, dbias, dtype=np.float32)
assert c3d.shape == (2, 35, 90) and da.shape == (70, 50) and db.shape == (50, 90)
z_ref = a_np.astype(np.float64) @ weight_np.T.astype(np.float64) + bias_np
check("matmul", c3d.get().reshape(70, 90), reference.gelu(z_ref), 1e-5)
check("matmul_forward", c.get(), reference.gelu(z_ref), 1e-5)
check("matmul_forward saved", saved.get(), z_ref, 1e-5)
dz_ref = dc_np * reference.gelu_grad(z_ref)
check("matmul da", da.get(), dz_ref @ weight_np.astype(np.float64), 1e-4)
check("matmul db", db.get(), a_np.T.astype(np.float64) @ dz_ref, 1e-4)
check("matmul dbias", dbias.get(), dz_ref.sum(0), 1e-4)

# ---------------------------------------------------------------------------------------------
# attention: dense, causal, GQA (4 q heads over 2 kv heads), float16

q_np, dout_np = normal(1, 4, 100, 64, dtype=np.float16), normal(1, 4, 100, 64, dtype=np.float16)
k_np, v_np = normal(1, 2, 100, 64, dtype=np.float16), normal(1, 2, 100, 64, dtype=np.float16)
scale = 1.0 / math.sqrt(64)
with stream:
    q, k, v, dout = upload(q_np, k_np, v_np, dout_np)
    out = vk.attention(q, k, v, causal=True)
    out_fwd, lse = vk.attention_forward(q, k, v, causal=True)
    dq, dk, dv = vk.attention_backward(q, k, v, out_fwd, lse, dout, causal=True)
finish("attention")
expect_cupy(out, out_fwd, dq, dk, dv, dtype=np.float16)
expect_cupy(lse, dtype=np.float32)
assert out.shape == dq.shape == q_np.shape and dk.shape == dv.shape == k_np.shape
assert lse.shape == (1, 4, 100)
out_ref, lse_ref = reference.attention(q_np, k_np, v_np, True, scale)
check("attention", out.get(), out_ref, 5e-3)
check("attention_forward", out_fwd.get(), out_ref, 5e-3)
check("attention lse", lse.get(), lse_ref, 1e-3)
grads_ref = reference.attention_backward(q_np, k_np, v_np, dout_np, True, scale)
for name, got, expected in zip(("dq", "dk", "dv"), (dq, dk, dv), grads_ref):
    check(f"attention {name}", got.get(), expected, 1e-2)

# attention_decode: one query per sequence against a cache, lengths 0 (output 0) to max_seq
lengths_np = np.array([0, 1, 37, 300], dtype=np.int32)
q_np = normal(4, 8, 64, dtype=np.float16)
k_cache_np, v_cache_np = normal(4, 2, 300, 64, dtype=np.float16), normal(4, 2, 300, 64,
                                                                         dtype=np.float16)
with stream:
    q, k_cache, v_cache, lengths = upload(q_np, k_cache_np, v_cache_np, lengths_np)
    decoded = vk.attention_decode(q, k_cache, v_cache, lengths)
finish("attention_decode")
expect_cupy(decoded, dtype=np.float16)
check("attention_decode", decoded.get(),
      reference.attention_decode(q_np, k_cache_np, v_cache_np, lengths_np, scale), 5e-3)

# ---------------------------------------------------------------------------------------------
# embedding: the (3, 7) index API, the explicit forward (int32 indices) and the atomic backward
# with padding_idx; the deterministic backward sorts with torch and must refuse

NUM_WEIGHTS, DIM, PAD = 50, 96, 3
indices_np = rng.integers(0, 20, (3, 7))  # repeats: rows sum several tokens
indices_np[0, :3] = PAD
weight_np, dy_np = normal(NUM_WEIGHTS, DIM, dtype=np.float16), normal(21, DIM, dtype=np.float16)
with stream:
    indices, indices32, weight, dy = upload(indices_np, indices_np.reshape(21).astype(np.int32),
                                            weight_np, dy_np)
    looked_up = vk.embedding(indices, weight, padding_idx=PAD)
    rows = vk.embedding_forward(indices32, weight)
    dweight = vk.embedding_backward(dy, indices.reshape(21), NUM_WEIGHTS, padding_idx=PAD)
    expect_refusal(NotImplementedError, "torch.sort", vk.embedding_backward, dy,
                   indices.reshape(21), NUM_WEIGHTS, deterministic=True)
finish("embedding")
expect_cupy(looked_up, rows, dweight, dtype=np.float16)
assert looked_up.shape == (3, 7, DIM) and rows.shape == (21, DIM)
assert np.array_equal(looked_up.get(), weight_np[indices_np])
assert np.array_equal(rows.get(), weight_np[indices_np.reshape(21)])
check("embedding_backward", dweight.get(),
      reference.embedding_backward(dy_np, indices_np.reshape(21), NUM_WEIGHTS, PAD), 2e-3)

# ---------------------------------------------------------------------------------------------
# optimizer steps over lists, in place: a tail shorter than a block and a tensor of two chunks

SHAPES = ((1000,), (100, 100))
LR, BETA1, BETA2, ADAM_EPS, DECAY = 1e-2, 0.9, 0.999, 1e-8, 0.01
params_np = [normal(*s) for s in SHAPES]
moments_np = [(np.zeros(s), np.zeros(s)) for s in SHAPES]
with stream:
    params = upload(*params_np)
    exp_avgs = [cp.zeros(s, dtype=cp.float32) for s in SHAPES]
    exp_avg_sqs = [cp.zeros(s, dtype=cp.float32) for s in SHAPES]
# the step as a float32 device scalar (read in the kernel), then as a Python number
for step, step_arg in ((1, np.float32(1)), (2, 2)):
    grads_np = [normal(*s) for s in SHAPES]
    with stream:
        grads = upload(*grads_np)
        if not isinstance(step_arg, int):
            step_arg = cp.asarray(step_arg)
        assert optim.adamw_step(params, grads, exp_avgs, exp_avg_sqs, step_arg, LR, BETA1, BETA2,
                                ADAM_EPS, DECAY) is None
    finish(f"adamw_step {step}")
    updated = [reference.adamw_step(p, g, m, v, step, LR, BETA1, BETA2, ADAM_EPS, DECAY)
               for p, g, (m, v) in zip(params_np, grads_np, moments_np)]
    params_np = [p for p, _, _ in updated]
    moments_np = [(m, v) for _, m, v in updated]
    for i, (p, m, v) in enumerate(zip(params, exp_avgs, exp_avg_sqs)):
        check(f"adamw_step {step} param {i}", p.get(), params_np[i], 1e-5)
        check(f"adamw_step {step} exp_avg {i}", m.get(), moments_np[i][0], 1e-5)
        check(f"adamw_step {step} exp_avg_sq {i}", v.get(), moments_np[i][1], 1e-5)

LR, MOMENTUM, DECAY = 0.05, 0.9, 0.01
params_np = [normal(*s) for s in SHAPES]
buffers_np = [np.zeros(s) for s in SHAPES]  # unread: the first step starts the buffers
with stream:
    params = upload(*params_np)
    buffers = [cp.empty(s, dtype=cp.float32) for s in SHAPES]  # the first step fills them
for first_step in (True, False):
    grads_np = [normal(*s) for s in SHAPES]
    with stream:
        grads = upload(*grads_np)
        assert optim.sgd_step(params, grads, buffers, LR, MOMENTUM, 0.0, DECAY, True,
                              first_step=first_step) is None
    finish(f"sgd_step first_step={first_step}")
    updated = [reference.sgd_step(p, g, buf, LR, MOMENTUM, 0.0, DECAY, True, first_step)
               for p, g, buf in zip(params_np, grads_np, buffers_np)]
    params_np, buffers_np = [p for p, _ in updated], [buf for _, buf in updated]
    for i, (p, buf) in enumerate(zip(params, buffers)):
        check(f"sgd_step param {i}", p.get(), params_np[i], 1e-5)
        check(f"sgd_step momentum buffer {i}", buf.get(), buffers_np[i], 1e-5)

# ---------------------------------------------------------------------------------------------
# sampling: int64 tokens (batch,) from float32 logits; Philox draws from integer seeds

logits_np = normal(6, 3000, scale=2.0)
argmax = logits_np.argmax(-1)
top5 = np.argsort(logits_np, -1)[:, -5:]
with stream:
    logits = cp.asarray(logits_np)
    greedy = vk.sample(logits, temperature=0)
    top1 = vk.sample(logits, temperature=0.7, top_k=1, generator=1)
    nucleus = vk.sample(logits, top_p=1e-6, generator=2)  # the most likely token alone
    draws = [vk.sample(logits, top_k=5, generator=seed) for seed in (3, 3, 4)]
finish("sample")
expect_cupy(greedy, top1, nucleus, *draws, dtype=np.int64)
assert greedy.shape == (6,)
for name, tokens in (("greedy", greedy), ("top_k=1", top1), ("tiny top_p", nucleus)):
    assert np.array_equal(tokens.get(), argmax), (name, tokens.get(), argmax)
for tokens in draws:
    assert all(t in row for t, row in zip(tokens.get(), top5)), (tokens.get(), top5)
assert np.array_equal(draws[0].get(), draws[1].get()), "one seed drew two different samples"

# Frequencies over 8192 rows of the same logits: top_k=5 at temperature 0.8 against softmax.
ROWS, TEMPERATURE = 8192, 0.8
row_np = normal(1000, scale=2.0)
with stream:
    tokens = vk.sample(cp.asarray(np.tile(row_np, (ROWS, 1))), temperature=TEMPERATURE, top_k=5,
                       generator=5)
finish("sample frequencies")
kept = np.argsort(row_np)[-5:]
probabilities = reference.softmax(row_np[kept] / TEMPERATURE)
frequencies = (tokens.get()[:, None] == kept).mean(0)
assert frequencies.sum() == 1.0, "a draw outside the top 5"
# 6 standard deviations of a frequency over ROWS draws, at most
assert np.all(np.abs(frequencies - probabilities) <= 6 * np.sqrt(0.25 / ROWS)), (
    frequencies, probabilities)

# ---------------------------------------------------------------------------------------------
# linear_cross_entropy runs its matmuls in torch: CuPy arrays are refused with a reason

with stream:
    hidden, weight, target = upload(normal(4, 16), normal(10, 16), np.arange(4))
expect_refusal(NotImplementedError, "needs torch tensors", vk.linear_cross_entropy, hidden,
               weight, target)

print("gpu_no_torch_families: ok")
