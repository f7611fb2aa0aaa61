"""vt-autograd's tests reuse vt-core's op table (one table drives forward and backward tests)."""

from __future__ import annotations

import pathlib
import sys

_CORE_TESTS = pathlib.Path(__file__).resolve().parents[3] / "vt-core" / "tests" / "python"
sys.path.insert(0, str(_CORE_TESTS))

import vt.autograd  # noqa: E402,F401  (installs the engine before any test runs)
