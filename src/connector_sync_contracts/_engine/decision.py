"""What the model path makes of a line, and the lines decided without the models.

A line the input layer refuses (not UTF-8, not JSON, no object, a value
beyond a limit, a blank line: often the torn last line of a log) is
decided here, where no pydantic model is loaded: its problems are the input
layer's and its anomaly names the event it still names. Only a line that is
a JSON object needs the models (``modelpath.LineChecker``), so a log whose
only bad lines are such lines is checked without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..contract.patterns import normal_event_id
from ..io import LineProblem, read_line
from ..reducing.anomalies import AnomalyData, anomaly
from ..validation.input import refused_event_id

if TYPE_CHECKING:
    from ..models.envelope import Event
    from ..reducing.facts import Fact
    from ..validation.outcomes import Outcomes

__all__ = ["Decision", "line_event_id", "named_event_id", "read_decided"]


@dataclass(slots=True)
class Decision:
    """What the model path made of one line."""

    parsed: dict[str, Any] | None
    """The line as a JSON object, or None when it is not one."""
    event: Event | None
    """The envelope, when it is valid."""
    fact: Fact | None
    """The reducer fact of a valid envelope (None for an event type of no family)."""
    valid: bool
    """Whether ``validate_event`` (with the checker's strictness) accepts the line."""
    anomaly: AnomalyData | None
    """A line that is no valid envelope: its ``malformed_envelope`` anomaly."""
    input_problems: tuple[LineProblem, ...] = ()
    """A line that is no JSON object: every problem of it (``io.read_line``)."""
    outcomes: Outcomes = field(default_factory=dict)
    """What validating the envelope and payload models gave, for ``LineChecker.problems``."""


def line_event_id(raw: bytes) -> str | None:
    """The normalized event_id of a line, cheaply (None when it cannot be told)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return _object_event_id(data)


def _object_event_id(data: object) -> str | None:
    """The normalized event_id of a line's JSON value (None when it names none)."""
    value = data.get("event_id") if isinstance(data, dict) else None
    return normal_event_id(value) if isinstance(value, str) else None


def named_event_id(raw: bytes, parsed: dict[str, Any] | None = None) -> str | None:
    """The event_id a line that is no valid envelope still names (None: it names none).

    Read as JSON (``line_event_id``), else leniently, as the input layer names
    the event of a line it refuses (``refused_event_id``). A replay places
    the anomalies of an event that only such lines name on the first of
    them, so every engine and partitioning reads them by this one rule.
    ``parsed``: the line's object when the input layer read one (which is
    what ``orjson`` reads of it), so that it is not parsed again.
    """
    eid = line_event_id(raw) if parsed is None else _object_event_id(parsed)
    return eid if eid is not None else refused_event_id(raw)


def read_decided(raw: bytes, number: int) -> dict[str, Any] | Decision:
    """The object of line ``number`` for the models to decide, or the input layer's decision.

    A line the input layer refuses is not valid: its decision holds every
    problem of it and its ``malformed_envelope`` anomaly (naming the event
    when the line still tells its event_id, ``refused_event_id``).
    """
    parsed, problems = read_line(raw, number)
    if parsed is not None:
        return parsed
    found = anomaly(
        kind="malformed_envelope", event_id=refused_event_id(raw), message=problems[0].stated
    )
    return Decision(None, None, None, False, found, problems)
