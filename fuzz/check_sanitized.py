"""Fail unless ``connector_sync_contracts._native`` here is a sanitizer build in use.

``make sanitize`` and ``make fuzz`` run this first, with the same interpreter
and environment as the tests, so a run never passes against an uninstrumented
extension, the editable source tree's ``.so`` or the pure-Python engine.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from connector_sync_contracts._engine import native as _accel

SOURCE_TREE = Path(__file__).resolve().parents[1] / "src"

# Undefined symbols every ASan/UBSan-instrumented object calls into.
_MARKERS = (b"__asan_report_", b"__ubsan_handle_")


def main() -> int:
    """Print the extension's path; exit 1 when it is not the sanitized build or is unused."""
    if os.environ.get(_accel.PURE_PYTHON_ENV):
        print(f"{_accel.PURE_PYTHON_ENV} is set: the tests would skip the extension")
        return 1
    native = importlib.import_module("connector_sync_contracts._engine.native._native")
    path = Path(native.__file__ or "")
    print(f"connector_sync_contracts._engine.native._native: {path}")
    data = path.read_bytes()
    missing = [m.decode() for m in _MARKERS if m not in data]
    if missing:
        print(f"not a sanitizer build (no {', '.join(missing)} symbols)")
        return 1
    if path.resolve().is_relative_to(SOURCE_TREE):
        print("this is the source tree's extension (editable install), not the sanitizer venv's")
        return 1
    if _accel.scanner() is None:
        print("the extension imports but _accel.scanner() would not use it")
        return 1
    preload = os.environ.get("LD_PRELOAD", "")
    print(f"engine: {_accel.engine()}; LD_PRELOAD={preload or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
