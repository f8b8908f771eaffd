"""Property: cutting a log into byte ranges at any boundaries changes nothing.

A cluster reads an uncompressed input as byte ranges aligned to line ends,
each routed by its own task, and puts each problem back at its true line
from the ranges' line counts. For small logs drawn from the tangled one and
cut at random byte offsets, the partitioned replay of the ranges (here on
one machine, with a budget so small that nearly every partition is folded
alone) gives the bytes and problems of the single-process replay of the
whole file. The cluster test with the same ranges is in ``test_cluster``.
"""

from __future__ import annotations

import tempfile
from itertools import pairwise
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts.contract.projection import canonical_dumps
from connector_sync_contracts.io import LineProblem, Source
from connector_sync_contracts.scale import _engine_calls
from connector_sync_contracts.scale.budget import Budget
from connector_sync_contracts.scale.fold import FoldSettings
from connector_sync_contracts.scale.inputs import piece_source
from connector_sync_contracts.scale.plan import Piece
from connector_sync_contracts.scale.spill import spilling
from tests.support.tangles import LINE_LIMIT

Reported = tuple[str, int, str, str, str]


def _reported(name: str, problem: LineProblem) -> Reported:
    return (name, problem.line, problem.field, problem.code, problem.message)


def single_process(path: str, settings: FoldSettings) -> tuple[bytes, list[Reported]]:
    """What ``connector-sync replay --format json`` prints for ``path``: JSON and problems."""
    problems: list[Reported] = []
    source = Source(path, max_line_bytes=settings.max_line_bytes)
    try:
        data, _ = _engine_calls.fold_sources(
            [source],
            input_format=settings.input_format,
            include_logs=settings.include_logs,
            max_reconnect_cycles=settings.max_reconnect_cycles,
            on_problem=lambda name, problem, raw: problems.append(_reported(name, problem)),
        )
    finally:
        source.close()
    return canonical_dumps(data.to_dict(include_logs=settings.include_logs)), problems


def in_ranges(
    pieces: list[Piece], settings: FoldSettings, budget: Budget
) -> tuple[bytes, list[Reported]]:
    """The partitioned replay of ``pieces`` (byte ranges of one file): JSON and problems."""
    sources = [piece_source(piece, settings.max_line_bytes) for piece in pieces]
    chunks: list[bytes] = []
    try:
        with spilling(sources, settings, budget, pieces=pieces) as outcome:
            problems = [_reported(name, problem) for name, problem in outcome.problems()]
            outcome.write_json(chunks.append)
    finally:
        for source in sources:
            source.close()
    return b"".join(chunks), problems


def ranges(path: str, size: int, cuts: list[int]) -> list[Piece]:
    """``path`` cut at ``cuts`` (byte offsets) into consecutive ranges covering it."""
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < size}), size]
    return [Piece(0, path, start, stop) for start, stop in pairwise(bounds)]


@given(data=st.data(), include_logs=st.booleans(), final_newline=st.booleans())
def test_a_log_cut_at_any_byte_offsets_replays_as_the_whole_file(
    tangled_lines: list[bytes], data: st.DataObject, include_logs: bool, final_newline: bool
) -> None:
    chosen = data.draw(
        st.lists(st.integers(0, len(tangled_lines) - 1), min_size=1, max_size=60), label="lines"
    )
    text = b"\n".join(tangled_lines[index] for index in chosen) + (b"\n" if final_newline else b"")
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=8), label="cuts")
    settings = FoldSettings(include_logs=include_logs, max_line_bytes=LINE_LIMIT)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "log.jsonl")
        Path(path).write_bytes(text)
        expected = single_process(path, settings)
        got = in_ranges(ranges(path, len(text), cuts), settings, Budget(2048, include_logs=True))
    assert got[1] == expected[1]
    assert got[0] == expected[0]
