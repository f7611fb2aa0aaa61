"""What the torch-parity tools compare: the torch modules vt.torch mirrors, which of their names
count as torch's own API, the kind of each name (class, function, property) and the call
signatures of both sides, read from Python, from nanobind's recorded signatures or from op
schemas (aten's for torch builtins, vt's for vt ops)."""

from __future__ import annotations

import ast
import importlib
import inspect
import keyword
import pathlib
from typing import NamedTuple

# manifest section -> the module path under torch / vt.torch ("" is the package itself)
MODULES = {
    "torch": "",
    "torch.nn": "nn",
    "torch.nn.functional": "nn.functional",
    "torch.nn.init": "nn.init",
    "torch.optim": "optim",
    "torch.optim.lr_scheduler": "optim.lr_scheduler",
    "torch.utils.data": "utils.data",
    "torch.testing": "testing",
    "torch.autograd": "autograd",
    "torch.cuda": "cuda",
    "torch.library": "library",
}
TENSOR_SECTION = "torch.Tensor"
SECTIONS = (*MODULES, TENSOR_SECTION)


def import_side(root: str, section: str):
    """The module (or, for torch.Tensor, the class) of one section on one side ("torch"/"vt.torch")."""
    if section == TENSOR_SECTION:
        return importlib.import_module(root).Tensor
    sub = MODULES[section]
    return importlib.import_module(f"{root}.{sub}" if sub else root)


def static_attribute(cls, name: str):
    for klass in inspect.getmro(cls):
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def kind_of(owner, name: str, *, is_class_member: bool) -> str | None:
    """'class', 'function' or 'property'; None for constants, modules and other values."""
    if is_class_member:
        raw = static_attribute(owner, name)
        if raw is None:
            return None
        if isinstance(raw, property) or inspect.isdatadescriptor(raw) or type(raw).__name__ in (
                "getset_descriptor", "member_descriptor"):
            return "property"
        return "function" if callable(raw) or isinstance(raw, (staticmethod, classmethod)) else None
    value = getattr(owner, name, None)
    if inspect.ismodule(value):
        return None
    if isinstance(value, type):
        return "class"
    return "function" if callable(value) else None


def is_torch_api(section: str, name: str, value) -> bool:
    """Whether a name torch exposes in a section belongs to torch's API there (and is not, say,
    typing.Any imported into torch.cuda or torch.Tensor re-exported by torch.nn.functional)."""
    if name.startswith("_"):
        return False
    if section == TENSOR_SECTION:
        return True
    home = getattr(value, "__module__", None) or ""
    if type(value).__name__ == "builtin_function_or_method":
        return home.startswith("torch")
    return home.startswith(section) or (section == "torch" and home.startswith("torch."))


def torch_surface(section: str) -> dict[str, str]:
    """{name: kind} of torch's own classes, functions and (for Tensor) properties in a section."""
    owner = import_side("torch", section)
    member = section == TENSOR_SECTION
    found = {}
    for name in dir(owner):
        kind = kind_of(owner, name, is_class_member=member)
        if kind and is_torch_api(section, name, getattr(owner, name, None)):
            found[name] = kind
    return found


# --- signatures -------------------------------------------------------------------------------

class Param(NamedTuple):
    name: str
    kind: inspect._ParameterKind
    default: object  # inspect.Parameter.empty when required


class Sig(NamedTuple):
    params: tuple[Param, ...]
    source: str  # "python", "nanobind", "aten schema", "vt schema"

    def named(self) -> dict[str, tuple[int, Param]]:
        return {p.name: (i, p) for i, p in enumerate(self.params)}

    def has(self, kind) -> bool:
        return any(p.kind == kind for p in self.params)


EMPTY = inspect.Parameter.empty
P = inspect.Parameter


def _from_inspect(signature: inspect.Signature, source: str, drop_self: bool) -> Sig:
    params = [Param(p.name, p.kind, p.default) for p in signature.parameters.values()]
    if drop_self and params and params[0].name == "self":
        params = params[1:]
    return Sig(tuple(params), source)


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _nanobind_sigs(obj, drop_self: bool) -> list[Sig]:
    """Signatures nanobind records for a native function: 'def f(a: T, *, b: U = \\0) -> R' with
    the default values in a separate tuple."""
    sigs = []
    for text, _doc, defaults in getattr(obj, "__nb_signature__", ()):
        head = text.rpartition(" -> ")[0] or text
        sig = _parse_params(head[head.index("(") + 1:head.rindex(")")], "nanobind")
        params = [p._replace(default=defaults[int(p.default[1:])])
                  if isinstance(p.default, ConstantName) and p.default.startswith("\\") and defaults else p
                  for p in sig.params]
        if drop_self and params and params[0].name == "self":
            params = params[1:]
        sigs.append(Sig(tuple(params), "nanobind"))
    return sigs


def _schema_default(text: str | None):
    if text is None:
        return EMPTY
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _schema_sigs(schemas, *, self_name: str | None, source: str) -> list[Sig]:
    """Python-level signatures from op schemas, leaving out out= and named-dimension overloads;
    `self` becomes `input` for module functions and is dropped for methods (self_name None)."""
    sigs = []
    for overload, arguments in schemas:
        if overload == "out" or overload.endswith("_out") or any("Dimname" in a[3] for a in arguments):
            continue
        params = []
        for name, kwarg_only, default, _type in arguments:
            if name == "self":
                if self_name is None:
                    continue
                name = self_name
            if name != "out":
                params.append(Param(name, P.KEYWORD_ONLY if kwarg_only else P.POSITIONAL_OR_KEYWORD, default))
        sigs.append(Sig(tuple(params), f"{source} {overload or 'default'}"))
    return sigs


def aten_sigs(name: str, *, method: bool) -> list[Sig]:
    import torch

    try:
        found = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
    except RuntimeError:
        return []
    schemas = []
    for s in found:
        arguments = [(a.name, a.kwarg_only, a.default_value if a.has_default_value() else EMPTY, str(a.type))
                     for a in s.arguments]
        schemas.append((s.overload_name, arguments))
    return _schema_sigs(schemas, self_name=None if method else "input", source="aten schema")


_vt_schema_cache: dict[str, list] = {}


def vt_schema_sigs(name: str, *, method: bool) -> list[Sig]:
    import vt.core
    from vt.torch._library_schema import Schema

    if not _vt_schema_cache:
        for text in vt.core._C._op_schemas():
            schema = Schema(text)
            if schema.namespace == "vt":
                arguments = [(a.name, a.kwarg_only, _schema_default(a.default), a.type) for a in schema.arguments]
                _vt_schema_cache.setdefault(schema.name, []).append((schema.overload, arguments))
    return _schema_sigs(_vt_schema_cache.get(name, []), self_name=None if method else "input", source="vt schema")


def _parse_params(body: str, source: str) -> Sig:
    """A Sig from a parameter list written as in torch's docs: 'input, *, alpha=1, out=None'."""
    params, kind = [], P.POSITIONAL_OR_KEYWORD
    for part in _split_top_level(body.replace("\\*", "*")):
        if part == "*":
            kind = P.KEYWORD_ONLY
            continue
        if part == "/":
            params = [p._replace(kind=P.POSITIONAL_ONLY) for p in params]
            continue
        declaration, has_default, default_text = part.partition("=")
        name = declaration.split(":")[0].strip()
        if name.startswith("**"):
            params.append(Param(name[2:], P.VAR_KEYWORD, EMPTY))
        elif name.startswith("*"):
            params.append(Param(name[1:], P.VAR_POSITIONAL, EMPTY))
            kind = P.KEYWORD_ONLY
        else:
            params.append(Param(name, kind, _literal(default_text.strip()) if has_default else EMPTY))
    return Sig(tuple(params), source)


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return ConstantName(text)


class ConstantName(str):
    """A default written as a name (torch.strided, torch.preserve_format), not a literal."""


class _AnyDefault:
    """A stub default written as `...`: torch has a default but does not say which."""

    def __repr__(self) -> str:
        return "..."


ANY_DEFAULT = _AnyDefault()
_stub_index: dict[str, dict[str, list[Sig]]] = {}


def _stub_default(node):
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return ANY_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ConstantName(ast.unparse(node))


def _keyword_name(name: str) -> str:
    """Stubs spell parameters named after Python keywords with a trailing underscore (from_)."""
    return name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name


def _stub_functions(body, source: str) -> dict[str, list[Sig]]:
    found: dict[str, list[Sig]] = {}
    for node in body:
        if not isinstance(node, ast.FunctionDef):
            continue
        a = node.args
        positional = [*a.posonlyargs, *a.args]
        defaults = [EMPTY] * (len(positional) - len(a.defaults)) + [_stub_default(d) for d in a.defaults]
        params = [Param(_keyword_name(arg.arg), P.POSITIONAL_ONLY if arg in a.posonlyargs else
                        P.POSITIONAL_OR_KEYWORD, d) for arg, d in zip(positional, defaults)]
        if a.vararg:
            params.append(Param(a.vararg.arg, P.VAR_POSITIONAL, EMPTY))
        params += [Param(_keyword_name(arg.arg), P.KEYWORD_ONLY, EMPTY if d is None else _stub_default(d))
                   for arg, d in zip(a.kwonlyargs, a.kw_defaults)]
        if a.kwarg:
            params.append(Param(a.kwarg.arg, P.VAR_KEYWORD, EMPTY))
        found.setdefault(node.name, []).append(Sig(tuple(params), source))
    return found


# Builtins whose stubs disagree with what torch's argument parser accepts (each one is
# exercised against torch in tests/test_api_parity.py).
STUB_CORRECTIONS = {
    ("torch", "tensor"): "data, *, dtype=None, device=None, requires_grad=False, pin_memory=False",
    ("torch", "numel"): "input",
    ("torch", "set_num_threads"): "num, /",
    ("torch", "from_numpy"): "ndarray, /",
    ("torch", "binary_cross_entropy_with_logits"): "input, target, weight=None, pos_weight=None, reduction=0",
    ("torch.Tensor", "requires_grad_"): "requires_grad=True",
    ("torch.Tensor", "contiguous"): "*, memory_format=torch.contiguous_format",
    ("torch.Tensor", "is_contiguous"): "*, memory_format=torch.contiguous_format",
    ("torch.Tensor", "cpu"): "*, memory_format=torch.preserve_format",
    ("torch.Tensor", "new_tensor"): "data, *, dtype=None, device=None, requires_grad=False",
}


def stub_sigs(obj, name: str, *, method: bool, section: str = "") -> list[Sig]:
    """The signatures torch's type stubs give a builtin: they are generated from the same
    declarations as its argument parser, one @overload per accepted form."""
    import torch

    if not _stub_index:
        root = pathlib.Path(torch.__file__).parent
        for key, path in (("functions", "_C/_VariableFunctions.pyi"), ("nn", "_C/_nn.pyi"),
                          ("functional", "nn/functional.pyi"), ("tensor", "_C/__init__.pyi")):
            try:
                tree = ast.parse((root / path).read_text())
            except OSError:
                continue
            if key == "tensor":
                body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TensorBase"), [])
            else:
                body = tree.body
            _stub_index[key] = _stub_functions(body, "torch stubs")
    if (section, name) in STUB_CORRECTIONS:
        return [_parse_params(STUB_CORRECTIONS[section, name], "torch stubs, corrected")]
    if method:
        sigs = _stub_index.get("tensor", {}).get(name, [])
        return [Sig(s.params[1:], s.source) if s.params and s.params[0].name == "self" else s for s in sigs]
    home = getattr(obj, "__module__", "") or ""
    order = ("nn", "functions", "functional") if home.endswith("_nn") else ("functions", "nn", "functional")
    for key in order:
        if name in _stub_index.get(key, {}):
            return _stub_index[key][name]
    return []


def _python_sig(obj, drop_self: bool) -> Sig | None:
    try:
        return _from_inspect(inspect.signature(obj, follow_wrapped=False), "python", drop_self)
    except (TypeError, ValueError):
        return None


def is_catch_all(sig: Sig) -> bool:
    """(*args, **kwargs): a signature that says nothing about what is accepted."""
    return bool(sig.params) and all(p.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD) for p in sig.params)


def signatures(obj, *, name: str, method: bool, side: str, section: str = "") -> list[Sig]:
    """Every readable signature of a callable (of a class: its constructor's); empty when none
    can be read. A Python wrapper taking (*args, **kwargs) plus keywords of its own around a
    native function reads as the native signatures extended by the wrapper's keywords."""
    is_class = isinstance(obj, type)
    sig = _python_sig(obj, drop_self=method)
    if sig is not None and (side == "torch" or not is_catch_all(sig)):
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and sig.has(P.VAR_POSITIONAL) and sig.has(P.VAR_KEYWORD):
            inner = _nanobind_sigs(wrapped, method) or [s for s in [_python_sig(wrapped, method)] if s]
            own = tuple(p for p in sig.params if p.kind == P.KEYWORD_ONLY)
            merged = [Sig(s.params + own, s.source + " + wrapper") for s in inner]
            return merged or [sig]
        return [sig]
    native = _nanobind_sigs(obj.__init__ if is_class else obj, drop_self=method or is_class)
    if native and not all(is_catch_all(s) for s in native):
        return native
    if side == "torch":
        found = [] if is_class else stub_sigs(obj, name, method=method, section=section) or aten_sigs(name, method=method)
    else:
        found = [] if is_class else vt_schema_sigs(name, method=method)
    # Nothing better known: a (*args, **kwargs) signature still matches torch's own catch-all.
    return found or native or ([sig] if sig is not None else [])
