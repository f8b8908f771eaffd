"""Input formats of ``validate`` and ``replay``: envelopes, or CloudEvents mapped per line.

Each line is a structured-mode CloudEvent; ``CloudEventsSource`` maps it to
the envelope (``cloudevents.envelope_from_cloudevent_dict``) before the usual
engine sees it, so both commands keep their line accounting, fast path and
output. Problems are reported in CloudEvents terms: a line that does not
map names the attribute and rule (``$.source: invalid_source``), and an
envelope rule broken by a mapped line is reported at its attribute
(``$.lamportclock``, ``$.data.latency_ms``). Quarantine keeps the original
CloudEvent line. The ``cloudevents`` module (and with it the models) is
imported only once CloudEvents are read, so importing this module is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, ClassVar, Final

import orjson

from ..errors import CloudEventMappingError
from ..io import LineProblem, LineSink, Source, parse_line
from ..validation.input import lenient_member
from ._attributes import attribute_path

__all__ = ["INPUT_FORMATS", "CloudEventsSource", "adapt_input", "extra_problems"]

INPUT_FORMATS: Final = ("envelope", "cloudevents")
"""Values of ``--input-format``: contract envelopes (the default) or structured CloudEvents."""


def _rejected_stand_in(event_id: object) -> bytes:
    # What the engine reads in place of a line that does not map: never a valid
    # envelope (so the line is counted as rejected), keeping the id when there is one.
    # json, not orjson: an id read from a line refused for a limit may hold a lone
    # surrogate, which only an escape can carry (the engine then spells it so).
    return json.dumps({"event_id": event_id} if isinstance(event_id, str) else {}).encode()


def _envelope_json(envelope: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(envelope)
    except TypeError:
        # An integer attribute written as a decimal string beyond 64 bits: the
        # engine reports it at its attribute, as it would the JSON integer.
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


class CloudEventsSource(Source):
    """A ``Source`` whose lines are structured CloudEvents, yielded as envelope JSON.

    With the compiled core, each block of lines is mapped there
    (``Scanner.map_cloudevents``) and only the lines it declines are mapped
    here, one by one; without it, every line is mapped here. Either way a
    line gives the same envelope, and problems are found before the next
    block is read.
    """

    core_reports: ClassVar[bool] = False
    """Its lines are mapped envelopes: a problem is explained on the CloudEvent."""

    def __init__(self, name: str, *, max_line_bytes: int) -> None:
        super().__init__(name, max_line_bytes=max_line_bytes)
        self.failures: dict[int, list[LineProblem]] = {}
        """Line number -> the mapping problems of a line that did not map (until reported)."""
        self.silenced = 0
        """Line whose engine-side problems are replaced by its mapping problems."""
        self._read: tuple[int, bytes | memoryview | None] = (0, None)
        self._read_lines: list[bytes] | None = []

    def blocks(self) -> Iterator[bytes | memoryview | None]:
        """Runs of envelope lines, one per line of the input (``None`` for one over the limit)."""
        from .._engine import native
        from ._attributes import compiled_plan

        scanner = native.scanner()
        if scanner is None:
            for number, raw in enumerate(Source.lines(self), start=1):
                self._keep_line(number, raw)
                yield None if raw is None else self._mapped(number, raw)
            return
        plan = compiled_plan()
        number = 0  # lines before the block
        for block in Source.blocks(self):
            if block is None:
                number += 1
                yield None
                continue
            count, mapped, declined = scanner.map_cloudevents(block, self.max_line_bytes, plan)
            self._keep_read(number + 1, block)
            view = memoryview(mapped)
            done = 0
            for at, start, end, place in declined:
                if place > done:
                    yield view[done:place]
                    done = place
                raw = self.within_limit(bytes(block[start:end]))
                yield None if raw is None else self._mapped(number + at + 1, raw)
            if done < len(mapped):
                yield view[done:]
            number += count

    def lines(self) -> Iterator[bytes | None]:
        """Each line as envelope JSON (a stand-in when it does not map), or None."""
        for block in self.blocks():
            if block is None:
                yield None
                continue
            pieces = bytes(block).split(b"\n")
            last = pieces.pop()  # a block ends with its last line's "\n", or without one
            yield from pieces
            if last:
                yield last

    def refused(self, number: int) -> Sequence[LineProblem]:
        """The mapping problems of line ``number`` when it did not map (until reported)."""
        return self.failures.get(number, ())

    def lines_at(self, numbers: AbstractSet[int]) -> Iterator[tuple[int, bytes | None]]:
        """(number, line) of each 1-based line number in ``numbers``, as envelope JSON."""
        if not numbers:
            return
        with self._not_spilling():
            for number, raw in enumerate(self.lines(), start=1):
                if number in numbers:
                    yield number, raw

    def _mapped(self, number: int, raw: bytes) -> bytes:
        """Line ``number`` as envelope JSON, or a stand-in noting why it does not map."""
        # Imported once CloudEvents are read: envelope input never loads the models.
        from .cloudevents import envelope_from_cloudevent_dict

        parsed = parse_line(raw, number)
        if isinstance(parsed, LineProblem):
            self.failures[number] = [parsed]
            # A line refused for a limit may still name its event (as an envelope's does).
            return _rejected_stand_in(lenient_member(raw, "id"))
        try:
            envelope = envelope_from_cloudevent_dict(parsed)
        except CloudEventMappingError as exc:
            self.failures[number] = [LineProblem.of(number, problem) for problem in exc.violations]
            return _rejected_stand_in(parsed.get("id"))
        return _envelope_json(envelope)

    def _keep_read(self, first: int, block: bytes | memoryview) -> None:
        """Keep the block just read, from line ``first`` on, for ``original``."""
        self._read = (first, block)
        self._read_lines = None

    def _keep_line(self, number: int, raw: bytes | None) -> None:
        """Keep the line just read (line ``number``), for ``original``."""
        self._read = (number, None)
        self._read_lines = [] if raw is None else [raw]

    def original(self, line: int, fallback: bytes | None) -> bytes | None:
        """The CloudEvent line as read, when ``line`` is in the block read last."""
        first, block = self._read
        if self._read_lines is None:
            # As Source.lines splits a block: a "\r" before a "\n", or ending the
            # input, is not the line's.
            pieces = bytes(block or b"").split(b"\n")
            if not pieces[-1]:
                pieces.pop()
            self._read_lines = [raw[:-1] if raw.endswith(b"\r") else raw for raw in pieces]
        at = line - first
        return self._read_lines[at] if 0 <= at < len(self._read_lines) else fallback


def _remap(problem: LineProblem) -> LineProblem:
    field = attribute_path(problem.field)
    if field == problem.field:
        return problem
    return LineProblem(problem.line, field, problem.code, problem.message)


class _CloudEventsSink:
    """Reports problems in CloudEvents terms; counts those beyond the engine's own."""

    def __init__(self, sources: list[CloudEventsSource], on_problem: LineSink) -> None:
        self.by_name = {source.name: source for source in sources}
        self.on_problem = on_problem
        self.extra_problems = 0
        """Problems reported beyond the one the engine counted for each unmappable line."""

    def __call__(self, name: str, problem: LineProblem, raw: bytes | None) -> None:
        source = self.by_name.get(name)
        if source is None:
            self.on_problem(name, problem, raw)
            return
        original = source.original(problem.line, raw) if raw is not None else None
        failures = source.failures.pop(problem.line, None)
        if failures is not None:
            # The engine reports one problem for the stand-in line: no event type.
            source.silenced = problem.line
            self.extra_problems += len(failures) - 1
            for failure in failures:
                self.on_problem(name, failure, original)
        elif source.silenced != problem.line or raw is None:
            self.on_problem(name, _remap(problem), original)
        else:
            self.extra_problems -= 1


def adapt_input(input_format: str, sources: list[Source], on_problem: LineSink) -> LineSink:
    """Make ``sources`` read ``input_format``; return the sink to report problems through.

    For ``cloudevents`` the sources are replaced in place by ``CloudEventsSource``s
    (nothing has been read yet), and the returned sink translates problems to
    CloudEvents terms before handing them to ``on_problem``; add
    ``extra_problems(sink)`` to the run summary's problem count.
    """
    if input_format == "envelope":
        return on_problem
    if input_format != "cloudevents":
        raise ValueError(f"unknown input format {input_format!r}; expected one of {INPUT_FORMATS}")
    adapted = [CloudEventsSource(s.name, max_line_bytes=s.max_line_bytes) for s in sources]
    sources[:] = adapted
    return _CloudEventsSink(adapted, on_problem)


def extra_problems(sink: LineSink) -> int:
    """Problems ``sink`` reported beyond those the engine counted (0 for envelope input)."""
    return sink.extra_problems if isinstance(sink, _CloudEventsSink) else 0
