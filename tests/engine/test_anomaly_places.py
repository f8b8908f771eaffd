"""Every anomaly caused by a line can name its input and line number (issue 13).

``replay_sources(..., locate=True)`` finds, for each anomaly of the result,
the input and the 1-based line of the event that caused it: from the
compiled core's records, or by reading those lines again. The canonical
JSON does not change (it must not depend on input order); only
``ReplayData.located_anomalies`` carries the places.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.io import Source
from tests.engine.test_native_agreement import logs_as_lines
from tests.support.engines import ENGINES, Engine, engine, needs_native
from tests.support.factories import envelope


def _line(event_type: str, number: int, **payload: object) -> bytes:
    event = envelope(event_type, event_id=f"01J{number:023d}", lamport_clock=number)
    event["payload"].update(payload)
    return json.dumps(event).encode()


@pytest.mark.parametrize("engine_name", ENGINES)
def test_each_anomaly_names_the_file_and_line_of_its_event(
    tmp_path: Path, engine_name: Engine
) -> None:
    first = [
        _line("ConnectorProvisioned", 1),
        b"{not json",  # line 2: malformed_envelope
        _line("ConnectorRevoked", 3),
    ]
    conflicting = json.loads(_line("ConnectorRevoked", 3))
    conflicting["node_id"] = "node-elsewhere"
    second = [
        _line("ConnectorProvisioned", 4),  # line 1: invalid_transition (revoked -> provisioned)
        json.dumps(conflicting).encode(),  # line 2: a differing copy of line 3 of a.jsonl
        _line("ConnectorHealthChecked", 6, latency_ms="slow"),  # line 3: malformed_payload
    ]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"\n".join(first) + b"\n")
    b.write_bytes(b"\n".join(second) + b"\n")
    sources = [Source(str(a)), Source(str(b))]
    with engine(engine_name):
        data, _ = replay_sources(sources, on_problem=lambda *_: None, locate=True)
        plain, _ = replay_sources(sources, on_problem=lambda *_: None)
    places = {
        (item["kind"], item["event_id"]): (name, line)
        for item, name, line in data.located_anomalies()
    }
    assert places == {
        ("malformed_envelope", None): (str(a), 2),
        ("conflicting_duplicate", "01J" + "3".zfill(23)): (str(a), 3),
        ("invalid_transition", "01J" + "4".zfill(23)): (str(b), 1),
        ("malformed_payload", "01J" + "6".zfill(23)): (str(b), 3),
    }
    assert data.to_json() == plain.to_json()
    assert {(name, line) for _, name, line in plain.located_anomalies()} == {(None, None)}


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=logs_as_lines(), cut=st.integers(0, 100))
def test_both_engines_place_every_anomaly_on_the_same_line(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], cut: int
) -> None:
    """The compiled fold notes each anomaly's line as it folds (``fold_places``);
    the pure-Python engine finds the first line naming each event_id by reading
    the inputs again. Over logs with copies, conflicts and bad lines, split in
    two files, both give every anomaly the same input and line."""
    folder = tmp_path_factory.mktemp("places")
    at = cut * len(lines) // 100
    paths = [folder / "a.jsonl", folder / "b.jsonl"]
    paths[0].write_bytes(b"".join(line + b"\n" for line in lines[:at]))
    paths[1].write_bytes(b"".join(line + b"\n" for line in lines[at:]))
    placed: dict[str, list[tuple[str, str, str, str, int]]] = {}
    for name in ("compiled", "python"):
        sources = [Source(str(path)) for path in paths]
        try:
            with engine(name):
                data, _ = replay_sources(sources, on_problem=lambda *_: None, locate=True)
        finally:
            for source in sources:
                source.close()
        placed[name] = sorted(
            (item["kind"], item["event_id"] or "", item["message"], where or "", line or 0)
            for item, where, line in data.located_anomalies()
        )
    assert placed["compiled"] == placed["python"]
