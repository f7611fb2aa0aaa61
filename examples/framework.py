"""Picks the framework an example runs on: vt.torch or real PyTorch, behind the same name."""

from __future__ import annotations

import importlib

FRAMEWORKS = ("vt", "torch")


def load_framework(name: str):
    """(torch-like module, its safetensors module) for "vt" or "torch"."""
    if name == "vt":
        return importlib.import_module("vt.torch"), importlib.import_module("vt.torch.safetensors")
    if name == "torch":
        return importlib.import_module("torch"), importlib.import_module("safetensors.torch")
    raise ValueError(f"unknown framework {name!r}: expected one of {', '.join(FRAMEWORKS)}")


def pick_device(torch, requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


class Progress:
    """A tqdm bar over the training steps with live figures, or nothing when disabled (tests)."""

    def __init__(self, enabled: bool, total: int, desc: str) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True)

    def step(self, **figures: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix(figures, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
