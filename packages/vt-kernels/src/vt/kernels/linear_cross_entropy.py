"""Linear layer + cross-entropy (an LM head's loss) without materializing the (N, V) logits.

loss = cross_entropy(hidden @ weight.T + bias, target). The rows are processed in chunks: a
chunk's logits come from one cuBLAS matmul (through torch), the cross-entropy kernel turns them
into losses and, in the same pass, into their gradient in place; d_hidden = dlogits @ weight and
d_weight += dlogits.T @ hidden follow while the chunk is live. For "mean" and "sum" the forward
thus computes every gradient and backward only scales them by the upstream gradient (on the
device, a no-op when it is 1). For "none" the upstream gradient differs per row and is needed
before d_weight can be summed, so backward recomputes the chunks.

Memory: one chunk of logits (at most _CHUNK_BYTES, 256 MiB by default: 4096 rows of a 32768
vocab in bfloat16) plus, when there is more than one chunk and the weight is float16/bfloat16,
a float32 accumulator for d_weight (summing the chunks in float32), instead of the full logits
and their gradient.
"""

from __future__ import annotations

from . import _registry
from ._checks import check_float, check_nonempty_rows, check_same_device, check_shape, dtype_name
from ._compat import compiling, is_torch_tensor, needs_autograd, torch
from ._foreign import on_tensor_device
from ._launch import as_rows, reference_reason, triton_reason
from .cross_entropy import REDUCTIONS, inverse_count, loss_outputs, reduce_rows, scale_rows_

KERNEL = "linear_cross_entropy"
_CHUNK_BYTES = 256 * 1024 * 1024


def default_chunk_size(rows: int, vocab: int, itemsize: int) -> int:
    """Rows per chunk so that a chunk's logits take at most _CHUNK_BYTES."""
    return max(1, min(rows, _CHUNK_BYTES // max(1, vocab * itemsize)))


def _add_product(acc, a, b, exact_dtype):
    """acc + a @ b summed in float32 (acc None: the first product). `exact_dtype`: the product
    is the whole result, so it is rounded once to a's dtype."""
    if acc is None:
        if exact_dtype or a.dtype == torch.float32:
            return a @ b
        if a.is_cuda:
            return torch.mm(a, b, out_dtype=torch.float32)
        return a.float() @ b.float()  # CPU has no mixed-dtype product
    if acc.dtype == a.dtype:
        return acc.addmm_(a, b)
    if a.is_cuda:
        return torch.addmm(acc, a, b, out_dtype=torch.float32, out=acc)
    return acc.addmm_(a.float(), b.float())


# ---------------------------------------------------------------------------------------------
# chunked implementation (cuBLAS matmuls, the cross_entropy kernel in place)


def _chunked_forward(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                     chunk_size, want_grads=(False, False, False), grad_scale=None):
    """(loss_rows, lse, (d_hidden, d_weight, d_bias)) with the gradients of
    sum(loss_rows * grad_scale) for those asked for in want_grads (None for the others)."""
    # The matmuls run in the inputs' dtype: autocast would give logits another dtype than the
    # gradient buffers.
    with torch.autocast(hidden.device.type, enabled=False):
        return _chunk_loop(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                           chunk_size, want_grads, grad_scale)


def _chunk_loop(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss, chunk_size,
                want_grads, grad_scale):
    n = hidden.shape[0]
    vocab = weight.shape[0]
    chunk = chunk_size or default_chunk_size(n, vocab, hidden.element_size())
    want_dh, want_dw, want_db = want_grads
    grads = any(want_grads)
    single = n <= chunk
    shared_scale = grad_scale is None or grad_scale.numel() == 1
    dh = torch.empty_like(hidden) if want_dh else None
    dw = db = None
    losses, lses = [], []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        h = hidden[start:stop]
        t = target[start:stop]
        logits = torch.nn.functional.linear(h, weight, bias)
        ce = _registry.select("cross_entropy", logits, t, ignore_index, label_smoothing, z_loss)
        scale = grad_scale if shared_scale else grad_scale[start:stop]
        loss, lse = ce.forward(logits, t, ignore_index, label_smoothing, z_loss,
                               inplace_backward=grads, grad_scale=scale if grads else None)
        losses.append(loss)
        lses.append(lse)
        if not grads:
            continue
        dlogits = logits  # the cross_entropy kernel overwrote them with their gradient
        if want_dh:
            torch.mm(dlogits, weight, out=dh[start:stop])
        if want_dw:
            dw = _add_product(dw, dlogits.t(), h, single)
        if want_db:
            part = dlogits.sum(0, dtype=torch.float32)
            db = part if db is None else db.add_(part)
    if n == 0:
        losses = lses = [torch.empty((0,), dtype=torch.float32, device=hidden.device)]
        dw = torch.zeros_like(weight) if want_dw else None
        db = torch.zeros_like(bias) if want_db else None
    loss_rows = losses[0] if len(losses) == 1 else torch.cat(losses)
    lse_rows = lses[0] if len(lses) == 1 else torch.cat(lses)
    if dw is not None:
        dw = dw.to(weight.dtype)
    if db is not None:
        db = db.to(bias.dtype)
    return loss_rows, lse_rows, (dh, dw, db)


def _chunked_backward(hidden, weight, bias, target, grad_rows, ignore_index, label_smoothing,
                      z_loss, chunk_size, want_grads):
    """(d_hidden, d_weight, d_bias) of sum(loss_rows * grad_rows), recomputing the logits."""
    return _chunked_forward(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                            chunk_size, want_grads, grad_rows)[2]


def _chunked_supports(hidden, weight, bias, target, *args):
    if torch is None:
        return "needs torch for its matmuls (cuBLAS)"
    return reference_reason(hidden, weight, bias, target) or triton_reason(hidden, weight, bias,
                                                                           target)


# ---------------------------------------------------------------------------------------------
# torch reference: F.linear + F.cross_entropy on the whole batch


def _reference_forward(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                       chunk_size, want_grads=(False, False, False), grad_scale=None):
    leaves = [t.detach().requires_grad_(w) if t is not None else None
              for t, w in zip((hidden, weight, bias), want_grads)]
    with torch.enable_grad():
        logits = torch.nn.functional.linear(*leaves).float()
        loss = torch.nn.functional.cross_entropy(logits, target.long(), ignore_index=ignore_index,
                                                 label_smoothing=label_smoothing, reduction="none")
        lse = torch.where(target != ignore_index, torch.logsumexp(logits, -1), 0.0)
        if z_loss:
            loss = loss + z_loss * lse.square()
        grads = [None, None, None]
        if any(want_grads):
            scale = grad_scale.float() if grad_scale is not None else 1.0
            wanted = [t for t, w in zip(leaves, want_grads) if w]
            found = iter(torch.autograd.grad((loss * scale).sum(), wanted))
            grads = [next(found) if w else None for w in want_grads]
    return loss.detach(), lse.detach(), tuple(grads)


def _reference_backward(hidden, weight, bias, target, grad_rows, ignore_index, label_smoothing,
                        z_loss, chunk_size, want_grads):
    return _reference_forward(hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                              chunk_size, want_grads, grad_rows)[2]


def _reference_supports(hidden, weight, bias, target, *args):
    return reference_reason(hidden, weight, bias, target)


_registry.register(KERNEL, "triton", _chunked_forward, _chunked_backward, _chunked_supports)
_registry.register(KERNEL, "reference", _reference_forward, _reference_backward,
                   _reference_supports)


# ---------------------------------------------------------------------------------------------
# autograd and the functional API

if torch is not None:

    class LinearCrossEntropyFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, hidden, weight, bias, target, ignore_index, label_smoothing, z_loss,
                    reduction, return_z_loss, chunk_size, impl):
            backend = impl.backend
            args = (ignore_index, label_smoothing, z_loss, chunk_size)
            want = tuple(ctx.needs_input_grad[:3])
            if reduction == "none":
                loss_rows, lse, _ = impl.forward(hidden, weight, bias, target, *args)
                ctx.save_for_backward(hidden, weight, bias, target)
            else:
                scale = None
                if reduction == "mean":
                    scale = inverse_count(backend, target, ignore_index)
                loss_rows, lse, grads = impl.forward(hidden, weight, bias, target, *args, want,
                                                     scale)
                ctx.save_for_backward(*grads)
            loss, z_part, _ = reduce_rows(backend, loss_rows, lse, target, ignore_index, z_loss,
                                          reduction, dtype_name(hidden), return_z_loss)
            ctx.impl = impl
            ctx.args = args
            ctx.reduction = reduction
            ctx.want = want
            ctx.used = False
            return loss_outputs(ctx, loss, z_part, return_z_loss)

        @staticmethod
        def backward(ctx, grad_loss, grad_z=None):
            impl = ctx.impl
            if ctx.reduction == "none":
                hidden, weight, bias, target = ctx.saved_tensors
                grads = impl.backward(hidden, weight, bias, target, grad_loss.float(), *ctx.args,
                                      ctx.want)
            else:
                # The saved gradients are scaled in place (and handed out): only once.
                if ctx.used:
                    raise RuntimeError("linear_cross_entropy: its gradients are computed in the "
                                       "forward and can be taken only once")
                ctx.used = True
                grads = ctx.saved_tensors
                for g in grads:
                    if g is not None:
                        scale_rows_(impl.backend, g.view(-1, g.shape[-1]), grad_loss)
            return (*grads, None, None, None, None, None, None, None, None)


def _check(hidden, weight, target, bias, label_smoothing, reduction):
    op = "linear_cross_entropy"
    tensors = {"hidden": hidden, "weight": weight, "target": target, "bias": bias}
    foreign = [name for name, t in tensors.items() if t is not None and not is_torch_tensor(t)]
    if torch is None or foreign:
        raise NotImplementedError(f"{op}: needs torch tensors, since its matmuls run in cuBLAS "
                                  f"through torch (got {', '.join(foreign) or 'no torch'})")
    check_nonempty_rows(op, hidden)
    check_float(op, "hidden", hidden)
    check_same_device(op, **tensors)
    if weight.dim() != 2 or weight.shape[1] != hidden.shape[-1]:
        raise RuntimeError(f"{op}: weight has shape {tuple(weight.shape)}, expected "
                           f"(vocab, {hidden.shape[-1]}) for hidden of shape {tuple(hidden.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != hidden.dtype:
            raise TypeError(f"{op}: {name} dtype {t.dtype} differs from hidden dtype "
                            f"{hidden.dtype}")
    if bias is not None:
        check_shape(op, "bias", bias, (weight.shape[0],))
    if dtype_name(target) not in ("int64", "int32"):
        raise TypeError(f"{op}: target must hold class indices (int64 or int32), "
                        f"got {dtype_name(target)}")
    check_shape(op, "target", target, tuple(hidden.shape[:-1]))
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0, "
                           f"got {label_smoothing}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(REDUCTIONS)})")


@on_tensor_device
def linear_cross_entropy(hidden, weight, target, bias=None, ignore_index: int = -100,
                         label_smoothing: float = 0.0, reduction: str = "mean",
                         chunk_size: int | None = None, z_loss: float = 0.0,
                         return_z_loss: bool = False):
    """cross_entropy(hidden @ weight.T + bias, target) for hidden (..., H), weight (V, H), target
    (...), computed chunk by chunk of rows (chunk_size rows; default: logits of <= 256 MiB).

    Same semantics and extras as vt.kernels.cross_entropy (z_loss, return_z_loss). For "mean" and
    "sum" the gradients are computed during the forward, so backward can run once.
    """
    if compiling():
        if return_z_loss:  # no custom op: eagerly, behind a graph break
            return torch.compiler.disable(linear_cross_entropy)(
                hidden, weight, target, bias, ignore_index, label_smoothing, reduction,
                chunk_size, z_loss, return_z_loss)
        from . import torch_ops  # torch_ops imports this module
        return torch_ops.linear_cross_entropy(hidden, weight, target, bias, ignore_index,
                                              label_smoothing, reduction, chunk_size, z_loss)
    label_smoothing = float(label_smoothing)
    z_loss = float(z_loss)
    _check(hidden, weight, target, bias, label_smoothing, reduction)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"linear_cross_entropy: chunk_size must be positive, got {chunk_size}")
    rows = as_rows(hidden)
    targets = target.reshape(-1)
    impl = _registry.select(KERNEL, rows, weight, bias, targets)
    args = (int(ignore_index), label_smoothing, z_loss)
    if needs_autograd(hidden, weight, bias):
        out = LinearCrossEntropyFunction.apply(rows, weight, bias, targets, *args, reduction,
                                               bool(return_z_loss), chunk_size, impl)
        loss, z_part = out if return_z_loss else (out, None)
    else:
        loss_rows, lse, _ = impl.forward(rows, weight, bias, targets, *args, chunk_size)
        loss, z_part, _ = reduce_rows(impl.backend, loss_rows, lse, targets, ignore_index, z_loss,
                                      reduction, dtype_name(hidden), return_z_loss)
    if reduction == "none":
        loss = loss.reshape(target.shape)
        z_part = z_part.reshape(target.shape) if z_part is not None else None
    return (loss, z_part) if return_z_loss else loss


@on_tensor_device
def linear_cross_entropy_forward(hidden2d, weight, target, bias=None, ignore_index: int = -100,
                                 label_smoothing: float = 0.0, z_loss: float = 0.0,
                                 chunk_size: int | None = None,
                                 want_grads=(False, False, False), grad_scale=None):
    """Per-row (loss, lse) float32 (N,) and the gradients (d_hidden, d_weight, d_bias) of
    sum(loss * grad_scale) asked for in want_grads, without autograd. grad_scale: float32 (N,),
    one value for all rows (1 / count of non-ignored targets for "mean"), or None for 1."""
    impl = _registry.select(KERNEL, hidden2d, weight, bias, target)
    return impl.forward(hidden2d, weight, bias, target, int(ignore_index), float(label_smoothing),
                        float(z_loss), chunk_size, tuple(want_grads), grad_scale)


@on_tensor_device
def linear_cross_entropy_backward(hidden2d, weight, target, grad_rows, bias=None,
                                  ignore_index: int = -100, label_smoothing: float = 0.0,
                                  z_loss: float = 0.0, chunk_size: int | None = None,
                                  want_grads=(True, True, True)):
    """(d_hidden, d_weight, d_bias) of sum(loss_rows * grad_rows), recomputing the logits chunk
    by chunk; d_bias is None without a bias."""
    impl = _registry.select(KERNEL, hidden2d, weight, bias, target)
    want = (want_grads[0], want_grads[1], want_grads[2] and bias is not None)
    return impl.backward(hidden2d, weight, bias, target, grad_rows, int(ignore_index),
                         float(label_smoothing), float(z_loss), chunk_size, want)
