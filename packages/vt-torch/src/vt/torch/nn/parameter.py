"""nn.Parameter: a Tensor that a Module registers as a parameter when assigned to it."""

from __future__ import annotations

import vt.core as _core


class Parameter(_core.Tensor):
    """A leaf tensor over the memory of `data` that requires grad (by default)."""

    def __new__(cls, data=None, requires_grad: bool = True):
        return super().__new__(cls)

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        super().__init__(data if data is not None else _core.empty(0))
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = Parameter(self.detach().clone(), self.requires_grad)
        return memo[id(self)]
