"""One benchmark case: a kernel at one shape and dtype, timed against torch in the same run.

Every kernel family lists its cases in benchmarks/cases_<family>.py as `CASES = [Case(...)]`;
benchmarks/run.py collects them, times them and writes the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Case:
    kernel: str                      # family name, e.g. "rms_norm"
    direction: str                   # "fwd", "bwd" or "fwd+bwd"
    shape: str                       # label, e.g. "(4096, 8192)"
    dtype: str                       # "bfloat16", "float16", "float32"
    setup: Callable[[], dict]        # builds the CUDA inputs once
    vt: Callable[[dict], Any]        # runs vt.kernels on them
    torch: Callable[[dict], Any]     # the fastest torch eager path for the same result
    bytes: int | None = None         # fewest bytes the kernel must move (the floor), if memory-bound
    flops: int | None = None         # FLOPs, if compute-bound
    compile: bool = True             # also time torch.compile(torch)
    # Outputs to compare (vt's and torch's results as tensors); default: the returned values.
    outputs: Callable[[Any], list] | None = None
    tags: tuple = field(default_factory=tuple)  # e.g. ("targets",) for the TARGETS.md shapes
