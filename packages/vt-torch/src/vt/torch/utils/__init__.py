"""torch.utils's counterparts: data loading (`data`) and DLPack exchange (`dlpack`)."""

from vt.torch.utils import data, dlpack  # noqa: F401
