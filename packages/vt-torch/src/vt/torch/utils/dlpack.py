"""DLPack exchange in torch.utils.dlpack's spelling; the protocol itself lives in vt.core."""

from __future__ import annotations

import vt.core as _core

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor):
    """A DLPack capsule sharing `tensor`'s memory; consume it once, with `from_dlpack`."""
    if not isinstance(tensor, _core.Tensor):
        raise TypeError(f"to_dlpack(): argument 'tensor' (position 1) must be Tensor, not {type(tensor).__name__}")
    return tensor.__dlpack__()


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing memory with `ext_tensor` (an object with __dlpack__, or a DLPack capsule);
    copy=True always copies, copy=False never does."""
    return _core.from_dlpack(ext_tensor, device=device, copy=copy)
