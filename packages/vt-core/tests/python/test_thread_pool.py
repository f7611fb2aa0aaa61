"""The CPU thread pool's default size."""

from __future__ import annotations

import os
import subprocess
import sys


def test_default_thread_count_follows_the_cpus_the_process_may_use():
    # Not the machine's CPU count: under taskset or a container limit that would oversubscribe.
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "import vt.core as vt; print(vt.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != "VT_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
