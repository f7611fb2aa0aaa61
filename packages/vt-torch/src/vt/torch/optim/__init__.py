"""vt.torch.optim: optimizers with torch.optim's names and update rules."""

from vt.torch.optim import lr_scheduler  # noqa: F401
from vt.torch.optim.adagrad import Adagrad  # noqa: F401
from vt.torch.optim.adam import Adam, AdamW  # noqa: F401
from vt.torch.optim.optimizer import Optimizer  # noqa: F401
from vt.torch.optim.rmsprop import RMSprop  # noqa: F401
from vt.torch.optim.sgd import SGD  # noqa: F401
