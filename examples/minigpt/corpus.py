"""Byte-level text data: the corpus as a uint8 array, split into train/validation, and random
(input, target) windows drawn with numpy so both frameworks see the same batches."""

from __future__ import annotations

import pathlib
import sysconfig

import numpy as np

# The built-in corpus: these modules of the running Python's standard library, concatenated.
# They ship with every Python installation, so training needs no download.
STDLIB_CORPUS = ("textwrap", "string", "heapq", "bisect", "functools", "contextlib", "dataclasses",
                 "fractions", "statistics", "random", "shlex", "argparse")


def stdlib_corpus() -> bytes:
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    return b"".join((root / f"{name}.py").read_bytes() for name in STDLIB_CORPUS)


def load_corpus(path: str | None) -> bytes:
    return pathlib.Path(path).read_bytes() if path else stdlib_corpus()


def split(corpus: bytes, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(corpus, dtype=np.uint8)
    n = int(len(data) * (1 - val_fraction))
    return data[:n], data[n:]


def batch(data: np.ndarray, batch_size: int, block_size: int, rng: np.random.Generator):
    """(inputs, targets) int64 arrays of shape (batch_size, block_size); targets shifted by one."""
    if len(data) <= block_size + 1:
        raise ValueError(f"corpus of {len(data)} bytes is too short for block_size {block_size}")
    starts = rng.integers(0, len(data) - block_size - 1, batch_size)
    window = starts[:, None] + np.arange(block_size + 1)
    tokens = data[window].astype(np.int64)
    return tokens[:, :-1], tokens[:, 1:]


def decode(tokens) -> str:
    return bytes(int(t) for t in tokens).decode("utf-8", errors="replace")
