"""Input validation shared by the kernel families: torch's exception types, messages that name
the op, the shapes, the dtypes and the devices."""

from __future__ import annotations

from ._compat import is_torch_tensor

FLOAT_DTYPES = ("float32", "float16", "bfloat16")
_DTYPE_NAMES: dict = {}  # dtype object -> name: str(torch.bfloat16) costs more than a lookup


def dtype_name(x) -> str:
    dtype = x.dtype
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).rsplit(".", 1)[-1]
    return name


def device_name(x) -> str:
    device = getattr(x, "device", None)
    return str(device) if device is not None else "cuda"


def check_float(op: str, name: str, x) -> None:
    if dtype_name(x) not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32, float16 or bfloat16, got {dtype_name(x)}")


def _same_torch_gpu(a, b) -> bool:
    # get_device() and is_cuda avoid building torch.device objects (the common case).
    return a.is_cuda and b.is_cuda and a.get_device() == b.get_device()


def check_same_device(op: str, **tensors) -> None:
    named = [(k, v) for k, v in tensors.items() if v is not None]
    first_name, first = named[0]
    first_torch = is_torch_tensor(first)
    device = None
    for name, t in named[1:]:
        if first_torch and is_torch_tensor(t) and _same_torch_gpu(first, t):
            continue
        if device is None:
            device = getattr(first, "device", None)
        if getattr(t, "device", None) == device:  # without building names
            continue
        if device_name(t) != device_name(first):
            raise RuntimeError(f"{op}: expected all tensors on one device, got {first_name} on "
                               f"{device_name(first)} and {name} on {device_name(t)}")


def check_shape(op: str, name: str, x, expected: tuple) -> None:
    if tuple(x.shape) != tuple(expected):
        raise RuntimeError(f"{op}: {name} has shape {tuple(x.shape)}, expected {tuple(expected)}")


def check_nonempty_rows(op: str, x) -> None:
    if x.dim() == 0:
        raise RuntimeError(f"{op}: expected at least one dimension, got a 0-d tensor")
