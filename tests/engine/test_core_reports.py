"""Lines the compiled core takes and reports: other families' events and broken semantic rules.

A valid envelope of an event type with no payload model (another family in
a shared stream, a newer 2.x type) and a valid event that breaks a semantic
rule are problems for ``validate`` and ``replay`` (and replay keeps them: an
ignored event, an applied one). The core checks such a line whole, keeps its
record, and reports it (``Scanner.scan(..., reports=True)``); the problem
is worded from the report (``_engine.reports``), without the models. A log
that shares its stream with other families then replays at the core's
speed, and says exactly what the model path says: the same stdout, stderr
and exit code as the pure-Python engine, in validate (strict or not) and in
replay, with and without per-event logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connector_sync_contracts import CONNECTOR_DEGRADED, SYNC_RETRY_SCHEDULED
from connector_sync_contracts._engine import native, reports
from connector_sync_contracts._engine.reports import (
    REPORT_RULES,
    REPORT_UNKNOWN_TYPE,
    reported_problems,
)
from tests.support.cli import PROGRAM, run_env
from tests.support.factories import envelope, payload_for

needs_native = pytest.mark.skipif(native.scanner() is None, reason="the compiled core is not built")


def _other_family(seq: int, event_type: str = "MissionCreated", **extra: Any) -> dict[str, Any]:
    event = envelope(CONNECTOR_DEGRADED, seq=seq)
    return {**event, "event_type": event_type, "payload": {"mission_id": "m-1"}, **extra}


def _lines() -> list[bytes]:
    degraded = envelope(CONNECTOR_DEGRADED, seq=2)
    degraded["payload"]["last_healthy_at"] = "2030-01-01T00:00:00Z"
    early = envelope(SYNC_RETRY_SCHEDULED, seq=3)
    early["payload"]["next_retry_at"] = "2020-01-01T00:00:00Z"
    over = envelope(
        SYNC_RETRY_SCHEDULED,
        payload_for(SYNC_RETRY_SCHEDULED, retry_attempt=5, max_retries=3, delivery_id="d-2"),
        seq=4,
    )
    both = envelope(
        SYNC_RETRY_SCHEDULED,
        payload_for(SYNC_RETRY_SCHEDULED, retry_attempt=9, max_retries=3, delivery_id="d-3"),
        seq=5,
    )
    both["payload"]["next_retry_at"] = "2020-01-01T00:00:00Z"
    texts = [
        json.dumps(envelope("ConnectorProvisioned", seq=1)),
        json.dumps(_other_family(6)),
        # Escapes and non-ASCII in the type's name, and a newer producer's field.
        json.dumps(_other_family(7, 'Caf\u00e9"Created', schema_note="v3")),
        json.dumps(_other_family(8, "LegacyConnectorPinged"), ensure_ascii=False),
        json.dumps(degraded),
        json.dumps(early),
        json.dumps(over),
        json.dumps(both),
        json.dumps(_other_family(6)),  # an identical copy of an ignored event
        json.dumps(_other_family(9, "MissionCreated", node_id="elsewhere")).replace(
            envelope(CONNECTOR_DEGRADED, seq=9)["event_id"],
            envelope(CONNECTOR_DEGRADED, seq=6)["event_id"],
        ),
        # A name too long to repeat whole: its message is clipped alike (found by the soak).
        json.dumps(_other_family(10, "[" * 1000 + "ConnectorProvisioned" + "]" * 1000)),
    ]
    return [text.encode() for text in texts]


def _cli(args: list[str], *, pure: bool) -> subprocess.CompletedProcess[bytes]:
    env = {**run_env(), native.PURE_PYTHON_ENV: "1" if pure else "0"}
    return subprocess.run([*PROGRAM, *args], capture_output=True, env=env, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "--strict"],
        ["replay", "--format", "json"],
        ["replay", "--format", "json", "--no-logs"],
        ["replay"],
    ],
    ids=["validate", "strict", "replay", "no-logs", "table"],
)
def test_the_core_reports_what_the_model_path_reports(tmp_path: Path, args: list[str]) -> None:
    log = tmp_path / "shared-stream.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in _lines()))
    compiled, pure = (_cli([*args, str(log)], pure=flag) for flag in (False, True))
    assert compiled.returncode == pure.returncode == 1, compiled.stderr.decode()
    assert compiled.stderr == pure.stderr
    assert compiled.stdout == pure.stdout
    if args[0] == "validate" and "--strict" not in args:
        # Every taken line is reported, at its line, with the model path's words.
        codes = [
            line.split(": ")[2]
            for line in pure.stdout.decode().splitlines()
            if line.startswith(f"{log}:")
        ]
        assert codes.count("unknown_event_type") == 6
        assert "last_healthy_after_recorded" in codes
        assert codes.count("next_retry_before_recorded") == 2
        assert codes.count("retry_attempt_exceeds_max_retries") == 2


@needs_native
def test_the_core_takes_these_lines_and_says_why() -> None:
    scanner = native.scanner()
    assert scanner is not None
    lines = _lines()
    block = b"".join(line + b"\n" for line in lines)
    count, deferred, reported = scanner.scan(block, False, 1 << 20, False, 0, 1, -1, True)
    assert (count, deferred) == (len(lines), [])
    kinds = {index: code & 0xFF for index, _, _, code in reported}
    assert kinds == {
        1: REPORT_UNKNOWN_TYPE,
        2: REPORT_UNKNOWN_TYPE,
        3: REPORT_UNKNOWN_TYPE,
        4: REPORT_RULES,
        5: REPORT_RULES,
        6: REPORT_RULES,
        7: REPORT_RULES,
        8: REPORT_UNKNOWN_TYPE,
        9: REPORT_UNKNOWN_TYPE,
        10: REPORT_UNKNOWN_TYPE,
    }
    for index, start, end, code in reported:
        assert block[start:end] == lines[index]
        assert reported_problems(lines[index], index + 1, code)
    # Without reports, as before: Python decides every one of them.
    count, deferred = scanner.scan(block, False, 1 << 20, False, 0, 1)
    assert [index for index, _, _ in deferred] == sorted(kinds)


@needs_native
def test_each_event_type_is_worded_once_and_never_with_another_types_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shared stream reports every line of the other families: the words of each
    event type are made once and kept, for at most so many types; past that limit a
    line is worded afresh. The core says where a name is written without an escape,
    so such a line is not read again; a name with an escape is read from the line."""
    monkeypatch.setattr(reports, "_unknown_types", {})
    monkeypatch.setattr(reports, "_WORDED_LIMIT", 3)
    names = ["MissionCreated", "Caf\u00e9Created", "MissionCreated", 'Say "hi"', "Build", "Ping"]
    lines = [
        json.dumps(_other_family(seq, name), ensure_ascii=False).encode()
        for seq, name in enumerate([*names, "Build"], start=1)
    ]
    scanner = native.scanner()
    assert scanner is not None
    block = b"".join(line + b"\n" for line in lines)
    _, deferred, reported = scanner.scan(block, False, 1 << 20, False, 0, 1, -1, True)
    assert deferred == []
    spans = [lines[at][code >> 16 & 0xFFFFFF :][: code >> 40] for at, _, _, code in reported]
    assert spans == [b"" if '"' in name else name.encode() for name in [*names, "Build"]]
    worded = [reported_problems(lines[at], at + 1, code) for at, _, _, code in reported]
    assert [(p.line, p.field, p.code, p.message) for [p] in worded] == [
        (n, "$.event_type", "unknown_event_type", f"no payload model for event type {name!r}")
        for n, name in enumerate([*names, "Build"], start=1)
    ]
    assert list(reports._unknown_types) == [
        b"MissionCreated",
        "Caf\u00e9Created".encode(),
        'Say "hi"',
    ]


def test_a_report_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a report"):
        reported_problems(b"{}", 1, 3)


@needs_native
@pytest.mark.parametrize("command", ["validate", "replay"])
def test_a_shared_stream_is_read_without_loading_the_models(tmp_path: Path, command: str) -> None:
    """Other families' events and broken rules cost the core's reading, not the model path's,
    and so does settling the differing copy of an ignored event (the last line)."""
    log = tmp_path / "shared-stream.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in _lines()))
    code = (
        "import os, sys\n"
        "from connector_sync_contracts.cli import main\n"
        "report = os.fdopen(os.dup(1), 'w')\n"
        "sys.stdout = open(os.devnull, 'w')\n"
        "sys.stderr = open(os.devnull, 'w')\n"
        "try:\n"
        f"    main([{command!r}, {str(log)!r}], standalone_mode=False)\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print(code, 'pydantic' in sys.modules, file=report)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != native.PURE_PYTHON_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]


@needs_native
def test_copies_decided_by_python_are_read_again_at_their_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy the model path decided (a malformed payload) and a valid copy of the
    same event_id: settling reads both lines again where they are, without a pass
    over the whole file (``Source.lines_at``), and keeps the valid one."""
    from connector_sync_contracts import replay
    from connector_sync_contracts._engine.runner import replay_sources
    from connector_sync_contracts.io import Source

    events = [envelope("ConnectorProvisioned", seq=n) for n in range(1, 40)]
    broken = {**events[20], "payload": {**events[20]["payload"], "mission_id": ""}}
    lines = [json.dumps(e).encode() for e in [*events[:5], broken, *events[5:]]]
    path = tmp_path / "copies.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))

    def every_line(self: Source, numbers: object) -> Any:
        raise AssertionError("the whole file was read again")

    monkeypatch.setattr(Source, "lines_at", every_line)
    source = Source(str(path))
    try:
        result, summary = replay_sources([source], on_problem=lambda *_: None)
    finally:
        source.close()
    assert summary.rejected == 1
    assert result.to_json() == replay([*events, broken]).to_json()


def _items(kind: str) -> list[Any]:
    """``_lines()`` as the library takes them: envelope mappings or ``Event`` objects."""
    from connector_sync_contracts import Event

    mappings = [json.loads(line) for line in _lines()]
    return mappings if kind == "dicts" else [Event.model_validate(m) for m in mappings]


@needs_native
@pytest.mark.parametrize("kind", ["dicts", "events"])
def test_the_core_takes_such_items_in_the_library_too(kind: str) -> None:
    """``replay()`` of mappings or Events: an item of another family and one breaking a
    semantic rule are kept by the core, as their lines are, not decided one by one by
    the models; the projection is the pure-Python engine's, byte for byte."""
    from connector_sync_contracts import Event, replay
    from tests.support.engines import engine

    items = _items(kind)
    scanner = native.scanner()
    assert scanner is not None
    _, deferred = scanner.scan_objects(items, Event, False, 0, 1, 0, len(items))
    assert deferred == []
    with engine("compiled"):
        compiled = replay(items).to_json()
    with engine("python"):
        pure = replay(items).to_json()
    assert compiled == pure
    data = json.loads(compiled)
    assert data["ignored_event_count"] == 4  # seq 6 (with its copies), 7, 8, 10
    assert [a["kind"] for a in data["anomalies"]] == ["conflicting_duplicate"]
    kinds = [a["kind"] for state in data["connectors"].values() for a in state["anomalies"]]
    assert kinds == ["semantic_violation"]
    kinds = sorted(a["kind"] for state in data["sync"].values() for a in state["anomalies"])
    assert kinds == ["retry_budget_exceeded"] * 2 + ["semantic_violation"] * 2
