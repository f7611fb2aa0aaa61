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


def progress_bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True)
