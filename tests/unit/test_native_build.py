"""The compiled accelerator is built wherever it can be.

The extension is optional so installs without a C compiler still work, but
then validate and replay silently take the slower pure-Python paths. Where a
C compiler is available the package must have been built with it, or CI
would measure and test the slow path while users get the fast one (or the
other way round).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil

import pytest

from connector_sync_contracts import CONNECTOR_PROVISIONED, _accel
from factories import envelope

COMPILER = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(COMPILER is None, reason="no C compiler (cc or gcc): the extension is optional")
@pytest.mark.skipif(
    os.environ.get(_accel.PURE_PYTHON_ENV) == "1",
    reason=f"{_accel.PURE_PYTHON_ENV}=1 asks for the pure-Python paths",
)
def test_compiled_extension_is_built_and_used() -> None:
    try:
        native = importlib.import_module("connector_sync_contracts._native")
    except ImportError as exc:
        pytest.fail(
            f"a C compiler is available ({COMPILER}) but connector_sync_contracts._native "
            f"does not import ({exc}); rebuild the package (pip install -e .)"
        )
    assert hasattr(native, "Scanner")
    scanner = _accel.scanner()
    assert scanner is not None, "the extension imports but validate/replay would not use it"
    # And it is the working screen, not a stub: a plain valid line is taken.
    line = json.dumps(envelope(CONNECTOR_PROVISIONED), separators=(",", ":")).encode()
    assert scanner.probe(line) is not None, line
