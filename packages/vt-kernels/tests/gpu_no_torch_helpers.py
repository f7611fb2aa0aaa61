"""What the no-torch GPU scripts (gpu_no_torch*.py) share: a record of the stream of every Triton
launch, value checks, and NumPy float64 references of the kernel families.

The references take and return NumPy arrays and import neither torch nor CuPy, so they can be
checked against torch on a CPU and used where torch is blocked.
"""

import math

import numpy as np
import triton

_launches = []  # the stream of every Triton launch since the last expect_launches_on


def record_launches():
    """Records the stream of every Triton launch from here on (read by expect_launches_on)."""
    triton.knobs.runtime.launch_enter_hook.add(lambda meta: _launches.append(meta.get()["stream"]))


def expect_launches_on(stream_ptr, what):
    assert _launches, f"{what}: no Triton launch seen"
    seen = set(_launches)
    assert seen == {stream_ptr}, f"{what}: launched on {seen}, expected {stream_ptr}"
    _launches.clear()


def check(name, got, expected, tol):
    """Max abs error relative to max(1, max |expected|), so tol reads as the dtype's precision."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{name}: shape {got.shape}, expected {expected.shape}"
    err = np.abs(got - expected).max() / max(1.0, np.abs(expected).max())
    assert err <= tol, f"{name}: relative error {err:.3g} > {tol}"


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ---------------------------------------------------------------------------------------------
# layer_norm (of h = x, or the rounded x + residual)


def layer_norm(h, w, b, eps):
    """(y, mean, rstd) over the last dim."""
    h, w, b = _f64(h, w, b)
    mean = h.mean(-1, keepdims=True)
    centered = h - mean
    rstd = 1.0 / np.sqrt((centered * centered).mean(-1, keepdims=True) + eps)
    return centered * rstd * w + b, mean[..., 0], rstd[..., 0]


def layer_norm_backward(dy, h, w, eps, dh=None):
    """(dx, dw, db) of 2-D rows; dh, the gradient of the returned h, adds to dx."""
    dy, h, w = _f64(dy, h, w)
    _, mean, rstd = layer_norm(h, w, np.zeros_like(w), eps)
    xhat = (h - mean[:, None]) * rstd[:, None]
    g = dy * w
    dx = rstd[:, None] * (g - xhat * (g * xhat).mean(-1, keepdims=True) - g.mean(-1, keepdims=True))
    if dh is not None:
        dx = dx + _f64(dh)[0]
    return dx, (dy * xhat).sum(0), dy.sum(0)


# ---------------------------------------------------------------------------------------------
# softmax and log_softmax over the last dim


def softmax(x):
    (x,) = _f64(x)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def log_softmax(x):
    (x,) = _f64(x)
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def softmax_backward(y, dy):
    y, dy = _f64(y, dy)
    return y * (dy - (dy * y).sum(-1, keepdims=True))


def log_softmax_backward(y, dy):
    y, dy = _f64(y, dy)
    return dy - np.exp(y) * dy.sum(-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# rotary


def rotary(x, cos, sin, positions, interleaved, layout, conjugate=False):
    """Turns the pairs of the first 2 * cos.shape[1] channels by their positions' angles.

    x: (batch, heads, seq, head_dim) for "bhsd", (batch, seq, heads, head_dim) for "bshd";
    positions: (batch or 1, seq) row numbers of the tables. conjugate turns the other way (the
    backward: the rotation is orthogonal).
    """
    x, cos, sin = _f64(x, cos, sin)
    half = cos.shape[1]
    c, s = cos[positions], sin[positions]  # (batch or 1, seq, half)
    c, s = (c[:, None], s[:, None]) if layout == "bhsd" else (c[:, :, None], s[:, :, None])
    if conjugate:
        s = -s
    first = slice(0, 2 * half, 2) if interleaved else slice(0, half)
    second = slice(1, 2 * half, 2) if interleaved else slice(half, 2 * half)
    x1, x2 = x[..., first], x[..., second]
    out = x.copy()
    out[..., first] = x1 * c - x2 * s
    out[..., second] = x2 * c + x1 * s
    return out


# ---------------------------------------------------------------------------------------------
# activations: gelu (erf and tanh forms), silu, and their derivatives

_erf = np.vectorize(math.erf)
_TANH_K = math.sqrt(2.0 / math.pi)


def gelu(x, approximate="none"):
    (x,) = _f64(x)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_TANH_K * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_grad(x, approximate="none"):
    """d gelu(x) / dx."""
    (x,) = _f64(x)
    if approximate == "tanh":
        t = np.tanh(_TANH_K * (x + 0.044715 * x ** 3))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _TANH_K * (1.0 + 3 * 0.044715 * x * x)
    density = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * density


def silu(x):
    (x,) = _f64(x)
    return x / (1.0 + np.exp(-x))


def silu_grad(x):
    (x,) = _f64(x)
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig * (1.0 + x * (1.0 - sig))


# ---------------------------------------------------------------------------------------------
# cross_entropy


def _logsumexp(x):
    top = x.max(-1)
    return np.log(np.exp(x - top[..., None]).sum(-1)) + top


def cross_entropy_rows(logits, target, ignore_index, label_smoothing=0.0, z_loss=0.0):
    """Per-row (loss, lse) of 2-D logits; ignored rows give 0 and 0."""
    (x,) = _f64(logits)
    valid = target != ignore_index
    lse = _logsumexp(x)
    x_t = np.take_along_axis(x, np.where(valid, target, 0)[:, None], 1)[:, 0]
    loss = lse - (1.0 - label_smoothing) * x_t - label_smoothing * x.mean(-1) + z_loss * lse * lse
    return np.where(valid, loss, 0.0), np.where(valid, lse, 0.0)


def cross_entropy_backward(logits, target, grad_rows, ignore_index, label_smoothing=0.0,
                           z_loss=0.0):
    """dlogits of sum(loss_rows * grad_rows); grad_rows: (rows,) or a scalar."""
    (x,) = _f64(logits)
    rows, vocab = x.shape
    valid = target != ignore_index
    lse = _logsumexp(x)
    p = np.exp(x - lse[:, None]) * (1.0 + 2.0 * z_loss * lse)[:, None]
    hit = np.zeros_like(x)
    hit[np.arange(rows), np.where(valid, target, 0)] = 1.0
    grad = p - label_smoothing / vocab - (1.0 - label_smoothing) * hit
    grad_rows = np.broadcast_to(np.asarray(grad_rows, dtype=np.float64), (rows,))
    return np.where(valid[:, None], grad * grad_rows[:, None], 0.0)


# ---------------------------------------------------------------------------------------------
# attention


def attention(q, k, v, causal, scale):
    """(out, lse) of dense (batch, heads, seq, head_dim) inputs; heads_q a multiple of heads_kv
    (GQA); the causal mask is top-left aligned (query i sees keys j <= i)."""
    q, k, v = _f64(q, k, v)
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scores = q @ k.swapaxes(-1, -2) * scale
    if causal:
        seq_q, seq_k = scores.shape[-2:]
        scores = np.where(np.tril(np.ones((seq_q, seq_k), dtype=bool)), scores, -np.inf)
    lse = _logsumexp(scores)
    return np.exp(scores - lse[..., None]) @ v, lse


def attention_backward(q, k, v, dout, causal, scale):
    """(dq, dk, dv); the kv gradients sum over each kv head's group of q heads."""
    q, k, v, dout = _f64(q, k, v, dout)
    batch, heads_kv, seq_k, head_dim = k.shape
    group = q.shape[1] // heads_kv
    out, lse = attention(q, k, v, causal, scale)
    k_rep, v_rep = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scores = q @ k_rep.swapaxes(-1, -2) * scale
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:], dtype=bool)), scores, -np.inf)
    p = np.exp(scores - lse[..., None])
    dv = p.swapaxes(-1, -2) @ dout
    ds = p * (dout @ v_rep.swapaxes(-1, -2) - (dout * out).sum(-1, keepdims=True))
    dq = ds @ k_rep * scale
    dk = ds.swapaxes(-1, -2) @ q * scale

    def per_kv_head(g):
        return g.reshape(batch, heads_kv, group, seq_k, head_dim).sum(2)

    return dq, per_kv_head(dk), per_kv_head(dv)


def attention_decode(q, k_cache, v_cache, lengths, scale):
    """One query per sequence (batch, heads_q, head_dim) against the first lengths[b] cache rows;
    a length of 0 gives 0."""
    q, k_cache, v_cache = _f64(q, k_cache, v_cache)
    out = np.zeros_like(q)
    for b, n in enumerate(lengths):
        if n:
            o, _ = attention(q[None, b, :, None], k_cache[None, b, :, :n], v_cache[None, b, :, :n],
                             False, scale)
            out[b] = o[0, :, 0]
    return out


# ---------------------------------------------------------------------------------------------
# embedding


def embedding_backward(dy, indices, num_weights, padding_idx=None):
    """dweight: the rows of dy summed per index; the padding row stays 0."""
    (dy,) = _f64(dy)
    dw = np.zeros((num_weights, dy.shape[1]))
    np.add.at(dw, indices, dy)
    if padding_idx is not None:
        dw[padding_idx] = 0.0
    return dw


# ---------------------------------------------------------------------------------------------
# optimizer steps (torch.optim's math)


def adamw_step(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay):
    """(param, exp_avg, exp_avg_sq) after one AdamW step; `step` counts this one."""
    p, g, m, v = _f64(p, g, m, v)
    p = p * (1.0 - lr * weight_decay)
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    step_size = lr / (1.0 - beta1 ** step)
    p = p - step_size * m / (np.sqrt(v) / math.sqrt(1.0 - beta2 ** step) + eps)
    return p, m, v


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first_step):
    """(param, momentum buffer) after one SGD step."""
    p, g, buf = _f64(p, g, buf)
    g = g + weight_decay * p
    buf = g if first_step else momentum * buf + (1.0 - dampening) * g
    g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf
