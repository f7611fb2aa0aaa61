"""Cross-stream ordering of backward on a device with streams: each node's backward runs on its
forward stream, a gradient crossing to another stream is ordered by an event that the consumer
waits on, and the caller's stream waits for the streams that wrote the results. Checked against
the log of a test device (tests/stream_device) that registers itself as CUDA with host memory; it
runs in a subprocess so that no other test sees that device."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import vt.core as vt

DEVICE_SOURCE = pathlib.Path(__file__).resolve().parents[1] / "stream_device"
CMAKE = shutil.which("cmake", path=os.path.dirname(sys.executable)) or shutil.which("cmake")
RECORD, WAIT, OP, SET = 1, 2, 3, 4

SCRIPT = r"""
import json, sys
import vt.autograd as autograd  # noqa: F401  (the autograd layer)
import vt.core as vt
vt.load_library(sys.argv[1])
dev = vt.ops.stream_device
dev.use(sys.argv[2])

def run(forward_stream, loss_stream, backward_stream):
    x = vt.tensor([1.0, 2.0, 3.0]).to("cuda").requires_grad_()
    w = vt.tensor([4.0, 5.0, 6.0]).to("cuda").requires_grad_()
    dev.set_stream(forward_stream)
    y = x * w
    dev.set_stream(loss_stream)
    loss = (y * y).sum()
    dev.set_stream(backward_stream)
    dev.take_log()
    loss.backward()
    log = dev.take_log().tolist()
    dev.set_stream(1)
    return {"log": log, "gx": x.grad.to("cpu").tolist(), "gw": w.grad.to("cpu").tolist()}

print(json.dumps({"cross": run(2, 1, 1), "same": run(1, 1, 1), "root": run(1, 1, 3)}))
"""

OPS = ("vt::mul.Tensor,vt::mul.Scalar,vt::mul_.Tensor,vt::add.Tensor,vt::add_.Tensor,vt::sum,vt::fill_,"
       "vt::copy_,vt::empty_like")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if CMAKE is None:
        pytest.skip("cmake is not installed")
    build = tmp_path_factory.mktemp("stream_device")
    subprocess.run([CMAKE, "-S", str(DEVICE_SOURCE), "-B", str(build), f"-Dvt-core_DIR={vt.cmake_dir()}",
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run([CMAKE, "--build", str(build)], check=True, capture_output=True)
    library = next(build.glob("*.so"))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(library), OPS], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def gradients_are_right(run):
    x, w = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    assert run["gx"] == [2 * a * b * b for a, b in zip(x, w)]  # d/dx sum((x w)^2) = 2 x w^2
    assert run["gw"] == [2 * b * a * a for a, b in zip(x, w)]


def entries(run, kind):
    return [tuple(e[1:]) for e in run["log"] if e[0] == kind]


def test_one_stream_needs_no_events(runs):
    gradients_are_right(runs["same"])
    assert entries(runs["same"], RECORD) == [] and entries(runs["same"], WAIT) == []
    assert {stream for stream, _ in entries(runs["same"], OP)} == {1}


def test_gradient_crossing_streams_is_ordered_by_an_event(runs):
    run = runs["cross"]
    gradients_are_right(run)
    log = [tuple(e) for e in run["log"]]
    # The loss's nodes ran on stream 1; the product's node, made on stream 2, runs there after
    # stream 2 waited for an event recorded on stream 1.
    first_on_2 = next(i for i, e in enumerate(log) if e[0] == OP and e[1] == 2)
    record = next(i for i, e in enumerate(log) if e[0] == RECORD and e[2] == 1)
    event = log[record][1]
    wait = log.index((WAIT, 2, event))
    assert record < wait < first_on_2
    assert all(e[1] == 1 for e in log[:record] if e[0] == OP)
    # The leaves' gradients were written on stream 2: the caller's stream 1 waits for them, once.
    final_records = [e for e in log[first_on_2:] if e[0] == RECORD]
    assert len(final_records) == 1 and final_records[0][2] == 2
    assert (WAIT, 1, final_records[0][1]) in log[first_on_2:]
    # The caller's current stream is current again afterwards.
    assert [e for e in log if e[0] == SET][-1][1] == 1


def test_root_gradient_made_on_the_callers_stream_is_waited_for(runs):
    run = runs["root"]
    gradients_are_right(run)
    log = [tuple(e) for e in run["log"]]
    # backward() was called on stream 3, where the root gradient (ones) was made: the graph's
    # stream 1 waits for it before any of its ops, and stream 3 waits for the results.
    record = next(i for i, e in enumerate(log) if e[0] == RECORD)
    assert log[record][2] == 3 and log[record + 1] == (WAIT, 1, log[record][1])
    first_on_1 = next(i for i, e in enumerate(log) if e[0] == OP and e[1] == 1)
    assert record + 1 < first_on_1
    last_record = [e for e in log if e[0] == RECORD][-1]
    assert last_record[2] == 1 and (WAIT, 3, last_record[1]) in log
