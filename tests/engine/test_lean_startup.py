"""The command line starts without the pydantic models, and nothing is lost by it.

``import connector_sync_contracts`` loads public names on first use, the
compiled screen reads its committed spec, and ``validate``/``replay`` of
plain lines never load the models; any line the screen defers loads them.
These tests run fresh interpreters, because this test process has long
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import connector_sync_contracts
from connector_sync_contracts._engine import native as _accel
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_package_loads_models_only_when_a_model_is_used() -> None:
    out = _run(
        "import sys\n"
        "import connector_sync_contracts as c\n"
        "print('pydantic' in sys.modules, c.__version__)\n"
        "c.Event\n"
        "print('pydantic' in sys.modules)\n"
        "from connector_sync_contracts import *\n"
        "print(replay.__name__)\n"
    )
    assert out.split() == ["False", connector_sync_contracts.__version__, "True", "replay"]


_RUN_CLI = """
import os, sys
from connector_sync_contracts.cli import main
report = os.fdopen(os.dup(1), "w")
sys.stdout = open(os.devnull, "w")
sys.stderr = open(os.devnull, "w")
try:
    main([{args}], standalone_mode=False)
except SystemExit as exc:
    code = exc.code
print(code, "pydantic" in sys.modules, file=report)
"""


@pytest.mark.skipif(_accel.scanner() is None, reason="the compiled accelerator is not in use")
@pytest.mark.parametrize("command", ["validate", "replay"])
def test_plain_logs_are_checked_without_loading_the_models(tmp_path: Path, command: str) -> None:
    log = tmp_path / "plain.jsonl"
    log.write_bytes(
        b"".join(
            line + b"\n" for line in generate_lines(GeneratorOptions(events=300, connectors=4))
        )
    )
    out = _run(_RUN_CLI.format(args=f"{command!r}, {str(log)!r}"))
    assert out.split() == ["0", "False"]


@pytest.mark.parametrize(
    ("output", "connector", "loaded"),
    [("json", "東京", "False"), ("table", "github", "False"), ("table", "東京", "True")],
)
def test_only_a_table_with_wide_text_loads_the_width_of_characters(
    tmp_path: Path, output: str, connector: str, loaded: str
) -> None:
    """ASCII text takes a column a character; only other text needs wcwidth."""
    log = tmp_path / "plain.jsonl"
    lines = generate_lines(GeneratorOptions(events=50, connectors=2))
    text = b"".join(line + b"\n" for line in lines).replace(b'"github-', f'"{connector}-'.encode())
    log.write_bytes(text)
    code = _RUN_CLI.format(args=f"'replay', '--format', {output!r}, {str(log)!r}").replace(
        '"pydantic" in sys.modules', '"wcwidth" in sys.modules'
    )
    assert _run(code).split() == ["0", loaded]


@pytest.mark.skipif(_accel.scanner() is None, reason="the compiled accelerator is not in use")
def test_a_deferred_line_loads_the_models_and_is_judged_by_them(tmp_path: Path) -> None:
    lines = list(generate_lines(GeneratorOptions(events=50, connectors=2)))
    broken = json.loads(lines[7])
    broken["payload"]["connector_id"] = "caf\u00e9"  # non-ASCII: deferred to the model path
    broken["lamport_clock"] = -1
    lines[7] = json.dumps(broken, ensure_ascii=False).encode()
    log = tmp_path / "deferred.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    out = _run(_RUN_CLI.format(args=f"'validate', {str(log)!r}"))
    assert out.split() == ["1", "True"]


@pytest.mark.skipif(_accel.scanner() is None, reason="the compiled accelerator is not in use")
def test_copies_that_differ_in_bytes_are_settled_without_the_models(tmp_path: Path) -> None:
    """A re-serialized copy (unknown fields, keys in another order) and a conflicting one
    are settled from the lines the core read whole (``test_line_identity`` holds the
    result equal to the models')."""
    lines = list(generate_lines(GeneratorOptions(events=60, connectors=2)))
    same = json.loads(lines[10])
    same["x_trace"] = {"span": "s-1"}
    conflicting = json.loads(lines[20])
    conflicting["node_id"] += "-b"
    copies = [json.dumps(dict(reversed(same.items()))), json.dumps(conflicting)]
    log = tmp_path / "copies.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in [*lines, *(c.encode() for c in copies)]))
    out = _run(_RUN_CLI.format(args=f"'replay', '--format', 'json', {str(log)!r}"))
    assert out.split() == ["0", "False"]


@pytest.mark.skipif(_accel.scanner() is None, reason="the compiled accelerator is not in use")
@pytest.mark.parametrize("command", ["validate", "replay"])
def test_cloudevents_the_core_maps_are_read_without_loading_the_models(
    tmp_path: Path, command: str
) -> None:
    """``--input-format cloudevents``: lines the core maps whole need no model; a line it
    declines (here: one without ``data``) loads them to be explained."""
    from connector_sync_contracts import Event
    from connector_sync_contracts.interop.cloudevents import to_structured_json

    events = [
        to_structured_json(Event.model_validate_json(line))
        for line in generate_lines(GeneratorOptions(events=120, connectors=3))
    ]
    log = tmp_path / "cloudevents.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in events))
    args = f"{command!r}, '--input-format', 'cloudevents', {str(log)!r}"
    assert _run(_RUN_CLI.format(args=args)).split() == ["0", "False"]
    declined = json.loads(events[5])
    del declined["data"]
    events[5] = json.dumps(declined).encode()
    log.write_bytes(b"".join(line + b"\n" for line in events))
    assert _run(_RUN_CLI.format(args=args)).split() == ["1", "True"]


@pytest.mark.skipif(_accel.scanner() is None, reason="the compiled accelerator is not in use")
@pytest.mark.parametrize("command", ["validate", "replay"])
@pytest.mark.parametrize(
    "bad",
    [b"", b'{"event_id": "01J', b"\xff\xfe", b"[1, 2]", b'{"a": 1, "a": 2}', b"\x00" * 8],
    ids=["blank", "torn", "not-utf8", "not-an-object", "repeated-key", "zero-filled"],
)
def test_lines_the_input_layer_refuses_are_reported_without_loading_the_models(
    tmp_path: Path, command: str, bad: bytes
) -> None:
    """The torn last line of a crashed writer, a blank line, a zero-filled tail: the
    input layer words their problems, so no model is loaded for them."""
    lines = list(generate_lines(GeneratorOptions(events=80, connectors=2)))
    log = tmp_path / "torn.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in [*lines[:40], bad, *lines[40:]]))
    out = _run(_RUN_CLI.format(args=f"{command!r}, {str(log)!r}"))
    assert out.split() == ["1", "False"]
