"""What test_attention_hopper.py and test_attention_hopper_bwd.py share: the Hopper constants and
marks, and compiling cases for sm_90a (no GPU needed) in a clean subprocess."""

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch

# Hopper's opt-in shared memory per block (227 KB).
HOPPER_SMEM = 227 * 1024
ON_HOPPER = torch.cuda.is_available() and torch.cuda.get_device_capability()[0] == 9
needs_hopper = pytest.mark.skipif(not ON_HOPPER, reason="needs a CUDA GPU of capability 9.x")
# CI has two cores and a cold Triton cache: a few workers, and a generous limit for all builds.
WORKERS = min(4, os.cpu_count() or 1)
TIMEOUT_S = 600


def build_cases(build, cases) -> list:
    """build(case) for every case, in spawned workers: compiling needs no GPU, and no CUDA state
    crosses a fork. `build` must be a module-level function (workers import it)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(WORKERS, len(cases)), mp_context=context) as pool:
        return list(pool.map(build, cases))


def build_in_subprocess(module: str) -> list:
    """`module`.build_all() run in a clean process, its JSON result. Gluon does not compile where
    Triton's CPU interpreter is on (conftest turns it on without a GPU: gl.max and gl.sum then wrap
    interpreted functions), so the process runs without TRITON_INTERPRET."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import {module} as t; print(json.dumps(t.build_all()))")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])
