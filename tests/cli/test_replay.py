"""``connector-sync replay``: canonical JSON, order independence, focus, logs and bad lines.

``replay --format json`` is the section 6 canonical
form, byte-identical for any order of the same lines and equal to the Python
API's ``replay(...).to_json()``; invalid lines are reported like ``validate``
reports them and never dropped silently.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from wcwidth import wcswidth

from connector_sync_contracts import CONNECTOR_PROVISIONED, replay
from connector_sync_contracts._engine.native import PURE_PYTHON_ENV
from connector_sync_contracts.contract.projection import LOG_FIELDS
from tests.support.cli import (
    PROGRAM,
    Run,
    open_files_limit,
    parse_problems,
    parse_summary,
    run_cli,
    run_env,
)
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import connector_payload, envelope

from .conftest import CorruptedLog, gzip_file, write_lines


def _replay_json(*args: str | Path, stdin: bytes | None = None) -> Run:
    return run_cli("replay", "--format", "json", *args, stdin=stdin)


@pytest.fixture(scope="module")
def valid_json(valid_log: Path) -> Run:
    """``replay --format json`` of the shared valid log."""
    run = _replay_json(valid_log)
    assert run.code == 0, run.explain()
    return run


def _api_bytes(lines: list[bytes], *, include_logs: bool = True) -> bytes:
    return replay([orjson.loads(line) for line in lines]).to_json(include_logs=include_logs)


def _keys_anywhere(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data).union(*(_keys_anywhere(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_keys_anywhere(v) for v in data))
    return set()


def _anomalies(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every anomaly of a projection: stream, per connector, per sync state, links."""
    found = list(document["anomalies"])
    for family in ("connectors", "sync"):
        for state in document[family].values():
            found.extend(state["anomalies"])
    found.extend(document["external_links"]["anomalies"])
    return found


def test_json_replay_of_a_shuffled_copy_is_byte_identical(
    valid_json: Run, shuffled_log: Path
) -> None:
    shuffled = _replay_json(shuffled_log)
    assert shuffled.code == 0, shuffled.explain()
    assert shuffled.stdout == valid_json.stdout
    document = orjson.loads(valid_json.stdout)
    assert document["event_count"] > 0
    assert document["connectors"]


def test_json_replay_equals_the_python_api(valid_json: Run, valid_lines: list[bytes]) -> None:
    assert valid_json.stdout == _api_bytes(valid_lines)
    document = orjson.loads(valid_json.stdout)
    assert set(document) == {
        "contract_version",
        "event_count",
        "duplicates_dropped",
        "ignored_event_count",
        "connectors",
        "sync",
        "external_links",
        "anomalies",
    }
    assert document["event_count"] == len(valid_lines)


def test_duplicates_and_conflicting_copies_match_the_api_in_any_order(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    first, second = orjson.loads(valid_lines[5]), orjson.loads(valid_lines[9])
    reordered = orjson.dumps(dict(reversed(list(first.items()))))  # same event, other key order
    conflicting = orjson.dumps({**second, "node_id": "node-elsewhere"})
    lines = [*valid_lines[:40], valid_lines[5], reordered, conflicting, valid_lines[9]]
    forward = write_lines(tmp_path / "forward.jsonl", lines)
    backward = write_lines(tmp_path / "backward.jsonl", lines[::-1])
    run = _replay_json(forward)
    assert run.code == 0, run.explain()
    assert run.stdout == _api_bytes(lines)
    assert _replay_json(backward).stdout == run.stdout
    document = orjson.loads(run.stdout)
    assert document["duplicates_dropped"] == 3
    assert document["event_count"] == 40
    assert [a["kind"] for a in document["anomalies"]] == ["conflicting_duplicate"]
    assert document["anomalies"][0]["event_id"] == second["event_id"]


def test_no_logs_leaves_out_only_the_logs(valid_log: Path, valid_lines: list[bytes]) -> None:
    run = run_cli("replay", "--format", "json", "--no-logs", valid_log)
    assert run.code == 0, run.explain()
    document = orjson.loads(run.stdout)
    assert not _keys_anywhere(document) & LOG_FIELDS
    assert run.stdout == _api_bytes(valid_lines, include_logs=False)
    full = orjson.loads(_api_bytes(valid_lines))
    assert _keys_anywhere(full) >= LOG_FIELDS
    assert set(document["connectors"]) == set(full["connectors"])
    for cid, state in full["connectors"].items():
        assert document["connectors"][cid] == {
            k: v for k, v in state.items() if k not in LOG_FIELDS
        }


@pytest.mark.parametrize("mode", [(), ("--memory-limit", "1kB")], ids=["in-memory", "spilled"])
def test_no_logs_keeps_a_connector_whose_id_is_the_name_of_a_log(
    tmp_path: Path, valid_lines: list[bytes], mode: tuple[str, ...]
) -> None:
    """``--no-logs`` drops the logs of each state, not every key so named: a connector
    called ``deliveries`` (or ``transition_log``, ``outcome_log``) once vanished."""
    ids = sorted({orjson.loads(line)["payload"]["connector_id"] for line in valid_lines})
    renamed = dict(zip(ids, sorted(LOG_FIELDS), strict=False))
    assert len(renamed) == len(LOG_FIELDS)
    lines = []
    for line in valid_lines:
        for old, new in renamed.items():
            line = line.replace(f'"{old}"'.encode(), f'"{new}"'.encode())
        lines.append(line)
    log = write_lines(tmp_path / "log.jsonl", lines)
    run = run_cli("replay", "--format", "json", "--no-logs", *mode, log)
    assert run.code == 0, run.explain()
    document, full = orjson.loads(run.stdout), orjson.loads(_api_bytes(lines))
    assert set(document["connectors"]) == set(full["connectors"]) >= LOG_FIELDS
    assert set(document["sync"]) == set(full["sync"])
    assert run.stdout == _api_bytes(lines, include_logs=False)


def test_connector_focuses_json_and_table(valid_log: Path, valid_json: Run) -> None:
    full = orjson.loads(valid_json.stdout)
    chosen = sorted(full["connectors"])[1]
    run = run_cli("replay", "--format", "json", "--connector", chosen, valid_log)
    assert run.code == 0, run.explain()
    focused = orjson.loads(run.stdout)
    assert list(focused["connectors"]) == [chosen]
    assert focused["connectors"][chosen] == full["connectors"][chosen]
    assert set(focused["sync"]) <= {chosen}
    if chosen in full["sync"]:
        assert focused["sync"][chosen] == full["sync"][chosen]
    assert all(link["connector_id"] == chosen for link in focused["external_links"]["links"])
    table = run_cli("replay", "--connector", chosen, valid_log)
    assert table.code == 0, table.explain()
    rows = [line.split()[0] for line in table.out.splitlines()[2:] if line and line[0] != " "]
    assert chosen in rows
    assert not set(rows) & (set(full["connectors"]) - {chosen})
    nobody = run_cli("replay", "--format", "json", "--connector", "no-such-connector", valid_log)
    assert nobody.code == 0, nobody.explain()
    assert orjson.loads(nobody.stdout)["connectors"] == {}


def test_table_is_a_readable_per_connector_view(valid_log: Path, valid_json: Run) -> None:
    run = run_cli("replay", valid_log, env={"COLUMNS": "160"})
    assert run.code == 0, run.explain()
    lines = run.out.splitlines()
    header = lines[0].split()
    for column in ("CONNECTOR", "PROVIDER", "STATE", "HEALTH", "PENDING", "ANOMALIES"):
        assert column in header
    assert set(lines[1]) <= {"-", " "}
    full = orjson.loads(valid_json.stdout)
    rows = [line.split() for line in lines[2 : 2 + len(full["connectors"])]]
    assert [row[0] for row in rows] == sorted(full["connectors"])
    for row in rows:
        assert row[2] == full["connectors"][row[0]]["current_state"]
    assert f"events {full['event_count']:,}, " in run.out
    summary = parse_summary(run.err)
    assert summary.accepted == summary.lines_read == full["event_count"]


def test_invalid_lines_are_reported_and_the_projection_still_printed(
    corrupted_log: CorruptedLog,
) -> None:
    run = _replay_json(corrupted_log.path)
    assert run.code == 1, run.explain()
    validated = run_cli("validate", corrupted_log.path)
    reported = [(p.file, p.line, p.field, p.code) for p in parse_problems(run.err)]
    assert reported == [(p.file, p.line, p.field, p.code) for p in parse_problems(validated.out)]
    assert {line for _, line, _, _ in reported} == set(corrupted_log.planted)
    summary = parse_summary(run.err)
    assert summary.accepted + summary.rejected == summary.lines_read == len(corrupted_log.lines)
    assert summary.rejected == len(corrupted_log.planted)

    # Nothing vanishes: every rejected line shows up in the projection.
    document = orjson.loads(run.stdout)
    kinds = Counter(a["kind"] for a in _anomalies(document))
    planted = list(corrupted_log.planted.values())
    # A repeated key makes the whole line unreadable, wherever the key is.
    payload_level = [
        c for c in planted if c.field.startswith("$.payload.") and c.code != "duplicate_key"
    ]
    payload_malformed = [c for c in payload_level if c.code != "retry_attempt_exceeds_max_retries"]
    other_type = [c for c in planted if c.code == "unknown_event_type"]
    envelope_level = [c for c in planted if c not in payload_level and c not in other_type]
    assert kinds["malformed_envelope"] == len(envelope_level)
    assert kinds["malformed_payload"] == len(payload_malformed)
    assert document["ignored_event_count"] == len(other_type)
    assert document["event_count"] == len(corrupted_log.lines) - len(envelope_level)


def test_replay_reads_stdin_and_gzip_alike(corrupted_log: CorruptedLog) -> None:
    plain = _replay_json(corrupted_log.path)
    packed = _replay_json("-", stdin=gzip.compress(corrupted_log.path.read_bytes()))
    assert packed.code == 1, packed.explain()
    assert packed.stdout == plain.stdout
    assert [(p.file, p.line) for p in parse_problems(packed.err)] == [
        ("-", p.line) for p in parse_problems(plain.err)
    ]


def test_differing_copies_in_a_gzip_input_settle_as_in_a_plain_one(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # A .gz input has no offsets to read a copy again at: its copies are read by
    # number in one pass and settled on the core, as a plain file's are (they went
    # to the models, about 90 µs a copy: found by an outside tester of speed).
    copies = []
    for line in valid_lines[:60]:
        event = json.loads(line)
        respelled = dict(event, timestamp=event["timestamp"].replace("Z", "+00:00"))
        copies.append(json.dumps(respelled).encode())  # identical once made canonical
        conflicting = dict(event, node_id=event["node_id"] + "-other")
        copies.append(json.dumps(conflicting, ensure_ascii=False).encode())
    path = write_lines(tmp_path / "copies.jsonl", [*valid_lines, *copies])
    plain = _replay_json(path)
    packed = _replay_json(gzip_file(path))
    assert plain.code == packed.code == 0, plain.explain()  # anomalies only: the gate passes
    assert packed.stdout == plain.stdout
    assert packed.err.replace("copies.jsonl.gz", "copies.jsonl") == plain.err
    document = json.loads(plain.stdout)
    assert document["duplicates_dropped"] == 60  # the respelled copies; conflicts are anomalies
    conflicts = [a for a in document["anomalies"] if a["kind"] == "conflicting_duplicate"]
    assert len(conflicts) == 60


def test_replay_goes_on_after_a_line_over_the_limit(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    long_line = b'{"padding":"' + b"x" * 5000 + b'",' + valid_lines[3][1:]
    lines = [*valid_lines[:3], long_line, *valid_lines[4:20]]
    path = write_lines(tmp_path / "long.jsonl", lines)
    run = run_cli("replay", "--format", "json", "--max-line-bytes", "3000", path)
    assert run.code == 1, run.explain()
    assert [(p.line, p.code) for p in parse_problems(run.err)] == [(4, "line_too_long")]
    document = orjson.loads(run.stdout)
    assert document["event_count"] == 19
    assert [a["kind"] for a in document["anomalies"]] == ["malformed_envelope"]
    assert "3000" in document["anomalies"][0]["message"]


def test_lone_surrogate_in_a_conflicting_copy_does_not_crash(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # "\ud800" is well-formed JSON text but no valid Unicode: validate rejects the
    # line, and replay treats it the same way (a malformed envelope, not a copy).
    original = valid_lines[0]
    odd = original.replace(b'"payload":{', b'"payload":{"note":"\\ud800",', 1)
    assert odd != original
    path = write_lines(tmp_path / "surrogate.jsonl", [odd, original, *valid_lines[1:10]])
    run = _replay_json(path)
    assert run.code == 1, run.explain()
    assert [(p.line, p.code) for p in parse_problems(run.err)] == [(1, "invalid_unicode")]
    document = orjson.loads(run.stdout)
    assert [a["kind"] for a in document["anomalies"]] == ["malformed_envelope"]
    assert document["event_count"] == 10


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_lone_surrogates_in_ids_of_invalid_events_do_not_crash(
    fmt: str, tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # A lone surrogate is well-formed JSON text but not Unicode: the line is
    # reported, and replay keeps it as a malformed envelope naming the field.
    bad_id = re.sub(rb'"event_id":"[^"]*"', b'"event_id":"\\\\ud800"', valid_lines[0], count=1)
    bad_connector = valid_lines[1].replace(b'"connector_id":"', b'"connector_id":"\\udc00', 1)
    path = write_lines(tmp_path / "ids.jsonl", [bad_id, bad_connector, *valid_lines[2:10]])
    run = run_cli("replay", "--format", fmt, path)
    assert run.code == 1, run.explain()
    assert b"Traceback" not in run.stderr
    assert [p.line for p in parse_problems(run.err)] == [1, 2]
    if fmt == "json":
        document = orjson.loads(run.stdout)
        malformed = [a for a in _anomalies(document) if a["kind"] == "malformed_envelope"]
        # Each names its event: the lone surrogate escaped, as written; the other
        # line's event_id as it is (section 6).
        assert {a["message"].split(":")[0]: a["event_id"] for a in malformed} == {
            "$.event_id": "\\ud800",
            "$.payload.connector_id": orjson.loads(valid_lines[1])["event_id"],
        }


def test_lone_surrogate_in_a_key_is_a_readable_malformed_envelope(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # Found by the soak run: the problem's JSON path held the raw surrogate,
    # and writing the projection crashed. The path now escapes it.
    odd = valid_lines[0].replace(b'{"event_id"', b'{"\\ud800event_id"', 1)
    assert odd != valid_lines[0]
    path = write_lines(tmp_path / "key.jsonl", [odd, *valid_lines[1:5]])
    run = _replay_json(path)
    assert run.code == 1, run.explain()
    assert b"Traceback" not in run.stderr
    document = orjson.loads(run.stdout)
    [anomaly] = [a for a in document["anomalies"] if a["kind"] == "malformed_envelope"]
    assert anomaly["message"].startswith('$["\\ud800event_id"]: invalid_unicode')


@pytest.mark.parametrize("engine_env", [{}, {PURE_PYTHON_ENV: "1"}], ids=["compiled", "pure"])
def test_a_line_breaking_only_a_semantic_rule_is_reported_and_still_applied(
    engine_env: dict[str, str], tmp_path: Path, valid_lines: list[bytes]
) -> None:
    lines = list(valid_lines)
    number, event = next(
        (n, orjson.loads(raw))
        for n, raw in enumerate(lines, start=1)
        if orjson.loads(raw)["event_type"] == "ConnectorDegraded"
    )
    event["payload"]["last_healthy_at"] = "2099-01-01T00:00:00Z"  # after recorded_at
    lines[number - 1] = orjson.dumps(event)
    path = write_lines(tmp_path / "semantic.jsonl", lines)
    run = run_cli("replay", "--format", "json", path, env=engine_env)
    # Reported and counted as validate does ...
    assert run.code == 1, run.explain()
    [problem] = parse_problems(run.err)
    assert (problem.line, problem.code) == (number, "last_healthy_after_recorded")
    assert parse_summary(run.err).rejected == 1
    # ... yet applied (specification section 3), with the anomaly naming the rule.
    state = orjson.loads(run.stdout)["connectors"][event["payload"]["connector_id"]]
    assert [event["event_id"], "degraded"] in state["transition_log"]
    [violation] = [a for a in state["anomalies"] if a["event_id"] == event["event_id"]]
    assert violation["kind"] == "semantic_violation"
    assert "last_healthy_after_recorded" in violation["message"]


_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("name", ENGINES)
def test_text_from_a_log_reaches_the_terminal_escaped(tmp_path: Path, name: Engine) -> None:
    """A connector id or provider holding an escape sequence, a bell, a newline
    or a right-to-left override (all valid JSON text) is shown as escapes in
    the table, its anomaly report and the anomaly lines on stderr: a log can
    neither drive the reader's terminal nor fake a report line."""
    cid = "evil\x1b[31m\u202e"
    provisioned = connector_payload(connector_id=cid)
    other = connector_payload(connector_id=cid, provider="gh\x07\n/x.jsonl:9: anomaly")
    lines = [
        orjson.dumps(envelope(CONNECTOR_PROVISIONED, provisioned, seq=1, aggregate_id=cid)),
        orjson.dumps(envelope(CONNECTOR_PROVISIONED, other, seq=2, aggregate_id=cid)),
    ]
    path = write_lines(tmp_path / "hostile.jsonl", lines)
    with engine(name):
        run = run_cli("replay", path, env={"COLUMNS": "200"})
    assert run.code == 0, run.explain()
    assert not _RAW_CONTROL.search(run.out)
    assert not _RAW_CONTROL.search(run.err)
    assert "evil\\x1b[31m\\u202e" in run.out
    assert "gh\\x07\\n/x.jsonl:9: anomaly" in run.out
    anomaly_lines = [line for line in run.err.splitlines() if ": anomaly " in line]
    assert len(anomaly_lines) == 2
    assert all(line.startswith(f"{path}:2: anomaly ") for line in anomaly_lines)
    assert "[connector evil\\x1b[31m\\u202e]" in anomaly_lines[0]


def test_wide_connector_ids_line_up_in_the_table(tmp_path: Path) -> None:
    """Columns are padded by their width on screen: CJK and emoji take two."""
    ids = ["c1", "東京🚀", "github 🚀 1", "\uff46\uff55\uff4c\uff4c"]  # the last: fullwidth "full"
    lines = [
        orjson.dumps(
            envelope(
                CONNECTOR_PROVISIONED,
                connector_payload(connector_id=cid),
                seq=seq,
                aggregate_id=cid,
            )
        )
        for seq, cid in enumerate(ids, start=1)
    ]
    run = run_cli("replay", write_lines(tmp_path / "wide.jsonl", lines), env={"COLUMNS": "120"})
    assert run.code == 0, run.explain()
    rows = [line for line in run.out.splitlines() if "provisioned" in line]
    assert len(rows) == len(ids)
    starts = {wcswidth(row[: row.index("provisioned")]) for row in rows}
    header = run.out.splitlines()[0]
    assert starts == {wcswidth(header[: header.index("STATE")])}


def test_problems_found_before_an_unreadable_input_are_printed_before_its_error(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    """Problems are printed a chunk of lines at a time when no progress bar is shown;
    an input that cannot be read after them does not swallow them: they come first,
    in order, then the one line of the error (exit 2)."""
    broken = [b"{not json", *valid_lines[:20], b"[1, 2]", b'{"event_id": 7}']
    first = write_lines(tmp_path / "first.jsonl", broken)
    packed = gzip.compress(b"".join(line + b"\n" for line in valid_lines[:50]), mtime=0)
    damaged = tmp_path / "second.jsonl.gz"
    damaged.write_bytes(packed[: len(packed) // 2])
    run = run_cli("replay", "--format", "json", first, damaged)
    assert run.code == 2, run.explain()
    assert list(dict.fromkeys((p.file, p.line) for p in parse_problems(run.err))) == [
        (str(first), 1),
        (str(first), 22),
        (str(first), 23),
    ]
    last = run.err.splitlines()[-1]
    assert last == f"connector-sync: error: cannot read {damaged}: damaged or truncated gzip data"
    assert run.err.index(f"{first}:23:") < run.err.index("connector-sync: error:")


@pytest.mark.parametrize("engine_env", [{}, {PURE_PYTHON_ENV: "1"}], ids=["compiled", "pure"])
def test_more_inputs_than_descriptors_replay_as_fewer_do(
    tmp_path: Path, valid_lines: list[bytes], engine_env: dict[str, str]
) -> None:
    # Found by an outside run: replay kept every input open to read copies again,
    # so 250 files under `ulimit -n 256` (macOS's default) ran out of descriptors
    # when the models loaded for an invalid line in the last: a traceback, exit 1.
    names = []
    for number in range(150):
        path = tmp_path / f"part-{number:03d}.jsonl"
        path.write_bytes(valid_lines[number % 40] + b"\n")  # copies across files
        names.append(path.name)
    (tmp_path / "part-150.jsonl").write_bytes(b'{"x": 1}\n')
    names.append("part-150.jsonl")
    command = [*PROGRAM, "replay", "--format", "json", "--no-logs", *names]
    env = run_env(**engine_env)
    runs = [
        subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=False,
            preexec_fn=preexec,
        )
        for preexec in (None, functools.partial(open_files_limit, 64))
    ]
    assert [run.returncode for run in runs] == [1, 1], runs[1].stderr.decode()
    assert runs[1].stdout == runs[0].stdout
    assert runs[1].stderr == runs[0].stderr
    assert b"Traceback" not in runs[1].stderr
