"""The Python side of ops defined through vt.torch.library: one kernel per vt device type, how
autograd treats each kernel, and the autograd formula registered for the op.

A composite kernel (CompositeImplicitAutograd) is differentiated through the ops it calls. A
backend kernel (CPU, CUDA, CompositeExplicitAutograd, custom_op kernels) is opaque: when an input
requires grad it runs inside an autograd Function whose backward is the registered formula, or,
for a custom op with none, a backward that says so, as torch does.
"""

from __future__ import annotations

from vt.autograd import Function, is_grad_enabled
from vt.core import _C
from vt.core import Tensor as _Tensor
from vt.torch._library_schema import Schema


class OpEntry:
    def __init__(self, qualname: str, schema: Schema, *, custom_op: bool):
        self.qualname = qualname
        self.schema = schema
        self.custom_op = custom_op
        self.kernels: dict[str, tuple] = {}  # vt device type ("cpu", "cuda", "any") -> (fn, composite)
        self.backward = None
        self.setup_context = None
        self._dispatcher_devices: set[str] = set()
        self._function = _make_function(self)

    def reset(self, schema: Schema, *, custom_op: bool) -> None:
        """Forgets kernels and formula: the op is being defined again with the same schema."""
        self.schema, self.custom_op = schema, custom_op
        self.kernels.clear()
        self.backward = self.setup_context = None
        self._function = _make_function(self)

    def set_kernel(self, device: str, fn, *, composite: bool) -> None:
        self.kernels[device] = (fn, composite)
        if device not in self._dispatcher_devices:
            _C._register_python_kernel(self.qualname, device, self._dispatcher_kernel(device))
            self._dispatcher_devices.add(device)

    def set_autograd(self, backward, setup_context) -> None:
        self.backward, self.setup_context = backward, setup_context

    def _dispatcher_kernel(self, device: str):
        def kernel(*args):
            found = self.kernels.get(device) or self.kernels.get("any")
            if found is None:
                raise NotImplementedError(f"{self.qualname} has no kernel for device type '{device}'")
            fn, composite = found
            # In-place ops run as they are: autograd's own checks govern writes to inputs.
            plain = composite or self.schema.is_mutable or (self.backward is None and not self.custom_op)
            if plain or not _needs_grad(args):
                positional, keywords = self.schema.split(args)
                return fn(*positional, **keywords)
            return self._function.run(fn, args)

        return kernel


def _requires_grad(value) -> bool:
    if isinstance(value, _Tensor):
        return value.requires_grad
    return isinstance(value, (list, tuple)) and any(isinstance(t, _Tensor) and t.requires_grad for t in value)


def _needs_grad(args: tuple) -> bool:
    return is_grad_enabled() and any(_requires_grad(a) for a in args)


def _flatten(args: tuple, schema: Schema) -> tuple[list, list]:
    """Tensor lists become separate inputs, so the autograd engine sees every tensor."""
    flat, sizes = [], []
    for value, arg in zip(args, schema.arguments):
        if arg.is_tensor_list and value is not None:
            flat.extend(value)
            sizes.append(len(value))
        else:
            flat.append(value)
            sizes.append(None)
    return flat, sizes


def _unflatten(flat: tuple, sizes: list) -> tuple:
    args, i = [], 0
    for size in sizes:
        if size is None:
            args.append(flat[i])
            i += 1
        else:
            args.append(list(flat[i:i + size]))
            i += size
    return tuple(args)


def _make_function(entry: OpEntry):
    schema = entry.schema
    positional = [a for a in schema.arguments if not a.kwarg_only]
    has_keywords = len(positional) != len(schema.arguments)
    dotted = f"{entry.qualname.replace('::', '.')}.{schema.overload or 'default'}"

    class Generated(Function):
        @staticmethod
        def forward(ctx, fn, sizes, *flat):
            ctx._flat_sizes = sizes
            args = _unflatten(flat, sizes)
            inputs, keywords = schema.split(args)
            ctx.needs_input_grad = tuple(_requires_grad(v) for v in inputs)
            output = fn(*inputs, **keywords)
            if entry.setup_context is not None:
                extra = {"keyword_only_inputs": keywords} if has_keywords else {}
                entry.setup_context(ctx=ctx, inputs=inputs, output=output, **extra)
            return tuple(output) if isinstance(output, list) else output

        @staticmethod
        def backward(ctx, *grads):
            if entry.backward is None:
                raise RuntimeError(f"Trying to backward through {dotted} but no autograd formula was "
                                   "registered. Please use register_autograd to add one.")
            result = entry.backward(ctx, *((list(grads),) if schema.returns_list else grads))
            single_list = len(positional) == 1 and positional[0].is_tensor_list
            many = isinstance(result, tuple) or (isinstance(result, list) and not single_list)
            result = tuple(result) if many else (result,)
            while len(result) > len(positional) and result[-1] is None:
                result = result[:-1]
            if len(result) != len(positional):
                raise RuntimeError(f"function {Generated.__name__}Backward returned an incorrect number of "
                                   f"gradients (expected {len(positional)}, got {len(result)})")
            flat = [None, None]  # for fn and sizes
            for grad, arg, size in zip(result, positional, ctx._flat_sizes):
                if size is None:
                    flat.append(grad)
                else:
                    flat.extend(grad if grad is not None else [None] * size)
            flat.extend([None] * sum(1 if s is None else s for s in ctx._flat_sizes[len(positional):]))
            return tuple(flat)

        @classmethod
        def run(cls, fn, args):
            flat, sizes = _flatten(args, schema)
            out = cls.apply(fn, sizes, *flat)
            return list(out) if schema.returns_list else out

    Generated.__name__ = Generated.__qualname__ = "GeneratedBackwardFor_" + dotted.replace(".", "_")
    return Generated
