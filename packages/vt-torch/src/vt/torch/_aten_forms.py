"""torch's top-level embedding and binary_cross_entropy_with_logits, whose arguments are aten's
(weight first; pos_weight before an integer reduction) where torch.nn.functional's functions of
the same names, which vt.core provides, take others. Both call the op itself, so every argument
(scale_grad_by_freq included) reaches it."""

from __future__ import annotations

import vt.core as _core

_embedding = _core.ops.vt.embedding
_bce_with_logits = _core.ops.vt.binary_cross_entropy_with_logits


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of weight picked by indices; a padding_idx >= 0 gets no gradient (negative: none)."""
    return _embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction: int = 0):
    """reduction is aten's code: 0 none, 1 mean, 2 sum. The default is torch's at this level: its
    argument parser reads aten's default (Mean) as 0, so an unreduced loss."""
    return _bce_with_logits(input, target, weight, pos_weight, reduction)
