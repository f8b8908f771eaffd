"""Validate and replay JSONL logs of any size in bounded memory (the CLI's engine).

Each line goes through the fast path (``_fast``) first and through the model
path (``jsonl.parse_line`` + ``validation.validate_event`` + the pydantic
models) when the fast path declines, so every line is either accepted or
reported with its line number, field and rule.

Replay keeps one compact record per distinct event_id instead of event
objects: a bytes string whose prefix sorts exactly like the replay order
(lamport_clock, UTC instant, event_id), followed by an identity digest of the
raw line and the msgpack-encoded reducer fact. Records are deduplicated,
sorted and folded with the same ``Engine`` the Python API uses. Copies of an
event_id whose raw bytes differ are resolved exactly, by canonical JSON, in a
second read of only the affected lines.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from pydantic import ValidationError

from ._fast import EPOCH, MICROSECOND, FastDecoder, FastEvent
from ._reduce import Engine, Fact
from .envelope import Event, canonical_json
from .jsonl import LineProblem, Source, parse_line
from .reducers import ALL_FAMILIES, build_result, event_to_fact, summarize_errors
from .registry import DEFAULT_MAX_RECONNECT_CYCLES
from .results import Anomaly, ReplayResult

__all__ = ["LineSink", "RunSummary", "replay_sources", "validate_sources"]

_PREFIX: Final = struct.Struct(">QQ")
_INSTANT_BIAS: Final = 2**63
_IDENT_MASK: Final = 2**64 - 1

LineSink = Callable[[str, LineProblem, bytes | None], None]
"""Receives (source name, problem, raw line or None when too long) for each problem."""


@dataclass
class RunSummary:
    """Line accounting of one run: accepted + rejected == lines_read, always."""

    lines_read: int = 0
    accepted: int = 0
    rejected: int = 0
    problems: int = 0
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "lines_read": self.lines_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "problems": self.problems,
            "sources": list(self.sources),
        }


class _LineChecker:
    """Decides whether one line is accepted, exactly as ``validate_event`` would."""

    def __init__(self, *, strict: bool) -> None:
        self.fast = FastDecoder()
        self.strict = strict

    def fast_accepts(self, event: FastEvent | None) -> bool:
        return (
            event is not None
            and not event.fact_breaks_rules
            and not (self.strict and event.project_uuid_mismatch)
        )

    def problems(self, raw: bytes, line: int, parsed: dict[str, Any] | None) -> list[LineProblem]:
        """Every problem of a line the fast path declined (empty when it is valid)."""
        from .validation import validate_event

        if parsed is None:
            outcome = parse_line(raw, line)
            if isinstance(outcome, LineProblem):
                return [outcome]
            parsed = outcome
        result = validate_event(parsed, strict=self.strict)
        return [LineProblem(line, v.path, v.code, v.message) for v in result.violations]


def _too_long(line: int, limit: int) -> LineProblem:
    return LineProblem(line, "$", "line_too_long", f"line is longer than {limit} bytes")


def _numbered(
    sources: Iterable[Source], summary: RunSummary
) -> Iterator[tuple[Source, int, bytes | None]]:
    for source in sources:
        summary.sources.append(source.name)
        for number, raw in enumerate(source.lines(), start=1):
            summary.lines_read += 1
            yield source, number, raw


def validate_sources(
    sources: Iterable[Source],
    *,
    strict: bool = False,
    on_problem: LineSink,
    on_line: Callable[[int], None] | None = None,
) -> RunSummary:
    """Check every line of every source; report each problem through ``on_problem``."""
    summary = RunSummary()
    checker = _LineChecker(strict=strict)
    decode = checker.fast.decode
    for source, number, raw in _numbered(sources, summary):
        if on_line is not None:
            on_line(0 if raw is None else len(raw) + 1)
        if raw is None:
            problems = [_too_long(number, source.max_line_bytes)]
        elif checker.fast_accepts(decode(raw)):
            summary.accepted += 1
            continue
        else:
            problems = checker.problems(raw, number, None)
        if problems:
            summary.rejected += 1
            summary.problems += len(problems)
            for problem in problems:
                on_problem(source.name, problem, raw)
        else:
            summary.accepted += 1
    return summary


class _Records:
    """Deduplicated compact records keyed by event_id (see the module docstring)."""

    def __init__(self) -> None:
        self.winners: dict[str, bytes] = {}
        self.conflicts: dict[str, set[bytes]] = {}
        self.offered = 0
        self.encode = msgspec.msgpack.Encoder().encode

    def offer(
        self, event_id: str, lamport: int, instant_us: int, raw: bytes, fact: Fact | None
    ) -> None:
        self.offered += 1
        ident = (hash(raw) & _IDENT_MASK).to_bytes(8, "big")
        record = b"".join(
            (
                _PREFIX.pack(lamport, instant_us + _INSTANT_BIAS),
                event_id.encode(),
                b"\x00",
                ident,
                self.encode(fact),
            )
        )
        held = self.winners.get(event_id)
        if held is None:
            self.winners[event_id] = record
            return
        start = 17 + len(event_id)
        held_ident = held[start : start + 8]
        if held_ident == ident:
            return
        seen = self.conflicts.get(event_id)
        if seen is None:
            seen = self.conflicts[event_id] = {held_ident}
        seen.add(ident)
        if record < held:
            self.winners[event_id] = record

    def resolve(self, event_id: str, versions: list[tuple[bytes, bytes]]) -> None:
        """Settle a conflicted event_id from its copies' (canonical JSON, record) pairs."""
        distinct = {canonical for canonical, _ in versions}
        best = min(versions, key=lambda v: (v[1][:16], v[0]))
        self.winners[event_id] = best[1]
        if len(distinct) > 1:
            self.conflicts[event_id] = distinct
        else:
            del self.conflicts[event_id]

    @property
    def duplicates_dropped(self) -> int:
        distinct = len(self.winners) + sum(len(s) - 1 for s in self.conflicts.values())
        return self.offered - distinct

    def conflict_anomalies(self) -> list[Anomaly]:
        return [
            Anomaly(
                kind="conflicting_duplicate",
                event_id=eid,
                message=f"{len(seen)} different contents share this event_id; kept the one "
                "with the smallest (sort key, canonical JSON)",
            )
            for eid, seen in self.conflicts.items()
        ]


def _instant_us(event: Event) -> int:
    return (event.timestamp - EPOCH) // MICROSECOND


class _Replayer:
    def __init__(self, *, include_logs: bool, max_reconnect_cycles: int) -> None:
        self.checker = _LineChecker(strict=False)
        self.records = _Records()
        self.engine = Engine(
            ALL_FAMILIES, keep_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles
        )
        self.envelope_anomalies: list[Anomaly] = []

    def admit_slow(self, raw: bytes, parsed: dict[str, Any] | LineProblem) -> None:
        """Fold-side handling of a line the fast path declined."""
        if isinstance(parsed, LineProblem):
            self.envelope_anomalies.append(
                Anomaly(kind="malformed_envelope", event_id=None, message=parsed.message)
            )
            return
        try:
            event = Event.model_validate(parsed)
        except ValidationError as exc:
            raw_id = parsed.get("event_id")
            self.envelope_anomalies.append(
                Anomaly(
                    kind="malformed_envelope",
                    event_id=raw_id if isinstance(raw_id, str) else None,
                    message=summarize_errors(exc),
                )
            )
            return
        self.records.offer(
            event.event_id, event.lamport_clock, _instant_us(event), raw, event_to_fact(event)
        )


def _slow_event(raw: bytes) -> Event | None:
    parsed = parse_line(raw)
    if isinstance(parsed, LineProblem):
        return None
    try:
        return Event.model_validate(parsed)
    except ValidationError:
        return None


def replay_sources(
    sources: list[Source],
    *,
    include_logs: bool = True,
    max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
    on_problem: LineSink,
    on_line: Callable[[int], None] | None = None,
) -> tuple[ReplayResult, RunSummary]:
    """Replay every line of ``sources`` into the section 6 projection, reporting problems."""
    summary = RunSummary()
    replayer = _Replayer(include_logs=include_logs, max_reconnect_cycles=max_reconnect_cycles)
    checker = replayer.checker
    decode = checker.fast.decode
    offer = replayer.records.offer
    for source, number, raw in _numbered(sources, summary):
        if on_line is not None:
            on_line(0 if raw is None else len(raw) + 1)
        if raw is None:
            problem = _too_long(number, source.max_line_bytes)
            replayer.envelope_anomalies.append(
                Anomaly(kind="malformed_envelope", event_id=None, message=problem.message)
            )
            summary.rejected += 1
            summary.problems += 1
            on_problem(source.name, problem, None)
            continue
        event = decode(raw)
        if event is not None:
            offer(event.event_id, event.lamport_clock, event.instant_us, raw, event.fact)
            if checker.fast_accepts(event):
                summary.accepted += 1
                continue
            problems = checker.problems(raw, number, None)
        else:
            parsed = parse_line(raw, number)
            replayer.admit_slow(raw, parsed)
            problems = (
                [parsed]
                if isinstance(parsed, LineProblem)
                else checker.problems(raw, number, parsed)
            )
        if problems:
            summary.rejected += 1
            summary.problems += len(problems)
            for problem in problems:
                on_problem(source.name, problem, raw)
        else:
            summary.accepted += 1
    records = replayer.records
    if records.conflicts:
        _resolve_conflicts(sources, records)
    return _fold(replayer), summary


def _resolve_conflicts(sources: list[Source], records: _Records) -> None:
    wanted = set(records.conflicts)
    versions: dict[str, list[tuple[bytes, bytes]]] = {eid: [] for eid in wanted}
    probe = _Records()
    for source in sources:
        for raw in source.lines():
            if raw is None:
                continue
            event = _slow_event(raw)
            if event is None or event.event_id not in wanted:
                continue
            probe.winners.clear()
            probe.offer(
                event.event_id, event.lamport_clock, _instant_us(event), raw, event_to_fact(event)
            )
            versions[event.event_id].append((canonical_json(event), probe.winners[event.event_id]))
    for eid, found in versions.items():
        if found:
            records.resolve(eid, found)


def _fold(replayer: _Replayer) -> ReplayResult:
    records = replayer.records
    event_count = len(records.winners)
    duplicates = records.duplicates_dropped
    anomalies = [*replayer.envelope_anomalies, *records.conflict_anomalies()]
    ordered = sorted(records.winners.values())
    records.winners.clear()
    records.conflicts.clear()
    decoder = msgspec.msgpack.Decoder(Fact | None)
    fold = replayer.engine.fold
    for record in ordered:
        start = record.index(0, 16) + 9
        fold(decoder.decode(record[start:]))
    del ordered
    return build_result(
        replayer.engine,
        event_count=event_count,
        duplicates_dropped=duplicates,
        stream_anomalies=anomalies,
    )
