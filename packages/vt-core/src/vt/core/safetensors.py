"""safetensors files for vt tensors, with the API of the ``safetensors`` package.

    from vt.core import safetensors
    safetensors.save_file({"w": w, "b": b}, "model.safetensors", metadata={"step": "10"})
    tensors = safetensors.load_file("model.safetensors")
    with safetensors.safe_open("model.safetensors", framework="vt") as f:
        part = f.get_slice("w")[:, :128]

Reading: the whole header is parsed and validated before any tensor is returned (files are
treated as hostile: a malformed file raises ``ValueError`` naming the problem, never reads
outside the file). The file is memory-mapped privately: a tensor views the mapping without
copying and keeps it alive; writing to a tensor changes only this process's copy of the page,
never the file. Tensors whose data is misaligned for their dtype (a header whose length is not a
multiple of 8, which the reference writer never produces) are copied.

Writing: the bytes equal those of ``safetensors.torch.save`` / ``safetensors.numpy.save`` for
the same tensors (tensors ordered by dtype, widest first, then by name; compact JSON; the header
padded with spaces to a multiple of 8 bytes). Metadata keys are written sorted; the reference
writes them in hash-map order, so files with two or more metadata entries are equal to the
reference's only up to that order.

``framework`` of ``safe_open`` picks what ``get_tensor`` and slices return: ``"vt"`` (vt
tensors), ``"numpy"`` or ``"np"`` (numpy arrays sharing the memory; bfloat16 has no numpy dtype),
``"pt"`` or ``"torch"`` (torch tensors sharing the memory through DLPack).

Supported dtypes: BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64. Files with other dtypes
raise ``ValueError`` naming the dtype.
"""

from __future__ import annotations

import os
from typing import Any

from vt.core import _C

__all__ = ["load", "load_file", "safe_open", "save", "save_file"]

_FRAMEWORKS = ("vt", "numpy", "np", "pt", "torch")


def _pairs(tensors: dict, metadata: dict | None) -> tuple[list, list | None]:
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors: expected a dict of tensors, got {type(tensors).__name__}")
    pairs = []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor names must be str, got {type(name).__name__}")
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"safetensors: '{name}' is a {type(t).__name__}, not a vt Tensor "
                            "(convert it with vt.core.from_dlpack)")
        pairs.append((name, t))
    if metadata is None:
        return pairs, None
    if not isinstance(metadata, dict):
        raise TypeError(f"safetensors: metadata must be a dict of str, got {type(metadata).__name__}")
    items = []
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"safetensors: metadata keys and values must be str, got "
                            f"{type(k).__name__}: {type(v).__name__}")
        items.append((k, v))
    return pairs, items


def save(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of a dict of vt tensors and optional str -> str metadata."""
    pairs, items = _pairs(tensors, metadata)
    return _C._safetensors_serialize(pairs, items)


def save_file(tensors: dict[str, Any], filename: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Writes a dict of vt tensors (and optional str -> str metadata) to filename."""
    pairs, items = _pairs(tensors, metadata)
    with open(filename, "wb") as f:
        _C._safetensors_write_fd(f.fileno(), pairs, items)


def _convert(t, framework: str, device):
    if device is not None and str(device) != "cpu":
        t = t.to(device)
    if framework in ("numpy", "np"):
        return t.numpy()
    if framework in ("pt", "torch"):
        import torch

        return torch.from_dlpack(t)
    return t


class _Slice:
    """A tensor of an opened file, read only when indexed (get_slice)."""

    def __init__(self, owner: safe_open, name: str):
        self._owner, self._name = owner, name
        self._code, self._dtype, self._shape = owner._file().info(name)

    def get_shape(self) -> list[int]:
        return list(self._shape)

    def get_dtype(self) -> str:
        return self._code

    def __getitem__(self, index):
        # The tensor views the mapping, so only the pages the index touches are ever read.
        view = self._owner._file().get_tensor(self._name)[index]
        return _convert(view, self._owner._framework, self._owner._device)


class safe_open:
    """Opens a safetensors file lazily: the header is validated now, tensors are read on demand.

    Use as a context manager; ``keys()``, ``offset_keys()``, ``metadata()``, ``get_tensor(name)``
    and ``get_slice(name)[index]`` mirror the safetensors package.
    """

    def __init__(self, filename: str | os.PathLike, framework: str = "vt", device: Any = "cpu"):
        if framework not in _FRAMEWORKS:
            raise ValueError(f"safe_open: framework must be one of {', '.join(_FRAMEWORKS)}; got {framework!r}")
        self._framework, self._device = framework, device
        with open(filename, "rb") as f:
            self._handle = _C._safetensors_open_fd(f.fileno())

    def _file(self):
        if self._handle is None:
            raise RuntimeError("safe_open: the file is closed")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Releases the file; tensors already returned stay valid."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def keys(self) -> list[str]:
        """Tensor names, sorted."""
        return self._file().keys()

    def offset_keys(self) -> list[str]:
        """Tensor names in the order their data appears in the file."""
        return self._file().offset_keys()

    def metadata(self) -> dict[str, str] | None:
        """The ``__metadata__`` strings, or None when the file has none."""
        return self._file().metadata()

    def get_tensor(self, name: str):
        """The whole tensor (KeyError when the file has no tensor of that name)."""
        return _convert(self._file().get_tensor(name), self._framework, self._device)

    def get_slice(self, name: str) -> _Slice:
        """A lazy handle: ``get_slice(name)[0, 2:8]`` reads only that part."""
        return _Slice(self, name)


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Any]:
    """Every tensor of a file, by name (sorted); on the CPU they view the file's mapping."""
    with safe_open(filename, framework="vt", device=device) as f:
        names = f.keys()
        return {name: f.get_tensor(name) for name in names}


def load(data: bytes) -> dict[str, Any]:
    """Every tensor of serialized safetensors bytes, by name (sorted); the tensors own a copy."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"safetensors.load: expected bytes, got {type(data).__name__}")
    handle = _C._safetensors_open_bytes(data)
    names = handle.keys()
    return {name: handle.get_tensor(name) for name in names}
