"""Finding the k-th line of a partition, and where a file's k-th line starts.

A partitioned replay traces "line k of partition p" back to its input line
through the routing map (``Tracer.positions``), and ``untangle`` moves a copy
into another partition file after a given number of that file's lines
(``_line_starts``). Both count occurrences of one byte (the partition's mark,
``\\n``) with ``byte_positions``: in C with the compiled core, in Python
without it. A wrong count would report a problem or an anomaly at another
line, or write a moved copy out of input order. Each is checked against a
plain count, with chunks far smaller than in a replay so that wanted lines
fall on every side of a chunk's end, through both engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine.native import PURE_PYTHON_ENV
from connector_sync_contracts._engine.native import byte_positions as compiled_positions
from connector_sync_contracts.scale import plan, untangle
from connector_sync_contracts.scale.plan import Tracer, byte_positions

ENGINES = ["compiled", "python"]
# The engine fixture sets the environment once for all of a test's examples, as meant.
_ONE_ENGINE = [HealthCheck.function_scoped_fixture]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with the compiled ``byte_positions`` and with the Python one."""
    if request.param == "compiled":
        if compiled_positions() is None:
            pytest.skip("the compiled core is not built")
    else:
        monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    return str(request.param)


def _every(data: bytes, byte: int) -> list[int]:
    return [at for at, value in enumerate(data) if value == byte]


_data = st.binary(max_size=300).map(lambda raw: bytes(value % 4 for value in raw))
_counts = st.lists(st.integers(1, 120), max_size=12, unique=True).map(sorted)


@settings(max_examples=300, deadline=None, suppress_health_check=_ONE_ENGINE)
@given(data=_data, byte=st.integers(0, 4), counts=_counts)
def test_byte_positions_are_the_kth_occurrences(
    engine: str, data: bytes, byte: int, counts: list[int]
) -> None:
    every = _every(data, byte)
    expected = [every[k - 1] for k in counts if k <= len(every)]
    assert byte_positions(data, byte, counts) == expected
    assert byte_positions(memoryview(data), byte, counts) == expected


def test_byte_positions_refuses_counts_out_of_order(engine: str) -> None:
    for counts in ([2, 1], [1, 1], [0]):
        with pytest.raises(ValueError, match="ascending"):
            byte_positions(b"aaaa", ord("a"), counts)


@settings(max_examples=200, deadline=None, suppress_health_check=_ONE_ENGINE)
@given(
    routing=st.binary(min_size=1, max_size=200).map(lambda raw: bytes(v % 3 for v in raw)),
    partition=st.integers(0, 2),
    picks=st.lists(st.integers(0, 199), max_size=10),
    chunk=st.integers(1, 40),
)
def test_the_tracer_finds_the_kth_line_of_a_partition(
    engine: str, routing: bytes, partition: int, picks: list[int], chunk: int
) -> None:
    every = _every(routing, partition)
    lines = sorted({pick % len(every) + 1 for pick in picks}) if every else []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan, "_CHUNK", chunk)
        tracer = Tracer(routing, [len(routing)], [1])
        assert tracer.positions(partition, lines) == {k: every[k - 1] for k in lines}
        with pytest.raises(ValueError, match="fewer than"):
            tracer.positions(partition, [len(every) + 1])


@settings(max_examples=200, deadline=None, suppress_health_check=_ONE_ENGINE)
@given(
    lines=st.lists(st.binary(max_size=9).map(lambda raw: raw.replace(b"\n", b"")), max_size=30),
    final_newline=st.booleans(),
    picks=st.lists(st.integers(1, 40), max_size=8),
    chunk=st.integers(1, 50),
    marked=st.lists(st.integers(0, 40), max_size=6),
)
def test_line_starts_are_where_each_line_begins(
    engine: str,
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[bytes],
    final_newline: bool,
    picks: list[int],
    chunk: int,
    marked: list[int],
) -> None:
    """Also from marks: some known line starts (where untangle's blocks began)
    from which the lines after them are looked for."""
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("starts") / "part.jsonl"
    path.write_bytes(text)
    # Line 1 starts at 0, line k after the (k-1)-th newline; any later one at the end.
    starts = [0] + [at + 1 for at in _every(text, ord("\n"))]
    numbers = sorted(set(picks))
    marks = [(before, starts[before]) for before in sorted(set(marked)) if before < len(starts)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(untangle, "_SEEK_BYTES", chunk)
        found = untangle._line_starts(str(path), numbers, marks)
    assert found == {k: starts[k - 1] if k <= len(starts) else len(text) for k in numbers}


def test_a_file_without_the_wanted_lines_puts_them_at_its_end(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "part.jsonl"
    path.write_bytes(b"a\nbb\n")
    assert untangle._line_starts(str(path), [1, 2, 3, 4, 9]) == {1: 0, 2: 2, 3: 5, 4: 5, 9: 5}


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(
        st.lists(st.binary(max_size=9).map(lambda raw: raw.replace(b"\n", b"")), max_size=8),
        max_size=6,
    ),
    every=st.integers(1, 40),
)
def test_the_marks_noted_while_reading_are_line_starts_spaced_apart(
    blocks: list[list[bytes]], every: int
) -> None:
    """``untangle`` notes (lines before, offset) of a line start at least
    ``every`` bytes after the last one, block by block; ``_line_starts`` later
    seeks to them, so each must be the start of the line it names. A line
    that starts where a block ends is left to the next block."""
    texts = [b"".join(line + b"\n" for line in lines) for lines in blocks]
    marks: list[tuple[int, int]] = []
    number = offset = 0
    due = every
    ends: set[int] = set()
    for text in texts:
        due = untangle._marks(text, number, offset, every, due, marks)
        number += text.count(b"\n")
        offset += len(text)
        ends.add(offset)
    whole = b"".join(texts)
    expected, due = [], every
    for before, at in enumerate(_every(whole, ord("\n")), start=1):
        if at + 1 >= due and at + 1 not in ends:
            expected.append((before, at + 1))
            due = at + 1 + every
    assert marks == expected
