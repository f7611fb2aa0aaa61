"""Turning a list of samples into a batch (`default_collate`) or converting one sample
(`default_convert`, used when auto-batching is off), with torch's type rules:

tensors are stacked; numpy arrays and scalars become tensors of their own dtype; Python floats
become float64, ints int64 and bools bool; strings and bytes stay a list; mappings, namedtuples
and sequences are collated field by field. `default_collate_fn_map` may be extended per type.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np
import vt.core as _core

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# numpy dtype kinds that do not make tensors: bytes, unicode, void and object arrays.
_NOT_NUMERIC = re.compile(r"[SaUO]")

_ERR_FORMAT = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _from_numpy(value) -> _core.Tensor:
    # from_dlpack shares the array's memory (as torch.as_tensor does) and refuses unsupported dtypes.
    return _core.from_dlpack(np.asarray(value))


def _is_numpy_numeric(value) -> bool:
    kind = type(value)
    if kind.__module__ != "numpy" or kind.__name__ in ("str_", "bytes_", "string_"):
        return False
    return not (isinstance(value, np.ndarray) and _NOT_NUMERIC.search(value.dtype.str))


def default_convert(data):
    """Numpy arrays and scalars inside `data` become tensors; containers are rebuilt around them."""
    if isinstance(data, _core.Tensor):
        return data
    if _is_numpy_numeric(data):
        return _from_numpy(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # torch turns tuples into lists here
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, values: dict):
    """`values` in the container type of `like` where that type can be rebuilt, else a dict."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)  # keeps subclasses' extra state (e.g. defaultdict's factory)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, items: list):
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch, *, collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None):
    """Collates `batch` by the type of its first element: an exact entry of collate_fn_map, else the
    first entry the element is an instance of, else the container rules."""
    elem = batch[0]
    if collate_fn_map is not None:
        if type(elem) in collate_fn_map:
            return collate_fn_map[type(elem)](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_ERR_FORMAT.format(type(elem)))


def _collate_tensors(batch, *, collate_fn_map=None):
    return _core.stack(batch, 0)


def _collate_numpy_arrays(batch, *, collate_fn_map=None):
    if _NOT_NUMERIC.search(batch[0].dtype.str):
        raise TypeError(_ERR_FORMAT.format(batch[0].dtype))
    return collate([_from_numpy(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch, *, collate_fn_map=None):
    return _from_numpy(batch)


def _collate_floats(batch, *, collate_fn_map=None):
    return _core.tensor(batch, dtype=_core.float64)


def _collate_ints(batch, *, collate_fn_map=None):
    # bool is an int subclass: an all-bool batch infers bool, a mixed one int64, as in torch.
    return _core.tensor(batch)


def _collate_strings(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    _core.Tensor: _collate_tensors,
    np.ndarray: _collate_numpy_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def default_collate(batch):
    """Stacks a list of samples into a batch with an outer dimension of len(batch)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
