"""``replay_lines``: JSONL lines in, the same projection as ``connector-sync replay``.

A service that holds raw lines (from a queue, a file, an HTTP body) replays
them without parsing them itself. Each item is one line; the newline a file
keeps is allowed; a line that is not a valid event is reported with its
line number and becomes a ``malformed_envelope`` anomaly, as in the CLI.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector_sync_contracts import replay, replay_lines
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.io import LineProblem
from tests.support.cli import run_cli
from tests.support.engines import ENGINES, Engine, engine

LINES = list(generate_lines(GeneratorOptions(events=300, connectors=4, seed=11, duplicates=5)))


@pytest.mark.parametrize("engine_name", ENGINES)
def test_lines_replay_exactly_as_the_command_line_replays_their_file(
    tmp_path: Path, engine_name: Engine
) -> None:
    log = tmp_path / "log.jsonl"
    lines = [*LINES, b"{not json", b'{"event_id": "x"}']
    log.write_bytes(b"\n".join(lines) + b"\n")
    cli = run_cli("replay", "--format", "json", str(log))
    with engine(engine_name):
        result = replay_lines(lines)
    assert result.to_json() == cli.stdout
    assert result == replay([json.loads(line) for line in LINES]).model_copy(
        update={"anomalies": result.anomalies}
    )


def test_a_file_opened_in_binary_mode_can_be_passed_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(line + b"\r\n" for line in LINES))
    with log.open("rb") as handle:
        from_file = replay_lines(handle)
    assert from_file == replay_lines(LINES)


def test_a_bare_carriage_return_inside_a_line_is_whitespace_as_in_the_command_line(
    tmp_path: Path,
) -> None:
    # JSON allows a bare \r between tokens; only \n ends a line. The README's
    # recipe (a list of the file's lines in binary mode) reads it so, where
    # bytes.splitlines() would cut the line in two.
    spaced = LINES[0].replace(b',"node_id"', b',\r"node_id"', 1)
    assert spaced != LINES[0]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join([spaced, *LINES[1:]]) + b"\n")
    cli = run_cli("replay", "--format", "json", str(log))
    assert cli.code == 0, cli.explain()
    with log.open("rb") as handle:
        result = replay_lines(list(handle))
    assert result.to_json() == cli.stdout
    assert result == replay_lines(LINES)


def test_a_generator_is_read_once_and_duplicates_still_settle() -> None:
    reads = 0

    def produce() -> Iterator[bytes]:
        nonlocal reads
        reads += 1
        yield from LINES
        # A copy of the first event with other content: settled by a second
        # read of the lines, which a generator cannot give, so they are kept.
        first = json.loads(LINES[0])
        first["node_id"] = "node-elsewhere"
        yield json.dumps(first).encode()

    result = replay_lines(produce())
    assert reads == 1
    assert [a.kind for a in result.anomalies] == ["conflicting_duplicate"]
    assert result.duplicates_dropped == 5


def test_each_problem_is_reported_with_its_line_number() -> None:
    seen: list[LineProblem] = []
    result = replay_lines([LINES[0], b"", b"[1]", LINES[1]], on_problem=seen.append)
    assert [(p.line, p.code) for p in seen] == [(2, "blank_line"), (3, "not_an_object")]
    assert [a.kind for a in result.anomalies] == ["malformed_envelope"] * 2
    assert result.event_count == 2


@pytest.mark.parametrize("engine_name", ENGINES)
def test_logs_can_be_left_out_and_the_json_is_the_no_logs_json(
    tmp_path: Path, engine_name: Engine
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(LINES) + b"\n")
    cli = run_cli("replay", "--format", "json", "--no-logs", str(log))
    with engine(engine_name):
        result = replay_lines(LINES, include_logs=False)
    assert all(c.transition_log is None for c in result.connectors.values())
    assert all(s.outcome_log is None and s.deliveries is None for s in result.sync.values())
    # Logs that were not kept are left out, never written as null, so the
    # lean result serializes exactly as the command line's --no-logs.
    assert result.to_json() == cli.stdout
    assert result.to_json(include_logs=False) == cli.stdout
    assert result.to_json() == replay_lines(LINES).to_json(include_logs=False)
    connector = next(iter(result.connectors.values()))
    assert "transition_log" not in connector.to_dict()


@pytest.mark.parametrize("item", ["a text line", 42, None])
@pytest.mark.parametrize("given", [list, iter], ids=["list", "iterator"])
def test_an_item_that_is_not_bytes_is_refused_plainly(item: object, given: Any) -> None:
    lines = [*LINES[:3], item, LINES[3]]
    with pytest.raises(TypeError, match=r"must be bytes, not \w+ \(item 3 of the lines"):
        replay_lines(given(lines))


def _with_large_field(line: bytes, size: int) -> bytes:
    """``line`` with an unknown payload field of ``size`` characters (a newer producer's)."""
    event = json.loads(line)
    event["payload"]["x_attachment"] = "a" * size
    return json.dumps(event, separators=(",", ":")).encode()


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_line_over_the_limit_is_refused_unless_the_limit_is_raised(
    tmp_path: Path, engine_name: Engine
) -> None:
    """A line is refused past ``max_line_bytes`` (1 MiB by default, as the command
    line's ``--max-line-bytes``), though ``replay()`` of its event takes it: a
    service that stores larger events raises the limit to replay them."""
    large = _with_large_field(LINES[0], 1024 * 1024)
    lines = [large, *LINES[1:]]
    seen: list[LineProblem] = []
    with engine(engine_name):
        refused = replay_lines(lines, on_problem=seen.append)
        raised = replay_lines(lines, max_line_bytes=2 * 1024 * 1024)
    assert [(p.line, p.code) for p in seen] == [(1, "line_too_long")]
    assert raised == replay([json.loads(line) for line in lines])
    assert raised.event_count == refused.event_count + 1
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    cli = run_cli("replay", "--format", "json", "--max-line-bytes", str(2 * 1024 * 1024), str(log))
    assert raised.to_json() == cli.stdout


@pytest.mark.parametrize(
    ("limit", "error", "said"),
    [
        (-1, ValueError, "max_line_bytes must be 1..1073741824, not -1"),
        (0, ValueError, "max_line_bytes must be 1..1073741824, not 0"),
        (2**30 + 1, ValueError, "max_line_bytes must be 1..1073741824, not 1073741825"),
        (True, TypeError, "max_line_bytes must be an int, not bool"),
        (None, TypeError, "max_line_bytes must be an int, not NoneType"),
        ("100", TypeError, "max_line_bytes must be an int, not str"),
        (1.5, TypeError, "max_line_bytes must be an int, not float"),
    ],
)
def test_a_limit_the_command_line_refuses_is_refused_before_reading(
    limit: Any, error: type[Exception], said: str, tmp_path: Path
) -> None:
    # Found by an outside run: 0 was taken (every line refused), True read as 1, and
    # None or "100" a TypeError that did not say which argument.
    from connector_sync_contracts import replay_partitioned

    with pytest.raises(error, match=re.escape(said)):
        replay_lines(LINES, max_line_bytes=limit)
    with pytest.raises(error, match=re.escape(said)):
        replay_partitioned(tmp_path / "never-read.jsonl", max_line_bytes=limit)


def test_gzip_bytes_are_not_taken_for_a_compressed_file() -> None:
    # mtime=0: the header's timestamp would otherwise put a newline byte in
    # the data now and then, making two lines of it.
    compressed = gzip.compress(LINES[0], mtime=0)
    assert b"\n" not in compressed
    seen: list[LineProblem] = []
    result = replay_lines([compressed], on_problem=seen.append)
    assert result.event_count == 0
    assert len(seen) == 1


def _refused(line: bytes) -> list[tuple[str | None, bytes]]:
    """Lines the input layer refuses, each with the event_id its anomaly should name."""
    eid = json.loads(line)["event_id"]
    body = line[1:]
    other = b'"event_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", '
    return [
        (eid, b'{"x": {"a": 1, "a": 2}, ' + body),  # a repeated key in an unknown field
        (eid, b'{"x": 18446744073709551616, ' + body),  # beyond 64 bits
        (eid, b'{"x": NaN, ' + body),
        (eid, b'{"x": "\\ud800", ' + body),  # a lone surrogate
        (eid, b'{"x": ' + b"[" * 70 + b"]" * 70 + b", " + body),  # deeper than 64
        (None, b"{" + other + body),  # event_id itself repeated: no one id is the line's
        (None, b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b", " + body),  # too deep to read
        (None, line[:-5]),  # not JSON
    ]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_line_refused_for_a_limit_still_names_its_event(
    tmp_path: Path, engine_name: Engine
) -> None:
    # Section 6: a malformed_envelope anomaly names the envelope's event_id when
    # there is one, also when the line breaks an input limit outside it.
    refused = _refused(LINES[0])
    lines = [line for _, line in refused]
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    cli = run_cli("replay", "--format", "json", str(log))
    with engine(engine_name):
        result = replay_lines(lines)
    assert result.to_json() == cli.stdout
    named = sorted(((a.kind, a.event_id or "") for a in result.anomalies), key=str)
    expected = sorted((("malformed_envelope", eid or "") for eid, _ in refused), key=str)
    assert named == expected


# Specification section 2: a payload counts "as sent", as a JSON value. Each pair is
# one value of an unknown payload field written two ways, and whether the two copies
# are the same content (README, "Where the specification leaves the choice open").
_SPELLINGS = [
    ("5.0", "5.00", True),
    ("5.0", "50e-1", True),
    ("1e2", "100.0", True),
    ("0", "-0", True),
    ('"A"', '"\\u0041"', True),
    ('{"a":1,"b":2}', '{ "b" : 2, "a" : 1 }', True),
    ("5", "5.0", False),
    ("0.0", "-0.0", False),
    ('"2026-11-24T00:00:00Z"', '"2026-11-24T00:00:00+00:00"', False),
]


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize(("first", "second", "same"), _SPELLINGS)
def test_a_payload_counts_as_a_json_value_with_numbers_by_kind_and_value(
    engine_name: Engine, first: str, second: str, same: bool
) -> None:
    line = next(line for line in LINES if b'"payload":{' in line)
    copies = [
        line.replace(b'"payload":{', f'"payload":{{"x_n":{value},'.encode(), 1)
        for value in (first, second)
    ]
    with engine(engine_name):
        result = replay_lines(copies)
    conflicts = [a.kind for a in result.anomalies if a.kind == "conflicting_duplicate"]
    assert (result.event_count, result.duplicates_dropped) == (1, 1 if same else 0)
    assert conflicts == ([] if same else ["conflicting_duplicate"])
