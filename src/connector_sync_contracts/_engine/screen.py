"""Fast decoding path for large logs: msgspec structs derived from the pydantic models.

There is one source of truth for the contract: the pydantic models and the
field rules in ``_types``. This module reads those models' fields and builds
equivalent ``msgspec`` structs from them (one tagged envelope struct per event
type), so a JSONL line is decoded and type-checked in C. Rules that msgspec
cannot state exactly as the model does (identifier spelling, the RFC 3339
profile, URLs, patterns) are checked afterwards with the same constants.

The fast path is a *screen*: it accepts a line only when the model path would
accept it with the same values, and returns ``None`` for everything else
(including anything unusual: escapes, unknown fields, duplicate keys). Those
lines go to the model path, which decides and explains. The agreement tests
prove both paths accept the same lines and produce the same projections.
"""

from __future__ import annotations

import operator
import sys
import types
import typing
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Final, Union

import annotated_types
import msgspec
from pydantic.fields import FieldInfo

from ..contract.catalog import EVENT_FAMILIES, SYNC_OUTCOMES, Family, connector_target
from ..contract.patterns import ULID_ALPHABET, URL_PATTERN, cached_check, utc_instant_in_range
from ..contract.rules import SEMANTIC_RULES
from ..models import fields as _fields
from ..models.envelope import Event
from ..models.payloads import PAYLOAD_MODELS
from ..reducing.facts import EPOCH, MICROSECOND, ConnectorFact, Fact, LinkFact, SyncFact

__all__ = ["EPOCH", "MICROSECOND", "FastDecoder", "FastEvent", "fast_datetime", "fast_event_id"]

_CROCKFORD: Final = ULID_ALPHABET + ULID_ALPHABET[10:].lower()
_fromiso: Final = datetime.fromisoformat


# Shape tables: ``str.translate`` maps every ASCII digit (or hex digit) to one
# symbol, so one C call and one set lookup check a value's layout exactly as
# the patterns in ``_types`` do; ranges and calendar are left to
# ``datetime.fromisoformat``, which checks them as the model does.
_DIGITS: Final = str.maketrans("0123456789tz", "9" * 10 + "TZ")
_HEX: Final = str.maketrans("0123456789abcdefABCDEF", "x" * 22)
_DATETIME_SHAPES: Final = frozenset(
    f"9999-99-99T99:99:99{fraction}{suffix}"
    for fraction in ("", *("." + "9" * k for k in range(1, 10)))
    for suffix in ("Z", "+99:99", "-99:99")
)
_UUID_SHAPES: Final = frozenset({"x" * 32, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"})


def fast_event_id(value: str) -> str | None:
    """Normalized ULID/UUID, or None when ``value`` is not one (same rule as the model)."""
    if len(value) == 26:
        return None if value.strip(_CROCKFORD) else value.upper()
    if value.translate(_HEX) not in _UUID_SHAPES:
        return None
    h = value.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


if sys.version_info >= (3, 11):
    _parse_rfc3339 = _fromiso
else:  # pragma: no cover - Python 3.10's fromisoformat reads no "Z"

    def _parse_rfc3339(value: str) -> datetime:
        return _fromiso(value[:-1] + "+00:00" if value[-1] == "Z" else value)


def fast_datetime(value: str) -> datetime | None:
    """Parse the RFC 3339 profile of ``patterns.DATETIME_PATTERN``; None when outside it."""
    shape = value.translate(_DIGITS)  # lower-case t and z become T and Z, as RFC 3339 allows
    # The pattern allows offset minutes 00-59 only; fromisoformat would take +05:60.
    if shape not in _DATETIME_SHAPES or (shape[-1] != "Z" and value[-2] > "5"):
        return None
    try:
        parsed = _parse_rfc3339(value.upper())
    except ValueError:
        return None
    if parsed.year in (1, 9999) and not utc_instant_in_range(value):
        return None
    return parsed


# ----------------------------------------------------------------- struct derivation

_Check = Callable[[Any], Any]
_UNSET: Final = msgspec.UNSET


class _FieldPlan:
    """How one model field is decoded by msgspec and checked afterwards."""

    __slots__ = (
        "bounds",
        "check",
        "is_string",
        "kind",
        "msgspec_type",
        "name",
        "nullable",
        "optional",
        "pattern",
        "values",
    )

    def __init__(
        self,
        name: str,
        msgspec_type: Any,
        check: _Check | None,
        is_string: bool,
        optional: bool,
        *,
        kind: str,
        nullable: bool,
        bounds: dict[str, Any],
        values: tuple[str, ...] | None = None,
        pattern: tuple[str, int | None] | None = None,
    ) -> None:
        self.name = name
        self.msgspec_type = msgspec_type
        self.check = check
        self.is_string = is_string
        self.optional = optional
        self.kind = kind
        """One of event_id, uuid, datetime, url, str, enum, int, float."""
        self.nullable = nullable
        self.bounds = bounds
        """The model's length or value bounds (msgspec.Meta keyword arguments)."""
        self.values = values
        """The allowed values of an enum field, in the enum's order."""
        self.pattern = pattern
        """(pattern, max_length) of a str or url field that ``check`` matches, if any."""


def _plan(name: str, info: FieldInfo) -> _FieldPlan:
    annotation: Any = info.annotation
    metadata: list[Any] = list(info.metadata)
    nullable = False
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable, annotation = True, args[0]
    if typing.get_origin(annotation) is Annotated:
        base, *extra = typing.get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = base
    validators = {getattr(m, "func", None) for m in metadata}
    meta: dict[str, Any] = {}
    pattern: str | None = None
    for m in metadata:
        if isinstance(m, annotated_types.MinLen):
            meta["min_length"] = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            meta["max_length"] = m.max_length
        elif isinstance(m, annotated_types.Ge):
            meta["ge"] = m.ge
        elif isinstance(m, annotated_types.Le):
            meta["le"] = m.le
        elif getattr(m, "pattern", None):
            pattern = m.pattern
    check: _Check | None = None
    matched: tuple[str, int | None] | None = None
    is_string = True
    values: tuple[str, ...] | None = None
    bounds = dict(meta)
    mtype: Any
    if _fields._check_event_id in validators:
        mtype, check, kind = str, fast_event_id, "event_id"
    elif _fields._check_uuid in validators:
        mtype, kind = uuid.UUID, "uuid"
    elif _fields._check_datetime in validators:
        mtype, check, kind = str, fast_datetime, "datetime"
    elif _fields._check_url in validators:
        mtype, kind = str, "url"
        matched = (URL_PATTERN, meta.pop("max_length", None))
        check = cached_check(*matched)
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        mtype, kind = annotation, "enum"
        values = tuple(member.value for member in annotation)
    elif annotation is str:
        mtype, kind = (Annotated[str, msgspec.Meta(**meta)] if meta else str), "str"
        if pattern is not None:
            matched = (pattern, None)
            check = cached_check(pattern)
    elif annotation is int:
        mtype, is_string, kind = Annotated[int, msgspec.Meta(**meta)], False, "int"
    elif annotation is float:
        # An integer literal beyond 64 bits is a line-level problem on the
        # model path; leave such values to it.
        mtype, is_string, kind = Annotated[float, msgspec.Meta(**meta)], False, "float"
        check = _finite_float
    else:
        raise TypeError(f"no fast decoding for field {name}: {annotation!r}")
    if nullable:
        mtype = Union[mtype, None]  # noqa: UP007
    optional = not info.is_required()
    if optional:
        mtype = Union[mtype, msgspec.UnsetType]  # noqa: UP007
    return _FieldPlan(
        name,
        mtype,
        check,
        is_string,
        optional,
        kind=kind,
        nullable=nullable,
        bounds=bounds,
        values=values,
        pattern=matched,
    )


def _finite_float(value: float) -> float | None:
    return value if value < 9.2e18 else None


class _Shape:
    """Decoding plan of one event type: structs, checks and expected string tokens."""

    __slots__ = (
        "build",
        "env_checks",
        "event_type",
        "family",
        "has_project_uuid",
        "opt_getter",
        "optional_numbers",
        "payload_checks",
        "payload_fields",
        "required_tokens",
    )

    def __init__(self, event_type: str, env_plans: list[_FieldPlan], pay_plans: list[_FieldPlan]):
        self.event_type = event_type
        self.family = EVENT_FAMILIES[event_type]
        self.env_checks = [(p.name, p.check) for p in env_plans if p.check is not None]
        self.payload_checks = [(p.name, p.check) for p in pay_plans if p.check is not None]
        self.payload_fields = [p.name for p in pay_plans]
        checked = frozenset(p.name for p in pay_plans if p.check is not None)
        self.build = _builder(event_type, self.payload_fields, checked)
        self.has_project_uuid = "project_uuid" in self.payload_fields
        required = [p for p in env_plans if not p.optional]
        # keys + string values of required envelope fields, the tag and its
        # value, the "payload" key, and every payload key and string value.
        self.required_tokens = (
            len(required)
            + sum(p.is_string for p in required)
            + 3
            + len(pay_plans)
            + sum(p.is_string for p in pay_plans)
        )
        optional = [p for p in env_plans if p.optional]
        self.opt_getter = operator.attrgetter(*[p.name for p in optional])
        self.optional_numbers = [i for i, p in enumerate(optional) if not p.is_string]


def _derive_plans() -> tuple[list[_FieldPlan], dict[str, list[_FieldPlan]]]:
    """Plans of the envelope's fields (all but ``payload``) and of each event type's payload."""
    envelope = [_plan(n, f) for n, f in Event.model_fields.items() if n != "payload"]
    payloads = {
        event_type: [_plan(n, f) for n, f in model.model_fields.items()]
        for event_type, model in PAYLOAD_MODELS.items()
    }
    return envelope, payloads


def _derive() -> tuple[msgspec.json.Decoder[Any], dict[type, _Shape], tuple[str, ...]]:
    # event_type becomes the union's tag; payload becomes the event type's struct.
    all_env_plans, payload_plans = _derive_plans()
    env_plans = [p for p in all_env_plans if p.name != "event_type"]
    optional = [p for p in env_plans if p.optional]
    envelopes = []
    shapes: dict[type, _Shape] = {}
    for event_type, model in PAYLOAD_MODELS.items():
        pay_plans = payload_plans[event_type]
        payload_struct = msgspec.defstruct(
            f"{model.__name__}Fast",
            [(p.name, p.msgspec_type) for p in pay_plans],
            forbid_unknown_fields=True,
            gc=False,
        )
        fields: list[Any] = [(p.name, p.msgspec_type) for p in env_plans if not p.optional]
        fields.append(("payload", payload_struct))
        fields.extend((p.name, p.msgspec_type, _UNSET) for p in optional)
        envelope = msgspec.defstruct(
            f"{event_type}Envelope",
            fields,
            tag_field="event_type",
            tag=event_type,
            forbid_unknown_fields=True,
            gc=False,
        )
        envelopes.append(envelope)
        shapes[envelope] = _Shape(event_type, env_plans, pay_plans)
    decoder = msgspec.json.Decoder(Union[tuple(envelopes)])  # noqa: UP007
    return decoder, shapes, tuple(p.name for p in optional)


class FastEvent(msgspec.Struct, gc=False):
    """A line the fast path accepted: its replay order parts and its reducer fact."""

    event_id: str
    lamport_clock: int
    instant_us: int
    fact: Fact
    """The reducer fact, with an empty event_id (the id is the field above)."""
    fact_breaks_rules: bool
    project_uuid_mismatch: bool


class FastDecoder:
    """Decode and fully check one JSONL line; ``None`` means "let the model path decide"."""

    def __init__(self) -> None:
        self._decoder, self._shapes, optional = _derive()
        self._n_optional = len(optional)

    def decode(self, line: bytes) -> FastEvent | None:
        """Return the checked event, or ``None`` when the line needs the model path."""
        if b"\\" in line:
            return None
        try:
            env = self._decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            return None
        except RecursionError:
            return None  # nested deeper than msgspec recurses: the model path reports it
        shape = self._shapes[type(env)]
        optional = shape.opt_getter(env)
        present = self._n_optional - optional.count(_UNSET)
        numbers = 0
        for index in shape.optional_numbers:
            numbers += optional[index] is not _UNSET
        strings = present - optional.count(None) - numbers
        if line.count(b'"') != 2 * (shape.required_tokens + present + strings):
            return None  # a repeated key (or something stranger): the model path explains
        values: dict[str, Any] = {}
        for name, check in shape.env_checks:
            raw = getattr(env, name)
            if raw is None or raw is _UNSET:
                continue
            value = check(raw)
            if value is None:
                return None
            values[name] = value
        payload = env.payload
        checked: dict[str, Any] = {}
        for name, check in shape.payload_checks:
            value = check(getattr(payload, name))
            if value is None:
                return None
            checked[name] = value
        event_id = values["event_id"]
        # The fact leaves event_id empty: replay records keep the id once, in their prefix.
        fact = shape.build("", payload, checked)
        return FastEvent(
            event_id,
            env.lamport_clock,
            (values["timestamp"] - EPOCH) // MICROSECOND,
            fact,
            bool(fact.broken_rules) if shape.family is not Family.LINK else False,  # type: ignore[union-attr]
            shape.has_project_uuid and env.project_uuid != payload.project_uuid,
        )


_Build = Callable[[str, Any, dict[str, Any]], Fact]


def _reader(name: str, checked: frozenset[str]) -> Callable[[Any, dict[str, Any]], Any]:
    if name in checked:
        return lambda payload, values: values[name]
    return lambda payload, values: getattr(payload, name)


def _builder(event_type: str, names: list[str], checked_names: frozenset[str]) -> _Build:
    """A fact constructor specialised to one event type's fields (no missing-attribute probes)."""
    rules = [
        (rule.code, _reader(rule.earlier, checked_names), _reader(rule.later, checked_names))
        for rule in SEMANTIC_RULES
        if rule.event_type == event_type
    ]

    def broken(payload: Any, values: dict[str, Any]) -> tuple[str, ...]:
        if not rules:
            return ()
        return tuple(code for code, a, b in rules if a(payload, values) > b(payload, values))

    family = EVENT_FAMILIES[event_type]
    if family is Family.CONNECTOR:
        has_health = "health_status" in names
        has_previous = "previous_state" in names

        def connector(event_id: str, p: Any, values: dict[str, Any]) -> Fact:
            health = p.health_status if has_health else None
            return ConnectorFact(
                event_id,
                event_type,
                p.connector_id,
                p.connector_type,
                p.provider,
                p.mission_id,
                values["recorded_at"],
                connector_target(event_type, health),
                health,
                p.latency_ms if has_health else None,
                p.previous_state if has_previous else None,
                broken(p, values),
            )

        return connector
    if family is Family.SYNC:
        outcome = SYNC_OUTCOMES[event_type]
        retry = "retry_attempt" in names
        ingested = "ingested_count" in names
        replayed = "replayed_count" in names

        def sync(event_id: str, p: Any, values: dict[str, Any]) -> Fact:
            return SyncFact(
                event_id,
                p.connector_id,
                outcome,
                p.delivery_id,
                p.source_event_fingerprint,
                p.retry_attempt if retry else 0,
                p.max_retries if retry else 0,
                p.ingested_count if ingested else 0,
                p.replayed_count if replayed else 0,
                broken(p, values),
            )

        return sync
    readers = [(name, _reader(name, checked_names)) for name in names]

    def link(event_id: str, p: Any, values: dict[str, Any]) -> Fact:
        return LinkFact(event_id=event_id, **{name: read(p, values) for name, read in readers})

    return link
