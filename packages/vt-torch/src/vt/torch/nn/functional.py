"""nn.functional: the op library's nn functions under torch.nn.functional's names."""

from vt.core import (  # noqa: F401
    adaptive_avg_pool2d, avg_pool2d, binary_cross_entropy, binary_cross_entropy_with_logits,
    conv1d, conv2d, cross_entropy, dropout, embedding, gelu, group_norm, interpolate, l1_loss,
    layer_norm, linear, log_softmax, max_pool2d, mse_loss, nll_loss, one_hot, pad,
    rms_norm, scaled_dot_product_attention, sigmoid, softmax, tanh,
)
import vt.core as _core


def relu(input, inplace: bool = False):
    return _core.relu_(input) if inplace else _core.relu(input)


def silu(input, inplace: bool = False):
    return _core.silu_(input) if inplace else _core.silu(input)
