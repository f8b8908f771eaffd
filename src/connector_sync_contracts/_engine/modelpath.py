"""The model path of the CLI's engine: lines the compiled screen leaves to Python.

``runner`` loads this module only when it needs it: on the pure-Python
engine, or when the compiled screen defers a line (non-ASCII text, escapes,
invalid input ...) or copies of an event_id differ. It holds everything that
needs the pydantic models: the fast ``msgspec`` decoder derived from them,
``validate_event`` for the exact verdict and messages, and the conversion of
a validated ``Event`` into a reducer fact.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from typing import Any

from pydantic import ValidationError

from ..io import LineProblem, Source, line_problem, parse_line
from ..models.envelope import Event, canonical_json
from ..reducing.anomalies import AnomalyData, anomaly
from ..reducing.api import admit_envelope, event_to_fact
from ..reducing.facts import EPOCH, MICROSECOND, Fact
from ..validation.layers import validate_event
from .screen import FastDecoder, FastEvent

__all__ = [
    "LineChecker",
    "canonical_json",
    "copies_of",
    "event_to_fact",
    "instant_us",
]


class LineChecker:
    """Decides whether one line is accepted, exactly as ``validate_event`` would."""

    def __init__(self, *, strict: bool) -> None:
        self.fast = FastDecoder()
        self.strict = strict

    def fast_accepts(self, event: FastEvent | None) -> bool:
        """Whether the fast path's decoding of a line is an accepted event."""
        return (
            event is not None
            and not event.fact_breaks_rules
            and not (self.strict and event.project_uuid_mismatch)
        )

    def problems(self, raw: bytes, line: int, parsed: dict[str, Any] | None) -> list[LineProblem]:
        """Every problem of a line the fast path declined (empty when it is valid)."""
        if parsed is None:
            problem = line_problem(raw, line)
            if problem is not None:
                return [problem]
        result = validate_event(raw if parsed is None else parsed, strict=self.strict)
        # The model and schema layers often name the same rule at the same path;
        # a person reading the report needs it once (the model's wording).
        seen: set[tuple[str, str]] = set()
        problems = []
        for v in result.violations:
            if (v.path, v.code) not in seen:
                seen.add((v.path, v.code))
                problems.append(LineProblem(line, v.path, v.code, v.message))
        return problems

    def admit(
        self, raw: bytes, number: int, anomalies: list[AnomalyData]
    ) -> tuple[dict[str, Any] | None, tuple[str, int, int, Fact | None] | None]:
        """Fold-side handling of a line the fast path declined.

        Returns the parsed object (None when unreadable) and, for a valid
        envelope, (event_id, lamport_clock, instant_us, fact) to keep; a line
        that is not a valid envelope is recorded in ``anomalies`` instead.
        """
        parsed = parse_line(raw, number)
        if isinstance(parsed, LineProblem):
            anomalies.append(
                anomaly(
                    kind="malformed_envelope",
                    event_id=None,
                    message=f"{parsed.field}: {parsed.code}: {parsed.message}",
                )
            )
            return None, None
        event = admit_envelope(parsed, anomalies, limits_checked=True)
        if event is None:
            return parsed, None
        return parsed, (
            event.event_id,
            event.lamport_clock,
            instant_us(event),
            event_to_fact(event),
        )


def instant_us(event: Event) -> int:
    """The event's timestamp in microseconds since the Unix epoch (part of the replay order)."""
    return (event.timestamp - EPOCH) // MICROSECOND


def _slow_event(raw: bytes) -> Event | None:
    parsed = parse_line(raw)
    if isinstance(parsed, LineProblem):
        return None
    try:
        return Event.model_validate(parsed)
    except ValidationError:
        return None


def copies_of(
    wanted: Container[str], sources: list[Source], decode: Callable[[bytes], FastEvent | None]
) -> Iterator[tuple[bytes, Event]]:
    """Read the sources again: (raw line, event) of every valid copy of a wanted event_id."""
    for source in sources:
        for raw in source.lines():
            if raw is None:
                continue
            fast = decode(raw)
            if fast is not None and fast.event_id not in wanted:
                continue
            event = _slow_event(raw)
            if event is not None and event.event_id in wanted:
                yield raw, event
