"""Input validation shared by the kernel families: torch's exception types, messages that name
the op, the shapes, the dtypes and the devices."""

from __future__ import annotations

FLOAT_DTYPES = ("float32", "float16", "bfloat16")


def dtype_name(x) -> str:
    return str(x.dtype).rsplit(".", 1)[-1]


def device_name(x) -> str:
    device = getattr(x, "device", None)
    return str(device) if device is not None else "cuda"


def check_float(op: str, name: str, x) -> None:
    if dtype_name(x) not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32, float16 or bfloat16, got {dtype_name(x)}")


def check_same_device(op: str, **tensors) -> None:
    named = [(k, v) for k, v in tensors.items() if v is not None]
    first_name, first = named[0]
    device = getattr(first, "device", None)
    for name, t in named[1:]:
        if getattr(t, "device", None) == device:  # the common case, without building names
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
