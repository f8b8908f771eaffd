"""What a partitioned replay hands back: the merged projection, its problems, its counts.

Both ways of running (``spill`` on one machine, ``cluster`` on Dask) fold
groups and pass each ``GroupResult`` here. Problems come back as (partition,
line there); they are traced to their input line with the routing maps
(``plan.Tracer``), kept on disk sorted, and replayed in input order, so
standard error shows them as a single-process replay shows them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

from ..io import LineProblem
from .fold import GroupResult
from .merge import Results, _RecordFile
from .plan import Piece, Tracer
from .routing import TOO_LONG

__all__ = ["Outcome", "Placed"]

Placed = tuple[str, str | None, str, str | None, str | None, int | None]
"""A placed anomaly: (kind, event_id, message, connector, input name, line), the
fields in the order ``ReplayData.placed_anomalies`` gives them."""

_Placed = tuple[int, int, int, int, str, str | None, str, str | None]
"""An anomaly as kept on disk: (rank of its input, line, count, piece, kind, event_id,
message, connector); piece -1 when not placed."""

_NOWHERE: Final = 1 << 62
"""The rank of an anomaly whose line is not known: after every input's."""


class Outcome:
    """The merged result of a partitioned replay, kept under ``folder`` until it is closed."""

    def __init__(self, folder: Path, pieces: Sequence[Piece], *, include_logs: bool) -> None:
        self.folder = folder
        self.pieces = list(pieces)
        self.include_logs = include_logs
        self.results = Results(folder, include_logs=include_logs)
        self._problems = _RecordFile(folder / "problems.records")
        self.tracer: Tracer | None = None
        self._placed = _RecordFile(folder / "placed.records")
        self._count = 0  # anomalies placed so far: each one's place in the groups' order
        first: dict[str, int] = {}
        self._ranks = [first.setdefault(piece.name, len(first)) for piece in self.pieces]

    def add(self, result: GroupResult, partitions: Sequence[int]) -> None:
        """Keep one group's result; ``partitions[i]`` is the partition of its i-th file."""
        if result.problems:
            assert self.tracer is not None, "problems are traced once the routing is known"
            wanted: dict[int, list[int]] = {}
            for file, line, *_ in result.problems:
                partition = TOO_LONG if file == TOO_LONG else partitions[file]
                wanted.setdefault(partition, []).append(line)
            found = {p: self.tracer.positions(p, lines) for p, lines in wanted.items()}
            traced = sorted(
                (found[TOO_LONG if file == TOO_LONG else partitions[file]][line], seq, f, c, m)
                for file, line, seq, f, c, m in result.problems
            )
            self._problems.append_run(traced)
            result.problems = []
        if result.placed:
            self._place(result, partitions)
        self.results.add(result)

    def _place(self, result: GroupResult, partitions: Sequence[int]) -> None:
        """Keep each anomaly at the input line of its event's first line, on disk: one run
        per group, in ``in_input_order``'s order."""
        assert self.tracer is not None, "anomalies are placed once the routing is known"
        tracer = self.tracer

        def partition(file: int) -> int:
            return TOO_LONG if file == TOO_LONG else partitions[file]

        wanted: dict[int, list[int]] = {}
        for places, *_ in result.placed:
            for file, line in places:
                wanted.setdefault(partition(file), []).append(line)
        found = {p: tracer.positions(p, lines) for p, lines in wanted.items()}
        run: list[_Placed] = []
        for places, kind, event_id, message, connector in result.placed:
            if len(places) == 1:  # the usual case: one line
                file, line = places[0]
                position: int | None = found[partition(file)][line]
            else:
                position = min((found[partition(file)][n] for file, n in places), default=None)
            if position is None:
                rank, piece, line = _NOWHERE, -1, 0
            else:
                piece, line = tracer.where(position)
                rank = self._ranks[piece]
            run.append((rank, line, self._count, piece, kind, event_id, message, connector))
            self._count += 1
        run.sort()
        self._placed.append_run(run)
        result.placed = []

    def in_input_order(self) -> Iterator[Placed]:
        """Every anomaly (``Placed``), in the order of the inputs (each input at its
        first place among them), then of lines, then of ``placed``; those whose line
        is not known (name and line None) last.

        Read from disk, the groups' runs merged: a log can have an anomaly on
        every other line.
        """
        file = self._placed
        return map(
            self._as_placed, heapq.merge(*(file.read_run(run, 1 << 16) for run in file.runs))
        )

    def placed(self) -> list[Placed]:
        """Every anomaly (``Placed``).

        Groups follow each other; within a group, anomalies are in the order
        ``cli.render.collect`` lists them. Name and line are None when the
        engine could not say where the anomaly's event was. Held in memory:
        for outputs that hold the whole projection anyway.
        """
        file = self._placed
        held = [record for run in file.runs for record in file.read_run(run, 1 << 16)]
        held.sort(key=itemgetter(2))
        return [self._as_placed(record) for record in held]

    def _as_placed(self, record: _Placed) -> Placed:
        _, line, _, piece, kind, event_id, message, connector = record
        if piece < 0:
            return kind, event_id, message, connector, None, None
        return kind, event_id, message, connector, self.pieces[piece].name, line

    @property
    def lines_read(self) -> int:
        """Lines read, every input together."""
        return self.results.lines_read

    @property
    def accepted(self) -> int:
        """Lines accepted."""
        return self.results.accepted

    @property
    def rejected(self) -> int:
        """Lines rejected (each reported at least once)."""
        return self.results.rejected

    @property
    def problem_count(self) -> int:
        """Problems reported."""
        return self.results.problems

    @property
    def anomalous(self) -> bool:
        """Whether the projection records any anomaly."""
        return self.results.anomalous

    def problems(self) -> Iterator[tuple[str, LineProblem]]:
        """Every problem as (input name, problem at its true line), in input order."""
        file = self._problems
        if not file.runs:
            return  # none, maybe no line at all (then nothing is traced)
        assert self.tracer is not None, "problems are traced once the routing is known"
        tracer = self.tracer
        streams = [file.read_run(run, 1 << 16) for run in file.runs]
        merged: Iterator[tuple[int, int, str, str, str]] = (
            heapq.merge(*streams) if len(streams) > 1 else iter(streams[0] if streams else ())
        )
        for position, _, field, code, message in merged:
            piece, line = tracer.where(position)
            yield self.pieces[piece].name, LineProblem(line, field, code, message)

    def write_json(self, out: Callable[[bytes], object]) -> None:
        """Write the canonical JSON (section 6 form) through ``out``."""
        self.results.write(out)

    def to_dict(self) -> dict[str, Any]:
        """The section 6 form as JSON data (datetimes as strings): for small results only."""
        import json

        chunks: list[bytes] = []
        self.write_json(chunks.append)
        data: dict[str, Any] = json.loads(b"".join(chunks))
        return data

    def close(self) -> None:
        """Release the files (the caller removes the folder)."""
        self.results.close()
        self._problems.close()
        self._placed.close()
