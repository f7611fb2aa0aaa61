"""The out-of-tree plugin example builds against the installed vt-core and loads at run time."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import vt.core as vt

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "plugin_hello"
CMAKE = shutil.which("cmake", path=os.path.dirname(sys.executable)) or shutil.which("cmake")


def _build(tmp: pathlib.Path, *extra: str) -> pathlib.Path:
    build = tmp / "build"
    subprocess.run([CMAKE, "-S", str(EXAMPLE), "-B", str(build), f"-Dvt-core_DIR={vt.cmake_dir()}",
                    "-DCMAKE_BUILD_TYPE=Release", *extra], check=True, capture_output=True)
    subprocess.run([CMAKE, "--build", str(build)], check=True, capture_output=True)
    found = list(build.glob("*.so"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> pathlib.Path:
    if CMAKE is None:
        pytest.skip("cmake is not installed")
    return _build(tmp_path_factory.mktemp("plugin"))


def test_plugin_loads_and_its_op_runs(plugin_path):
    info = vt.load_library(str(plugin_path))
    assert info["name"] == "hello" and info["abi"][0] == vt.abi_version()[0]
    a = vt.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = vt.tensor([1.0, 2.0, 3.0])
    out = vt.ops.hello.scale_add(a, b, alpha=0.5)
    np.testing.assert_allclose(out.numpy(), a.numpy() + 0.5 * b.numpy())
    # Non-contiguous input goes through the plugin's strided loop.
    out_t = vt.ops.hello.scale_add(a.t(), a.t())
    np.testing.assert_allclose(out_t.numpy(), 2 * a.numpy().T)


def test_loading_twice_returns_the_same_plugin(plugin_path):
    assert vt.load_library(str(plugin_path))["name"] == "hello"


def test_plugin_for_another_abi_major_is_refused(tmp_path):
    if CMAKE is None:
        pytest.skip("cmake is not installed")
    path = _build(tmp_path, "-DPLUGIN_ABI_MAJOR_OVERRIDE=99")
    major, minor = vt.abi_version()
    with pytest.raises(RuntimeError, match=rf"ABI 99\.\d+.*provides ABI {major}\.{minor}"):
        vt.load_library(str(path))


def test_missing_library_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        vt.load_library(str(tmp_path / "nope.so"))
    not_plugin = tmp_path / "not_a_plugin.so"
    not_plugin.write_bytes(b"\x7fELF garbage")
    with pytest.raises(ValueError, match="cannot load"):
        vt.load_library(str(not_plugin))
