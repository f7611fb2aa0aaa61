"""Tensor ``repr`` formatting that reproduces PyTorch's output character for character.

Values arrive as a numpy array; everything else (layout, widths, summarization) is plain
Python so the text matches ``torch._tensor_str`` for the same values and print options.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import numpy

__all__ = ["format_tensor", "get_printoptions", "set_printoptions"]

FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change print options like ``torch.set_printoptions``.

    As in torch, ``sci_mode`` is always assigned, so any call without it resets it to None.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}; expected {list(_PROFILES)}")
        for name, value in _PROFILES[profile].items():
            setattr(_OPTS, name, value)
    given = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth)
    for name, value in given.items():
        if value is not None:
            setattr(_OPTS, name, value)
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Current options as a dict that can be passed back to ``set_printoptions``."""
    return dataclasses.asdict(_OPTS)


# ---------------------------------------------------------------------------------------------
# Element formatting
# ---------------------------------------------------------------------------------------------

Formatter = Callable[[Any], str]


def _int_formatter(flat: list) -> tuple[Formatter, int]:
    """Bools and integers are right-aligned to the widest ``str`` of any shown value."""
    width = max([1] + [len(str(v)) for v in flat])
    return (lambda v: str(v).rjust(width)), width


def _float_formatter(flat: list[float], opts: _PrintOptions) -> tuple[Formatter, int]:
    """Pick int / fixed / scientific style from the nonzero finite values, as torch does."""
    shown = [v for v in flat if v != 0 and math.isfinite(v)]
    int_mode, sci_mode, width = True, False, 1
    spec = f".{opts.precision}f"
    if shown:
        # Whole-number floats print as "3." so their dtype stays visible.
        int_mode = all(v == math.ceil(v) for v in shown)
        lo, hi = min(abs(v) for v in shown), max(abs(v) for v in shown)
        auto_sci = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        sci_mode = auto_sci if opts.sci_mode is None else opts.sci_mode
        if sci_mode:
            spec = f".{opts.precision}e"
            width = max(len(format(v, spec)) for v in shown)
        elif int_mode:
            width = max(len(format(v, ".0f")) + 1 for v in shown)
        else:
            width = max(len(format(v, spec)) for v in shown)

    def fmt(v: float) -> str:
        if sci_mode:
            text = format(v, f"{width}{spec}")
        elif int_mode:
            text = format(v, ".0f") + ("." if math.isfinite(v) else "")
        else:
            text = format(v, spec)
        return text.rjust(width)

    return fmt, width


# ---------------------------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------------------------


def _edge_values(values: numpy.ndarray, edge: int) -> numpy.ndarray:
    """Keep only the first and last ``edge`` entries along every axis that gets elided."""
    for axis, size in enumerate(values.shape):
        if size > 2 * edge:
            keep = list(range(edge)) + list(range(size - edge, size))
            values = values.take(keep, axis=axis)
    return values


def _row_str(row: list, size: int, indent: int, fmt: Formatter, width: int, summarize: bool) -> str:
    """One innermost dimension, wrapped so each line fits in ``linewidth``."""
    edge = _OPTS.edgeitems
    if summarize and not edge:
        items = ["..."]
    elif summarize and size > 2 * edge:
        # The summarized row holds exactly ``edge`` leading and ``edge`` trailing values.
        items = [fmt(v) for v in row[:edge]] + [" ..."] + [fmt(v) for v in row[edge:]]
    else:
        items = [fmt(v) for v in row]
    per_line = max(1, (_OPTS.linewidth - indent) // (width + 2))
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(
    data: Any, shape: tuple, indent: int, fmt: Formatter, width: int, summarize: bool
) -> str:
    """Recurse over the outer dimensions; ``shape`` is the unsummarized shape of ``data``."""
    if not shape:
        return fmt(data)
    if len(shape) == 1:
        return _row_str(data, shape[0], indent, fmt, width, summarize)
    edge = _OPTS.edgeitems
    parts = [_nested_str(sub, shape[1:], indent + 1, fmt, width, summarize) for sub in data]
    if summarize and shape[0] > 2 * edge:
        parts = parts[:edge] + ["..."] + parts[edge:]
    # Higher dimensions are separated by one blank line per extra level of nesting.
    separator = "," + "\n" * (len(shape) - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _body_str(values: numpy.ndarray, is_float: bool, indent: int) -> str:
    """The bracketed contents, summarized once the element count passes ``threshold``."""
    summarize = values.size > _OPTS.threshold
    shown = _edge_values(values, _OPTS.edgeitems) if summarize else values
    flat = shown.reshape(-1).tolist()
    fmt, width = _float_formatter(flat, _OPTS) if is_float else _int_formatter(flat)
    return _nested_str(shown.tolist(), values.shape, indent, fmt, width, summarize)


def _join_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append ``, key=value`` parts, moving one to a new line when it would pass linewidth."""
    # torch measures the last line two characters long; kept so wrapping matches exactly.
    line_len = len(text) - text.rfind("\n") + 1
    out = [text]
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            line_len += len(suffix) + 2
    return "".join(out) + ")"


# A callable giving extra suffixes for a tensor's repr (vt.autograd sets it to add
# "requires_grad=True" or "grad_fn=<...>"); None when no layer above vt-core is loaded.
tensor_suffixes = None


def format_tensor(
    values: numpy.ndarray,
    dtype_name: str,
    *,
    device: str = "cpu",
    prefix: str = "tensor(",
    dtype_prefix: str = "vt.",
    default_float: str = "float32",
    suffixes: list[str] | None = None,
) -> str:
    """Render a tensor the way ``repr(torch_tensor)`` does.

    ``values`` holds the tensor's values in its shape (16-bit floats may arrive widened to
    float32); ``suffixes`` such as ``"requires_grad=True"`` go after device and dtype.
    """
    indent = len(prefix)
    shape = tuple(values.shape)
    dtype_suffix = f"dtype={dtype_prefix}{dtype_name}"
    size_suffix = f"size={shape}"
    parts = [f"device='{device}'"] if device != "cpu" else []
    if values.size == 0:
        # Nothing to infer the dtype from, so only the default float dtype goes unstated.
        body = "[]"
        parts += [size_suffix] if len(shape) != 1 else []
        parts += [dtype_suffix] if dtype_name != default_float else []
    else:
        body = _body_str(values, dtype_name in FLOAT_DTYPES, indent)
        parts += [size_suffix] if not _OPTS.edgeitems else []
        parts += [dtype_suffix] if dtype_name not in (default_float, "int64", "bool") else []
    return _join_suffixes(prefix + body, parts + list(suffixes or []), indent)
