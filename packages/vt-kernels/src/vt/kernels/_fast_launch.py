"""Launching compiled Triton kernels without `JITFunction.run`'s per-call work.

`kernel[grid](...)` binds every argument through Triton's generated binder, builds a cache key
string and asks for launch metadata before it reaches the C launcher: 15-20 us of host time per
launch, more than many of these kernels take on the GPU. `fast_launch(kernel)` keeps a table
from a cheap key of the arguments to the kernel Triton compiled for them, so a repeated call
goes straight to the compiled kernel's launcher. The first call with a new key (and every call
while a launch hook is set) still goes through Triton, which compiles, caches and launches.

The key must never be coarser than Triton's specialization, or a kernel compiled for aligned
pointers could run on misaligned ones. Per runtime argument it holds what Triton specializes on
(tests/test_fast_launch.py checks this against Triton's own specializer):
- pointers (anything with data_ptr()): the dtype and whether the address is a multiple of 16;
- integers: whether the value is 1 (compiled in as a constant), whether it is a multiple of 16,
  and whether it fits 32 bits, 64 bits signed or needs unsigned 64;
- floats and bools: nothing (never specialized); None: itself;
- tensor descriptors (Triton's and Gluon's): the base's dtype, the block shape and, for Gluon's,
  the shared-memory layout (the shape, strides and base address are launch-time values).
Constexpr arguments and launch options (num_warps, ...) enter the key by value. Any other
argument kind (tuples, strings) makes the call take Triton's path.

Autotuned kernels wrap the FastLaunch (`triton.autotune(...)(fast_launch(jit))`): the autotuner
calls `run(*args, grid=..., warmup=False, **config)`, which takes the same path; callable grids
are evaluated on the named arguments, as Triton does.
"""

from __future__ import annotations

import inspect

from triton import knobs
from triton.runtime import driver

from ._launch import interpreting

_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_POINTER_KINDS = set()  # the types seen with a data_ptr (tensors, arrays): keyed without lookups


class _Unkeyed(Exception):
    """An argument this module does not key: the call goes through Triton."""


def runtime_token(value):
    """What Triton's specialization of a runtime argument depends on (see the module doc)."""
    kind = type(value)
    if kind is int:
        width = 0 if _I32_MIN <= value <= _I32_MAX else 1 if _I64_MIN <= value <= _I64_MAX else 2
        return (value == 1, not value & 15, width)
    if kind is float or kind is bool or value is None:
        return kind
    data_ptr = getattr(value, "data_ptr", None)
    if data_ptr is not None:
        _POINTER_KINDS.add(kind)
        return (value.dtype, not data_ptr() & 15)
    block_shape = getattr(value, "block_shape", None)
    if block_shape is not None and hasattr(value, "base"):  # a tensor descriptor
        return (kind, value.base.dtype, tuple(block_shape), getattr(value, "layout", None))
    raise _Unkeyed


def _hook_set(hook) -> bool:
    """Whether a launch hook would run: Triton keeps an empty HookChain when none is set."""
    return hook is not None and bool(getattr(hook, "calls", True))


class FastLaunch:
    """A Triton JITFunction whose `[grid](...)` launches skip Triton's binder once compiled;
    every other attribute is the JITFunction's."""

    def __init__(self, jit):
        self.jit = jit
        self.fn = jit  # Triton's wrappers (Autotuner, Heuristics) name what they wrap `fn`
        params = jit.params
        self._names = tuple(p.name for p in params)
        self._constexprs = frozenset(p.name for p in params if p.is_constexpr)
        self._defaults = {p.name: p.default for p in params
                          if p.default is not inspect.Parameter.empty}
        self._kernels = {}  # (device, key) -> CompiledKernel

    def __getattr__(self, name):
        if name == "jit":  # not set yet (copy, pickle): no recursion through self.jit
            raise AttributeError(name)
        return getattr(self.jit, name)

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self._launch(grid, args, kwargs)

    def run(self, *args, grid, warmup=False, **kwargs):
        """JITFunction.run's signature, for the autotuner: launches take the fast path."""
        if warmup:
            return self.jit.run(*args, grid=grid, warmup=True, **kwargs)
        return self._launch(grid, args, kwargs)

    def _key(self, args, kwargs):
        # runtime_token inlined for the two common kinds: a call's key is on the launch path.
        key = []
        for value in args:
            kind = type(value)
            if kind in _POINTER_KINDS:
                key.append((value.dtype, not value.data_ptr() & 15))
            elif kind is int and _I32_MIN <= value <= _I32_MAX:
                key.append((value == 1, not value & 15, 0))
            else:
                key.append(runtime_token(value))
        constexprs, names = self._constexprs, self._names
        for name, value in kwargs.items():
            key.append((name, value if name in constexprs or name not in names
                        else runtime_token(value)))
        return tuple(key)

    def _launch(self, grid, args, kwargs):
        active = driver.active
        device = active.get_current_device()
        runtime = knobs.runtime
        hooked = _hook_set(runtime.launch_enter_hook) or _hook_set(runtime.launch_exit_hook)
        try:
            key = (device, self._key(args, kwargs))
            kernel = None if hooked else self._kernels.get(key)
        except (_Unkeyed, TypeError):  # TypeError: an unhashable constexpr value
            key, kernel = None, None
        if kernel is None:
            kernel = self.jit.run(*args, grid=grid, warmup=False, **kwargs)
            if key is not None and not hooked and kernel is not None:
                self._kernels[key] = kernel.result() if hasattr(kernel, "result") else kernel
            return kernel
        values = args
        if len(args) < len(self._names):
            defaults = self._defaults
            values += tuple(kwargs[name] if name in kwargs else defaults[name]
                            for name in self._names[len(args):])
        if callable(grid):  # Triton's contract: the grid of the named parameters
            grid = grid(dict(zip(self._names, values)))
        size = len(grid)
        kernel.run(grid[0], grid[1] if size > 1 else 1, grid[2] if size > 2 else 1,
                   active.get_current_stream(device), kernel.function, kernel.packed_metadata,
                   None, None, None, *values)
        return kernel


def jit_function(kernel):
    """The JITFunction of a kernel that may be wrapped in FastLaunch (for triton.compile)."""
    return kernel.jit if isinstance(kernel, FastLaunch) else kernel


def fast_launch(jit):
    """`jit` (a @triton.jit function) wrapped in FastLaunch; itself under Triton's interpreter,
    which compiles nothing."""
    return jit if interpreting() else FastLaunch(jit)
