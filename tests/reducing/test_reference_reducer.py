"""Our projection against a reducer written from the specification alone, on a log
written from it alone.

``bench/spec-reducer/reference.py`` and ``bench/spec-producer/produce.py`` were
each written by someone who had read only ``CONTRACTS.md`` (their READMEs
say so). The producer's log is messy the way real ones are (seven producer
styles, escapes, unknown fields, copies and conflicts, invalid lines); the
reference replays it by its own reading. The two projections must be equal
but for the points the specification leaves open, where this package's
reading is the README's ("Where the specification leaves the choice open"):
each such difference is mapped to one form here, one rule per reading, and
anything else that differs fails. So a rule changed in every engine at once,
which the engines' shared rule suite cannot see, still meets a second
reading of the specification.

The lines the producer labels ambiguous (a timestamp with more than nine
fraction digits, a null ``schema_version``, ...) are left out, and so are
event_ids whose copies are of different event types (the README's reading
of a copy with no payload model differs from the reference's).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pytest

from connector_sync_contracts import replay_lines

_BENCH: Final = Path(__file__).resolve().parents[2] / "bench"
_INSTANT: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z")

pytestmark = pytest.mark.skipif(
    not (_BENCH / "spec-reducer" / "reference.py").is_file(),
    reason="needs the source tree's bench/ folder",
)


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "spec_reference", _BENCH / "spec-reducer" / "reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(tmp_path: Path, seed: int, events: int, connectors: int) -> list[bytes]:
    """The producer's log, without its ambiguous lines and its cross-family copies."""
    out = tmp_path / "log.jsonl"
    command = [sys.executable, str(_BENCH / "spec-producer" / "produce.py"), "--seed", str(seed)]
    command += ["--events", str(events), "--connectors", str(connectors), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    meta = json.loads(Path(f"{out}.meta.json").read_text())
    ambiguous = set(meta["line_numbers"]["ambiguous"])
    lines = [
        line
        for number, line in enumerate(out.read_bytes().split(b"\n"), start=1)
        if number not in ambiguous
    ]
    if lines and lines[-1] == b"":
        lines.pop()
    types: dict[str, set[str]] = {}
    for line in lines:
        try:
            event = json.loads(line)
            types.setdefault(str(event["event_id"]).lower(), set()).add(event["event_type"])
        except (ValueError, TypeError, KeyError):
            continue
    mixed = {eid for eid, seen in types.items() if len(seen) > 1}
    assert len(mixed) < len(types) // 10, "most event_ids keep their lines"
    return [line for line in lines if not any(eid.encode() in line.lower() for eid in mixed)]


def _instant(text: str) -> str:
    """A UTC datetime with its fraction to the microsecond, as this package writes it."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        return text
    return f"{match[1]}.{(match[2] or '')[:6].ljust(6, '0')}Z"


def _common(value: Any) -> Any:
    """Both projections in one form: messages left out (the specification does not
    word them), datetimes to the microsecond, and ``attempts`` left out (ours does
    not count a replay; the reference does)."""
    if isinstance(value, dict):
        return {
            key: _common(item) for key, item in value.items() if key not in {"message", "attempts"}
        }
    if isinstance(value, list):
        return [_common(item) for item in value]
    return _instant(value) if isinstance(value, str) else value


def _links(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The link index: ours names each link's event and calls the reverse index's keys
    ``external_refs``; a reused link_id is checked before the key (the reference checks
    the key first: absorbed, or ``conflicting_link``)."""
    for link in ours["links"]:
        del link["event_id"]
    for entry in theirs["reverse_index"]:
        entry["external_refs"] = entry.pop("external_keys")
    mine = Counter((a["kind"], a["event_id"]) for a in ours.pop("anomalies"))
    other = Counter((a["kind"], a["event_id"]) for a in theirs.pop("anomalies"))
    reused = {eid for kind, eid in mine - other if kind == "link_id_reused"}
    assert set(mine - other) == {("link_id_reused", eid) for eid in reused}
    assert {kind for kind, _ in other - mine} <= {"conflicting_link"}
    assert {eid for _, eid in other - mine} <= reused


def _skipped_content(state: dict[str, Any]) -> None:
    """A connector event skipped as ``invalid_transition``: ours also records what its
    content breaks (``semantic_violation``, ``identity_changed``); the reference only
    the skip."""
    skipped = {a["event_id"] for a in state["anomalies"] if a["kind"] == "invalid_transition"}
    state["anomalies"] = [
        a
        for a in state["anomalies"]
        if a["kind"] == "invalid_transition" or a["event_id"] not in skipped
    ]


def _stream(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    """Stream anomalies: the reference gives one ``conflicting_duplicate`` per losing
    content, ours one per event_id."""
    assert Counter((a["kind"], a["event_id"]) for a in ours) == Counter(
        dict.fromkeys(((a["kind"], a["event_id"]) for a in theirs), 1)
        | Counter(
            (a["kind"], a["event_id"]) for a in theirs if a["kind"] != "conflicting_duplicate"
        )
    )


# Together these logs hold every anomaly kind but the rarest: an identity
# change, a reconnect loop, a regressed and an over-budget retry among them.
@pytest.mark.parametrize(
    ("seed", "events", "connectors"), [(7, 8000, 20), (8, 8000, 20), (9, 10000, 25)]
)
def test_the_reference_reducer_reads_the_specification_as_we_do(
    tmp_path: Path, seed: int, events: int, connectors: int
) -> None:
    lines = _log(tmp_path, seed, events, connectors)
    reference = _reference()
    theirs, stats = reference.replay_lines(lines, logs=True, blank_mode="anomaly")
    ours = json.loads(replay_lines(lines).to_json())
    assert stats["lines"] == len(lines)
    assert stats["invalid"] > 0, "the log has invalid lines"
    ours, theirs = _common(ours), _common(theirs)
    _links(ours["external_links"], theirs["external_links"])
    _stream(ours.pop("anomalies"), theirs.pop("anomalies"))
    for state in ours["connectors"].values():
        _skipped_content(state)
    for name in ("connectors", "sync"):
        assert ours[name].keys() == theirs[name].keys()
        for ident, state in ours[name].items():
            assert state == theirs[name][ident], (name, ident)
    assert ours == theirs
