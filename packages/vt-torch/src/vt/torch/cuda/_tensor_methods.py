"""Tensor.cuda() for a vt installation without a CUDA backend: a RuntimeError that says which
tensor could not move and why, where vt.core has no such method."""

from __future__ import annotations

import vt.core as _core


def _cuda(self, device=None, non_blocking: bool = False, memory_format=None):
    from vt.torch.cuda import NO_BACKEND

    raise RuntimeError(f"Tensor.cuda(): cannot move a tensor of shape {tuple(self.shape)} and dtype "
                       f"{self.dtype} to CUDA: {NO_BACKEND}")


def install() -> None:
    _core.Tensor.cuda = _cuda
