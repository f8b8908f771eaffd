"""The canonical JSON of an envelope: what deduplication by event_id compares (section 2).

Two copies of one event_id are identical duplicates exactly when these bytes
are equal; among copies that differ, the smallest (sort key, canonical JSON)
wins once valid payloads come first. The bytes are the envelope's known
fields (unknown ones are left out, absent optional ones take their
defaults), its identifiers in their normal spelling, its timestamp as a UTC
instant, and the payload as the JSON object it is, every key sorted.

``models.envelope.canonical_json`` writes them for an ``Event``;
``line_canonical_json`` writes the same bytes for the object of a line the
compiled core has checked whole, without building the model (settling
copies whose bytes differ then needs no pydantic). ``tests/contract``
holds the two equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from .patterns import checked_event_id, format_instant

__all__ = [
    "ENVELOPE_DEFAULTS",
    "ENVELOPE_REQUIRED",
    "canonical_bytes",
    "datetime_text",
    "instant_text",
    "line_canonical_json",
    "zoned_text",
]

ENVELOPE_REQUIRED: Final = (
    "event_id",
    "event_type",
    "aggregate_id",
    "payload",
    "timestamp",
    "node_id",
    "lamport_clock",
    "project_uuid",
    "correlation_id",
)
"""The envelope fields every event has (``Event``'s required fields)."""

ENVELOPE_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "causation_id": None,
        "build_id": None,
        "project_slug": None,
        "schema_version": None,
        "data_tier": 0,
    }
)
"""The optional envelope fields with the value an absent one takes (``Event``'s defaults)."""

_OTHER_IDENTIFIERS: Final = ("correlation_id", "causation_id")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_DATETIME


@lru_cache(maxsize=256)
def _uuid_text(value: str) -> str:
    # A log repeats a few projects' UUIDs, in one spelling each.
    return str(UUID(value))


_C_ZONES: Final = (timezone, ZoneInfo)


def zoned_text(value: date | time, option: int) -> str:
    """A date, time or datetime as orjson writes it with ``option`` (its text, unquoted).

    orjson writes a datetime of any other tzinfo than ``datetime.timezone``
    and ``zoneinfo.ZoneInfo`` (whose offsets are C code) by calling its
    ``utcoffset``, and crashes the interpreter when that raises. The writers
    here therefore pass every date and time to this function
    (``OPT_PASSTHROUGH_DATETIME``), which leaves one of such a tzinfo to
    Python's ``isoformat`` (a zero offset written ``Z`` under
    ``OPT_UTC_Z``), where an error is raised as any other. A mapping's
    payload may hold datetimes; an ``Event`` holds one only when it was made
    with ``model_construct`` or its payload was changed after it was made
    (validating one writes each as its RFC 3339 text).
    """
    if isinstance(value, (datetime, time)):
        zone = value.tzinfo
        if zone is not None and type(zone) not in _C_ZONES:
            text = value.isoformat()
            utc_z = option & orjson.OPT_UTC_Z and value.utcoffset() == timedelta(0)
            return text[:-6] + "Z" if utc_z else text
    return orjson.dumps(value, option=option).decode()[1:-1]


def datetime_text(value: object) -> str:
    """What orjson writes for what it cannot write itself (``default``), and what
    ``json`` writes for it: a date or time as orjson does with ``OPT_UTC_Z``
    (``zoned_text``), anything else, or a time orjson refuses, as its ``str``."""
    if isinstance(value, (date, time)):
        try:
            return zoned_text(value, orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:  # a time with a tzinfo
            pass
    return str(value)


def canonical_bytes(data: dict[str, Any]) -> bytes:
    """Compact JSON of ``data`` with every key sorted: the canonical form's writer.

    orjson writes it; a value orjson refuses (an integer past 64 bits, a
    lone surrogate, both valid JSON text) is written by ``json`` instead, so
    the bytes never fail and stay distinct per content. A ``datetime`` (a
    mapping's payload may hold one) is RFC 3339 with its own offset, a zero
    offset written ``Z``: as ``model_dump(mode="json")`` writes it
    (``zoned_text``).
    """
    try:
        # A copy of orjson's bytes: its own hold a buffer of 4 KB or more, and
        # settling copies keeps one per copy of an event_id until it is decided.
        return bytes(memoryview(orjson.dumps(data, option=_OPTIONS, default=datetime_text)))
    except orjson.JSONEncodeError:
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=datetime_text
        )
        return text.encode("utf-8", "surrogatepass")


def line_canonical_json(obj: Mapping[str, Any], event_id: str, instant_us: int) -> bytes:
    """The canonical JSON of a checked envelope object, as ``canonical_json`` writes its ``Event``.

    ``obj``: a line's JSON object that the compiled core took as a valid
    envelope (so every required field is present and every value keeps its
    rule); ``event_id`` and ``instant_us``: its event_id in normal form and
    its timestamp in microseconds since the epoch (UTC), as the core read them.
    """
    data = {name: obj[name] for name in ENVELOPE_REQUIRED}
    for name, default in ENVELOPE_DEFAULTS.items():
        data[name] = obj.get(name, default)
    data["event_id"] = event_id
    for name in _OTHER_IDENTIFIERS:
        value = data[name]
        if isinstance(value, str):  # the core matched it: only its spelling is made normal
            data[name] = checked_event_id(value)
    data["project_uuid"] = _uuid_text(str(data["project_uuid"]))  # a mapping may hold a UUID
    data["timestamp"] = instant_text(instant_us)
    return canonical_bytes(data)


def instant_text(instant_us: int) -> str:
    """``format_instant`` of an instant in microseconds since the epoch (UTC).

    Written from the text of its second, which the events of a log share
    with their neighbours, and its microseconds (none: no fraction).
    """
    seconds, micro = divmod(instant_us, 1_000_000)
    text = _second_text(seconds)
    return f"{text}.{micro:06d}Z" if micro else f"{text}Z"


@lru_cache(maxsize=4096)
def _second_text(seconds: int) -> str:
    return format_instant(_EPOCH + timedelta(seconds=seconds))[:-1]
