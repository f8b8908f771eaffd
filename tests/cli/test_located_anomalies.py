"""Anomalies shown at the file and line that caused them (issue 13, item 1).

The engine's result may offer ``located_anomalies()``: each anomaly with
the source name and 1-based line of the line that caused it (or None). The
table's report and replay's standard error use it when it is there. This
engine does not offer it yet, so a small stand-in result that does (it
finds each anomaly's event_id in the log) drives the real ``replay``
command through click's runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from connector_sync_contracts import CONNECTOR_PROVISIONED
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.cli import main
from connector_sync_contracts.cli import replay as replay_module
from connector_sync_contracts.cli.render import LocationTable, locate, table
from connector_sync_contracts.contract.projection import ReplayData
from tests.support.cli import parse_anomaly_lines, parse_problems

from .conftest import write_lines


class LocatedReplay:
    """A replay result that also says where each anomaly came from, as the engine will."""

    def __init__(self, inner: ReplayData, places: dict[str, tuple[str, int]]) -> None:
        self.inner = inner
        self.data = inner.data
        self.places = places

    def to_dict(self, *, include_logs: bool = True) -> dict[str, Any]:
        return self.inner.to_dict(include_logs=include_logs)

    def _all(self) -> Iterator[dict[str, Any]]:
        data = self.inner.data
        for part in (data["connectors"], data["sync"]):
            for state in part.values():
                yield from state["anomalies"]
        yield from data["external_links"]["link_anomalies"]
        yield from data["anomalies"]

    def located_anomalies(self) -> list[tuple[Any, str | None, int | None]]:
        found: list[tuple[Any, str | None, int | None]] = []
        for item in self._all():
            source, line = self.places.get(item["event_id"] or "", (None, None))
            found.append((item, source, line))
        return found


@pytest.fixture
def broken_log(tmp_path: Path, valid_lines: list[bytes]) -> tuple[Path, str]:
    """The valid log with one connector's provisioning line given a forbidden state."""
    lines = list(valid_lines)
    for index, raw in enumerate(lines):
        event = orjson.loads(raw)
        if event["event_type"] == CONNECTOR_PROVISIONED:
            # Provisioned twice: the second one is an invalid transition.
            copy = {**event, "event_id": "01M85DMC6XTSJEHA2JKW1NXYZZ"}
            copy["lamport_clock"] = event["lamport_clock"] + 1000
            lines.insert(index + 5, orjson.dumps(copy))
            return write_lines(tmp_path / "twice.jsonl", lines), copy["payload"]["connector_id"]
    raise AssertionError("no ConnectorProvisioned line")


def _places(path: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            found[orjson.loads(raw)["event_id"]] = (str(path), number)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return found


def test_the_report_and_stderr_name_file_and_line(broken_log: tuple[Path, str]) -> None:
    path, cid = broken_log
    real = replay_sources

    def located(*args: Any, **kwargs: Any) -> Any:
        data, summary = real(*args, **kwargs)
        return LocatedReplay(data, _places(path)), summary

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay_module, "replay_sources", located)
        result = CliRunner().invoke(main, ["replay", str(path)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    where = _places(path)["01M85DMC6XTSJEHA2JKW1NXYZZ"]
    at = f"{where[0]}:{where[1]}"
    report = result.stdout.split("root causes first", 1)[1]
    assert "FIRST AT" in report
    counts = report.split("\n\n", 1)[0]
    rows = {line.split()[0]: line.split() for line in counts.splitlines()[2:]}
    assert rows["invalid_transition"][-1] == at
    assert f"  invalid_transition  {at}  connector {cid}, event 01M85DMC6XTSJEHA2JKW1NXYZZ" in (
        report
    )
    # On stderr too, as a located line a linter would print.
    [line] = parse_anomaly_lines(result.stderr)
    assert (line.file, line.line, line.kind, line.connector) == (
        where[0],
        where[1],
        "invalid_transition",
        cid,
    )
    assert parse_problems(result.stderr) == []


def test_a_rejected_line_is_reported_once_not_again_as_an_anomaly(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    lines = list(valid_lines[:30])
    lines[4] = lines[4].replace(b'"lamport_clock":', b'"lamport_clock":"x","y":', 1)
    path = write_lines(tmp_path / "bad.jsonl", lines)
    real = replay_sources

    def located(*args: Any, **kwargs: Any) -> Any:
        data, summary = real(*args, **kwargs)
        return LocatedReplay(data, _places(path)), summary

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay_module, "replay_sources", located)
        result = CliRunner().invoke(main, ["replay", str(path)])
    assert [p.line for p in parse_problems(result.stderr)] == [5]
    assert parse_anomaly_lines(result.stderr) == []


def test_without_locations_the_report_shows_none_and_no_none(
    valid_lines: list[bytes], tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "cut.jsonl", [valid_lines[0][:40], *valid_lines[1:20]])
    runner = CliRunner()
    result = runner.invoke(main, ["replay", str(path)])
    assert result.exit_code == 1
    assert "FIRST AT" not in result.stdout
    assert "None" not in result.stdout
    assert parse_anomaly_lines(result.stderr) == []


def test_locate_reads_the_method_only_when_the_result_has_it() -> None:
    assert locate(object()) == {}

    class Places:
        def located_anomalies(self) -> list[tuple[Any, str | None, int | None]]:
            return [
                ({"kind": "k", "event_id": None, "message": "m"}, "a.jsonl", 3),
                ({"kind": "k", "event_id": None, "message": "m"}, None, None),
            ]

    assert locate(Places()) == {("k", None, "m"): [("a.jsonl", 3), (None, None)]}


def test_the_first_example_is_the_earliest_line() -> None:
    data: dict[str, Any] = {
        "event_count": 3,
        "duplicates_dropped": 0,
        "ignored_event_count": 0,
        "connectors": {},
        "sync": {},
        "external_links": {"links": [], "reverse_index": [], "anomalies": []},
        "anomalies": [
            {"kind": "conflicting_duplicate", "event_id": "A", "message": "late"},
            {"kind": "conflicting_duplicate", "event_id": "B", "message": "early"},
        ],
    }
    where: LocationTable = {
        ("conflicting_duplicate", "A", "late"): [("log.jsonl", 90)],
        ("conflicting_duplicate", "B", "early"): [("log.jsonl", 12)],
    }
    text = table(data, width=80, where=where)
    assert "conflicting_duplicate  log.jsonl:12  event B" in text
    assert text.splitlines()[-1].strip() == "early"
