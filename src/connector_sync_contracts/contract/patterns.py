"""Value patterns of the contract, with JSON Schema's regex semantics (FR-002, FR-004, FR-008).

Each rule on a string value is written once here, as a regular expression
or a bound: the pydantic models and the JSON Schemas generated from them
use these constants, and the compiled engine's spec carries them, so no
layer can drift from another. Also here: the canonical spelling of event
identifiers and instants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Final

__all__ = [
    "DATETIME_PATTERN",
    "EVENT_ID_PATTERN",
    "SEMVER_PATTERN",
    "ULID_ALPHABET",
    "URL_MAX_LENGTH",
    "URL_PATTERN",
    "UUID_PATTERN",
    "cached_check",
    "checked_event_id",
    "encodable",
    "event_id_key",
    "format_instant",
    "full_match",
    "normal_event_id",
    "offset_text",
    "rfc3339_offset",
    "spelled_event_id",
    "utc_instant_in_range",
]

ULID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32, the 32 characters of a ULID (no I, L, O or U); lower case is accepted."""


def _character_class(alphabet: str) -> str:
    # "0123456789ABCDEFGH" -> "0-9A-H": runs of three or more become ranges.
    out: list[str] = []
    run = [alphabet[0]]
    for char in alphabet[1:]:
        if ord(char) == ord(run[-1]) + 1:
            run.append(char)
            continue
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else "".join(run))
        run = [char]
    out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else "".join(run))
    return "".join(out)


_ULID: Final = (
    f"[{_character_class(ULID_ALPHABET)}{_character_class(ULID_ALPHABET.lower()[10:])}]{{26}}"
)
_UUID36: Final = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_UUID32: Final = r"[0-9A-Fa-f]{32}"

EVENT_ID_PATTERN: Final = rf"^(?:{_ULID}|{_UUID36}|{_UUID32})$"
"""ULID (26 Crockford base32, no I/L/O/U) or UUID (hyphenated or 32 hex)."""

UUID_PATTERN: Final = rf"^(?:{_UUID36}|{_UUID32})$"
"""A UUID written as 36-char hyphenated or 32 hex characters."""

DATETIME_PATTERN: Final = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""RFC 3339 date-time with a mandatory offset (``Z`` or ``+HH:MM``) and up to nine fraction
digits (nanoseconds, as Go's RFC3339Nano writes them); stored truncated to microseconds.
``T`` and ``Z`` may be lower case, as RFC 3339 section 5.6 allows."""

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

_CACHE_LIMIT: Final = 65536
_EVENT_ID_RE: Final = re.compile(EVENT_ID_PATTERN)


def full_match(regex: re.Pattern[str], value: str) -> bool:
    """Whether ``regex`` (anchored with ``^...$``) matches all of ``value``.

    ECMA-262 semantics for a trailing ``$``: Python's ``$`` also matches before
    a final newline, which JSON Schema's regex dialect does not allow.
    """
    return regex.match(value) is not None and not value.endswith("\n")


def cached_check(pattern: str, max_length: int | None = None) -> Callable[[str], str | None]:
    """A check returning the value when it matches ``pattern`` (and fits), else None.

    Values that passed are remembered (up to 65,536 of them), so a log that
    repeats the same URLs or versions matches each once.
    """
    regex = re.compile(pattern)
    ok: set[str] = set()

    def check(value: str) -> str | None:
        if value in ok:
            return value
        if (max_length is None or len(value) <= max_length) and full_match(regex, value):
            if len(ok) < _CACHE_LIMIT:
                ok.add(value)
            return value
        return None

    return check


def normal_event_id(value: str) -> str | None:
    """The canonical spelling of a ULID or UUID identifier, or None when ``value`` is neither.

    ULIDs become upper case; UUIDs become lower-case 36-character hyphenated.
    A ``str`` subclass is read as the text it holds, as the models read it
    (its own ``upper`` or ``__len__`` may say otherwise).
    """
    if type(value) is not str:
        value = str.__str__(value)
    if not full_match(_EVENT_ID_RE, value):
        return None
    return checked_event_id(value)


def encodable(text: str) -> str:
    """``text`` with lone surrogates escaped (``\\ud800``), so it can always be encoded.

    Text read from JSON may hold one (``"\\ud800"`` is valid JSON text): an
    invalid event's ids, a key in a problem's field path. Every other
    character is kept.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def spelled_event_id(value: object) -> str | None:
    """How an anomaly names the event_id ``value`` of an event that is not valid.

    Its normal spelling when it is a ULID or UUID (as every other event_id
    of a projection is), so that the anomaly names the event its valid
    copies name; else the string as written, a lone surrogate escaped so the
    result can always be encoded. None when ``value`` is not a string.
    """
    if not isinstance(value, str):
        return None
    return normal_event_id(value) or encodable(value)


def checked_event_id(value: str) -> str:
    """``normal_event_id`` of a value already known to be a ULID or UUID: the spelling only.

    For identifiers a checker has matched already (the compiled core's
    envelopes), where matching the pattern again would only cost time.
    """
    if type(value) is not str:
        value = str.__str__(value)  # the text it holds, as normal_event_id reads it
    if len(value) == 26:
        return value.upper()
    h = value.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_id_key(value: str) -> str:
    """What every spelling of one event id shares: lower case, hyphens left out.

    ``normal_event_id`` changes only the case and the hyphens of an id, so
    two values it maps to one id have one key (two values with one key
    need not be one id: the key only rules ids out).
    """
    return value.replace("-", "").lower()


_DATETIME_PARTS: Final = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def utc_instant_in_range(value: str) -> bool:
    """Whether an RFC 3339 date-time stays within years 1..9999 once normalized to UTC.

    ``9999-12-31T23:30:00-01:00`` is a well-formed date-time whose UTC instant
    falls in year 10000, which no ``datetime`` can hold. Strings that are not
    RFC 3339 date-times, or name a day that does not exist, return ``True``:
    the pattern and the date-time format report those.
    """
    # An offset moves an instant by less than 100 hours: only years 0001 and
    # 9999 can leave the range (a string of another shape is True anyway).
    if "0001" < value[:4] < "9999":
        return True
    return _shifted_in_range(value)


def _shifted_in_range(value: str) -> bool:
    """``utc_instant_in_range`` computed in full, for any year."""
    parts = _DATETIME_PARTS.match(value)
    if parts is None:
        return True
    try:
        year, month, day, hour, minute, second = (int(part) for part in parts.groups()[:6])
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return True
    offset = parts[7]
    minutes = 0 if offset in "Zz" else int(offset[1:3]) * 60 + int(offset[4:6])
    try:
        local - timedelta(minutes=minutes if offset[0] != "-" else -minutes)
    except OverflowError:
        return False
    return True


def format_instant(value: datetime) -> str:
    """Render an aware datetime as canonical RFC 3339 UTC (``...Z``, microseconds if any).

    The year has four digits, as RFC 3339 asks (``0999-01-02T03:04:05Z``).
    """
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def offset_text(offset: timedelta) -> str:
    """``+00:19:32``, ``-05:00:00.500000``: a UTC offset with its seconds, as said in a
    message that refuses one RFC 3339 cannot write (whole minutes only)."""
    sign = "-" if offset < timedelta(0) else "+"
    size = abs(offset)
    seconds = size.days * 86400 + size.seconds
    text = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{size.microseconds:06d}" if size.microseconds else "")


def rfc3339_offset(offset: timedelta) -> bool:
    """Whether RFC 3339 text can write a UTC offset: whole minutes, no seconds."""
    return not offset % timedelta(minutes=1)
