"""torch.library over vt's dispatcher: define ops, give them kernels per device, make them
differentiable, and call them as vt.torch.ops.<namespace>.<name>.

    @torch.library.custom_op("mylib::scale", mutates_args=())
    def scale(x: torch.Tensor, k: float) -> torch.Tensor:
        return x * k

    scale.register_autograd(lambda ctx, g: (g * ctx.k, None),
                            setup_context=lambda ctx, inputs, output: setattr(ctx, "k", inputs[1]))

Dispatch keys map onto vt device types: CPU -> cpu, CUDA -> cuda, CompositeExplicitAutograd and
CompositeImplicitAutograd -> every device (the implicit one is differentiated through its ops).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from vt.core import _C
from vt.torch._library_ops import OpEntry
from vt.torch._library_schema import Schema, infer_schema

__all__ = ["CustomOpDef", "Library", "custom_op", "define", "impl", "infer_schema", "register_autograd",
           "register_kernel"]

# key -> (vt device type, composite)
_DISPATCH_KEYS = {
    "CPU": ("cpu", False),
    "CUDA": ("cuda", False),
    "CompositeExplicitAutograd": ("any", False),
    "CompositeImplicitAutograd": ("any", True),
}
# Keys torch knows that have no vt counterpart: registering for them is refused by name.
_UNSUPPORTED_KEYS = {
    "Meta", "Autograd", "AutogradCPU", "AutogradCUDA", "AutogradOther", "AutogradPrivateUse1", "MPS", "XLA",
    "XPU", "HIP", "HPU", "MTIA", "Lazy", "PrivateUse1", "Python", "BackendSelect", "ADInplaceOrView",
    "Functionalize", "SparseCPU", "SparseCUDA", "QuantizedCPU", "QuantizedCUDA", "AutocastCPU", "AutocastCUDA",
    "FuncTorchBatched", "Batched", "NestedTensorCPU", "NestedTensorCUDA", "CompositeImplicitAutogradNestedTensor",
}
_TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                       "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_KINDS = ("DEF", "IMPL", "FRAGMENT")
_RESERVED_NAMESPACES = {"vt"}  # vt.core's own ops

_entries: dict[str, OpEntry] = {}
_def_namespaces: set[str] = set()


def _key_target(key: str) -> tuple[str, bool]:
    if key in _DISPATCH_KEYS:
        return _DISPATCH_KEYS[key]
    if key in _UNSUPPORTED_KEYS:
        raise NotImplementedError(f"dispatch key '{key}' is not supported by vt; kernels register for CPU, "
                                  "CUDA, CompositeExplicitAutograd or CompositeImplicitAutograd")
    raise RuntimeError(f"could not parse dispatch key: {key}")


def _device_type(device: str) -> str:
    kind = str(device).split(":", 1)[0]
    if kind in ("cpu", "cuda"):
        return kind
    if kind in _TORCH_DEVICE_TYPES:
        raise NotImplementedError(f"device type '{kind}' is not supported by vt; kernels register for cpu "
                                  "or cuda")
    raise RuntimeError(f"Expected one of {', '.join(_TORCH_DEVICE_TYPES)} device type at start of device "
                       f"string: {device}")


def _device_types(device_types) -> list[str]:
    if device_types is None:
        return ["any"]
    if isinstance(device_types, str):
        device_types = [device_types]
    return [_device_type(d) for d in device_types]


def _qualname(op) -> str:
    """The 'ns::name[.overload]' of a name string, a CustomOpDef or an op handle."""
    name = getattr(op, "_qualname", None) or getattr(op, "name", None) or op
    if not isinstance(name, str) or "::" not in name:
        raise ValueError(f"expected an op as 'namespace::name' (or a custom op), got {op!r}")
    return name


def _define(qualname: str, schema_text: str, *, custom_op: bool) -> OpEntry:
    """Defines the op in vt's dispatcher and registers its Python entry."""
    full = qualname + schema_text
    schema = Schema(full)
    existing = _entries.get(qualname)
    if existing is not None and not (custom_op and existing.custom_op):
        raise RuntimeError(f"Tried to register an operator ({full}) with the same name and overload name "
                           "multiple times. Each overload's schema should only be registered with a single "
                           "call to def().")
    try:
        _C._define_op(full)
    except ValueError as error:  # torch reports schema errors (and clashes) as RuntimeError
        raise RuntimeError(str(error)) from None
    if existing is not None:  # a custom op defined again replaces the old one, as in torch
        existing.reset(schema, custom_op=custom_op)
        return existing
    entry = OpEntry(qualname, schema, custom_op=custom_op)
    _entries[qualname] = entry
    return entry


def _entry(qualname: str) -> OpEntry:
    """The entry of an op defined here or, for ops defined elsewhere (vt.core), a new one."""
    if qualname not in _entries:
        text = next((s for s in _C._op_schemas() if s.startswith(qualname + "(")), None)
        if text is None:
            raise RuntimeError(f"operator {qualname} is not defined; define it (Library.define, "
                               "torch.library.define or custom_op) before registering kernels for it")
        _entries[qualname] = OpEntry(qualname, Schema(text), custom_op=False)
    return _entries[qualname]


def _split_schema(schema: str) -> tuple[str | None, str, str]:
    """(namespace or None, name[.overload], '(args) -> returns') of 'ns::name(args) -> returns'."""
    head, paren, rest = schema.partition("(")
    if not paren:
        raise RuntimeError(f"invalid op schema '{schema}': expected 'name(args) -> returns'")
    ns, sep, name = head.strip().rpartition("::")
    return (ns if sep else None), name, "(" + rest


class Library:
    """A set of op definitions (kind "DEF", one per namespace, or "FRAGMENT") or kernel
    registrations ("IMPL") for one namespace."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = ""):
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        if kind == "DEF" and (ns in _def_namespaces or ns in _RESERVED_NAMESPACES):
            raise RuntimeError(f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; please "
                               "put all of your definitions in a single TORCH_LIBRARY block. To define ops for "
                               "one namespace in several places, use kind='FRAGMENT'.")
        if kind == "DEF":
            _def_namespaces.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Defines an op of this namespace from its schema, e.g. "foo(Tensor x, float k=1.0) -> Tensor"."""
        if self.kind == "IMPL":
            raise RuntimeError(f"def(\"{schema}\"): Cannot define an operator inside of a TORCH_LIBRARY_IMPL "
                               "block. All def()s should be placed in the (unique) TORCH_LIBRARY block for "
                               "their namespace.")
        ns, name, rest = _split_schema(schema)
        if ns is not None and ns != self.ns:
            raise RuntimeError(f"Explicitly provided namespace ({ns}) in schema string does not match "
                               f"namespace of enclosing TORCH_LIBRARY block ({self.ns}).")
        _define(f"{self.ns}::{name}", rest, custom_op=False)
        return name

    def impl(self, op_name, fn: Callable, dispatch_key: str = "", *, with_keyset: bool = False,
             allow_override: bool = True) -> None:
        """Registers fn as the kernel of op_name for a dispatch key (default: the library's, else
        CompositeImplicitAutograd)."""
        if with_keyset:
            raise NotImplementedError("Library.impl(with_keyset=True): vt kernels receive no dispatch key set")
        if not callable(fn):
            raise TypeError(f"Input function is required to be a callable but found type {type(fn)}")
        if isinstance(op_name, str):
            qualname = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        else:
            qualname = _qualname(op_name)
        device, composite = _key_target(dispatch_key or self.dispatch_key or "CompositeImplicitAutograd")
        entry = _entry(qualname)
        if not allow_override and device in entry.kernels:
            raise RuntimeError(f"{qualname} already has a kernel for {dispatch_key or device}")
        entry.set_kernel(device, fn, composite=composite)


def define(qualname: str, schema: str, *, lib: Library | None = None, tags=()) -> None:
    """Defines an op from its name and schema, e.g. define("mylib::foo", "(Tensor x) -> Tensor")."""
    namespace, sep, name = qualname.partition("::")
    if not sep or not namespace or not name:
        raise ValueError(f"define(qualname, schema): expected qualname as 'namespace::name', got '{qualname}'")
    if not schema.lstrip().startswith("("):
        raise ValueError(f"define(qualname, schema): the schema must have no name, as in '(Tensor x) -> Tensor'; "
                         f"got '{schema}'")
    _define(qualname, schema.strip(), custom_op=False)


def impl(qualname, types=None, func: Callable | None = None, *, lib: Library | None = None):
    """Registers func as the kernel of an op for device types ("cpu", "cuda", or "default" for
    all); usable as a decorator. impl(lib, name, dispatch_key) is torch's older spelling."""
    if isinstance(qualname, Library):
        library, name, key = qualname, types, func or ""
        return lambda f: (library.impl(name, f, key), f)[1]
    if isinstance(types, str):
        types = [types]
    if types is None:
        raise TypeError("impl() missing the device types ('cpu', 'cuda' or 'default')")
    targets = [("any", False) if t == "default" else (_device_type(t), False) for t in types]

    def register(f: Callable) -> Callable:
        entry = _entry(_qualname(qualname))
        for device, composite in targets:
            entry.set_kernel(device, f, composite=composite)
        return f

    return register(func) if func is not None else register


def register_kernel(op, device_types, func: Callable | None = None, /, *, lib: Library | None = None):
    """Registers func as the kernel of op for device types (None: every device); a decorator
    when func is omitted."""
    devices = _device_types(device_types)

    def register(f: Callable) -> Callable:
        entry = _entry(_qualname(op))
        for device in devices:
            entry.set_kernel(device, f, composite=False)
        return f

    return register(func) if func is not None else register


def register_autograd(op, backward: Callable, /, *, setup_context: Callable | None = None,
                      lib: Library | None = None) -> None:
    """Makes op differentiable: backward(ctx, *grads) returns one gradient per (non keyword-only)
    argument, None for non-tensors; setup_context(ctx, inputs, output) runs after forward and may
    save what backward needs (keyword_only_inputs is passed as well when the op has any)."""
    entry = _entry(_qualname(op))
    if not callable(backward):
        raise TypeError(f"Expected backward to be a function, got {type(backward)}")
    if setup_context is not None and not callable(setup_context):
        raise TypeError(f"Expected setup_context to be a function, got {type(setup_context)}")
    if entry.schema.is_mutable:
        raise RuntimeError(f"Cannot register autograd formula for non-functional operator {op} with schema "
                           f"{entry.schema.text}. Please create a functional operator and register an "
                           "autograd formula for that.")
    entry.set_autograd(backward, setup_context)


class CustomOpDef:
    """An op made by custom_op: callable like the function it wraps, dispatched by vt."""

    def __init__(self, namespace: str, name: str, schema: str, fn: Callable):
        self._namespace, self._name = namespace, name
        self._qualname = f"{namespace}::{name}"
        self._schema = schema
        self._init_fn = fn
        self.__name__ = name
        self.__doc__ = fn.__doc__
        self._handle = _C._OpHandle(self._qualname)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        return self._handle(*args, **kwargs)

    def register_kernel(self, device_types, fn: Callable | None = None, /) -> Callable:
        return register_kernel(self, device_types, fn)

    def register_autograd(self, backward: Callable, /, *, setup_context: Callable | None = None) -> None:
        register_autograd(self, backward, setup_context=setup_context)


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args=(), device_types=None,
              schema: str | None = None, tags=None):
    """Wraps a Python function as an op of vt's dispatcher (decorator or direct call).

    Its schema is inferred from the type annotations unless given; mutates_args names the
    arguments it writes in place. The kernel is opaque to autograd: gradients need
    register_autograd, as in torch. vt ops carry no tags; tags is accepted for torch's calls.
    """
    namespace, sep, opname = name.partition("::")
    if not sep or not namespace or not opname:
        raise ValueError(f"custom_op name must be 'namespace::name', got '{name}'")
    if mutates_args is None or (isinstance(mutates_args, str) and mutates_args != "unknown"):
        raise TypeError("mutates_args must be a sequence of argument names or the string 'unknown', got "
                        f"{mutates_args!r}")
    devices = _device_types(device_types)

    def wrap(f: Callable) -> CustomOpDef:
        text = schema if schema is not None else infer_schema(f, mutates_args=mutates_args)
        entry = _define(name, text, custom_op=True)
        for device in devices:
            entry.set_kernel(device, f, composite=False)
        op = CustomOpDef(namespace, opname, text, f)
        op.__signature__ = inspect.signature(f)
        return op

    return wrap(fn) if fn is not None else wrap

