"""Op schemas for vt.torch.library: reading the parts a Python kernel needs (argument names,
keyword-only split, which arguments are tensors or tensor lists, mutation) and inferring a
schema from a function's type annotations, as torch.library.infer_schema does."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Sequence as _AbcSequence

import vt.core as _core

_NAME = re.compile(r"^\s*(?:(\w+)::)?(\w+)(?:\.(\w+))?\s*\(")


class Argument(typing.NamedTuple):
    name: str
    type: str  # as written, without alias annotation, e.g. "Tensor", "Tensor[]", "int?"
    kwarg_only: bool
    mutates: bool
    default: str | None = None  # the default as written, None when there is none

    @property
    def is_tensor(self) -> bool:
        return self.type in ("Tensor", "Tensor?")

    @property
    def is_tensor_list(self) -> bool:
        return self.type.startswith("Tensor[")


class Schema:
    """The parts of an op schema that the Python side uses; vt.core validates the whole text."""

    def __init__(self, text: str):
        match = _NAME.match(text)
        if not match or "->" not in text:
            raise RuntimeError(f"invalid op schema '{text}': expected 'name(args) -> returns'")
        self.text = text.strip()
        self.namespace, self.name, self.overload = match.group(1), match.group(2), match.group(3) or ""
        body, returns = _split_returns(text[match.end() - 1:])
        self.arguments = _parse_arguments(body)
        self.returns = returns.strip()

    @property
    def is_mutable(self) -> bool:
        return any(a.mutates for a in self.arguments)

    @property
    def returns_list(self) -> bool:
        return self.returns.startswith("Tensor[")

    def split(self, args: tuple) -> tuple[tuple, dict]:
        """Positional and keyword arguments for a kernel, from the dispatcher's all-positional call."""
        positional = tuple(v for v, a in zip(args, self.arguments) if not a.kwarg_only)
        keywords = {a.name: v for v, a in zip(args, self.arguments) if a.kwarg_only}
        return positional, keywords


def _split_returns(text: str) -> tuple[str, str]:
    depth = 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if depth == 0:
            rest = text[i + 1:].strip()
            if not rest.startswith("->"):
                raise RuntimeError(f"invalid op schema '{text}': expected '->' after the arguments")
            return text[1:i], rest[2:]
    raise RuntimeError(f"invalid op schema '{text}': unbalanced parentheses")


def _top_level_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _parse_arguments(body: str) -> list[Argument]:
    arguments, kwarg_only = [], False
    for part in _top_level_commas(body):
        if part == "*":
            kwarg_only = True
            continue
        declaration, has_default, default = part.partition("=")
        type_text, _, name = declaration.strip().rpartition(" ")
        mutates = "!" in type_text
        type_text = re.sub(r"\([^)]*\)", "", type_text).strip()
        arguments.append(Argument(name, type_text, kwarg_only, mutates, default.strip() if has_default else None))
    return arguments


# Python annotations -> schema types vt's dispatcher can box (lists of Tensor and int only).
def _base_type(annotation) -> str | None:
    if annotation is _core.Tensor or (isinstance(annotation, type) and issubclass(annotation, _core.Tensor)):
        return "Tensor"
    return {int: "SymInt", float: "float", bool: "bool", str: "str",
            _core.dtype: "ScalarType", _core.device: "Device"}.get(annotation)


def _is_number_union(members: tuple) -> bool:
    return set(members) == {int, float, bool}


def _schema_type(annotation) -> str | None:
    origin, members = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if type(None) in members:
            rest = tuple(m for m in members if m is not type(None))
            inner = _schema_type(rest[0] if len(rest) == 1 else typing.Union[rest])  # noqa: UP007
            return None if inner is None or inner.endswith("?") else inner + "?"
        return "Scalar" if _is_number_union(members) else None
    if origin in (list, _AbcSequence) and len(members) == 1:
        inner = _base_type(members[0])
        return inner + "[]" if inner in ("Tensor", "SymInt") else None
    return _base_type(annotation)


def _return_type(annotation) -> str | None:
    if annotation is None or annotation is type(None):
        return "()"
    origin, members = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple and members and all(_base_type(m) == "Tensor" for m in members):
        return "(" + ", ".join("Tensor" for _ in members) + ")"
    if origin in (list, _AbcSequence) and members and _base_type(members[0]) == "Tensor":
        return "Tensor[]"
    return "Tensor" if _base_type(annotation) == "Tensor" else None


def _default_text(value) -> str | None:
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str) and '"' not in value:
        return f'"{value}"'
    return None


def infer_schema(prototype_function, /, *, mutates_args, op_name: str | None = None, tags=()) -> str:
    """The schema of a function from its type annotations, e.g. "(Tensor x, float k=2.0) -> Tensor".

    mutates_args names the arguments the function writes in place ("unknown" for all tensors).
    vt ops carry no tags, so tags only keeps torch's calls working.
    """
    signature = inspect.signature(prototype_function)
    try:
        hints = typing.get_type_hints(prototype_function)
    except NameError as missing:  # a string annotation naming something out of scope
        raise ValueError(f"infer_schema(func): an annotation cannot be resolved ({missing}). Got func with "
                         f"signature {signature})") from None

    def error(what: str):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {signature})")

    if isinstance(mutates_args, str) and mutates_args != "unknown":
        raise ValueError("mutates_args must be a sequence of argument names or the string 'unknown'")
    mutated = set() if mutates_args == "unknown" else set(mutates_args)
    parts, seen_kwarg_only, alias = [], False, 0
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            error(f"We don't support varargs or varkwargs (parameter {name}).")
        if name not in hints:
            error(f"Parameter {name} must have a type annotation.")
        schema_type = _schema_type(hints[name])
        if schema_type is None:
            error(f"Parameter {name} has unsupported type {hints[name]}; vt op schemas take Tensor, int, "
                  "float, bool, str, Scalar (int | float | bool), dtype, device, lists of Tensor or int, "
                  "and Optional of these.")
        if param.kind == param.KEYWORD_ONLY and not seen_kwarg_only:
            parts.append("*")
            seen_kwarg_only = True
        writes = (mutates_args == "unknown" and schema_type.startswith("Tensor")) or name in mutated
        if writes:
            if not schema_type.startswith("Tensor"):
                error(f"Parameter {name} is in mutates_args but is not a Tensor.")
            optional = "?" if schema_type.endswith("?") else ""
            base = schema_type.rstrip("?")
            schema_type = f"{base}(a{alias}!){optional}"
            alias += 1
        text = f"{schema_type} {name}"
        if param.default is not inspect.Parameter.empty:
            default = _default_text(param.default)
            if default is None:
                error(f"Parameter {name} has a default value {param.default!r} that op schemas cannot hold.")
            text += f"={default}"
        parts.append(text)
    unknown = mutated - set(signature.parameters)
    if unknown:
        error(f"{unknown} in mutates_args were not found in the custom op's signature. mutates_args should "
              "contain the names of all args that the custom op mutates, or just the string 'unknown' if "
              "you don't know.")
    returns = _return_type(hints.get("return", inspect.Signature.empty))
    if returns is None:
        error(f"Return has unsupported type {hints.get('return')}; vt op schemas return a Tensor, a tuple "
              "of Tensors, a list of Tensors or None.")
    return f"{op_name or ''}({', '.join(parts)}) -> {returns}"
