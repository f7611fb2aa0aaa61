"""Runs pytest over N processes at once, for GPU machines where compiling kernels (a CPU job)
dominates a test run: collects the test ids, deals them round-robin to N shards, runs each shard
in its own pytest process (the selection arguments apply to the collection only) and prints
every shard's summary line, and the failures of a shard that failed. Exits nonzero if any shard failed.

    python ci/pytest_shards.py -j 8 [pytest selection: paths, -k EXPR, -m EXPR ...]

Each shard's full output goes to $SHARD_LOG_DIR/shard-<i>.txt (default: a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def collect(pytest_args: list[str]) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *pytest_args],
                          capture_output=True, text=True)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    if done.returncode not in (0, 5) or not ids:
        sys.stdout.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"collection failed (exit {done.returncode}, {len(ids)} tests)")
    return ids


def id_root(test_id: str) -> str:
    """The directory the collected ids are relative to (pytest's rootdir): cwd or a parent."""
    path = test_id.split("::")[0]
    here = os.getcwd()
    while not os.path.exists(os.path.join(here, path)):
        parent = os.path.dirname(here)
        if parent == here:
            raise SystemExit(f"cannot find {path} from {os.getcwd()}")
        here = parent
    return here


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", "--jobs", type=int, default=8)
    args, pytest_args = parser.parse_known_args()
    ids = collect(pytest_args)
    log_dir = os.environ.get("SHARD_LOG_DIR") or tempfile.mkdtemp(prefix="pytest-shards-")
    os.makedirs(log_dir, exist_ok=True)
    jobs = min(args.jobs, len(ids))
    root = id_root(ids[0])
    print(f"{len(ids)} tests in {jobs} shards; logs in {log_dir}", flush=True)
    start = time.perf_counter()
    running = []
    for i in range(jobs):
        log = open(os.path.join(log_dir, f"shard-{i}.txt"), "w")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
                   *ids[i::jobs]]
        running.append((i, log, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                 cwd=root)))
    status = 0
    for i, log, process in running:
        code = process.wait()
        log.close()
        with open(log.name) as f:
            text = f.read()
        print(f"shard {i}: exit {code}: {text.splitlines()[-1] if text else ''}", flush=True)
        if code not in (0, 5):
            status = 1
            failures = text.find("= FAILURES =")
            print(text[failures if failures >= 0 else 0:][-6000:], flush=True)
    print(f"all shards done in {time.perf_counter() - start:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
