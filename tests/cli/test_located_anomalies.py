"""Anomalies shown at the file and line that caused them (issue 13, item 1).

The engine places each anomaly on the line of the event that caused it
(``replay_sources(locate=True)``, ``ReplayData.located_anomalies()``). The
table's report names ``file:line`` for the first example of each kind, and
standard error lists every anomaly as ``file:line: anomaly KIND [connector
ID]: message``, but those that restate a line's reported problem (a root
cause, a broken semantic rule: the line was reported once). Both engines
place anomalies alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from connector_sync_contracts import CONNECTOR_DEGRADED, CONNECTOR_PROVISIONED
from connector_sync_contracts._engine.native import PURE_PYTHON_ENV
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.cli.common import ECHO_CHUNK
from connector_sync_contracts.cli.render import LocationTable, locate, table
from connector_sync_contracts.io import Source
from tests.support.cli import parse_anomaly_lines, parse_problems, run_cli
from tests.support.factories import envelope, payload_for

from .conftest import gzip_file, write_lines

ENGINE_ENV = {"compiled": {}, "pure": {PURE_PYTHON_ENV: "1"}}


@pytest.fixture
def twice(tmp_path: Path, valid_lines: list[bytes]) -> tuple[Path, str, int]:
    """The valid log with one connector provisioned a second time, later: an invalid transition."""
    lines = list(valid_lines)
    for index, raw in enumerate(lines):
        event = orjson.loads(raw)
        if event["event_type"] == CONNECTOR_PROVISIONED:
            copy = {**event, "event_id": "01M85DMC6XTSJEHA2JKW1NXYZZ"}
            copy["lamport_clock"] = event["lamport_clock"] + 1000
            lines.insert(index + 5, orjson.dumps(copy))
            path = write_lines(tmp_path / "twice.jsonl", lines)
            return path, copy["payload"]["connector_id"], index + 6
    raise AssertionError("no ConnectorProvisioned line")


@pytest.mark.parametrize("engine", sorted(ENGINE_ENV))
def test_the_report_and_stderr_name_file_and_line(
    engine: str, twice: tuple[Path, str, int]
) -> None:
    path, cid, number = twice
    run = run_cli("replay", path, env={"COLUMNS": "120", **ENGINE_ENV[engine]})
    assert run.code == 0, run.explain()
    at = f"{path}:{number}"
    report = run.out.split("root causes first", 1)[1]
    counts = report.split("\n\n", 1)[0]
    assert counts.splitlines()[1].split() == ["KIND", "COUNT", "FIRST", "AT"]
    rows = {line.split()[0]: line.split() for line in counts.splitlines()[2:]}
    assert rows["invalid_transition"][-1] == at
    expected = f"  invalid_transition  {at}  connector {cid}, event 01M85DMC6XTSJEHA2JKW1NXYZZ"
    assert expected in report
    # On stderr too, as a linter would print it; no problem line (the line is valid).
    [line] = parse_anomaly_lines(run.err)
    assert (line.file, line.line, line.kind, line.connector) == (
        str(path),
        number,
        "invalid_transition",
        cid,
    )
    assert parse_problems(run.err) == []
    # --format json prints the same lines on stderr; --quiet none.
    json_run = run_cli("replay", "--format", "json", path, env=ENGINE_ENV[engine])
    assert parse_anomaly_lines(json_run.err) == [line]
    quiet = run_cli("replay", "--format", "json", "--quiet", path, env=ENGINE_ENV[engine])
    assert quiet.stderr == b""
    assert quiet.stdout == json_run.stdout
    # Unless the anomalies fail the run: then they are its problems, and --quiet
    # prints them (in memory and spilled alike), whatever --connector shows.
    for spill in ((), ("--memory-limit", "1B")):
        for focus in ((), ("--connector", "no-such-connector")):
            gate = ("--fail-on", "anomalies", "--quiet", *spill, *focus)
            failing = run_cli("replay", "--format", "json", *gate, path, env=ENGINE_ENV[engine])
            assert failing.code == 1, failing.explain()
            assert parse_anomaly_lines(failing.err) == [line], (spill, focus)


@pytest.mark.parametrize("engine", sorted(ENGINE_ENV))
def test_a_rejected_line_is_reported_once_not_again_as_an_anomaly(
    engine: str, tmp_path: Path, valid_lines: list[bytes]
) -> None:
    lines = list(valid_lines[:30])
    lines[4] = lines[4].replace(b'"lamport_clock":', b'"lamport_clock":"x","y":', 1)
    path = write_lines(tmp_path / "bad.jsonl", lines)
    run = run_cli("replay", path, env=ENGINE_ENV[engine])
    assert [p.line for p in parse_problems(run.err)] == [5]
    assert parse_anomaly_lines(run.err) == []
    # The table places the cause on its line.
    assert f"malformed_envelope  {path}:5" in run.out


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


def test_without_places_the_report_says_where_to_look_and_never_none() -> None:
    data: dict[str, Any] = {
        "event_count": 1,
        "duplicates_dropped": 0,
        "ignored_event_count": 0,
        "connectors": {},
        "sync": {},
        "external_links": {"links": [], "reverse_index": [], "anomalies": []},
        "anomalies": [{"kind": "malformed_envelope", "event_id": None, "message": "$: x: y"}],
    }
    text = table(data, width=80, where={})
    assert "FIRST AT" not in text
    assert "  malformed_envelope  (its line is reported on stderr)" in text
    assert "None" not in text


@pytest.fixture(scope="module")
def unprovisioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A generated log without its ConnectorProvisioned lines, and its connector events' lines.

    Every connector event is then an ``invalid_transition``: more anomaly
    lines than standard error is written in at once (``ECHO_CHUNK``).
    """
    folder = tmp_path_factory.mktemp("unprovisioned")
    whole = folder / "whole.jsonl"
    made = run_cli(
        "generate", "--events", "30000", "--connectors", "40", "--seed", "5", "-o", whole
    )
    assert made.code == 0, made.explain()
    kept = [
        line
        for line in whole.read_bytes().splitlines()
        if CONNECTOR_PROVISIONED.encode() not in line
    ]
    path = write_lines(folder / "unprovisioned.jsonl", kept)
    connector_lines = [
        number
        for number, line in enumerate(kept, start=1)
        if orjson.loads(line)["event_type"].startswith("Connector")
    ]
    assert len(connector_lines) > 2 * ECHO_CHUNK
    return path, connector_lines


@pytest.mark.parametrize(
    ("engine", "options"),
    [("compiled", ()), ("pure", ()), ("compiled", ("--memory-limit", "64kB"))],
    ids=["compiled", "pure", "spilled"],
)
def test_stderr_lists_every_anomaly_once_in_line_order(
    engine: str, options: tuple[str, ...], unprovisioned: tuple[Path, list[int]]
) -> None:
    path, connector_lines = unprovisioned
    run = run_cli("replay", "--format", "json", "--no-logs", *options, path, env=ENGINE_ENV[engine])
    assert run.code == 0, run.explain()
    listed = parse_anomaly_lines(run.err)
    assert [item.line for item in listed] == connector_lines
    assert {(item.file, item.kind) for item in listed} == {(str(path), "invalid_transition")}
    # Nothing else on stderr but the summary: no line lost or merged at a chunk's edge.
    assert len(run.err.splitlines()) == len(listed) + 1


@pytest.mark.parametrize("rejected_first", [False, True], ids=["copies", "rejected-line-first"])
def test_differing_copies_are_placed_at_the_first_valid_line_naming_them_in_both_engines(
    rejected_first: bool, tmp_path: Path, valid_lines: list[bytes]
) -> None:
    """Copies of one event_id in a plain file (read again at their offsets) and in a
    gzip file (found by line number): the conflict is shown at the first valid line
    that names the event_id, as the pure-Python engine, which reads every line, shows
    it; a rejected copy before it does not take its place (nor hide it)."""
    lines = list(valid_lines[:60])
    event = orjson.loads(lines[10])
    reordered = orjson.dumps(dict(reversed(list(event.items()))))  # same content, other bytes
    conflicting = orjson.dumps({**event, "node_id": "node-elsewhere"})
    broken = lines[10].replace(b'"lamport_clock":', b'"lamport_clock":"x","y":', 1)
    head = [broken] if rejected_first else []
    plain = write_lines(tmp_path / "a.jsonl", [*head, *lines[:30], reordered])
    packed = gzip_file(write_lines(tmp_path / "b.jsonl", [*lines[30:], conflicting]))
    runs = {
        engine: run_cli("replay", "--format", "json", plain, packed, env=env)
        for engine, env in ENGINE_ENV.items()
    }
    assert runs["compiled"].stdout == runs["pure"].stdout
    assert runs["compiled"].stderr == runs["pure"].stderr
    conflicts = [
        a for a in parse_anomaly_lines(runs["compiled"].err) if a.kind == "conflicting_duplicate"
    ]
    if rejected_first:  # reported as a problem; the conflict is listed at the valid copy
        assert [p.line for p in parse_problems(runs["compiled"].err)] == [1]
        assert [(a.file, a.line) for a in conflicts] == [(str(plain), 12)]
    else:
        assert [(a.file, a.line) for a in conflicts] == [(str(plain), 11)]


@pytest.mark.parametrize("engine", sorted(ENGINE_ENV))
def test_a_rejected_copy_before_a_valid_line_neither_hides_nor_moves_its_anomaly(
    engine: str, tmp_path: Path, twice: tuple[Path, str, int]
) -> None:
    """A broken copy of the re-provisioning line on line 1, in both engines: line 1
    is reported as a problem, and the valid line's ``invalid_transition`` is still
    listed on stderr, at that valid line, as when the broken copy comes after it.
    (Placed on the first line naming its event, it was left out as reported: which
    anomalies stderr listed depended on the order of the lines.)"""
    path, _, number = twice
    lines = path.read_bytes().splitlines()
    broken = lines[number - 1].replace(b'"lamport_clock":', b'"lamport_clock":"x","y":', 1)
    first = write_lines(tmp_path / "broken-first.jsonl", [broken, *lines])
    last = write_lines(tmp_path / "broken-last.jsonl", [*lines, broken])
    env = {"COLUMNS": "120", **ENGINE_ENV[engine]}
    run = run_cli("replay", first, env=env)
    assert run.code == 1, run.explain()  # a rejected line
    assert [p.line for p in parse_problems(run.err)] == [1]
    listed = parse_anomaly_lines(run.err)
    assert [(a.kind, a.line) for a in listed] == [("invalid_transition", number + 1)]
    assert f"invalid_transition  {first}:{number + 1}" in run.out
    assert f"malformed_envelope  {first}:1" in run.out  # its own line
    after = run_cli("replay", last, env=env)
    assert [p.line for p in parse_problems(after.err)] == [len(lines) + 1]
    assert [(a.kind, a.message) for a in parse_anomaly_lines(after.err)] == [
        (a.kind, a.message) for a in listed
    ]
    assert f"malformed_envelope  {last}:{len(lines) + 1}" in after.out


def test_anomalies_of_rejected_lines_are_placed_without_reading_the_log_again(
    tmp_path: Path, valid_lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rejected lines place the anomalies that name them as they are read, and an
    event_id no line can name (not a ULID or UUID) is never looked for: locating
    costs no second pass over a log with invalid lines. That holds too for a line
    that is not strict JSON (a NaN in a newer producer's field), whose event_id
    only a lenient reading finds."""
    lines = list(valid_lines[:40])
    lines[3] = lines[3].replace(b'"lamport_clock":', b'"lamport_clock":"x","y":', 1)
    event = orjson.loads(lines[7])
    lines[7] = orjson.dumps({**event, "event_id": "01HQ-not-an-id"})
    not_json_id = orjson.loads(lines[11])["event_id"]
    lines[11] = lines[11].replace(b'"lamport_clock":', b'"x_big":NaN,"lamport_clock":', 1)
    path = write_lines(tmp_path / "invalid.jsonl", lines)

    def every_line(self: Source) -> Any:
        raise AssertionError("the whole log was read again")

    monkeypatch.setattr(Source, "lines_again", every_line)
    source = Source(str(path))
    try:
        result, summary = replay_sources([source], on_problem=lambda *_: None, locate=True)
    finally:
        source.close()
    assert summary.rejected == 3
    placed = {(kind, event_id): line for kind, event_id, _, _, _, line in result.placed_anomalies()}
    broken_id = orjson.loads(lines[3].replace(b'"x","y":', b"", 1))["event_id"]
    assert placed[("malformed_envelope", broken_id)] == 4
    assert placed[("malformed_envelope", "01HQ-not-an-id")] == 8
    assert placed[("malformed_envelope", not_json_id)] == 12
    assert None not in placed.values()  # and the valid lines' anomalies from the core


@pytest.mark.parametrize(
    ("engine", "options"),
    [("compiled", ()), ("pure", ()), ("compiled", ("--memory-limit", "1B"))],
    ids=["compiled", "pure", "spilled"],
)
def test_an_applied_line_reported_for_a_semantic_rule_still_lists_its_other_anomalies(
    engine: str, options: tuple[str, ...], tmp_path: Path
) -> None:
    """A ``ConnectorDegraded`` with ``last_healthy_at`` after ``recorded_at``, for a
    connector never provisioned: the line is reported for the semantic rule (and
    counted as rejected), yet applied, so its ``invalid_transition`` is a finding of
    its own and is listed at that line; the ``semantic_violation`` is not listed
    again."""
    payload = payload_for(CONNECTOR_DEGRADED, connector_id="gh-lonely")
    payload["last_healthy_at"] = "2030-01-01T00:00:00Z"
    path = write_lines(
        tmp_path / "semantic.jsonl", [orjson.dumps(envelope(CONNECTOR_DEGRADED, payload))]
    )
    run = run_cli("replay", "--format", "json", *options, path, env=ENGINE_ENV[engine])
    assert run.code == 1, run.explain()
    assert [(p.line, p.code) for p in parse_problems(run.err)] == [
        (1, "last_healthy_after_recorded")
    ]
    assert [(a.line, a.kind, a.connector) for a in parse_anomaly_lines(run.err)] == [
        (1, "invalid_transition", "gh-lonely")
    ]
    kinds = [a["kind"] for a in orjson.loads(run.stdout)["connectors"]["gh-lonely"]["anomalies"]]
    assert kinds == ["semantic_violation", "invalid_transition"]


@pytest.mark.parametrize("engine", sorted(ENGINE_ENV))
@pytest.mark.parametrize(
    ("name", "shown", "in_json"),
    [
        (os.fsdecode(b"tw\xffice.jsonl"), "tw\\udcffice.jsonl", "tw\\udcffice.jsonl"),
        ("tw\nice.jsonl", "tw\\nice.jsonl", "tw\nice.jsonl"),  # JSON can hold a newline
    ],
    ids=["not-utf-8", "newline"],
)
def test_a_file_name_that_cannot_be_printed_is_escaped_in_every_output(
    engine: str, name: str, shown: str, in_json: str, twice: tuple[Path, str, int]
) -> None:
    path, _, number = twice
    odd = path.rename(path.with_name(name))
    at = f"{shown}:{number}"
    run = run_cli("replay", odd.name, cwd=odd.parent, env=ENGINE_ENV[engine])
    assert run.code == 0, run.explain()
    assert f"  invalid_transition  {at}  connector " in run.out
    [line] = parse_anomaly_lines(run.err)
    assert (line.file, line.line) == (shown, number)
    for extra in ([], ["--statistics"]):
        checked = run_cli(
            "validate", "--format", "json", *extra, odd.name, cwd=odd.parent, env=ENGINE_ENV[engine]
        )
        assert checked.code == 0, checked.explain()
        assert orjson.loads(checked.stdout)["summary"]["sources"] == [in_json]
