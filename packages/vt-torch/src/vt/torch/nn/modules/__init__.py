from vt.torch.nn.modules.activation import GELU, ReLU, Sigmoid, SiLU, Softmax, Tanh  # noqa: F401
from vt.torch.nn.modules.conv import Conv1d, Conv2d  # noqa: F401
from vt.torch.nn.modules.container import ModuleDict, ModuleList, Sequential  # noqa: F401
from vt.torch.nn.modules.linear import Identity, Linear  # noqa: F401
from vt.torch.nn.modules.loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss  # noqa: F401
from vt.torch.nn.modules.module import Module  # noqa: F401
from vt.torch.nn.modules.normalization import (  # noqa: F401
    Dropout, Embedding, Flatten, GroupNorm, LayerNorm, RMSNorm,
)
from vt.torch.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401
from vt.torch.nn.modules.transformer import (  # noqa: F401
    MultiheadAttention, TransformerEncoder, TransformerEncoderLayer,
)
