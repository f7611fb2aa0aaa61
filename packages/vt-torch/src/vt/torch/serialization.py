"""vt.torch.save / vt.torch.load: nested containers of tensors as one safetensors file.

The tensors are the file's tensors; the container around them (dicts, lists, tuples, numbers,
strings, None, dtypes, devices) is a JSON document in the file's metadata under
``vt.torch.structure``. Nothing is pickled, so loading a file runs no code from it: the JSON is
validated (known node kinds, tensor names that exist, bounded depth) before anything is built.
A flat ``{str: tensor}`` dict (a state_dict) keeps its keys as tensor names, so the file is also
an ordinary safetensors file for other tools. Tensors that are the same object, or views of the
same memory with the same layout (tied weights), are written once and load as one tensor.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from collections import OrderedDict
from typing import Any

import vt.core as _core
from vt.core import _C
from vt.core import safetensors as _safetensors
from vt.torch.nn.parameter import Parameter

STRUCTURE_KEY = "vt.torch.structure"
_FORMAT_VERSION = 1
_MAX_DEPTH = 200


class _Writer:
    def __init__(self) -> None:
        self.tensors: dict[str, _core.Tensor] = {}
        self._by_identity: dict[tuple, str] = {}

    def tensor_name(self, t: _core.Tensor, path: str) -> str:
        identity = (t.data_ptr(), tuple(t.shape), tuple(t.stride()), str(t.dtype)) if t.numel() else None
        if identity is not None and identity in self._by_identity:
            return self._by_identity[identity]
        name, n = path or "tensor", 1
        while name in self.tensors:
            name, n = f"{path}#{n}", n + 1
        self.tensors[name] = t.detach().contiguous()
        if identity is not None:
            self._by_identity[identity] = name
        return name

    def encode(self, obj: Any, path: str, where: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"vt.torch.save: containers nested deeper than {_MAX_DEPTH} levels at {where}")
        if isinstance(obj, _core.Tensor):
            if obj.device.type != "cpu":
                obj = obj.cpu()
            node = {"kind": "tensor", "name": self.tensor_name(obj, path)}
            if isinstance(obj, Parameter):
                node["parameter"] = True
            if obj.requires_grad:
                node["requires_grad"] = True
            return node
        if obj is None or isinstance(obj, (bool, str)):
            return {"kind": "value", "value": obj}
        if isinstance(obj, int):
            return {"kind": "int", "value": str(obj)}  # JSON readers may round big ints
        if isinstance(obj, float):
            return {"kind": "float", "value": repr(obj)}  # keeps inf/nan and every bit
        if isinstance(obj, _core.dtype):
            return {"kind": "dtype", "value": str(obj).rsplit(".", 1)[-1]}
        if isinstance(obj, _core.device):
            return {"kind": "device", "value": str(obj)}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, type(None))):
                    raise TypeError(f"vt.torch.save: dict keys must be str, int, float, bool or None; got "
                                    f"{type(k).__name__} at {where}")
                child = f"{path}.{k}" if path else str(k)
                items.append([self.encode(k, "", where, depth + 1), self.encode(v, child, f"{where}[{k!r}]", depth + 1)])
            kind = "ordered_dict" if isinstance(obj, OrderedDict) else "dict"
            return {"kind": kind, "items": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"kind": kind, "items": [self.encode(v, f"{path}.{i}" if path else str(i), f"{where}[{i}]", depth + 1)
                                            for i, v in enumerate(obj)]}
        raise TypeError(f"vt.torch.save stores tensors, numbers, strings, None, dtypes, devices and dicts/lists/"
                        f"tuples of them (no pickled objects); got {type(obj).__module__}.{type(obj).__name__} "
                        f"at {where}")


def save(obj: Any, f: str | os.PathLike | io.IOBase, pickle_module: Any = pickle, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Writes obj (a state_dict, or nested containers of tensors and plain values) to a path or a
    binary file object. Nothing is pickled: ``pickle_module`` must stay torch's default (the
    pickle module) and ``pickle_protocol`` goes unused; the file is always little-endian
    safetensors, with or without the zipfile and byte-order flags."""
    if pickle_module is not pickle:
        raise ValueError(f"vt.torch.save never pickles; pickle_module must be left at its default (the pickle "
                         f"module), got {getattr(pickle_module, '__name__', type(pickle_module).__name__)}")
    writer = _Writer()
    root = writer.encode(obj, "", "the saved object", 0)
    document = json.dumps({"version": _FORMAT_VERSION, "root": root}, separators=(",", ":"))
    metadata = {"format": "pt", STRUCTURE_KEY: document}
    if isinstance(f, (str, os.PathLike)):
        _safetensors.save_file(writer.tensors, f, metadata=metadata)
    elif hasattr(f, "write"):
        f.write(_safetensors.save(writer.tensors, metadata=metadata))
    else:
        raise TypeError(f"vt.torch.save: expected a path or a writable binary file, got {type(f).__name__}")


class _Reader:
    def __init__(self, tensors: dict[str, _core.Tensor], source: str) -> None:
        self.tensors = tensors
        self.source = source
        self.built: dict[tuple, _core.Tensor] = {}

    def bad(self, why: str) -> ValueError:
        return ValueError(f"vt.torch.load: {self.source} has a malformed structure: {why}")

    def decode(self, node: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.bad(f"nested deeper than {_MAX_DEPTH} levels")
        if not isinstance(node, dict) or not isinstance(node.get("kind"), str):
            raise self.bad(f"expected an object with a 'kind', got {type(node).__name__}")
        kind = node["kind"]
        if kind == "tensor":
            return self.tensor(node)
        if kind in ("value", "int", "float", "dtype", "device"):
            return self.scalar(kind, node.get("value"))
        if kind not in ("list", "tuple", "dict", "ordered_dict"):
            raise self.bad(f"unknown node kind {kind!r}")
        items = node.get("items")
        if not isinstance(items, list):
            raise self.bad(f"'{kind}' node without an items list")
        if kind in ("list", "tuple"):
            values = [self.decode(v, depth + 1) for v in items]
            return values if kind == "list" else tuple(values)
        out = OrderedDict() if kind == "ordered_dict" else {}
        for pair in items:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.bad("dict items must be [key, value] pairs")
            key = self.decode(pair[0], depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise self.bad(f"dict key of type {type(key).__name__}")
            out[key] = self.decode(pair[1], depth + 1)
        return out

    def scalar(self, kind: str, value: Any) -> Any:
        try:
            if kind == "value":
                if value is None or isinstance(value, (bool, str)):
                    return value
            elif kind == "int" and isinstance(value, str):
                return int(value)
            elif kind == "float" and isinstance(value, str):
                return float(value)
            elif kind == "dtype" and isinstance(value, str):
                found = getattr(_core, value, None) if value.isidentifier() else None
                if isinstance(found, _core.dtype):
                    return found
                raise ValueError("not a vt dtype")
            elif kind == "device" and isinstance(value, str):
                return _core.device(value)
        except (ValueError, TypeError, RuntimeError) as e:
            raise self.bad(f"{kind} value {value!r}: {e}") from None
        raise self.bad(f"{kind} node with a value of type {type(value).__name__}")

    def tensor(self, node: dict) -> _core.Tensor:
        name = node.get("name")
        if not isinstance(name, str) or name not in self.tensors:
            raise self.bad(f"reference to a tensor {name!r} the file does not contain")
        flags = (name, bool(node.get("parameter")), bool(node.get("requires_grad")))
        if flags not in self.built:
            t = self.tensors[name]
            if flags[1]:
                t = Parameter(t, requires_grad=flags[2])
            elif flags[2]:
                t = t.detach().requires_grad_()
            self.built[flags] = t
        return self.built[flags]


def _read(f: Any) -> tuple[dict, dict | None, str]:
    if isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(source, "rb") as fh:
            head = fh.read(8)
        _refuse_torch_archive(head, source)
        with _safetensors.safe_open(source, framework="vt") as opened:
            metadata = opened.metadata()
            tensors = {name: opened.get_tensor(name) for name in opened.keys()}
        return tensors, metadata, source
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"vt.torch.load: the file object returned {type(data).__name__}, expected bytes "
                            "(open the file in binary mode)")
        _refuse_torch_archive(data[:8], "the file object")
        opened = _C._safetensors_open_bytes(data)
        return {name: opened.get_tensor(name) for name in opened.keys()}, opened.metadata(), "the file object"
    raise TypeError(f"vt.torch.load: expected a path or a readable binary file, got {type(f).__name__}")


def _refuse_torch_archive(head: bytes, source: str) -> None:
    if head[:4] == b"PK\x03\x04" or head[:2] == b"\x80\x02":
        raise RuntimeError(f"vt.torch.load: {source} is a PyTorch pickle/zip archive; vt reads only files written by "
                           "vt.torch.save or safetensors files (pickles can run arbitrary code). In PyTorch, "
                           "re-save it with safetensors.torch.save_file(state_dict, path).")


def load(f: str | os.PathLike | io.IOBase, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Reads what save() wrote; a plain safetensors file loads as its dict of tensors.

    ``map_location`` may name the CPU (the only device tensors load to here); ``weights_only``
    and ``mmap`` are accepted for torch's signature: loading never runs code, and CPU tensors
    view a private mapping of the file.
    """
    if pickle_module is not None or pickle_load_args:
        raise ValueError("vt.torch.load never unpickles; pickle_module and pickle arguments are not supported")
    device = None
    if map_location is not None:
        if callable(map_location) or isinstance(map_location, dict):
            raise NotImplementedError("vt.torch.load: map_location as a function or dict is not supported; "
                                      "pass a device")
        device = _core.device(map_location) if isinstance(map_location, str) else map_location
    tensors, metadata, source = _read(f)
    if device is not None and device.type != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    document = (metadata or {}).get(STRUCTURE_KEY)
    if document is None:
        return tensors
    try:
        parsed = json.loads(document)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"vt.torch.load: {source} has a structure that is not valid JSON: {e}") from None
    reader = _Reader(tensors, source)
    if not isinstance(parsed, dict) or parsed.get("version") != _FORMAT_VERSION or "root" not in parsed:
        raise reader.bad(f"expected version {_FORMAT_VERSION} with a root")
    return reader.decode(parsed["root"], 0)
