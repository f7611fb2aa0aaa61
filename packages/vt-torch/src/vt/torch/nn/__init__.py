"""vt.torch.nn: modules, parameters, functional and init, with torch.nn's names."""

from vt.torch.nn import functional, init, utils  # noqa: F401
from vt.torch.nn.modules import *  # noqa: F401,F403
from vt.torch.nn.modules.module import Module  # noqa: F401
from vt.torch.nn.parameter import Parameter  # noqa: F401
