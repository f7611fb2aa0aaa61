"""Learning-rate schedulers with torch's names, arguments and (chainable, recursive) update
formulas, so the rates match torch's step for step."""

from __future__ import annotations

from vt.torch.optim._lr_schedulers.base import LRScheduler
from vt.torch.optim._lr_schedulers.chainable import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    StepLR,
)
from vt.torch.optim._lr_schedulers.composite import ChainedScheduler, SequentialLR
from vt.torch.optim._lr_schedulers.one_cycle import OneCycleLR
from vt.torch.optim._lr_schedulers.plateau import ReduceLROnPlateau


class _LRScheduler(LRScheduler):
    """The base class's older name, still subclassed by custom schedulers written against torch."""


__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
