"""The Triton fast launch path (vt.kernels._fast_launch).

Without a GPU: the argument key is checked against Triton's own specializer (two arguments with
the same key must specialize alike), and the launch logic runs against a stand-in for the
compiled kernel and the driver. Every GPU test launches the row kernels through this path.
"""

import itertools

import pytest
import torch
import triton
import triton.language as tl
from triton import knobs
from triton._C.libtriton import native_specialize_impl
from triton.backends.compiler import BaseBackend
from triton.runtime.jit import JITFunction

from vt.kernels import _fast_launch as fl


class _Pointer:
    """A tensor-like argument at any address (what Triton reads from a tensor: data_ptr, dtype)."""

    def __init__(self, address, dtype):
        self.address, self.dtype = address, dtype

    def data_ptr(self):
        return self.address


_INTS = [0, 1, 2, 15, 16, 17, 32, -1, -15, -16, -17, 2**31 - 16, 2**31 - 1, 2**31, 2**31 + 1,
         2**32, 2**32 + 16, 2**63 - 16, 2**63 - 1, 2**63, 2**63 + 16, 2**64 - 1, -2**31,
         -2**31 - 1, -2**31 - 16, -2**63, -2**63 + 1]
_VALUES = _INTS + [0.0, 1.0, -2.5, float("inf"), True, False, None] + [
    _Pointer(address, dtype) for address in (0x1000, 0x1010, 0x1008, 0x1002, 0x1001)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.int32)]


def _triton_specialization(value):
    return native_specialize_impl(BaseBackend, value, False, True, True)


def test_equal_keys_mean_equal_triton_specializations():
    tokens = [fl.runtime_token(v) for v in _VALUES]
    specs = [_triton_specialization(v) for v in _VALUES]
    for i, j in itertools.combinations(range(len(_VALUES)), 2):
        if tokens[i] == tokens[j]:
            assert specs[i] == specs[j], (_VALUES[i], _VALUES[j], specs[i], specs[j])


def test_keys_tell_apart_what_triton_tells_apart_for_real_tensors():
    base = torch.zeros(64, dtype=torch.float16)
    aligned, shifted = base[8:], base[1:]  # 16 bytes and 2 bytes past a 16-byte address
    assert _triton_specialization(aligned) != _triton_specialization(shifted)
    assert fl.runtime_token(aligned) != fl.runtime_token(shifted)
    assert fl.runtime_token(aligned) == fl.runtime_token(base[16:])


def _descriptors():
    """Triton and Gluon tensor descriptors over bases of two dtypes and alignments, with two
    block shapes and (Gluon) two shared-memory layouts."""
    from triton.experimental.gluon import language as gl
    from triton.experimental.gluon.nvidia.hopper import TensorDescriptor as GluonDescriptor
    from triton.tools.tensor_descriptor import TensorDescriptor

    found = []
    for dtype, gl_dtype in ((torch.float16, gl.float16), (torch.bfloat16, gl.bfloat16)):
        x = torch.zeros(256, 128, dtype=dtype)
        for base in (x, x[8:]):  # a 16-byte aligned base at another address
            for block in ([64, 128], [32, 64]):
                found.append(TensorDescriptor(base, list(base.shape), list(base.stride()), block))
                found.append(TensorDescriptor(base, list(base.shape), list(base.stride()), block,
                                              padding="nan"))
                for swizzle in (128, 64):
                    layout = gl.NVMMASharedLayout(swizzle, 16)
                    found.append(GluonDescriptor(base, list(base.shape), list(base.stride()),
                                                 block, layout))
        assert gl.NVMMASharedLayout.get_default_for([64, 128], gl_dtype) is not None
    return found


def test_descriptor_keys_match_triton_specializations():
    descriptors = _descriptors()
    tokens = [fl.runtime_token(d) for d in descriptors]
    specs = [_triton_specialization(d) for d in descriptors]
    for i, j in itertools.combinations(range(len(descriptors)), 2):
        assert (tokens[i] == tokens[j]) <= (specs[i] == specs[j]), (specs[i], specs[j])
    # and the key is not coarser in practice: distinct specializations, distinct keys
    assert len(set(tokens)) == len(set(specs))


def test_arguments_without_a_key_are_refused():
    for value in ((1, 2), "text", object()):
        with pytest.raises(fl._Unkeyed):
            fl.runtime_token(value)


# ---------------------------------------------------------------------------------------------
# the launch logic, against stand-ins for the compiled kernel and the driver


def _probe_body(X, Y, n, eps, FLAG: tl.constexpr, BLOCK: tl.constexpr = 4):
    pass


# A JITFunction even where the tests run under Triton's interpreter (whose triton.jit makes
# another kind of function).
_probe = JITFunction(_probe_body)


class _Compiled:
    function = "function-handle"
    packed_metadata = "packed"

    def __init__(self):
        self.launches = []

    def run(self, *args):
        self.launches.append(args)


class _Jit:
    """Stands for the JITFunction: counts the calls that take Triton's path."""

    def __init__(self, jit):
        self.jit = jit
        self.calls = []
        self.compiled = _Compiled()
        self.marker = "delegated"

    def run(self, *args, grid, warmup, **kwargs):
        self.calls.append((grid, args, kwargs))
        return self.compiled


class _Driver:
    def __init__(self):
        self.device, self.stream = 0, 0xabc
        self.active = self

    def get_current_device(self):
        return self.device

    def get_current_stream(self, device):
        return self.stream + device


@pytest.fixture
def launcher(monkeypatch):
    fake_driver = _Driver()
    monkeypatch.setattr(fl, "driver", fake_driver)
    launch = fl.FastLaunch(_probe)
    launch.jit = _Jit(_probe)
    return launch, launch.jit, fake_driver


def _args(x_address=0x1000, n=4096):
    return (_Pointer(x_address, torch.float16), _Pointer(0x2000, torch.float16), n, 1e-5)


def test_a_repeated_call_skips_triton_and_passes_every_parameter_in_order(launcher):
    launch, jit, _ = launcher
    launch[(8,)](*_args(), FLAG=True, num_warps=4)
    assert len(jit.calls) == 1 and not jit.compiled.launches
    x, y, n, eps = _args(0x3000, 8192)  # other addresses and sizes, the same specialization
    launch[(7, 2)](x, y, n, eps, FLAG=True, num_warps=4)
    assert len(jit.calls) == 1
    (launched,) = jit.compiled.launches
    # grid padded to 3 dims, the stream of the current device, no metadata or hooks, then the
    # parameters in signature order with the constexpr default filled in
    assert launched == (7, 2, 1, 0xabc, "function-handle", "packed", None, None, None,
                        x, y, 8192, 1e-5, True, 4)


def test_a_new_specialization_goes_through_triton(launcher):
    launch, jit, _ = launcher
    launch[(1,)](*_args(), FLAG=True)
    launch[(1,)](*_args(x_address=0x1008), FLAG=True)  # misaligned pointer
    launch[(1,)](*_args(n=4097), FLAG=True)  # size not a multiple of 16
    launch[(1,)](*_args(n=1), FLAG=True)  # 1 is compiled in
    launch[(1,)](*_args(n=2**31), FLAG=True)  # 64-bit
    launch[(1,)](*_args(), FLAG=False)  # another constexpr
    launch[(1,)](*_args(), FLAG=True, num_warps=8)  # another option
    launch[(1,)](*_args(), FLAG=True, BLOCK=8)  # a constexpr default overridden
    assert len(jit.calls) == 8 and not jit.compiled.launches
    launch[(1,)](*_args(n=4097 + 16), FLAG=True)
    assert len(jit.calls) == 8 and len(jit.compiled.launches) == 1


def test_kernels_are_kept_per_device(launcher):
    launch, jit, fake_driver = launcher
    launch[(1,)](*_args(), FLAG=True)
    fake_driver.device = 1
    launch[(1,)](*_args(), FLAG=True)
    assert len(jit.calls) == 2
    launch[(1,)](*_args(), FLAG=True)
    assert jit.compiled.launches[0][3] == 0xabc + 1


def test_runtime_parameters_passed_by_name_are_keyed_like_positional_ones(launcher):
    launch, jit, _ = launcher
    x, y, n, eps = _args()
    launch[(1,)](x, y, n=n, eps=eps, FLAG=True)
    launch[(1,)](x, y, n=n + 16, eps=0.5, FLAG=True)
    assert len(jit.calls) == 1
    assert jit.compiled.launches[0][9:] == (x, y, n + 16, 0.5, True, 4)


def test_hooks_and_unkeyed_arguments_take_tritons_path(launcher, monkeypatch):
    launch, jit, _ = launcher
    launch[(1,)](*_args(), FLAG=True)
    x, y, n, eps = _args()
    launch[(1,)](x, y, n, (1, 2), FLAG=True)
    hooks = knobs.HookChain()
    hooks.add(lambda metadata: None)
    monkeypatch.setattr(knobs.runtime, "launch_enter_hook", hooks)
    launch[(1,)](*_args(), FLAG=True)
    assert len(jit.calls) == 3 and not jit.compiled.launches


def test_a_callable_grid_sees_every_named_parameter(launcher):
    launch, jit, _ = launcher
    seen = []

    def grid(meta):
        seen.append(meta)
        return (meta["n"] // meta["BLOCK"], 3)

    launch[grid](*_args(), FLAG=True)  # Triton's path evaluates the grid itself
    x, y, _, _ = _args()
    launch[grid](x, y, 4096 + 32, 1e-5, FLAG=True)
    assert seen == [{"X": x, "Y": y, "n": 4128, "eps": 1e-5, "FLAG": True, "BLOCK": 4}]
    assert jit.compiled.launches[0][:3] == (1032, 3, 1)


def test_the_autotuners_run_call_takes_the_fast_path(launcher):
    launch, jit, _ = launcher
    launch.run(*_args(), grid=(2,), warmup=False, FLAG=True, num_warps=4)
    launch.run(*_args(), grid=(2,), warmup=False, FLAG=True, num_warps=4)
    launch.run(*_args(), grid=(2,), warmup=True, FLAG=True)
    assert len(jit.calls) == 2 and len(jit.compiled.launches) == 1


def test_triton_autotune_wraps_a_fast_launch():
    tuner = triton.autotune([triton.Config({"BLOCK": 8})], key=["n"])(fl.FastLaunch(_probe))
    assert tuner.base_fn is _probe_body and tuner.fn.fn is _probe
    assert fl.jit_function(tuner.fn) is _probe and fl.jit_function(_probe) is _probe


def test_other_attributes_are_the_jit_functions(launcher):
    launch, _, _ = launcher
    assert launch.marker == "delegated"


def test_the_interpreter_keeps_the_plain_function(monkeypatch):
    monkeypatch.setattr(fl, "interpreting", lambda: True)
    assert fl.fast_launch(_probe) is _probe
    monkeypatch.setattr(fl, "interpreting", lambda: False)
    assert isinstance(fl.fast_launch(_probe), fl.FastLaunch)
