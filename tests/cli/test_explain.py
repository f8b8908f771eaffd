"""A command line that explains itself (issue 13), run as a user runs it.

Messages in one style (the same path, code and value wording from
``validate``, ``replay`` and ``validate_event``; one error prefix; no
``(1 problems)``, no doubled words), the CloudEvents hint, ``--connector``
warnings, the replay table at 80 columns and wider, the anomaly report
(counts per kind, root causes first, the first example of each), and the
linter conventions: ``--statistics``, ``--quiet`` and ``--format github``.
"""

from __future__ import annotations

import gzip
import re
import shlex
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from connector_sync_contracts import CONNECTOR_PROVISIONED, Event, validate_event
from connector_sync_contracts.interop.cloudevents import to_structured_json
from tests.support.cli import (
    PROGRAM,
    parse_anomaly_lines,
    parse_problems,
    parse_summary,
    run_cli,
    run_env,
)

from .conftest import CorruptedLog, write_lines

DOUBLED: Final = re.compile(r"\b(\w+) \1\b")


def _anomalies(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(document["anomalies"])
    for family in ("connectors", "sync"):
        for state in document[family].values():
            found.extend(state["anomalies"])
    found.extend(document["external_links"]["anomalies"])
    return found


# ------------------------------------------------------------------ one message style


def test_validate_replay_and_validate_event_describe_a_line_alike(
    corrupted_log: CorruptedLog,
) -> None:
    validated = run_cli("validate", corrupted_log.path)
    replayed = run_cli("replay", "--format", "json", corrupted_log.path)
    number = corrupted_log.line_of("string_lamport_clock")
    [problem] = [p for p in parse_problems(validated.out) if p.line == number]
    assert f"{problem.field}: {problem.code}: {problem.message}" == (
        '$.lamport_clock: type: Input should be a valid integer, got "7"'
    )
    # validate_event says exactly this of the same line ...
    line = corrupted_log.lines[number - 1]
    assert [str(v) for v in validate_event(line).violations] == [
        f"{problem.field}: {problem.code}: {problem.message}"
    ]
    # ... and so does replay, on stderr and in the projection's anomaly.
    assert problem in parse_problems(replayed.err)
    messages = [a["message"] for a in _anomalies(orjson.loads(replayed.stdout))]
    assert f"{problem.field}: {problem.code}: {problem.message}" in messages


def test_no_message_repeats_a_word_or_prints_none(corrupted_log: CorruptedLog) -> None:
    runs = [
        run_cli("validate", corrupted_log.path),
        run_cli("replay", corrupted_log.path),
        run_cli("replay", "--format", "json", corrupted_log.path),
    ]
    for run in runs:
        for line in (run.out + run.err).splitlines():
            if line.lstrip().startswith(('"', "{", "}", "]", "[")):
                continue  # JSON text: checked through its messages below
            assert not DOUBLED.search(line.replace(str(corrupted_log.path), "")), line
            assert "None" not in line, line
    for anomaly in _anomalies(orjson.loads(runs[2].stdout)):
        assert not DOUBLED.search(anomaly["message"]), anomaly
        assert "None" not in anomaly["message"], anomaly


def test_a_truncated_line_says_where_its_string_starts_once(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "cut.jsonl", [b'{"event_id": "01M85DMC6XTSJEHA2JKW1N'])
    run = run_cli("validate", path)
    [problem] = parse_problems(run.out)
    assert problem.message == "not valid JSON: Unterminated string starting at column 14"


def test_counts_are_singular_for_one(tmp_path: Path, valid_lines: list[bytes]) -> None:
    one = run_cli("validate", write_lines(tmp_path / "one.jsonl", [b"{oops"]))
    assert one.code == 1, one.explain()
    assert one.err.splitlines()[-1] == "1 line read: 0 accepted, 1 rejected (1 problem)"
    assert "problems)" not in one.err
    clean = run_cli("validate", write_lines(tmp_path / "ok.jsonl", valid_lines[:1]))
    assert clean.err == "1 line read: 1 accepted, 0 rejected (0 problems)\n"


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--bogus",),
        ("nosuch",),
        ("validate",),
        ("replay", "--format", "xml", "x"),
        ("replay", "--connector"),
        ("validate", "--statistics", "--format", "github", "x"),
        ("schema", "--list", "--check"),
        ("schema", "Event", "--write", "out"),
        ("schema", "NoSuchType"),
        ("conformance", "--stream", "x"),
        ("asyncapi", "--check", "--self-contained"),
        ("generate", "--events", "-3"),
    ],
    ids=lambda args: " ".join(args) or "no arguments",
)
def test_every_usage_error_has_one_prefix_and_exits_2(args: tuple[str, ...]) -> None:
    run = run_cli(*args)
    assert run.code == 2, run.explain()
    assert run.stdout == b""
    assert "Error:" not in run.err, run.explain()
    assert "Traceback" not in run.err
    if args:
        assert run.err.startswith("connector-sync: error: "), run.explain()
    else:
        # connector-sync alone: the help, not an error message about it.
        assert run.err.startswith("Usage: "), run.explain()
        assert "Commands:" in run.err
        assert "error:" not in run.err


def test_a_cloudevents_file_read_as_envelopes_points_at_the_option(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    cloudevents = [to_structured_json(Event.model_validate_json(raw)) for raw in valid_lines[:4]]
    path = write_lines(tmp_path / "ce.jsonl", cloudevents)
    for command in ("validate", "replay"):
        run = run_cli(command, path)
        assert run.code == 1, run.explain()
        problems = parse_problems(run.out if command == "validate" else run.err)
        assert [(p.line, p.field, p.code) for p in problems] == [
            (n, "$", "looks_like_cloudevent") for n in range(1, 5)
        ]
        assert all("use --input-format cloudevents" in p.message for p in problems)
    assert run_cli("validate", "--input-format", "cloudevents", path).code == 0


def test_an_envelope_file_read_as_cloudevents_points_away_from_the_option(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    path = write_lines(tmp_path / "envelopes.jsonl", valid_lines[:4])
    for command in ("validate", "replay"):
        run = run_cli(command, "--input-format", "cloudevents", path)
        assert run.code == 1, run.explain()
        problems = parse_problems(run.out if command == "validate" else run.err)
        # One problem a line, not the ten attributes an envelope lacks.
        assert [(p.line, p.field, p.code) for p in problems] == [
            (n, "$", "looks_like_envelope") for n in range(1, 5)
        ]
        assert all("drop --input-format cloudevents" in p.message for p in problems)
    assert run_cli("validate", path).code == 0


# ------------------------------------------------------------------ replay --connector


def test_connector_can_be_given_more_than_once(valid_log: Path) -> None:
    full = orjson.loads(run_cli("replay", "--format", "json", valid_log).stdout)
    first, second, *_ = sorted(full["connectors"])
    run = run_cli(
        "replay", "--format", "json", "--connector", first, "--connector", second, valid_log
    )
    assert run.code == 0, run.explain()
    focused = orjson.loads(run.stdout)
    assert sorted(focused["connectors"]) == [first, second]
    assert "warning" not in run.err
    table = run_cli("replay", "--connector", first, "--connector", second, valid_log)
    rows = [line.split()[0] for line in table.out.splitlines()[2:4]]
    assert rows == [first, second]


def test_an_unknown_connector_is_a_warning_with_close_matches(valid_log: Path) -> None:
    full = orjson.loads(run_cli("replay", "--format", "json", valid_log).stdout)
    known = sorted(full["connectors"])[0]
    typo = known[:-1] + "9"
    run = run_cli("replay", "--connector", typo, "--connector", "zzz", valid_log)
    assert run.code == 0, run.explain()
    warnings = [line for line in run.err.splitlines() if "warning" in line]
    assert warnings[0].startswith(f"connector-sync: warning: no event names connector '{typo}'")
    assert f"did you mean {known}" in warnings[0] or known in warnings[0]
    assert warnings[1] == (
        f"connector-sync: warning: no event names connector 'zzz'; the log names "
        f"{len(set(full['connectors']) | set(full['sync']))} connectors"
    )


def test_a_connector_named_only_by_links_is_no_unknown_connector(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    # Its links are what --connector shows of it; a warning said no event named it.
    link = next(
        orjson.loads(line)
        for line in valid_lines
        if orjson.loads(line)["event_type"] == "ExternalReferenceLinked"
    )
    link["payload"]["connector_id"] = "only-links"
    log = write_lines(tmp_path / "links.jsonl", [orjson.dumps(link)])
    run = run_cli("replay", "--format", "json", "--connector", "only-links", log)
    assert run.code == 0, run.explain()
    assert "warning" not in run.err
    [shown] = orjson.loads(run.stdout)["external_links"]["links"]
    assert shown["connector_id"] == "only-links"


# ------------------------------------------------------------------ the table


def test_the_table_fits_80_columns_and_widens_with_the_terminal(valid_log: Path) -> None:
    narrow = run_cli("replay", valid_log, env={"COLUMNS": "80"})
    wide = run_cli("replay", valid_log, env={"COLUMNS": "200"})
    assert narrow.code == wide.code == 0
    assert max(len(line) for line in narrow.out.splitlines()) <= 80, narrow.out
    narrow_header = narrow.out.splitlines()[0].split()
    wide_header = wide.out.splitlines()[0].split()
    assert len(wide_header) > len(narrow_header)
    assert wide_header == [
        "CONNECTOR",
        "PROVIDER",
        "STATE",
        "HEALTH",
        "LATENCY",
        "LIFECYCLE",
        "ACCEPT",
        "REJECT",
        "RETRY",
        "DEAD",
        "REPLAY",
        "PENDING",
        "ANOMALIES",
    ]
    # Piped output, with no COLUMNS, is laid out for 80 columns.
    piped = run_cli("replay", valid_log)
    assert piped.out == narrow.out
    # Both list the same connectors in the same order.
    assert [line.split()[0] for line in narrow.out.splitlines()[2:8]] == [
        line.split()[0] for line in wide.out.splitlines()[2:8]
    ]


@pytest.mark.parametrize(
    "long_id",
    [
        "github-app-installation-acme-corporation-production-eu-west-1-primary",
        "東京" * 30 + "-primary",  # two columns a character
    ],
)
def test_a_connector_id_too_long_for_the_terminal_is_cut_in_the_middle(
    tmp_path: Path, valid_lines: list[bytes], long_id: str
) -> None:
    from wcwidth import wcswidth

    renamed: dict[str, str] = {}
    lines = []
    for raw in valid_lines:
        event = orjson.loads(raw)
        cid = event["payload"].get("connector_id")
        if cid is not None and len(renamed) < 2 and cid not in renamed:
            renamed[cid] = f"{long_id}-{len(renamed)}"  # two ids differing at their end
        if cid in renamed:
            event["payload"]["connector_id"] = renamed[cid]
        lines.append(orjson.dumps(event))
    run = run_cli("replay", write_lines(tmp_path / "long.jsonl", lines), env={"COLUMNS": "80"})
    table = run.out.split("\n\n", 1)[0].splitlines()
    assert max(wcswidth(line) for line in table) <= 80, run.out
    cut = [row.split("  ")[0].rstrip() for row in table[2:] if "..." in row.split("  ")[0]]
    assert len(cut) == 2, run.out
    for shown, full in zip(sorted(cut), sorted(renamed.values()), strict=True):
        start, end = shown.split("...")
        assert full.startswith(start)
        assert full.endswith(end)
        assert end.endswith(full[-2:])  # where the two ids differ


def test_the_legend_explains_lifecycle_pending_and_health(valid_log: Path) -> None:
    run = run_cli("replay", valid_log, env={"COLUMNS": "200"})
    legend = run.out.split("\nlegend:\n", 1)[1].split("\n\n", 1)[0]
    terms = [
        line.split()[0] for line in legend.splitlines() if line.startswith("  ") and line[2] != " "
    ]
    for term in ("STATE", "HEALTH", "LIFECYCLE", "PENDING", "ANOMALIES"):
        assert term in terms, legend
    assert "a revoked connector can show healthy" in " ".join(legend.split())
    narrow = run_cli("replay", valid_log, env={"COLUMNS": "80"})
    assert "(a wider terminal also shows PROVIDER, LATENCY, REPLAY)" in narrow.out


def _truncated_provisioning(tmp_path: Path, valid_lines: list[bytes]) -> tuple[Path, int, str]:
    """The valid log with one connector's ConnectorProvisioned line cut in half."""
    for index, raw in enumerate(valid_lines):
        event = orjson.loads(raw)
        if event["event_type"] == CONNECTOR_PROVISIONED:
            lines = list(valid_lines)
            lines[index] = raw[: len(raw) // 2]
            path = write_lines(tmp_path / "cut.jsonl", lines)
            return path, index + 1, event["payload"]["connector_id"]
    raise AssertionError("no ConnectorProvisioned line")


def test_the_anomaly_report_counts_kinds_root_causes_first(
    tmp_path: Path, valid_lines: list[bytes]
) -> None:
    path, number, cid = _truncated_provisioning(tmp_path, valid_lines)
    document = orjson.loads(run_cli("replay", "--format", "json", path).stdout)
    counts = Counter(a["kind"] for a in _anomalies(document))
    assert counts["malformed_envelope"] == 1
    assert counts["invalid_transition"] >= 1  # the connector's later events cannot apply
    run = run_cli("replay", path, env={"COLUMNS": "100"})
    assert run.code == 1, run.explain()
    report = run.out.split("root causes first", 1)[1]
    rows = [line.split() for line in report.split("\n\n", 1)[0].splitlines()[2:]]
    assert rows[0][0] == "malformed_envelope"
    assert {row[0]: int(row[1].replace(",", "")) for row in rows} == dict(counts)
    # Each kind's first example is placed at its file and line; the cause at the cut line.
    assert rows[0][2] == f"{path}:{number}"
    assert all(re.fullmatch(rf"{re.escape(str(path))}:[0-9]+", row[2]) for row in rows)
    examples = report.split("first of each kind:\n", 1)[1]
    kinds = [
        line.split()[0]
        for line in examples.splitlines()
        if line.startswith("  ") and line[2] != " "
    ]
    assert kinds == [row[0] for row in rows]
    assert "Unterminated string starting at column " in examples
    assert f"connector {cid}" in examples
    assert "None" not in run.out
    # The cause is on stderr with its line number, and so is each effect.
    assert [(p.line, p.code) for p in parse_problems(run.err)] == [(number, "invalid_json")]
    effects = parse_anomaly_lines(run.err)
    assert Counter(a.kind for a in effects) == counts - Counter({"malformed_envelope": 1})
    assert all(a.file == str(path) and a.line > 0 for a in effects)


# ------------------------------------------------------------------ linter conventions


def test_statistics_count_problems_per_code(corrupted_log: CorruptedLog) -> None:
    listed = parse_problems(run_cli("validate", corrupted_log.path).out)
    expected = Counter(p.code for p in listed)
    run = run_cli("validate", "--statistics", corrupted_log.path)
    assert run.code == 1, run.explain()
    counted = {}
    for line in run.out.splitlines():
        count, code = line.split()
        counted[code] = int(count.replace(",", ""))
    assert counted == dict(expected)
    counts = [int(line.split()[0]) for line in run.out.splitlines()]
    assert counts == sorted(counts, reverse=True)
    assert parse_summary(run.err).problems == len(listed)
    document = orjson.loads(
        run_cli("validate", "--format", "json", "--statistics", corrupted_log.path).stdout
    )
    assert document["statistics"] == dict(expected)
    assert len(document["problems"]) == len(listed)


def test_quiet_prints_only_the_problems(corrupted_log: CorruptedLog, valid_log: Path) -> None:
    loud = run_cli("validate", corrupted_log.path)
    quiet = run_cli("validate", "--quiet", corrupted_log.path)
    assert quiet.code == loud.code == 1
    assert quiet.stdout == loud.stdout
    assert quiet.stderr == b""
    clean = run_cli("replay", "-q", "--format", "json", valid_log)
    assert clean.code == 0
    assert clean.stderr == b""
    assert orjson.loads(clean.stdout)["event_count"] > 0


_ANNOTATION: Final = re.compile(
    r"^::error file=(?P<file>[^,]*),line=(?P<line>[0-9]+),title=(?P<title>[^:]*)::(?P<message>.*)$"
)


def test_github_format_prints_one_workflow_annotation_per_problem(
    tmp_path: Path, corrupted_log: CorruptedLog
) -> None:
    # A file name with a comma and a colon: both must be escaped in the properties.
    odd = tmp_path / "logs, day: 1.jsonl"
    odd.write_bytes(corrupted_log.path.read_bytes())
    text = parse_problems(run_cli("validate", odd).out)
    run = run_cli("validate", "--format", "github", odd)
    assert run.code == 1, run.explain()
    annotations = [_ANNOTATION.match(line) for line in run.out.splitlines()]
    assert all(annotations), run.out
    assert len(annotations) == len(text)
    for match, problem in zip(annotations, text, strict=True):
        assert match is not None
        assert match["file"] == str(odd).replace(":", "%3A").replace(",", "%2C")
        assert int(match["line"]) == problem.line
        assert match["title"] == problem.code
        assert match["message"].startswith(f"{problem.field}: {problem.code}: ")
        assert "\n" not in match["message"]
    parse_summary(run.err)


def test_github_format_escapes_line_breaks_and_percent_signs(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "100%\nsure.jsonl", [b'{"event_id": "50%", "payload": {}}'])
    run = run_cli("validate", "--format", "github", path)
    assert run.code == 1, run.explain()
    lines = run.out.splitlines()
    assert lines, run.explain()
    for line in lines:
        match = _ANNOTATION.match(line)
        assert match is not None, line
        assert match["file"] == str(path).replace("%", "%25").replace("\n", "%0A")
    # The offending value, "50%", is named with its percent sign escaped.
    assert any('got "50%25"' in line for line in lines), run.out


def test_the_table_needs_no_per_event_logs(valid_log: Path) -> None:
    # Same projection either way; the table mode must not ask the engine for logs,
    # which the pure-Python engine's timing cannot show, so look at what it asks for.
    from click.testing import CliRunner

    from connector_sync_contracts._engine.runner import replay_sources
    from connector_sync_contracts.cli import main
    from connector_sync_contracts.cli import replay as replay_module

    asked: list[bool] = []
    real = replay_sources

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["include_logs"])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay_module, "replay_sources", spy)
        runner = CliRunner()
        for args in (
            ["replay", str(valid_log)],
            ["replay", "--format", "json", str(valid_log)],
            ["replay", "--format", "json", "--no-logs", str(valid_log)],
        ):
            result = runner.invoke(main, args)
            assert result.exit_code == 0, result.output
    assert asked == [False, True, False]


# ------------------------------------------------------------------ help

COMMANDS: Final = ("asyncapi", "conformance", "generate", "replay", "schema", "validate")


def _help(*args: str) -> str:
    run = run_cli(*args, "--help")
    assert run.code == 0, run.explain()
    assert run.stderr == b""
    return run.out


def _examples(text: str) -> list[str]:
    """The commands under the help's closing ``Examples:`` heading."""
    head, _, tail = text.rpartition("\n  Examples:\n\n")
    assert head, f"no Examples: section at the end of\n{text}"
    return [line.strip() for line in tail.splitlines() if line.strip()]


def test_the_top_level_help_gives_every_command_a_one_line_summary() -> None:
    text = _help()
    commands = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    summaries: dict[str, str] = {}
    for line in commands.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name, _, summary = line.strip().partition(" ")
            summaries[name] = summary.strip()
        else:
            summaries[name] += " " + line.strip()
    assert sorted(summaries) == sorted(COMMANDS)
    for name, summary in summaries.items():
        assert summary.endswith("."), (name, summary)
        assert not summary.endswith("..."), (name, summary)  # cut short by click
        assert len(summary) <= 80, (name, summary)
    assert 2 <= len(_examples(text)) <= 3


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_option_is_described(command: str | None) -> None:
    text = _help(*([command] if command else []))
    options = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    entries: list[list[str]] = []
    for line in options.splitlines():
        if line.startswith("  -"):
            entries.append([line])
        else:
            entries[-1].append(line)
    assert entries
    for entry in entries:
        first = entry[0].strip()
        described = " ".join(re.split(r"\s{2,}", first, maxsplit=1)[1:] + entry[1:])
        # click's "[default: ...; x>=0]" alone is no description.
        words = re.sub(r"\[[^\]]*\]", "", " ".join(described.split()))
        assert words.strip(), f"no description: {entry}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_ends_with_two_or_three_examples(command: str) -> None:
    found = _examples(_help(command))
    assert 2 <= len(found) <= 3, found
    for example in found:
        assert example.startswith("connector-sync "), example
        assert f"connector-sync {command}" in example, example


def test_version_has_a_short_option() -> None:
    short, long = run_cli("-V"), run_cli("--version")
    assert short.code == long.code == 0
    assert short.out == long.out
    assert short.out.startswith("connector-sync 2.7.0; engine: ")


def test_every_example_in_the_help_runs(tmp_path: Path, valid_log: Path) -> None:
    # The files the examples name, in a folder of their own.
    (tmp_path / "log.jsonl").write_bytes(valid_log.read_bytes())
    (tmp_path / "log.jsonl.gz").write_bytes(gzip.compress(valid_log.read_bytes()))
    from connector_sync_contracts.conformance import load_manifest

    mixed = load_manifest().by_id("mixed-replay-multi-connector")
    (tmp_path / "my_projection.json").write_bytes(mixed.golden_bytes())
    program = " ".join(shlex.quote(part) for part in PROGRAM)
    ran = 0
    for command in (None, *COMMANDS):
        for example in _examples(_help(*([command] if command else []))):
            line = example.replace("connector-sync ", program + " ")
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", line],
                cwd=tmp_path,
                capture_output=True,
                env=run_env(),
                timeout=300,
                check=False,
            )
            err = done.stderr.decode()
            assert done.returncode in (0, 1), f"{example}\nexit {done.returncode}\n{err}"
            assert "error:" not in err, f"{example}\n{err}"
            ran += 1
    assert ran >= 14
