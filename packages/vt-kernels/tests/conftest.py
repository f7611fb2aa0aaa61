"""Without a GPU the Triton kernels run in Triton's interpreter on CPU tensors (small shapes)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before anything imports triton
# Compiled CuTeDSL kernels stay in memory (hermetic runs); test_cutedsl_disk_cache.py turns the
# disk cache on in a temporary directory.
os.environ.setdefault("VT_KERNELS_CUTEDSL_DISK_CACHE", "0")

import pytest  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
ON_GPU = DEVICE == "cuda"


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one)")
    # Triton's interpreter converts 1-element arrays to scalars, which numpy deprecates.
    config.addinivalue_line("filterwarnings",
                            "ignore:Conversion of an array with ndim:DeprecationWarning")


def pytest_collection_modifyitems(config, items):
    if ON_GPU:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def device():
    return DEVICE
