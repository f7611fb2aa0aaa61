"""CuTeDSL backends ("cutedsl") of the memory-bound kernels: rms_norm, layer_norm, softmax,
log_softmax, cross_entropy, rotary, gelu, swiglu, geglu, embedding, adamw and sgd. They register
only when nvidia-cutlass-dsl imports; otherwise the registry keeps using the Triton and reference
backends."""

try:
    import cutlass
except (ImportError, OSError):  # not installed, or its native libraries do not load
    cutlass = None

if cutlass is not None:
    from . import (  # noqa: F401  (registration)
        activations, cross_entropy, embedding, layer_norm, optim, rms_norm, rotary, softmax)
