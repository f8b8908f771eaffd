"""``connector-sync validate``: line-numbered problems, quarantine, inputs and summary.

Every corrupted line is reported with its exact
line number, field and code, the run goes on after it, rejected lines reach
the quarantine file unchanged and in order, ``-`` and ``.gz`` (also gzip on
standard input) read the same, and accepted + rejected = lines read, always.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from connector_sync_contracts import Event
from tests.support.cli import Problem, Run, parse_problems, parse_summary, run_cli
from tests.support.engines import ENGINES, Engine, engine
from tests.support.factories import required_fields

from .conftest import CORRUPTIONS, CorruptedLog, Corruption, gzip_file, write_lines


def _by_line(problems: list[Problem]) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for problem in problems:
        found[problem.line].add((problem.field, problem.code))
    return dict(found)


@pytest.fixture(scope="module")
def text_run(corrupted_log: CorruptedLog) -> Run:
    """``validate`` over the corrupted log, text format, with a quarantine file."""
    quarantine = corrupted_log.path.with_name("quarantine.jsonl")
    return run_cli("validate", "--quarantine", quarantine, corrupted_log.path)


@pytest.fixture(scope="module")
def json_run(corrupted_log: CorruptedLog) -> Run:
    """``validate --format json`` over the corrupted log."""
    return run_cli("validate", "--format", "json", corrupted_log.path)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.name)
def test_each_corrupted_line_is_reported_with_its_number_and_code(
    corruption: Corruption, corrupted_log: CorruptedLog, text_run: Run
) -> None:
    number = corrupted_log.line_of(corruption.name)
    reported = _by_line(parse_problems(text_run.out)).get(number, set())
    assert reported == {(corruption.field, corruption.code)}, (
        f"line {number} ({corruption.name}): {corrupted_log.lines[number - 1][:300]!r}\n"
        f"reported {sorted(reported)}"
    )


def test_only_corrupted_lines_are_reported(corrupted_log: CorruptedLog, text_run: Run) -> None:
    assert text_run.code == 1, text_run.explain()
    problems = parse_problems(text_run.out)
    assert problems, text_run.explain()
    assert {p.file for p in problems} == {str(corrupted_log.path)}
    assert set(_by_line(problems)) == set(corrupted_log.planted)
    # One problem per line, printed in line order.
    assert [p.line for p in problems] == sorted(corrupted_log.planted)
    # Nothing but problem lines on stdout.
    assert len(text_run.out.splitlines()) == len(problems)
    assert all(p.message for p in problems)


def test_text_summary_counts_every_line(corrupted_log: CorruptedLog, text_run: Run) -> None:
    summary = parse_summary(text_run.err)
    assert summary.lines_read == len(corrupted_log.lines)
    assert summary.rejected == len(corrupted_log.planted)
    assert summary.accepted + summary.rejected == summary.lines_read
    assert summary.problems == len(parse_problems(text_run.out))


def test_quarantine_holds_exactly_the_rejected_lines_unchanged(
    corrupted_log: CorruptedLog, text_run: Run
) -> None:
    assert text_run.code == 1, text_run.explain()
    quarantine = corrupted_log.path.with_name("quarantine.jsonl").read_bytes()
    expected = b"".join(
        corrupted_log.lines[number - 1] + b"\n" for number in sorted(corrupted_log.planted)
    )
    assert quarantine == expected


def test_quarantine_of_a_clean_log_is_empty(tmp_path: Path, valid_log: Path) -> None:
    quarantine = tmp_path / "q.jsonl"
    run = run_cli("validate", "--quarantine", quarantine, valid_log)
    assert run.code == 0, run.explain()
    assert quarantine.read_bytes() == b""


def test_quarantine_spans_files_in_order(
    tmp_path: Path, corrupted_log: CorruptedLog, valid_lines: list[bytes]
) -> None:
    second = write_lines(
        tmp_path / "second.jsonl", [valid_lines[0], b"{oops", valid_lines[1], b"[]"]
    )
    quarantine = tmp_path / "q.jsonl"
    run = run_cli("validate", "--quarantine", quarantine, second, corrupted_log.path)
    assert run.code == 1, run.explain()
    first_lines = [p for p in parse_problems(run.out) if p.file == str(second)]
    assert [(p.line, p.code) for p in first_lines] == [(2, "invalid_json"), (4, "not_an_object")]
    expected = b"{oops\n[]\n" + b"".join(
        corrupted_log.lines[n - 1] + b"\n" for n in sorted(corrupted_log.planted)
    )
    assert quarantine.read_bytes() == expected
    summary = parse_summary(run.err)
    assert summary.lines_read == 4 + len(corrupted_log.lines)
    assert summary.rejected == 2 + len(corrupted_log.planted)
    assert summary.accepted + summary.rejected == summary.lines_read


def test_json_format_is_one_document_with_problems_and_summary(
    corrupted_log: CorruptedLog, json_run: Run, text_run: Run
) -> None:
    assert json_run.code == 1, json_run.explain()
    document = orjson.loads(json_run.stdout)
    assert set(document) == {"problems", "summary"}
    problems = [
        Problem(p["file"], p["line"], p["field"], p["code"], p["message"])
        for p in document["problems"]
    ]
    assert problems == parse_problems(text_run.out)
    summary = document["summary"]
    assert summary["lines_read"] == len(corrupted_log.lines)
    assert summary["accepted"] + summary["rejected"] == summary["lines_read"]
    assert summary["rejected"] == len(corrupted_log.planted)
    assert summary["problems"] == len(problems)
    assert summary["sources"] == [str(corrupted_log.path)]


def test_json_format_of_a_clean_log(valid_log: Path, valid_lines: list[bytes]) -> None:
    run = run_cli("validate", "--format", "json", valid_log)
    assert run.code == 0, run.explain()
    document = orjson.loads(run.stdout)
    assert document["problems"] == []
    assert document["summary"]["lines_read"] == len(valid_lines)
    assert document["summary"]["accepted"] == len(valid_lines)
    assert document["summary"]["rejected"] == 0


@pytest.mark.parametrize("bad", ["missing", "directory"])
def test_json_format_prints_nothing_when_an_input_cannot_be_opened(
    valid_log: Path, tmp_path: Path, bad: str
) -> None:
    # Found by an outside run: the document's start was printed before the
    # inputs were opened, so a CI step that saved it read broken JSON.
    other = tmp_path / "missing.jsonl" if bad == "missing" else tmp_path
    for files in ([other], [valid_log, other]):
        run = run_cli("validate", "--format", "json", *files)
        assert run.code == 2, run.explain()
        assert run.stdout == b""
        assert f"cannot read {other}" in run.err


def test_json_format_is_left_unfinished_by_an_error_part_way(
    valid_log: Path, tmp_path: Path
) -> None:
    """An input that breaks while it is read (a truncated gzip) leaves the
    document unfinished: no partial report parses as a whole one."""
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress(valid_log.read_bytes())[:600])
    run = run_cli("validate", "--format", "json", valid_log, truncated)
    assert run.code == 2, run.explain()
    assert run.stdout.startswith(b'{"problems": [')
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(run.stdout)


def _problems_of(run: Run) -> list[tuple[int, str, str]]:
    return [(p.line, p.field, p.code) for p in parse_problems(run.out)]


@pytest.mark.parametrize("how", ["stdin", "gz", "gz-on-stdin"])
def test_stdin_and_gzip_read_the_same_lines(
    how: str, corrupted_log: CorruptedLog, text_run: Run
) -> None:
    plain = corrupted_log.path.read_bytes()
    if how == "stdin":
        run = run_cli("validate", "-", stdin=plain)
        name = "-"
    elif how == "gz":
        path = gzip_file(corrupted_log.path)
        run = run_cli("validate", path)
        name = str(path)
    else:
        run = run_cli("validate", "-", stdin=gzip.compress(plain))
        name = "-"
    assert run.code == 1, run.explain()
    assert {p.file for p in parse_problems(run.out)} == {name}
    assert _problems_of(run) == _problems_of(text_run)
    assert parse_summary(run.err) == parse_summary(text_run.err)


def test_stdin_and_files_mixed_number_lines_per_source(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    first = gzip_file(write_lines(tmp_path / "a.jsonl", [valid_lines[0], b"nope"]))
    run = run_cli("validate", first, "-", stdin=b"[1]\n" + valid_lines[1] + b"\n{}")
    assert run.code == 1, run.explain()
    found = [(p.file, p.line, p.code) for p in parse_problems(run.out)]
    assert found[:2] == [(str(first), 2, "invalid_json"), ("-", 1, "not_an_object")]
    assert {(file, line) for file, line, _ in found[2:]} == {("-", 3)}
    summary = parse_summary(run.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (5, 2, 3)


@pytest.mark.parametrize("name", ENGINES)
def test_a_line_that_is_no_envelope_is_told_the_fields_it_lacks(
    tmp_path: Path, name: Engine
) -> None:
    """A log line is read as an envelope, never as a bare payload: ``{}`` or a
    stray application log record is told which envelope fields are missing,
    not asked for an ``event_type`` argument that a line cannot pass."""
    path = write_lines(tmp_path / "stray.jsonl", [b"{}", b'{"level": "info", "msg": "up"}'])
    with engine(name):
        run = run_cli("validate", path)
    assert run.code == 1, run.explain()
    required = set(required_fields(Event))  # tests/models/test_envelope.py: the contract's
    for line in (1, 2):
        problems = [p for p in parse_problems(run.out) if p.line == line]
        assert {p.code for p in problems} == {"required"}
        assert {p.field for p in problems} == {f"$.{name}" for name in required}


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_broken_gzip_is_an_io_error(damage: str, tmp_path: Path, valid_log: Path) -> None:
    packed = gzip.compress(valid_log.read_bytes() * 3, mtime=0)
    if damage == "truncated":
        packed = packed[: len(packed) // 2]
    else:
        packed = packed[:12] + bytes([packed[12] ^ 0x55]) + packed[13:]
    path = tmp_path / f"{damage}.jsonl.gz"
    path.write_bytes(packed)
    for command in ("validate", "replay"):
        run = run_cli(command, path)
        assert run.code == 2, run.explain()
        assert f"cannot read {path}: damaged or truncated gzip data" in run.err
        assert b"Traceback" not in run.stderr


def test_crlf_line_endings_and_missing_final_newline(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n".join([valid_lines[0], b"{bad", valid_lines[1]]))
    run = run_cli("validate", path)
    assert run.code == 1, run.explain()
    assert [(p.line, p.code) for p in parse_problems(run.out)] == [(2, "invalid_json")]
    assert parse_summary(run.err).lines_read == 3


def test_empty_input_is_clean() -> None:
    run = run_cli("validate", "-", stdin=b"")
    assert run.code == 0, run.explain()
    summary = parse_summary(run.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (0, 0, 0)


# ------------------------------------------------------------------ --strict


def test_strict_reports_unknown_fields_and_project_mismatch(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    unknown = orjson.loads(valid_lines[0])
    unknown["shoe_size"] = 44
    mismatch = next(
        data for data in map(orjson.loads, valid_lines) if "project_uuid" in data["payload"]
    )
    mismatch["payload"]["project_uuid"] = "00000000-0000-4000-8000-000000000000"
    path = write_lines(
        tmp_path / "strict.jsonl",
        [orjson.dumps(unknown), valid_lines[1], orjson.dumps(mismatch)],
    )
    relaxed = run_cli("validate", path)
    assert relaxed.code == 0, relaxed.explain()
    strict = run_cli("validate", "--strict", path)
    assert strict.code == 1, strict.explain()
    assert _problems_of(strict) == [
        (1, "$.shoe_size", "unknown_field"),
        (3, "$.payload.project_uuid", "project_uuid_mismatch"),
    ]
    summary = parse_summary(strict.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (3, 1, 2)


def test_strict_accepts_a_generated_log(valid_log: Path) -> None:
    run = run_cli("validate", "--strict", valid_log)
    assert run.code == 0, run.explain()


# ----------------------------------------------------------- --max-line-bytes


def _padded(line: bytes, size: int) -> bytes:
    """``line`` grown to exactly ``size`` bytes with an ignored unknown field."""
    head = b'{"padding":"'
    tail = b'",' + line[1:]
    fill = size - len(head) - len(tail)
    assert fill >= 0
    return head + b"x" * fill + tail


def test_max_line_bytes_reports_long_lines_and_goes_on(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    limit = 4000
    lines = [
        valid_lines[0],
        _padded(valid_lines[1], limit),  # exactly at the limit: read
        _padded(valid_lines[2], limit + 1),  # one byte over: reported
        b"{broken",
        _padded(valid_lines[3], 50 * limit),
        valid_lines[4],
    ]
    path = write_lines(tmp_path / "long.jsonl", lines)
    quarantine = tmp_path / "q.jsonl"
    run = run_cli("validate", "--max-line-bytes", str(limit), "--quarantine", quarantine, path)
    assert run.code == 1, run.explain()
    assert _problems_of(run) == [
        (3, "$", "line_too_long"),
        (4, "$", "invalid_json"),
        (5, "$", "line_too_long"),
    ]
    assert str(limit) in parse_problems(run.out)[0].message
    summary = parse_summary(run.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (6, 3, 3)
    assert quarantine.read_bytes() == lines[2] + b"\n" + lines[3] + b"\n" + lines[4] + b"\n"
    # Without the option the same lines are well within the default 1 MiB.
    relaxed = run_cli("validate", path)
    assert _problems_of(relaxed) == [(4, "$", "invalid_json")]


def test_default_line_limit_is_one_mebibyte(tmp_path: Path, valid_lines: list[bytes]) -> None:
    mib = 1024 * 1024
    path = write_lines(
        tmp_path / "mib.jsonl",
        [_padded(valid_lines[0], mib), _padded(valid_lines[1], mib + 1), valid_lines[2]],
    )
    run = run_cli("validate", path)
    assert run.code == 1, run.explain()
    assert _problems_of(run) == [(2, "$", "line_too_long")]
    summary = parse_summary(run.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (3, 2, 1)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_lone_surrogates_in_keys_are_printed_escaped(
    fmt: str, tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # "\ud800" is well-formed JSON text, so a key can hold a lone surrogate; the
    # problem's field names that key and must still be printable.
    odd_key = valid_lines[0].replace(b'"payload":{', b'"payload":{"\\udc00x":1,', 1)
    path = write_lines(tmp_path / "keys.jsonl", [b'{"\\ud800":1,"\\ud800":2}', odd_key])
    run = run_cli("validate", "--strict", "--format", fmt, path)
    assert run.code == 1, run.explain()
    assert b"Traceback" not in run.stderr
    if fmt == "text":
        found = [(p.line, p.field, p.code) for p in parse_problems(run.out)]
    else:
        found = [(p["line"], p["field"], p["code"]) for p in orjson.loads(run.stdout)["problems"]]
    assert found == [
        (1, '$["\\ud800"]', "duplicate_key"),
        (1, '$["\\ud800"]', "invalid_unicode"),
        (2, '$.payload["\\udc00x"]', "invalid_unicode"),
    ]
