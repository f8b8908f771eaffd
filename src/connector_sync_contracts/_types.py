"""Field types shared by the envelope and every payload family.

Each rule is written once, as a regular expression or a bound, and used by
both the pydantic models (FR-002, FR-004, FR-005) and the JSON Schemas
generated from them (FR-008), so the model and schema layers cannot drift.
The fast decoding path (``_fast``) derives its checks from the same constants.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Final
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ._patterns import full_match

__all__ = [
    "DATETIME_PATTERN",
    "EVENT_ID_PATTERN",
    "INT64_MAX",
    "SEMVER_PATTERN",
    "URL_MAX_LENGTH",
    "URL_PATTERN",
    "UUID_PATTERN",
    "Count",
    "EventIdStr",
    "HttpUrlStr",
    "NonEmptyStr",
    "NonNegativeCount",
    "UtcDatetime",
    "UuidField",
    "format_instant",
    "normalize_event_id",
    "utc_instant_in_range",
]

INT64_MAX: Final = 2**63 - 1
"""Largest integer any contract field accepts: every integer fits a signed 64-bit slot."""

_ULID = r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}"
_UUID36 = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_UUID32 = r"[0-9A-Fa-f]{32}"

EVENT_ID_PATTERN: Final = rf"^(?:{_ULID}|{_UUID36}|{_UUID32})$"
"""ULID (26 Crockford base32, no I/L/O/U) or UUID (hyphenated or 32 hex)."""

UUID_PATTERN: Final = rf"^(?:{_UUID36}|{_UUID32})$"
"""A UUID written as 36-char hyphenated or 32 hex characters."""

DATETIME_PATTERN: Final = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""RFC 3339 date-time with a mandatory offset (``Z`` or ``+HH:MM``) and up to nine fraction
digits (nanoseconds, as Go's RFC3339Nano writes them); stored truncated to microseconds."""

SEMVER_PATTERN: Final = r"^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)$"
"""``MAJOR.MINOR.PATCH`` without leading zeros."""

URL_MAX_LENGTH: Final = 2048
"""Longest accepted URL, in characters."""

# Authority is a bracketed IP literal or a host without '@', so user-info
# (credentials) can never appear; the scheme is http or https in any case.
URL_PATTERN: Final = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    r"(?:\[[0-9A-Fa-f:.]+\]|[^\x00-\x20\x7f/?#@:\[\]\\]+)"
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
    r"(?:[/?#][^\x00-\x20\x7f]*)?$"
)
"""Absolute http(s) URL with a host and no user-info (``user:token@`` is rejected)."""

_EVENT_ID_RE: Final = re.compile(EVENT_ID_PATTERN)
_UUID_RE: Final = re.compile(UUID_PATTERN)
_DATETIME_RE: Final = re.compile(DATETIME_PATTERN)
_URL_RE: Final = re.compile(URL_PATTERN)


def _rule_error(error_type: str, message: str) -> PydanticCustomError:
    # pydantic's own error type names (plus "datetime_out_of_range"), so the
    # validator maps every broken rule to one stable code, the same code the
    # JSON Schema layer reports. PydanticCustomError is a ValueError.
    return PydanticCustomError(error_type, message)


_DATETIME_PARTS: Final = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


def utc_instant_in_range(value: str) -> bool:
    """Whether an RFC 3339 date-time stays within years 1..9999 once normalized to UTC.

    ``9999-12-31T23:30:00-01:00`` is a well-formed date-time whose UTC instant
    falls in year 10000, which no ``datetime`` can hold. Strings that are not
    RFC 3339 date-times, or name a day that does not exist, return ``True``:
    the pattern and the date-time format report those.
    """
    parts = _DATETIME_PARTS.match(value)
    if parts is None:
        return True
    try:
        year, month, day, hour, minute, second = (int(part) for part in parts.groups()[:6])
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return True
    offset = parts[7]
    minutes = 0 if offset == "Z" else int(offset[1:3]) * 60 + int(offset[4:6])
    try:
        local - timedelta(minutes=minutes if offset[0] != "-" else -minutes)
    except OverflowError:
        return False
    return True


def normalize_event_id(value: str) -> str:
    """Return the canonical spelling of a ULID or UUID identifier.

    ULIDs become upper case; UUIDs become lower-case 36-character hyphenated.
    Raises ``ValueError`` when ``value`` is neither.
    """
    if not full_match(_EVENT_ID_RE, value):
        raise _rule_error(
            "string_pattern_mismatch",
            "must be a ULID (26 Crockford base32) or a UUID (hyphenated or 32 hex)",
        )
    if len(value) == 26:
        return value.upper()
    return _normalize_uuid(value)


def _normalize_uuid(value: str) -> str:
    h = value.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _check_event_id(value: object) -> object:
    if isinstance(value, str):
        return normalize_event_id(value)
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
        if value.tzinfo is None or value.utcoffset() is None:
            raise _rule_error(
                "timezone_aware", "must carry a UTC offset (naive datetimes are rejected)"
            )
        return value
    if isinstance(value, str):
        if not full_match(_DATETIME_RE, value):
            raise _rule_error(
                "string_pattern_mismatch",
                "must be an RFC 3339 date-time with an offset, e.g. 2026-11-25T10:15:30Z",
            )
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


def _check_url(value: str) -> str:
    if not full_match(_URL_RE, value):
        raise _rule_error(
            "string_pattern_mismatch",
            "must be an absolute http(s) URL with a host and without user-info",
        )
    return value


def format_instant(value: datetime) -> str:
    """Render an aware datetime as canonical RFC 3339 UTC (``...Z``, microseconds if any)."""
    utc = value.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


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
            **{"$comment": "The UTC instant must fall within years 0001-9999."},
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

Count = Annotated[int, Field(strict=True, ge=1, le=INT64_MAX)]
"""Integer >= 1 that fits in 64 bits (booleans are not numbers)."""

NonNegativeCount = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
"""Integer >= 0 that fits in 64 bits (booleans are not numbers)."""
