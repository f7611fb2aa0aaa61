"""vt-torch's tests compare against torch; vt-core's helpers move values between the two."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "vt-core" / "tests" / "python"))
