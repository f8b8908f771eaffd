"""The model path: the lines the compiled core leaves to Python, and every line without it.

``runner`` loads this module only when a line needs it (with the compiled
core: a line that is invalid, or that the core cannot decide). It decides a
line with the strict JSON input layer and the pydantic models, exactly as
``validate_event`` would, and explains a rejected line with the same
layers (``validation.layers.explain_line``: without the schema layer, which
only repeats the model's findings). It also re-reads the copies of an
event_id whose lines differ, so deduplication can settle them by canonical
JSON.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..contract.catalog import EVENT_FAMILIES
from ..io import LineProblem, Source, parse_line
from ..models.envelope import LIMITS_CHECKED, Event, SortKey, canonical_json
from ..models.payloads import PAYLOAD_MODELS
from ..reducing.anomalies import AnomalyData
from ..reducing.api import admit_envelope, event_to_fact
from ..reducing.facts import EPOCH, MICROSECOND, ConnectorFact, MalformedFact, SyncFact
from ..reducing.fold import Dedup, unchecked
from ..validation.layers import explain_line, strict_violations
from ..validation.outcomes import Outcomes
from .decision import Decision, line_event_id, read_decided

__all__ = [
    "Decision",
    "LineChecker",
    "canonical_json",
    "copies_of",
    "copy_winners",
    "event_to_fact",
    "instant_us",
    "line_event_id",
]

_ENVELOPE_FIELDS = frozenset(Event.model_fields)


class LineChecker:
    """Decides and explains lines exactly as ``validate_event`` would."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict

    def decide(self, raw: bytes, number: int) -> Decision:
        """Parse, validate and reduce one line to what the fold and the report need."""
        read = read_decided(raw, number)
        return read if isinstance(read, Decision) else self.decide_object(read)

    def decide_object(self, parsed: dict[str, Any]) -> Decision:
        """``decide`` for a line the input layer read: ``parsed`` is its object."""
        anomalies: list[AnomalyData] = []
        outcomes: Outcomes = {}
        event = admit_envelope(parsed, anomalies, limits_checked=True, outcomes=outcomes)
        if event is None:
            return Decision(parsed, None, None, False, anomalies[0], (), outcomes)
        fact = event_to_fact(event, outcomes)
        broken = isinstance(fact, (ConnectorFact, SyncFact)) and bool(fact.broken_rules)
        valid = (
            event.event_type in EVENT_FAMILIES
            and not isinstance(fact, MalformedFact)
            and not broken
            and not (self.strict and self._strict_problem(parsed, event))
        )
        return Decision(parsed, event, fact, valid, None, (), outcomes)

    @staticmethod
    def _strict_problem(parsed: dict[str, Any], event: Event) -> bool:
        """An unknown field, or a payload project_uuid other than the envelope's."""
        if set(parsed) - _ENVELOPE_FIELDS:
            return True
        model = PAYLOAD_MODELS[event.event_type]
        payload = parsed["payload"]
        if set(payload) - set(model.model_fields):
            return True
        inner = payload.get("project_uuid")
        if "project_uuid" in model.model_fields and isinstance(inner, str):
            try:
                return model.model_validate(payload).project_uuid != event.project_uuid  # type: ignore[attr-defined,no-any-return]
            except ValidationError:
                return False
        return False

    def problems(self, line: int, decision: Decision) -> list[LineProblem]:
        """Every problem of the line ``decision`` was made of (empty when it is valid)."""
        if decision.parsed is None:
            return list(decision.input_problems)
        return self.explain(line, decision.parsed, decision.outcomes)

    def explain(
        self, line: int, parsed: dict[str, Any], outcomes: Outcomes | None = None
    ) -> list[LineProblem]:
        """Every problem of a line the input layer read as ``parsed`` (empty: it is valid).

        ``outcomes``: what deciding the line found (``decide_object``), so it is
        not validated again. Without them the models validate it here, which
        for a line that is most likely invalid costs less than deciding it
        first: ``validate`` explains the lines the compiled core defers so.
        """
        result = explain_line(parsed, strict=self.strict, outcomes=outcomes)
        # The model and schema layers often name the same rule at the same path;
        # a person reading the report needs it once (the model's wording).
        seen: set[tuple[str, str]] = set()
        problems = []
        for v in result.violations:
            if (v.path, v.code) not in seen:
                seen.add((v.path, v.code))
                problems.append(LineProblem.of(line, v))
        return problems

    @staticmethod
    def strict_problems(line: int, parsed: dict[str, Any]) -> list[LineProblem]:
        """``explain`` (strict) of a line the compiled core takes when not strict:
        its unknown fields and project_uuid mismatch, worded without the models
        validating it again (``strict_violations``)."""
        return [LineProblem.of(line, found) for found in strict_violations(parsed)]


def instant_us(event: Event) -> int:
    """The event's timestamp in microseconds since the Unix epoch (part of the replay order)."""
    return (event.timestamp - EPOCH) // MICROSECOND


def line_event(raw: bytes) -> Event | None:
    """The ``Event`` of a valid line, or None (the model path decides)."""
    parsed = parse_line(raw)
    if isinstance(parsed, LineProblem):
        return None
    try:
        return Event.model_validate(parsed, context=LIMITS_CHECKED)
    except ValidationError:
        return None


def wanted_copy(raw: bytes, wanted: Container[str]) -> Event | None:
    """The event of ``raw`` when it is a valid copy of an event_id in ``wanted``, else None."""
    eid = line_event_id(raw)
    if eid is not None and eid not in wanted:
        return None
    event = line_event(raw)
    return event if event is not None and event.event_id in wanted else None


def copy_winners(
    lines: Iterable[bytes | None],
) -> tuple[list[str | None], dict[str, tuple[int, SortKey]]]:
    """Which copy of each event_id the dedup keeps, among ``lines`` (specification section 2).

    Returns the event_id of each line that is a valid envelope (None for
    any other line, which no dedup sees), and for each event_id the index
    and sort key of its winning copy: the fold's own rule (``Dedup``), over
    the copies' validity, sort key and canonical JSON.

    A line the compiled core takes whole is read without the models, as the
    in-memory replay settles copies (``native.copy_taken_whole``); every
    other line by the models.
    """
    from . import native

    scanner = native.scanner()
    dedup: Dedup[SortKey, int] = Dedup()
    ids: list[str | None] = []
    for index, raw in enumerate(lines):
        took = None if raw is None or scanner is None else native.copy_taken_whole(scanner, raw)
        if took is not None:
            eid, lamport, instant, canonical, (kind, _) = took
            ids.append(eid)
            key = (lamport, EPOCH + instant * MICROSECOND, eid)
            dedup.offer(eid, key, canonical, index, malformed=native.unchecked_record(kind))
            continue
        event = None if raw is None else line_event(raw)
        if event is None:
            ids.append(None)
            continue
        ids.append(event.event_id)
        fact = event_to_fact(event)
        dedup.offer(
            event.event_id,
            event.sort_key,
            canonical_json(event),
            index,
            malformed=unchecked(fact),
        )
    return ids, {eid: (index, key) for eid, (_, key, _, index) in dedup.winners.items()}


def copies_of(wanted: Container[str], sources: list[Source]) -> Iterator[tuple[int, bytes, Event]]:
    """Read the sources again: (source index, raw line, event) of every valid copy wanted."""
    for index, source in enumerate(sources):
        for raw in source.lines_again():
            if raw is None:
                continue
            event = wanted_copy(raw, wanted)
            if event is not None:
                yield index, raw, event


def copies_at(
    places: Mapping[str, Sequence[tuple[int, int, int, int]]], sources: list[Source]
) -> list[tuple[int, bytes, Event]] | None:
    """``copies_of(places, sources)``, reading only the lines ``places`` names.

    ``places`` maps each wanted event_id to the (source index, line, offset,
    length) of each of its copies (the compiled core's ``copy_places()``;
    offset -1 when not known). A line is read at its offset from the file
    the source holds open for that (``reread_fd``) when every copy in that
    source has one, else found by its number. None when a place is not a
    line of ``sources`` or a line read is not a valid copy: the caller then
    reads every line (``copies_of``).
    """
    lines: dict[int, list[tuple[int, int, int]]] = {}
    for at in places.values():
        for index, number, offset, length in at:
            if number < 1 or index >= len(sources):
                return None
            lines.setdefault(index, []).append((number, offset, length))
    found: list[tuple[int, bytes, Event]] = []
    for index in sorted(lines):
        wanted = sorted(set(lines[index]))
        source = sources[index]
        read: Iterable[bytes | None]
        if source.rereadable() and all(offset >= 0 for _, offset, _ in wanted):
            read = [source.read_held(offset, length) for _, offset, length in wanted]
        else:
            numbers = {number for number, _, _ in wanted}
            read = [raw for _, raw in sources[index].lines_at(numbers)]
        for raw in read:
            event = None if raw is None else wanted_copy(raw, places)
            if event is None:
                return None
            assert raw is not None
            found.append((index, raw, event))
    if len(found) != sum(len(set(at)) for at in places.values()):
        return None
    return found
