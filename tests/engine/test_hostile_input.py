"""Hostile input never crashes validate or replay and never loses a line.

Hypothesis writes files of arbitrary byte lines - random bytes, valid lines
mutated byte by byte, and hand-made hostile snippets (NUL, invalid UTF-8,
deep nesting, NaN/Infinity, huge integers, repeated keys, non-objects, lone
surrogates, copies of one event_id with other content, over-long lines) -
and runs ``validate_sources`` and ``replay_sources`` over them, as the CLI
does. Neither may raise; accepted + rejected must equal the lines read;
every rejected line must have at least one problem reported with its own
line number; and a line is rejected exactly when the model path
(``parse_line`` + ``validate_event``) says it is invalid.

The law holds under both engines, the compiled screen (when the extension
is built) and pure Python, and the two must tell a user exactly the same:
the same problems (line, field, code, message, raw line) in the same order,
the same summaries, the same quarantined content and the same replay JSON.

Examples: ``HOSTILE_EXAMPLES`` files by default, many more with ``CSC_SOAK=1``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import validate_event
from connector_sync_contracts._engine.runner import RunSummary, replay_sources, validate_sources
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.io import (
    DEFAULT_MAX_LINE_BYTES,
    LineProblem,
    LineSink,
    Source,
    parse_line,
)
from tests.support.engines import ENGINES, Engine, engine, needs_native
from tests.support.soak import SOAK

HOSTILE_EXAMPLES: Final = 10_000 if SOAK else 600
"""Files per run; each file is validated (plain and strict) and replayed."""
COMPARED_EXAMPLES: Final = HOSTILE_EXAMPLES if SOAK else 400
"""Files per run the compiled engine reads, each also read by pure Python to compare."""

GZIP_MAGIC: Final = b"\x1f\x8b"
VALID_LINES: Final = tuple(
    generate_lines(GeneratorOptions(events=60, connectors=3, seed=17, duplicates=0))
)
"""Realistic valid lines to mutate and to copy."""

SNIPPETS: Final = (
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xc0\xaf",  # overlong encoding of '/'
    b"\xed\xa0\x80",  # a UTF-16 surrogate encoded as UTF-8
    b"\xef\xbb\xbf",  # byte order mark
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\u0000",
    b'\\"',
    b"\\",
    b"NaN",
    b"-Infinity",
    b"Infinity",
    b"1e400",
    b"-1e400",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"9" * 30,
    b"9" * 5000,
    b"1" + b"0" * 400 + b".5",
    b'"event_id":"x",',
    b'"lamport_clock":true,',
    b'"payload":[],',
    b'"payload":{},',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b'"',
    b" ",
    b"\t",
    b"\r",
    b"\x1f\x8b",
)


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """JSON arrays/objects nested around the 64-level limit, or far beyond it."""
    depth = draw(st.sampled_from([63, 64, 65, 66, 1000, 20_000]))
    if draw(st.booleans()):
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def valid_line(draw: st.DrawFn) -> bytes:
    """One of the realistic valid lines."""
    return draw(st.sampled_from(VALID_LINES))


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    """A valid line with a few byte-level edits: flips, cuts, insertions, repeats."""
    line = bytearray(draw(valid_line()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(line)))
        action = draw(st.integers(0, 4))
        if action == 0 and at < len(line):
            line[at] = draw(st.integers(0, 255))
        elif action == 1:
            end = draw(st.integers(at, min(len(line), at + 40)))
            del line[at:end]
        elif action == 2:
            line[at:at] = draw(st.sampled_from(SNIPPETS) | nested())
        elif action == 3:
            end = draw(st.integers(at, min(len(line), at + 60)))
            line[at:at] = line[at:end]  # a repeated stretch: repeated keys and values
        else:
            del line[at:]
    return bytes(line)


@st.composite
def same_id_other_content(draw: st.DrawFn) -> bytes:
    """A copy of a valid line's event_id with other content (a conflicting duplicate)."""
    line = draw(valid_line())
    old, new = draw(
        st.sampled_from(
            [
                (b'"node_id":"node-', b'"node_id":"elsewhere-'),
                (b'"data_tier":1', b'"data_tier":2'),
                (b'"payload":{', b'"payload":{"note":"\\ud800",'),
                (b'"payload":{', b'"payload":{"big":' + b"9" * 30 + b","),
                (b'"payload":{', b'"payload":{"deep":' + b"[" * 70 + b"]" * 70 + b","),
                (b'"schema_version":"2.7.0"', b'"schema_version":"2.7.0","schema_version":"9"'),
                (b'"lamport_clock":', b'"lamport_clock":1'),
            ]
        )
    )
    return line.replace(old, new, 1)


@st.composite
def odd_text_in_a_field(draw: st.DrawFn) -> bytes:
    """A valid line whose id or connector_id text starts with an escape or a lone surrogate."""
    field = draw(st.sampled_from([b'"event_id":"', b'"connector_id":"', b'"node_id":"']))
    text = draw(st.sampled_from([b"\\ud800", b"\\udfff-", b"\\u0000", b"\\u00e9", b"\\n"]))
    return draw(valid_line()).replace(field, field + text)


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """Whole-line hostile inputs: non-objects, bare literals, deep nesting, odd objects."""
    return draw(
        st.sampled_from(
            [
                b"",
                b" ",
                b"\t\r",
                b"[]",
                b"null",
                b"true",
                b"0",
                b'"event"',
                b"{}",
                b'{"event_type":"ConnectorProvisioned"}',
                b'{"payload":{}}',
                b'{"a":1,"a":2}',
                b'{"a":{"b":1,"b":2}}',
                b'{"a":NaN}',
                b'{"a":1e999}',
                b'{"a":' + b"9" * 5000 + b"}",
                b'{"a":"\\ud800"}',
                b'{"a":"\\u0000"}',
                b"\xef\xbb\xbf{}",
                b"{}{}",
                b"{} x",
            ]
        )
        | nested()
        | st.builds(lambda n: b'{"n":' + str(n).encode() + b"}", st.integers(-(2**80), 2**80))
    )


lines_strategy: Final = st.lists(
    st.one_of(
        st.binary(max_size=120),
        valid_line(),
        mutated_line(),
        same_id_other_content(),
        odd_text_in_a_field(),
        structured(),
        st.sampled_from(SNIPPETS),
    ),
    max_size=25,
).map(lambda lines: [line.replace(b"\n", b" ") for line in lines])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each drawn file is written (rewritten for every example)."""
    return tmp_path_factory.mktemp("hostile") / "hostile.jsonl"


Reported = dict[int, list[tuple[LineProblem, bytes | None]]]


def _recorder(path: Path) -> tuple[Reported, Callable[[str, LineProblem, bytes | None], None]]:
    reported: Reported = defaultdict(list)

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        assert name == str(path)
        reported[problem.line].append((problem, raw))

    return reported, on_problem


def _expected_rejections(lines: list[bytes], limit: int, strict: bool) -> set[int]:
    """1-based numbers of the lines the model path rejects."""
    rejected = set()
    for number, line in enumerate(lines, start=1):
        if len(line) > limit:
            rejected.add(number)
            continue
        parsed = parse_line(line)
        if isinstance(parsed, LineProblem) or not validate_event(parsed, strict=strict).valid:
            rejected.add(number)
    return rejected


def _check_accounting(
    summary: RunSummary, reported: Reported, lines: list[bytes], expected: set[int]
) -> None:
    assert summary.lines_read == len(lines)
    assert summary.accepted + summary.rejected == summary.lines_read
    assert set(reported) == expected, (sorted(reported), sorted(expected))
    assert summary.rejected == len(expected)
    assert summary.problems == sum(len(found) for found in reported.values())
    for number, found in reported.items():
        for problem, raw in found:
            assert problem.line == number
            assert problem.code
            assert problem.field.startswith("$")
            line = lines[number - 1]
            assert raw == (None if problem.code == "line_too_long" else line)


def _source(path: Path, limit: int) -> Source:
    return Source(str(path), max_line_bytes=limit)


@dataclass
class Run:
    """What one validate or replay run told its user."""

    summary: RunSummary
    reported: Reported
    calls: list[tuple[str, LineProblem, bytes | None]] = field(default_factory=list)
    """Every ``on_problem`` call, in order."""
    spilled: list[bytes] = field(default_factory=list)
    """What ``spill`` (a quarantine) received, chunk by chunk."""
    replay_json: bytes | None = None

    def told(self) -> dict[str, Any]:
        """Everything a user sees, in a form two engines can be compared by."""
        return {
            "summary": self.summary.to_dict(),
            "problems": self.calls,
            "spilled": b"".join(self.spilled),
            "replay": self.replay_json,
        }


def _runs(path: Path, limit: int) -> dict[str, Run]:
    """Validate (plain and strict) and replay (with and without logs) ``path``, as the CLI does."""
    runs: dict[str, Run] = {}
    commands: dict[str, Callable[[Source, LineSink], tuple[RunSummary, bytes | None]]]
    commands = {
        "validate": lambda s, sink: (validate_sources([s], on_problem=sink), None),
        "validate --strict": lambda s, sink: (
            validate_sources([s], strict=True, on_problem=sink),
            None,
        ),
        "replay": lambda s, sink: _replayed([s], sink, include_logs=True),
        "replay --no-logs": lambda s, sink: _replayed([s], sink, include_logs=False),
    }
    for name, command in commands.items():
        reported, on_problem = _recorder(path)
        run = Run(RunSummary(), reported)

        def sink(
            source_name: str,
            problem: LineProblem,
            raw: bytes | None,
            run: Run = run,
            on_problem: LineSink = on_problem,
        ) -> None:
            run.calls.append((source_name, problem, raw))
            on_problem(source_name, problem, raw)

        source = _source(path, limit)
        source.spill = run.spilled.append
        try:
            run.summary, run.replay_json = command(source, sink)
        finally:
            source.close()
        runs[name] = run
    return runs


def _replayed(
    sources: list[Source], sink: LineSink, *, include_logs: bool
) -> tuple[RunSummary, bytes]:
    result, summary = replay_sources(sources, include_logs=include_logs, on_problem=sink)
    return summary, result.to_json(include_logs=include_logs)  # the projection always serializes


def _write(path: Path, lines: list[bytes]) -> list[bytes]:
    """Write ``lines`` to ``path``; return what each line holds once read."""
    if lines and lines[0].startswith(GZIP_MAGIC):
        # A file that begins like gzip is read as gzip (that is how .gz on
        # standard input works); see test_gzip_lookalike_is_an_io_error.
        lines = [b" " + lines[0], *lines[1:]]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    # A CR before the newline ends a CRLF line.
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _hostile_files(test: Callable[..., None]) -> Callable[..., None]:
    """Draw hostile files for ``test``, plus the hand-picked ones."""
    test = example(lines=[VALID_LINES[2], VALID_LINES[2] + b"\r", b"\r", b"x\r\r"], limit=200)(test)
    test = example(lines=[VALID_LINES[0], b"\xff" * 3000, VALID_LINES[1]], limit=1500)(test)
    test = example(lines=[b"", b"\x00", b"[" * 100_000, b'{"a":' + b"9" * 5000 + b"}"], limit=200)(
        test
    )
    return given(
        lines=lines_strategy,
        limit=st.sampled_from([DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES, 200, 1500]),
    )(test)


def _examples(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _hostile_law(path: Path, engine_name: Engine, lines: list[bytes], limit: int) -> None:
    """Run every command over ``lines`` under one engine; check its accounting of each line."""
    lines = _write(path, lines)
    expected_plain = _expected_rejections(lines, limit, strict=False)
    expected = {
        "validate": expected_plain,
        "validate --strict": _expected_rejections(lines, limit, strict=True),
        "replay": expected_plain,
        "replay --no-logs": expected_plain,
    }
    with engine(engine_name):
        runs = _runs(path, limit)
    for name, run in runs.items():
        _check_accounting(run.summary, run.reported, lines, expected[name])
    if engine_name == "compiled":
        # Both engines must tell a user exactly the same about the same file.
        with engine("python"):
            reference = _runs(path, limit)
        for name, run in runs.items():
            assert run.told() == reference[name].told(), f"{name}: compiled != pure Python"


@_examples(HOSTILE_EXAMPLES)
@_hostile_files
def test_validate_and_replay_never_raise_and_account_for_every_line(
    work: Path, lines: list[bytes], limit: int
) -> None:
    _hostile_law(work, "python", lines, limit)


@needs_native
@_examples(COMPARED_EXAMPLES)
@_hostile_files
def test_compiled_engine_obeys_the_law_and_tells_users_the_same(
    work: Path, lines: list[bytes], limit: int
) -> None:
    _hostile_law(work, "compiled", lines, limit)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("body", [b"", b"\x00" * 50, b"\n".join(VALID_LINES[:3])])
def test_gzip_lookalike_is_an_io_error(work: Path, body: bytes, engine_name: Engine) -> None:
    work.write_bytes(GZIP_MAGIC + body)
    _, on_problem = _recorder(work)
    runs: list[Callable[[list[Source]], object]] = [
        lambda sources: validate_sources(sources, on_problem=on_problem),
        lambda sources: replay_sources(sources, on_problem=on_problem),
    ]
    for run in runs:
        source = _source(work, DEFAULT_MAX_LINE_BYTES)
        try:
            with (
                engine(engine_name),
                pytest.raises(OSError, match=r"(?i)gzip|compress"),  # CLI: exit code 2
            ):
                run([source])
        finally:
            source.close()
