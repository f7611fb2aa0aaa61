"""The launch check every test_cutedsl*.py file runs: `Kernel.pack` must hand the compiled host
function the same bytes as the DSL's own argument conversion, for pointers, the stream, negative
and wider-than-32-bit integers and floats of both signs. cutlass is imported on use, after the
test module has chosen its compile target."""

import ctypes


def _dsl_argument(value, placeholder):
    import cuda.bindings.driver as cuda_driver
    from cutlass import cute
    from cutlass.cute.runtime import make_ptr

    from vt.kernels.cutedsl import _common as C

    if placeholder is None:
        return None
    if isinstance(placeholder, cute.Pointer):
        return make_ptr(placeholder.dtype, value, cute.AddressSpace.gmem,
                        assumed_align=placeholder.dtype.width // 8)
    if C._slot_type(placeholder) is ctypes.c_void_p:
        return cuda_driver.CUstream(value)
    return value


def sample_values(kernel) -> list:
    """One value per argument slot: distinct addresses, integers of both signs (64-bit ones past
    32 bits), floats of both signs."""
    values = []
    for i, slot in enumerate(kernel.slots):
        if slot is None:
            values.append(None)
        elif slot is ctypes.c_void_p:
            values.append(0x10000 * (i + 1))
        elif slot is ctypes.c_float:
            values.append(1e-5 * (i + 1) * (-1 if i % 2 else 1))
        elif slot is ctypes.c_int64:
            values.append(-(3 << 40) - i if i % 2 else (5 << 33) + i)
        else:
            values.append(-1 - i if i % 2 else 1000 + i)
    return values


def assert_launch_arguments_match(kernel, values=None):
    values = sample_values(kernel) if values is None else values
    # The DSL's arguments own the memory its packed values point into: keep them alive.
    dsl_arguments = [_dsl_argument(v, p) for v, p in zip(values, kernel.placeholders)]
    expected, _ = kernel.compiled.generate_execution_args(*dsl_arguments)
    held, args = kernel.pack(values)
    present = [slot for slot in kernel.slots if slot is not None]
    assert len(args) == len(expected) == len(present)
    for want, got, slot in zip(expected, args, present):
        want = want.value if isinstance(want, ctypes.c_void_p) else want
        size = ctypes.sizeof(slot)
        assert ctypes.string_at(got, size) == ctypes.string_at(want, size)
    del held, dsl_arguments  # the packed C values had to live until the comparison
