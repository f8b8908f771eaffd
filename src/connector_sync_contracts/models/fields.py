"""Field types shared by the envelope and every payload family (FR-002, FR-004, FR-005).

Each type applies one rule of ``contract.patterns`` (or a bound) and carries
the JSON Schema that states the same rule, so the model and schema layers
cannot drift (FR-008). A field that several models share with the same
meaning is one type here, description included (``RecordedAt``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Final
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ..contract.limits import INT64_MAX
from ..contract.patterns import (
    DATETIME_PATTERN,
    EVENT_ID_PATTERN,
    SEMVER_PATTERN,
    URL_MAX_LENGTH,
    URL_PATTERN,
    UUID_PATTERN,
    full_match,
    normal_event_id,
    offset_text,
    rfc3339_offset,
    utc_instant_in_range,
)

__all__ = [
    "Count",
    "EventIdStr",
    "HttpUrlStr",
    "NonEmptyStr",
    "NonNegativeCount",
    "RecordedAt",
    "UtcDatetime",
    "UuidField",
    "VersionStr",
]

_UUID_RE: Final = re.compile(UUID_PATTERN)
_DATETIME_RE: Final = re.compile(DATETIME_PATTERN)
_LEAP_SECOND: Final = re.compile(r"([Tt][0-9]{2}:[0-9]{2}:)60")
_LONG_FRACTION: Final = re.compile(r"([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}\.)([0-9]{10,})")


def _rule_error(error_type: str, message: str) -> PydanticCustomError:
    # pydantic's own error type names (plus "datetime_out_of_range"), so the
    # validator maps every broken rule to one stable code, the same code the
    # JSON Schema layer reports. PydanticCustomError is a ValueError.
    return PydanticCustomError(error_type, message)


def _check_event_id(value: object) -> object:
    if isinstance(value, str):
        normal = normal_event_id(value)
        if normal is None:
            raise _rule_error(
                "string_pattern_mismatch",
                "must be a ULID (26 Crockford base32) or a UUID (hyphenated or 32 hex)",
            )
        return normal
    return value


def _check_uuid(value: object) -> object:
    if isinstance(value, UUID):
        return value
    message = "must be a UUID string, 36-char hyphenated or 32 hex characters"
    if not isinstance(value, str):
        raise _rule_error("uuid_type", message)
    if not full_match(_UUID_RE, value):
        raise _rule_error("string_pattern_mismatch", message)
    return value


def _check_datetime(value: object) -> object:
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            raise _rule_error(
                "timezone_aware", "must carry a UTC offset (naive datetimes are rejected)"
            )
        if not rfc3339_offset(offset):
            # RFC 3339 text has no seconds in an offset: it could not be written as it is.
            raise _rule_error(
                "timezone_aware",
                "must carry a UTC offset of whole minutes, as RFC 3339 writes one "
                f"(this one is {offset_text(offset)})",
            )
        return value
    if isinstance(value, str):
        if not full_match(_DATETIME_RE, value):
            message = "must be an RFC 3339 date-time with an offset, e.g. 2026-11-25T10:15:30Z"
            if full_match(_DATETIME_RE, _LEAP_SECOND.sub(r"\g<1>59", value, count=1)):
                message += "; a leap second (second 60) is not taken: it has no UTC instant"
            elif (long := _LONG_FRACTION.search(value)) and full_match(
                _DATETIME_RE, value[: long.start(2)] + "0" + value[long.end(2) :]
            ):
                digits = len(long.group(2))
                message += f"; a fraction has at most nine digits (nanoseconds), not {digits}"
            raise _rule_error("string_pattern_mismatch", message)
        if not utc_instant_in_range(value):
            raise _rule_error("datetime_out_of_range", _OUT_OF_RANGE)
        return value
    raise _rule_error("datetime_type", "must be an RFC 3339 date-time string")


_OUT_OF_RANGE: Final = "must fall within years 0001-9999 once normalized to UTC"


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise _rule_error("datetime_out_of_range", _OUT_OF_RANGE) from None


class _PatternCheck:
    """A validator: the whole string matches ``pattern``, or the field says ``message``.

    The compiled core's spec reads ``pattern`` from it (``_engine.native.spec``),
    so the two engines check one pattern.
    """

    __slots__ = ("_regex", "message", "pattern")

    def __init__(self, pattern: str, message: str) -> None:
        self.pattern = pattern
        self.message = message
        self._regex = re.compile(pattern)

    def __call__(self, value: str) -> str:
        if not full_match(self._regex, value):
            raise _rule_error("string_pattern_mismatch", self.message)
        return value


_check_url: Final = _PatternCheck(
    URL_PATTERN, "must be an absolute http(s) URL with a host and without user-info"
)
_check_version: Final = _PatternCheck(
    SEMVER_PATTERN, "must be a version MAJOR.MINOR.PATCH (semantic versioning), e.g. 2.7.0"
)


def _schema(**extra: Any) -> dict[str, Any]:
    return extra


NonEmptyStr = Annotated[str, Field(strict=True, min_length=1)]
"""A JSON string with at least one character."""

EventIdStr = Annotated[
    str,
    Field(strict=True),
    BeforeValidator(_check_event_id),
    WithJsonSchema(_schema(type="string", pattern=EVENT_ID_PATTERN)),
]
"""ULID or UUID identifier, normalized (ULID upper case, UUID lower-case hyphenated)."""

UuidField = Annotated[
    UUID,
    BeforeValidator(_check_uuid),
    # No "format": "uuid": JSON Schema's uuid format demands the hyphenated
    # spelling, and the contract also accepts 32 hex characters.
    WithJsonSchema(_schema(type="string", pattern=UUID_PATTERN)),
]
"""A UUID given as a JSON string (36-char hyphenated or 32 hex); parsed to ``uuid.UUID``."""

UtcDatetime = Annotated[
    datetime,
    BeforeValidator(_check_datetime),
    AfterValidator(_to_utc),
    WithJsonSchema(
        _schema(
            type="string",
            format="date-time",
            pattern=DATETIME_PATTERN,
            **{
                "$comment": "The date as written and its UTC instant must both "
                "fall within years 0001-9999."
            },
        )
    ),
]
"""RFC 3339 date-time that must carry an offset; normalized to UTC."""

HttpUrlStr = Annotated[
    str,
    Field(strict=True, max_length=URL_MAX_LENGTH),
    AfterValidator(_check_url),
    WithJsonSchema(_schema(type="string", maxLength=URL_MAX_LENGTH, pattern=URL_PATTERN)),
]
"""Absolute http(s) URL with a host, no user-info, at most 2048 characters."""

VersionStr = Annotated[
    str,
    Field(strict=True),
    AfterValidator(_check_version),
    WithJsonSchema(_schema(type="string", pattern=SEMVER_PATTERN)),
]
"""A version MAJOR.MINOR.PATCH (numbers without leading zeros)."""

Count = Annotated[int, Field(strict=True, ge=1, le=INT64_MAX)]
"""Integer >= 1 that fits in 64 bits (booleans are not numbers)."""

NonNegativeCount = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
"""Integer >= 0 that fits in 64 bits (booleans are not numbers)."""

RecordedAt = Annotated[
    UtcDatetime,
    Field(
        description="When the producer recorded the event: RFC 3339 with an offset, "
        "normalized to UTC."
    ),
]
"""``recorded_at`` of every payload: when the producer recorded the event."""
