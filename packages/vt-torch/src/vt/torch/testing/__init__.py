"""torch.testing for vt: assert_close and make_tensor."""

from vt.torch.testing._comparison import assert_close
from vt.torch.testing._creation import make_tensor

__all__ = ["assert_close", "make_tensor"]
