"""vt.kernels: fused Triton and CuTeDSL kernels with torch reference paths.

Works on torch tensors (with autograd) and on any CUDA array that speaks DLPack or
`__cuda_array_interface__` (forward and explicit backward functions, no torch needed; results
come back as arrays of the caller's library, launched on the caller's stream).
Pick implementations with `VT_KERNELS_IMPL=triton|cutedsl|reference`, `set_impl` or `use_impl`.
"""

from ._driver import stream
from ._foreign import DeviceArray, as_array
from ._registry import explain, get_impl, implementations, kernels, set_impl, use_impl
from .activations import (
    geglu, geglu_backward, geglu_forward, gelu, gelu_backward, gelu_forward, swiglu,
    swiglu_backward, swiglu_forward,
)
from .attention import attention, attention_backward, attention_forward
from .attention_decode import attention_decode
from .cross_entropy import cross_entropy, cross_entropy_backward, cross_entropy_forward
from .embedding import embedding, embedding_backward, embedding_forward
from .gemm import matmul, matmul_backward, matmul_forward
from .layer_norm import layer_norm, layer_norm_backward, layer_norm_forward
from .linear_cross_entropy import (
    linear_cross_entropy, linear_cross_entropy_backward, linear_cross_entropy_forward,
)
from .rms_norm import rms_norm, rms_norm_backward, rms_norm_forward
from .rotary import apply_rotary, rotary_backward, rotary_forward
from .sampling import sample
from .softmax import (
    log_softmax, log_softmax_backward, log_softmax_forward, softmax, softmax_backward,
    softmax_forward,
)

from . import cutedsl  # noqa: E402,F401  (registers the CuTeDSL backends when cutlass imports)
from . import optim  # noqa: E402,F401  (AdamW, SGD, adamw_step, sgd_step)

__version__ = "0.1.0"

__all__ = [
    "DeviceArray", "as_array", "stream",
    "explain", "get_impl", "implementations", "kernels", "set_impl", "use_impl",
    "apply_rotary", "rotary_backward", "rotary_forward",
    "attention", "attention_backward", "attention_decode", "attention_forward",
    "cross_entropy", "cross_entropy_backward", "cross_entropy_forward",
    "embedding", "embedding_backward", "embedding_forward", "optim", "sample",
    "geglu", "geglu_backward", "geglu_forward", "gelu", "gelu_backward", "gelu_forward",
    "swiglu", "swiglu_backward", "swiglu_forward",
    "layer_norm", "layer_norm_backward", "layer_norm_forward",
    "linear_cross_entropy", "linear_cross_entropy_backward", "linear_cross_entropy_forward",
    "log_softmax", "log_softmax_backward", "log_softmax_forward",
    "softmax", "softmax_backward", "softmax_forward",
    "matmul", "matmul_backward", "matmul_forward",
    "rms_norm", "rms_norm_backward", "rms_norm_forward",
]
