"""torch.cuda.amp: automatic mixed precision is not implemented in vt.

The names exist so that scripts importing them load; using them says what is missing.
"""

from __future__ import annotations

_MISSING = ("automatic mixed precision (autocast and gradient scaling) is not implemented in vt; "
            "train in float32 or cast modules and inputs explicitly")


class autocast:
    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
        raise NotImplementedError(f"torch.cuda.amp.autocast: {_MISSING}")


class GradScaler:
    def __init__(self, init_scale: float = 65536.0, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        raise NotImplementedError(f"torch.cuda.amp.GradScaler: {_MISSING}")
