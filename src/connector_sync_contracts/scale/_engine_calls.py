"""The only module of ``scale`` that calls the private engine (``_engine``).

A partition is folded by exactly the engine ``connector-sync replay`` uses:
``replay_sources`` over the partition's files, with problems reported
through a sink that puts back each line's true file and line number. Keeping
every call here means a change of the engine's interface is met in one
place.

What a faster partitioned replay on a cluster would need from the engine
is described in ``docs/scale-out.md`` ("Where the time goes"): folding
compact records instead of parsing the lines again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator
from typing import TYPE_CHECKING, Final

from .._engine.decision import line_event_id, named_event_id
from .._engine.native import lines_naming, no_gc
from .._engine.runner import RunSummary, replay_sources
from ..contract.projection import ReplayData
from ..interop.formats import adapt_input, extra_problems
from ..io import LineSink, Source

if TYPE_CHECKING:
    from ..models.envelope import Event, SortKey

__all__ = [
    "RunSummary",
    "copy_winners",
    "fold_sources",
    "line_event",
    "line_event_id",
    "lines_may_naming",
    "may_name",
    "named_event_id",
    "no_gc",
    "report_too_long",
]


def fold_sources(
    sources: list[Source],
    *,
    input_format: str,
    include_logs: bool,
    max_reconnect_cycles: int,
    on_problem: LineSink,
    on_line: Callable[[int, int], None] | None = None,
    locate: bool = False,
) -> tuple[ReplayData, RunSummary]:
    """Replay ``sources`` exactly as ``connector-sync replay`` does (``input_format`` too).

    ``locate`` also finds the input and line of each anomaly's event
    (``ReplayData.located_anomalies``).
    """
    sink = adapt_input(input_format, sources, on_problem)
    data, summary = replay_sources(
        sources,
        include_logs=include_logs,
        max_reconnect_cycles=max_reconnect_cycles,
        on_problem=sink,
        on_line=on_line,
        locate=locate,
    )
    summary.problems += extra_problems(sink)
    return data, summary


class _TooLong(Source):
    """A source of ``count`` lines, every one over the length limit (never opened)."""

    def __init__(self, count: int, max_line_bytes: int) -> None:
        super().__init__("<too long>", max_line_bytes=max_line_bytes)
        self.count = count

    def streamed(self) -> bool:
        """Not a file: its size is not known ahead."""
        return True

    def blocks(self) -> Iterator[bytes | memoryview | None]:
        """Each line is over the limit: ``None`` each time."""
        for _ in range(self.count):
            yield None

    def lines(self) -> Iterator[bytes | None]:
        """Each line is over the limit: ``None`` each time."""
        for _ in range(self.count):
            yield None


def report_too_long(
    count: int,
    *,
    max_line_bytes: int,
    include_logs: bool,
    max_reconnect_cycles: int,
    on_problem: LineSink,
    locate: bool = False,
) -> tuple[ReplayData, RunSummary]:
    """What the engine makes of ``count`` lines over the length limit (lines 1..count).

    Routing never sends such a line to a partition (it is not read whole);
    the engine reports each one and records its anomaly, as it does in a
    single-process replay.
    """
    return replay_sources(
        [_TooLong(count, max_line_bytes)],
        include_logs=include_logs,
        max_reconnect_cycles=max_reconnect_cycles,
        on_problem=on_problem,
        locate=locate,
    )


def copy_winners(
    lines: Iterable[bytes | None],
) -> tuple[list[str | None], dict[str, tuple[int, SortKey]]]:
    """The event_id of each envelope line and each event_id's winning copy (index, sort key),
    as the engine's dedup decides them (``_engine.modelpath.copy_winners``).

    Imported on use: the model path loads pydantic, which the command line
    starts without.
    """
    from .._engine.modelpath import copy_winners as decide

    return decide(lines)


_EVENT_ID_MEMBER: Final = re.compile(rb'"event_id"[ \t\r\n]*:[ \t\r\n]*"([^"\\]*)"')
"""An ``event_id`` key and its value, a string without escapes."""


def may_name(raw: bytes, keys: Container[bytes]) -> bool:
    """False only when the event_id ``line_event_id`` reads in ``raw`` has no key in ``keys``.

    ``keys`` are ``contract.patterns.event_id_key`` of the wanted ids, as
    UTF-8. Reading the lines of a partition again for a few event ids
    parsed every line as JSON. A line with no backslash and one
    ``"event_id"`` key, whose value is a plain string, can name that value
    or nothing (the key nested, or the line not JSON): that value's key
    decides. Every other line may name anything, and is parsed.
    """
    if b"\\" in raw or raw.count(b'"event_id"') != 1:
        return True
    found = _EVENT_ID_MEMBER.search(raw)
    return found is None or found.group(1).replace(b"-", b"").lower() in keys


def lines_may_naming(source: Source, keys: frozenset[bytes]) -> Iterator[tuple[int, bytes]]:
    """(number, line) of each line of ``source`` that ``may_name`` one of ``keys``.

    Each line as ``source.lines()`` gives it, numbered from 1; a line over
    the length limit names no event id, and is left out. With the compiled
    core, each block of a plain file is tested in C (``lines_naming``, the
    same rule, and more: a line with a backslash, which ``may_name`` keeps,
    is walked member by member and passed over when its top-level event_id
    is a plain string whose key is not wanted), so a line that cannot name a
    wanted id costs no Python; a source that maps its lines (CloudEvents) is
    read line by line.
    """
    compiled = lines_naming()
    if compiled is None or type(source).blocks is not Source.blocks:
        for number, raw in enumerate(source.lines(), start=1):
            if raw is not None and may_name(raw, keys):
                yield number, raw
        return
    number = 0  # lines before the block
    for block in source.blocks():
        if block is None:  # over the length limit
            number += 1
            continue
        count, found = compiled(block, keys)
        for index, piece in found:
            raw = source._line(piece)  # as lines() makes it: no \r ending, within the limit
            if raw is not None:
                yield number + 1 + index, raw
        number += count


def line_event(raw: bytes) -> Event | None:
    """The ``Event`` of a valid line as the engine's model path reads it, or None.

    Imported on use: the model path loads pydantic, which the command line
    starts without.
    """
    from .._engine.modelpath import line_event as read

    return read(raw)
