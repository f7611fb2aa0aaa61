"""torch.cuda for a vt installation without a usable CUDA backend.

vt-cuda (the CUDA device plugin) is not available, so this module answers the way torch.cuda
answers on a machine without CUDA: queries report no device, seeding and cache calls do
nothing, memory counters read 0, and everything that needs a device raises the exception type
torch raises there (mostly AssertionError) with a message naming what is missing.
"""

from __future__ import annotations

import collections
import contextlib

from vt.torch.cuda import amp  # noqa: F401
from vt.torch.cuda._tensor_methods import install as _install_tensor_methods

NO_BACKEND = "vt was installed without a usable CUDA backend (vt-cuda is not available)"


def _no_backend(what: str, error: type = AssertionError):
    raise error(f"{what}: {NO_BACKEND}")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def get_arch_list() -> list:
    return []


def init() -> None:
    _no_backend("torch.cuda.init")


def current_device() -> int:
    _no_backend("torch.cuda.current_device")


def _index(device) -> int:
    """The CUDA device index named by an int, a string or a device; -1 and None mean none."""
    if device is None:
        return -1
    if isinstance(device, int):
        return device
    text = device if isinstance(device, str) else str(device)
    kind, _, index = text.partition(":")
    if kind != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {text}")
    return int(index) if index else 0


def set_device(device) -> None:
    if device is None:
        raise ValueError("Expected a torch.device with a specified index or an integer, but got:None")
    # torch ignores a negative index; any real device needs the backend.
    if _index(device) >= 0:
        _no_backend("torch.cuda.set_device")


def synchronize(device=None) -> None:
    _no_backend("torch.cuda.synchronize")


def get_device_name(device=None) -> str:
    _no_backend("torch.cuda.get_device_name")


def get_device_capability(device=None) -> tuple:
    _no_backend("torch.cuda.get_device_capability")


def get_device_properties(device=None):
    _no_backend("torch.cuda.get_device_properties")


def mem_get_info(device=None) -> tuple:
    _no_backend("torch.cuda.mem_get_info")


def current_stream(device=None):
    _no_backend("torch.cuda.current_stream")


def default_stream(device=None):
    _no_backend("torch.cuda.default_stream")


def initial_seed() -> int:
    _no_backend("torch.cuda.initial_seed")


def get_rng_state(device="cuda"):
    _no_backend("torch.cuda.get_rng_state")


def ipc_collect() -> None:
    _no_backend("torch.cuda.ipc_collect")


def reset_peak_memory_stats(device=None) -> None:
    _no_backend("torch.cuda.reset_peak_memory_stats")


# Seeding is deferred in torch until CUDA initializes, so without CUDA it is a no-op; same here.
def manual_seed(seed: int) -> None:
    int(seed)


def manual_seed_all(seed: int) -> None:
    int(seed)


def seed() -> None:
    return None


def seed_all() -> None:
    return None


def empty_cache() -> None:
    return None


# With no device there is no CUDA memory: the counters read 0, as in torch without CUDA.
def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def memory_stats(device=None) -> dict:
    return collections.OrderedDict()


class Stream:
    """A CUDA stream; creating one needs the backend."""

    def __new__(cls, device=None, priority: int = 0, **kwargs):
        _no_backend("torch.cuda.Stream", RuntimeError)


class Event:
    """A CUDA event; creating one needs the backend."""

    def __new__(cls, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                external: bool = False):
        _no_backend("torch.cuda.Event", RuntimeError)


class device:
    """Context manager selecting a CUDA device; a negative index or None selects nothing."""

    def __init__(self, device):
        self.idx = _index(device)

    def __enter__(self):
        if self.idx >= 0:
            _no_backend("torch.cuda.device", RuntimeError)

    def __exit__(self, *exc) -> bool:
        return False


class device_of(device):
    """Context manager selecting the device of a tensor: a CPU tensor selects nothing."""

    def __init__(self, obj):
        super().__init__(obj.device.index if obj.is_cuda else -1)


def stream(stream):
    """Context manager making a stream current; None makes nothing current."""
    if stream is not None:
        _no_backend("torch.cuda.stream", RuntimeError)
    return contextlib.nullcontext()


_install_tensor_methods()
