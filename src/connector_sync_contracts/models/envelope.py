"""The event envelope shared by every family (specification section 2).

An ``Event`` carries identity, ordering and provenance; its ``payload`` is a
JSON object validated by the family model its ``event_type`` names. This
module also defines the replay order (FR-006/FR-007 "sorted input") and the
canonical JSON form that deduplication by ``event_id`` compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from ..contract.canonical import canonical_bytes, line_canonical_json
from ..contract.limits import INT64_MAX
from ..contract.patterns import format_instant
from ..errors import ContractViolationError
from ..validation.input import load_json_object, load_mapping
from .fields import EventIdStr, NonEmptyStr, UtcDatetime, UuidField, VersionStr

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..validation.result import Violation

__all__ = ["LIMITS_CHECKED", "Event", "SortKey", "canonical_json", "sort_key"]

LIMITS_CHECKED: Final = {"input_limits_checked": True}
"""Validation context saying the input was already read through ``validation.input``."""

SortKey = tuple[int, datetime, str]
"""Replay order: (lamport_clock, timestamp as a UTC instant, event_id)."""


class Event(BaseModel):
    """Frozen event envelope: identity, ordering and provenance around a payload.

    JSON types are strict: strings are never numbers and booleans are never
    numbers. Only RFC 3339 strings become datetimes (offset required, stored
    in UTC) and UUID strings become UUIDs. Unknown fields are ignored here and
    reported by ``validate_event(..., strict=True)``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventIdStr = Field(
        description="Unique event identifier: ULID (stored upper case) or UUID (stored "
        "lower-case hyphenated)."
    )
    event_type: NonEmptyStr = Field(
        description="Name of the event, e.g. ConnectorProvisioned; selects the payload model."
    )
    aggregate_id: NonEmptyStr = Field(
        description="Identifier of the aggregate the event belongs to."
    )
    payload: Annotated[dict[str, Any], Field(strict=True)] = Field(
        description="Event-specific JSON object, validated by the model of event_type."
    )
    timestamp: UtcDatetime = Field(
        description="When the event was emitted: RFC 3339 with an offset, normalized to UTC."
    )
    node_id: NonEmptyStr = Field(description="Identifier of the node that emitted the event.")
    lamport_clock: Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)] = Field(
        description="Lamport logical clock; first component of the replay order."
    )
    project_uuid: UuidField = Field(description="UUID of the project the event belongs to.")
    correlation_id: EventIdStr = Field(
        description="Identifier shared by events of one logical operation (ULID or UUID)."
    )
    causation_id: EventIdStr | None = Field(
        default=None, description="event_id of the event that caused this one, if any."
    )
    build_id: Annotated[str, Field(strict=True)] | None = Field(
        default=None, description="Identifier of the build that emitted the event, if any."
    )
    project_slug: Annotated[str, Field(strict=True)] | None = Field(
        default=None, description="Human-readable project slug, if any."
    )
    schema_version: VersionStr | None = Field(
        default=None, description="Contract version the producer used, as MAJOR.MINOR.PATCH."
    )
    data_tier: Annotated[int, Field(strict=True, ge=0, le=4)] = Field(
        default=0, description="Data sensitivity tier from 0 (public) to 4 (most restricted)."
    )

    @model_validator(mode="before")
    @classmethod
    def _within_input_limits(cls, data: Any, info: ValidationInfo) -> Any:
        # The contract's input limits hold for every value, unknown fields included
        # (specification section 8): an envelope beyond them is not an Event.
        if isinstance(data, dict) and not (info.context or {}).get("input_limits_checked"):
            obj, problems = load_mapping(data)
            if obj is None:
                raise _refused(problems)
            # What the input layer read: any mapping in it (a read-only payload
            # view, say) is the JSON object it stands for, as every entry point
            # reads it, so it is a dict here too.
            return obj
        return data

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Event:
        """``model_validate`` of JSON text read as the contract reads a line (section 8).

        pydantic's own reading keeps the last of repeated keys; here the text
        is read by the input layer first, so a repeated key, like any value
        beyond the input limits, fails validation as it fails ``validate_event``.
        ``options`` are ``model_validate``'s.
        """
        obj, problems = load_json_object(json_data)
        if obj is None:
            raise ValidationError.from_exception_data(
                cls.__name__, [{"type": _refused(problems), "loc": (), "input": json_data}]
            )
        context = {**(options.pop("context", None) or {}), **LIMITS_CHECKED}
        return cls.model_validate(obj, context=context, **options)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy of this event; with ``update``, a new ``Event`` validated from it.

        pydantic's own ``model_copy(update=...)`` does not validate, so it could
        make an Event that breaks the contract (an id not in normal form, a
        negative clock, a string for a number). ``replay()`` takes an Event as
        validated when it was made and does not check its envelope again, so
        such a copy would be folded as it is, or fail with an error naming
        nothing. Here the fields with ``update`` applied are validated as
        ``model_validate`` validates a mapping: a bad value raises
        ``ValidationError``, and event_id and timestamp are normalized.
        ``deep`` has no effect then: every value is read afresh.
        """
        if not update:
            return super().model_copy(deep=deep)
        fields = dict(self.__dict__)
        fields.update(update)
        return self.model_validate(fields)

    @property
    def sort_key(self) -> SortKey:
        """The replay order key: (lamport_clock, UTC instant, event_id)."""
        return (self.lamport_clock, self.timestamp, self.event_id)


def sort_key(event: Event | Mapping[str, Any]) -> SortKey:
    """The replay order key of an ``Event`` or an envelope mapping, as ``replay`` orders them.

    Usable as ``sorted(events, key=sort_key)`` on ``Event`` objects and on
    mappings alike (JSON lines loaded with ``json.loads``). A mapping is read
    as an ``Event`` first, so its timestamp compares as a UTC instant and its
    event_id in normal form; one that is no valid envelope raises
    ``ContractViolationError`` (a ``ValueError``) naming every problem.
    """
    if isinstance(event, Event):
        return (event.lamport_clock, event.timestamp, event.event_id)
    took = _taken(event)
    # A datetime with fold=1 keeps it in the models' key (the same instant).
    if took is not None and not getattr(event.get("timestamp"), "fold", 0):
        from .._engine import native

        return native.taken_order(took)
    event = _envelope_of(event)
    return (event.lamport_clock, event.timestamp, event.event_id)


def _taken(data: object) -> tuple[Any, ...] | None:
    """What the compiled core read of an envelope mapping it takes (``probe_object``,
    as ``replay()`` and ``Projection.apply`` read one), or None: the models read it.

    The core takes an envelope only when the models would, and reads its
    event_id and timestamp as they do, so the order and canonical JSON made
    from its reading are the models' (without their ~20 µs).
    """
    from .._engine import native

    scanner = native.shared_scanner()
    return None if scanner is None else scanner.probe_object(data, Event)


def _envelope_of(data: Mapping[str, Any], lacks: str = "replay order") -> Event:
    """``data`` as an ``Event``; else ``ContractViolationError``: it has no ``lacks``."""
    from ..validation.messages import model_violations, summarize

    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        problems = tuple(model_violations(exc))
        raise ContractViolationError(
            f"not a valid envelope, so it has no {lacks}: {summarize(problems)}", problems
        ) from None


def _refused(problems: Sequence[Violation]) -> PydanticCustomError:
    """The validation error of an envelope the input layer refuses: its first problem.

    Raised where pydantic places it at the envelope (``loc`` ``()``), it carries
    its own JSON path in its context (``path``, ``reason``), which
    ``model_violations`` reads back.
    """
    first = problems[0]
    return PydanticCustomError(
        first.code, "{path}: {reason}", {"path": first.path, "reason": first.message}
    )


def _jsonable(event: Event) -> dict[str, Any]:
    data = event.model_dump(mode="python")
    data["timestamp"] = format_instant(event.timestamp)
    data["project_uuid"] = str(event.project_uuid)
    return data


def canonical_json(event: Event | Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of an envelope: sorted keys, normalized ids and UTC time.

    Two events are identical duplicates exactly when these bytes are equal.
    The payload is compared as the JSON object it is (keys sorted). A
    mapping is read as an ``Event`` first; one that is no valid envelope
    raises ``ContractViolationError`` (a ``ValueError``) naming every problem,
    as ``sort_key`` does.
    """
    if not isinstance(event, Event):
        took = _taken(event)
        if took is not None:
            return line_canonical_json(event, took[0], took[2])
        event = _envelope_of(event, "canonical JSON")
    # One writer for both forms (contract.canonical): an integer past 64 bits
    # or a lone surrogate in a payload (valid JSON text; its model rejects it
    # later) must not crash dedup, and keeps its content distinct.
    return canonical_bytes(_jsonable(event))
