"""vt.kernels: fused Triton and CuTeDSL kernels with torch reference paths.

Works on torch tensors (with autograd) and on any CUDA array that speaks DLPack or
`__cuda_array_interface__` (forward and explicit backward functions, no torch needed).
Pick implementations with `VT_KERNELS_IMPL=triton|cutedsl|reference` or `set_impl`.
"""

from ._registry import explain, get_impl, implementations, kernels, set_impl, use_impl
from .rms_norm import rms_norm, rms_norm_backward, rms_norm_forward

__version__ = "0.1.0"

__all__ = [
    "explain", "get_impl", "implementations", "kernels", "set_impl", "use_impl",
    "rms_norm", "rms_norm_backward", "rms_norm_forward",
]
