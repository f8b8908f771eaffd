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

from connector_sync_contracts import CONNECTOR_PROVISIONED
from connector_sync_contracts._engine import native as _accel
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from tests.support.factories import envelope

COMPILER = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(COMPILER is None, reason="no C compiler (cc or gcc): the extension is optional")
@pytest.mark.skipif(
    os.environ.get(_accel.PURE_PYTHON_ENV) == "1",
    reason=f"{_accel.PURE_PYTHON_ENV}=1 asks for the pure-Python paths",
)
def test_compiled_extension_is_built_and_used() -> None:
    try:
        native = importlib.import_module("connector_sync_contracts._engine.native._native")
    except ImportError as exc:
        pytest.fail(
            f"a C compiler is available ({COMPILER}) but the compiled extension "
            f"does not import ({exc}); rebuild the package (pip install -e .)"
        )
    assert hasattr(native, "Scanner")
    scanner = _accel.scanner()
    assert scanner is not None, "the extension imports but validate/replay would not use it"
    # And it is the working core, not a stub: a plain valid line is taken.
    line = json.dumps(envelope(CONNECTOR_PROVISIONED), separators=(",", ":")).encode()
    assert scanner.probe(line, False) is not None, line


_STOPS = {
    "control": "\x01",  # invalid JSON: a raw control character in a string
    "lone surrogate": "\\ud800",  # an escape that decodes to no Unicode character
    "quote": '\\"\\"\\u',  # an escape cut short: not JSON
    "bad UTF-8": "\udcff",  # an invalid UTF-8 byte once written as surrogateescape
}


@pytest.mark.skipif(
    _accel.scanner() is None, reason="the compiled accelerator is not built or switched off"
)
@pytest.mark.parametrize("kind", sorted(_STOPS))
def test_the_reader_sees_a_bad_byte_at_every_offset_of_a_string(kind: str) -> None:
    """The string reader reads sixteen bytes at a time: no offset may slip through.

    A value holding the bad byte anywhere must be left to the Python path
    (which rejects it), and the same value without it must still be taken.
    """
    scanner = _accel.scanner()
    assert scanner is not None
    for offset in range(70):
        plain = "m" * offset + "x" + "m" * (offset % 17)
        event = envelope(CONNECTOR_PROVISIONED)
        event["payload"]["mission_id"] = plain
        line = json.dumps(event, separators=(",", ":")).encode()
        assert scanner.probe(line, False) is not None, offset
        stop = _STOPS[kind]
        replaced = f'"{plain.replace("x", stop)}"'.encode("utf-8", "surrogateescape")
        text = line.replace(f'"{plain}"'.encode(), replaced)
        assert text != line
        assert scanner.probe(text, False) is None, (kind, offset)
        good = "é" if kind != "quote" else "\\n"
        fine = line.replace(f'"{plain}"'.encode(), f'"{plain.replace("x", good)}"'.encode())
        assert scanner.probe(fine, False) is not None, (kind, offset, "valid text is taken")


@pytest.mark.skipif(
    _accel.scanner() is None, reason="the compiled accelerator is not built or switched off"
)
def test_reserve_keeps_every_record_findable_and_refuses_misuse() -> None:
    scanner = _accel.scanner()
    assert scanner is not None
    with pytest.raises(ValueError, match=">= 0"):
        scanner.reserve(-1)
    lines = list(generate_lines(GeneratorOptions(events=50, connectors=3)))
    block = b"".join(line + b"\n" for line in lines)
    assert scanner.scan(block, True, 1 << 20, False, 0, 1) == (50, [])
    scanner.reserve(0)  # never shrinks
    scanner.reserve(200_000)  # rehashes: the records already kept must stay findable
    assert scanner.scan(block, True, 1 << 20, False, 0, 51) == (50, [])
    assert scanner.settle() == ([], 50)  # every second copy is found identical and dropped
    assert scanner.start_fold() == 50
    with pytest.raises(RuntimeError, match="after the fold started"):
        scanner.reserve(10)
