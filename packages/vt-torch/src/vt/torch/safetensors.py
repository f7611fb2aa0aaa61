"""vt.torch.safetensors: the ``safetensors.torch`` API for vt tensors.

    from vt.torch.safetensors import save_file, load_file, save_model, load_model

Reading and writing are vt.core's (hostile-input checks, private memory mapping, bytes equal to
the reference writer); this module adds safetensors.torch's rules on top: tensors that share
memory are refused by save/save_file (save_model writes one of each shared group instead), and
non-contiguous tensors are refused unless ``force_contiguous`` is given to save_model.
"""

from __future__ import annotations

import os
from typing import Any

import vt.core as _core
from vt.core.safetensors import safe_open  # noqa: F401  (same class, framework="pt" gives torch tensors)
from vt.core.safetensors import load as _load
from vt.core.safetensors import load_file as _load_file
from vt.core.safetensors import save as _save
from vt.core.safetensors import save_file as _save_file

__all__ = ["load", "load_file", "load_model", "safe_open", "save", "save_file", "save_model"]


def _memory_span(t: _core.Tensor) -> tuple[int, int]:
    start = t.data_ptr()
    return start, start + t.numel() * t.element_size()


def _shared_groups(tensors: dict[str, _core.Tensor]) -> list[list[str]]:
    """Names whose memory overlaps, grouped in the dict's order; each group has two or more."""
    spans = sorted((*_memory_span(t), name) for name, t in tensors.items() if t.numel())
    groups, current, end = [], [], -1
    for start, stop, name in spans:
        if current and start < end:
            current.append(name)
            end = max(end, stop)
        else:
            if len(current) > 1:
                groups.append(current)
            current, end = [name], stop
    if len(current) > 1:
        groups.append(current)
    order = {name: i for i, name in enumerate(tensors)}
    return [sorted(g, key=order.__getitem__) for g in groups]


def _check(tensors: dict[str, Any]) -> None:
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors: expected a dict of tensors, got {type(tensors).__name__}")
    for name, t in tensors.items():
        if isinstance(t, _core.Tensor) and not t.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{name}` which is not allowed. "
                             "It either means you are trying to save tensors which are reference of each other in "
                             "which case it's recommended to save only the full tensors, and reslice at load time, "
                             "or simply call `.contiguous()` on your tensor to pack it before saving.")
    shared = _shared_groups({k: v for k, v in tensors.items() if isinstance(v, _core.Tensor)})
    if shared:
        raise RuntimeError(f"Some tensors share memory, this will lead to duplicate memory on disk and potential "
                           f"differences when loading them again: {shared}. A potential way to correctly save your "
                           "model is to use `save_model`.")


def _detached(tensors: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.detach() if isinstance(v, _core.Tensor) else v) for k, v in tensors.items()}


def save(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of a dict of contiguous, non-overlapping tensors."""
    _check(tensors)
    return _save(_detached(tensors), metadata)


def save_file(tensors: dict[str, Any], filename: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Writes a dict of contiguous, non-overlapping tensors to filename."""
    _check(tensors)
    _save_file(_detached(tensors), filename, metadata)


def load(data: bytes) -> dict[str, Any]:
    return _load(data)


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    return _load_file(filename, device=device)


def save_model(model, filename: str | os.PathLike, metadata: dict[str, str] | None = None,
               force_contiguous: bool = False) -> None:
    """Writes model.state_dict(), keeping the first name (in state_dict order) of each group of
    tensors that share memory (tied weights); load_model restores the others from it."""
    state = model.state_dict()
    for group in _shared_groups(state):
        for name in group[1:]:
            del state[name]
    if force_contiguous:
        state = {k: v.contiguous() for k, v in state.items()}
    metadata = dict(metadata or {})
    metadata.setdefault("format", "pt")
    save_file(state, filename, metadata)


def load_model(model, filename: str | os.PathLike, strict: bool = True,
               device: Any = "cpu") -> tuple[list[str], list[str]]:
    """Loads a save_model file into model; returns (missing, unexpected) names, where names that
    share memory with a loaded tensor in the model do not count as missing."""
    state = load_file(filename, device=device)
    model_state = model.state_dict()
    covered = set(state)
    for group in _shared_groups(model_state):
        if covered.intersection(group):
            covered.update(group)
    missing = sorted(set(model_state) - covered)
    unexpected = sorted(set(state) - set(model_state))
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append("Missing key(s): " + ", ".join(f'"{k}"' for k in missing) + ".")
        if unexpected:
            parts.append("Unexpected key(s): " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        raise RuntimeError(f"Error(s) in loading state_dict for {type(model).__name__}:\n\t" + "\n\t".join(parts))
    model.load_state_dict(state, strict=False)
    return missing, unexpected
