"""vt.torch.cuda without a CUDA backend behaves as torch.cuda on a machine without CUDA: the same
answers to queries and the same exception types, with a message that names vt-cuda."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
import vt.torch as vtorch

if torch.cuda.is_available():
    pytest.skip("the reference torch must be a build without CUDA", allow_module_level=True)

NO_BACKEND = "vt was installed without a usable CUDA backend (vt-cuda is not available)"


def _outcome(fn):
    try:
        return "returned", fn()
    except Exception as error:
        return "raised", type(error)


QUERIES = {
    "is_available": lambda c: c.is_available(),
    "device_count": lambda c: c.device_count(),
    "is_initialized": lambda c: c.is_initialized(),
    "is_bf16_supported": lambda c: c.is_bf16_supported(),
    "get_arch_list": lambda c: c.get_arch_list(),
    "memory_allocated": lambda c: c.memory_allocated(),
    "max_memory_allocated": lambda c: c.max_memory_allocated(0),
    "memory_reserved": lambda c: c.memory_reserved(),
    "max_memory_reserved": lambda c: c.max_memory_reserved(),
    "memory_stats": lambda c: dict(c.memory_stats()),
    "empty_cache": lambda c: c.empty_cache(),
    "manual_seed": lambda c: c.manual_seed(0),
    "manual_seed_all": lambda c: c.manual_seed_all(1234),
    "seed": lambda c: c.seed(),
    "seed_all": lambda c: c.seed_all(),
    "set_device_negative": lambda c: c.set_device(-1),
    "device_negative": lambda c: c.device(-1).__enter__(),
    "stream_none": lambda c: c.stream(None).__enter__(),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_queries_and_no_ops_answer_as_torch(name):
    assert _outcome(lambda: QUERIES[name](vtorch.cuda)) == _outcome(lambda: QUERIES[name](torch.cuda))


NEEDS_DEVICE = {
    "init": lambda c: c.init(),
    "current_device": lambda c: c.current_device(),
    "synchronize": lambda c: c.synchronize(),
    "get_device_name": lambda c: c.get_device_name(),
    "get_device_name_index": lambda c: c.get_device_name(0),
    "get_device_capability": lambda c: c.get_device_capability(),
    "get_device_properties": lambda c: c.get_device_properties(0),
    "mem_get_info": lambda c: c.mem_get_info(),
    "current_stream": lambda c: c.current_stream(),
    "default_stream": lambda c: c.default_stream(),
    "initial_seed": lambda c: c.initial_seed(),
    "get_rng_state": lambda c: c.get_rng_state(),
    "ipc_collect": lambda c: c.ipc_collect(),
    "Stream": lambda c: c.Stream(),
    "Event": lambda c: c.Event(enable_timing=True),
    "device_context": lambda c: c.device(0).__enter__(),
    "device_context_string": lambda c: c.device("cuda:0").__enter__(),
    "set_device_not_cuda": lambda c: c.set_device("cpu"),
    "set_device_none": lambda c: c.set_device(None),
}


@pytest.mark.parametrize("name", sorted(NEEDS_DEVICE))
def test_calls_that_need_a_device_raise_torch_exception_types(name):
    outcome = _outcome(lambda: NEEDS_DEVICE[name](vtorch.cuda))
    assert outcome[0] == "raised"
    assert outcome == _outcome(lambda: NEEDS_DEVICE[name](torch.cuda))


@pytest.mark.parametrize("name", ["current_device", "synchronize", "get_device_name", "init"])
def test_device_errors_name_the_missing_backend(name):
    with pytest.raises(AssertionError, match=re.escape(f"torch.cuda.{name}: {NO_BACKEND}")):
        NEEDS_DEVICE[name](vtorch.cuda)


def test_stream_and_event_are_runtime_errors_naming_the_backend():
    with pytest.raises(RuntimeError, match=r"torch.cuda.Stream: vt was installed without a usable CUDA backend"):
        vtorch.cuda.Stream(priority=-1)
    with pytest.raises(RuntimeError, match=r"torch.cuda.Event: vt was installed without"):
        vtorch.cuda.Event()


def test_set_device_to_a_real_index_needs_the_backend():
    # torch without CUDA fails here on a missing private binding; vt says what is missing.
    with pytest.raises(AssertionError, match="set_device: vt was installed"):
        vtorch.cuda.set_device(0)
    with pytest.raises(AssertionError, match="set_device"):
        vtorch.cuda.set_device(vtorch.device("cuda:1"))


def test_reset_peak_memory_stats_needs_the_backend():
    with pytest.raises(AssertionError, match="reset_peak_memory_stats"):
        vtorch.cuda.reset_peak_memory_stats()


def test_device_none_selects_nothing():
    # torch documents device(None) as a no-op (its CPU build trips over comparing None).
    with vtorch.cuda.device(None):
        pass


def test_device_of_a_cpu_tensor_selects_nothing():
    with vtorch.cuda.device_of(vtorch.ones(2)):
        assert vtorch.ones(1).device == vtorch.device("cpu")


def test_manual_seed_rejects_what_is_not_a_seed():
    with pytest.raises((TypeError, ValueError)):
        vtorch.cuda.manual_seed("not a seed")


def test_tensor_cuda_names_the_tensor():
    t = vtorch.zeros(2, 3, dtype=vtorch.float16)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) and dtype vt.float16 to CUDA: vt was installed"):
        t.cuda()
    with pytest.raises(RuntimeError, match=r"shape \(\) and dtype vt.float32"):
        vtorch.tensor(1.0).cuda(0, non_blocking=True)


@pytest.mark.parametrize("move", [lambda t: t.to("cuda"), lambda t: t.to(vtorch.device("cuda", 0)),
                                  lambda t: t.to("cuda", vtorch.float64), lambda t: t.to(device="cuda")])
def test_tensor_to_cuda_is_a_runtime_error_naming_cuda(move):
    # vt.core raises this from the missing CUDA allocator; it does not name the tensor.
    with pytest.raises(RuntimeError, match=r"cuda: load vt-cuda first"):
        move(vtorch.ones(2, 3))


def test_factories_on_cuda_are_runtime_errors():
    with pytest.raises(RuntimeError, match="cuda"):
        vtorch.ones(2, device="cuda")


def test_is_cuda_is_false_for_every_vt_tensor():
    assert vtorch.ones(1).is_cuda is False


@pytest.mark.parametrize("make", [lambda amp: amp.autocast(), lambda amp: amp.autocast(enabled=False),
                                  lambda amp: amp.GradScaler()])
def test_amp_is_not_implemented_and_says_so(make):
    with pytest.raises(NotImplementedError, match="automatic mixed precision .* not implemented in vt"):
        make(vtorch.cuda.amp)
