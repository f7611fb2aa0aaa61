"""CuTeDSL backends ("cutedsl") of the memory-bound row kernels: rms_norm, layer_norm, softmax
and log_softmax. They register only when nvidia-cutlass-dsl imports; otherwise the registry
keeps using the Triton and reference backends."""

try:
    import cutlass
except (ImportError, OSError):  # not installed, or its native libraries do not load
    cutlass = None

if cutlass is not None:
    from . import layer_norm, rms_norm, softmax  # noqa: F401  (registration)
