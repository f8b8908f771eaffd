"""Hypothesis strategies that build JSON data from the committed schemas (FR-008 agreement).

``valid_documents(name)`` draws payloads (or envelopes) whose every field
follows its schema, derived from the committed file so a new field is
covered without touching this module. ``mutated_documents(name)`` then
breaks them the way producers do: a dropped field, a wrong JSON type, an
out-of-range or empty value, a bad URL, a naive or impossible timestamp, a
boolean for a number, a >64-bit integer, a trailing newline in an id. The
``BAD_*`` tables are also used one by one, deterministically.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

from hypothesis import strategies as st

from connector_sync_contracts import PAYLOAD_MODELS
from connector_sync_contracts.contract.limits import INT_RANGE
from connector_sync_contracts.contract.patterns import (
    DATETIME_PATTERN,
    EVENT_ID_PATTERN,
    SEMVER_PATTERN,
    URL_PATTERN,
    UUID_PATTERN,
)
from connector_sync_contracts.schemas import ENVELOPE_SCHEMA, load_schema

__all__ = [
    "BAD_DATETIMES",
    "BAD_IDS",
    "BAD_URLS",
    "GENERIC_BAD",
    "bad_values_for",
    "field_schemas",
    "mutated_documents",
    "sample_document",
    "valid_documents",
]

Json = Any

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
UUID_EXAMPLE: Final = "0b5c3f5e-6d0a-4c56-9a53-2f7e4f1c9d10"
ULID_EXAMPLE: Final = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

GENERIC_BAD: Final[tuple[Json, ...]] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    0.5,
    -0.5,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e308,
    "",
    " ",
    "x",
    "\n",
    "1",
    "true",
    [],
    {},
    ["x"],
    {"a": 1},
)
"""Values of every JSON type and at every boundary; tried on every field."""

BAD_URLS: Final[tuple[str, ...]] = (
    "https://user:token@example.com/hook",
    "https://user@example.com",
    "https://:secret@example.com/",
    "https://example.com/hook\n",
    "https://example.com\n",
    "ftp://example.com/file",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "mailto:ops@example.com",
    "http://",
    "https://",
    "https:///path",
    "example.com/path",
    "//example.com/path",
    "https://exa mple.com/",
    "https://example.com/a b",
    "https://example.com:",
    "https://example.com:123456/",
    "https://example.com:8443/x",
    "https://[::1]:8080/x",
    "https://[::1/",
    "HTTPS://EXAMPLE.COM",
    "https://example.com#frag",
    "https://example.com?q=1",
    "https://ex\\ample.com/",
    "https://example.com/\u00e9t\u00e9",
    "https://b\u00fccher.example/",
    " https://example.com/",
    "https://example.com/" + "a" * 2028,
    "https://example.com/" + "a" * 2029,
)
"""URLs around the contract's rule: credentials, schemes, newlines, hosts, length 2048/2049."""

BAD_DATETIMES: Final[tuple[str, ...]] = (
    "2026-11-25T10:15:30",
    "2026-11-25T10:15:30Z\n",
    "2026-11-25t10:15:30z",
    "2026-11-25 10:15:30Z",
    "2026-02-30T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-11-25T24:00:00Z",
    "2026-11-25T23:59:60Z",
    "2026-11-25T10:15:30.1234567890Z",
    "2026-11-25T10:15:30.Z",
    "2026-11-25T10:15:30.123456+05:30",
    "2026-11-25T10:15:30+24:00",
    "2026-11-25T10:15:30+0100",
    "2026-11-25T10:15:30-00:00",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-11-25",
    "20261125T101530Z",
    "2026-1-25T10:15:30Z",
    "1764065730",
)
"""Date-times around the rule: naive, newline, case, impossible days, 60 s, ranges, offsets."""

BAD_IDS: Final[tuple[str, ...]] = (
    ULID_EXAMPLE + "\n",
    ULID_EXAMPLE.lower(),
    ULID_EXAMPLE[:-1] + "I",
    ULID_EXAMPLE[:-1] + "L",
    ULID_EXAMPLE[:-1] + "O",
    ULID_EXAMPLE[:-1] + "U",
    ULID_EXAMPLE[:-1],
    ULID_EXAMPLE + "0",
    UUID_EXAMPLE + "\n",
    UUID_EXAMPLE.upper(),
    UUID_EXAMPLE.replace("-", ""),
    UUID_EXAMPLE.replace("-", "") + "\n",
    UUID_EXAMPLE.replace("-", "", 1),
    "{" + UUID_EXAMPLE + "}",
    "urn:uuid:" + UUID_EXAMPLE,
    UUID_EXAMPLE[:-1] + "g",
    "\n" + UUID_EXAMPLE,
)
"""Identifiers around the ULID/UUID rule, including a trailing newline."""

BAD_SEMVERS: Final[tuple[str, ...]] = (
    "2.7",
    "02.7.0",
    "2.7.0\n",
    "2.7.0-rc.1",
    "v2.7.0",
    "2.7.0.1",
)

BAD_ENUM_STRINGS: Final[tuple[str, ...]] = ("HUMAN", " healthy", "healthy\n", "unknown", "Degraded")


def field_schemas(name: str) -> dict[str, dict[str, Any]]:
    """Property name -> its schema with any ``$ref`` resolved, from the committed file."""
    schema = load_schema(name)
    defs = schema.get("$defs", {})
    out = {}
    for prop, sub in schema["properties"].items():
        resolved = dict(sub)
        ref = resolved.pop("$ref", None)
        if ref is not None:
            resolved.update(defs[ref.rsplit("/", 1)[-1]])
        out[prop] = resolved
    return out


def _types(sub: dict[str, Any]) -> list[str]:
    kind = sub.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def bad_values_for(sub: dict[str, Any]) -> tuple[Json, ...]:
    """Values that break (or brush against) the rules of one field schema."""
    values: list[Json] = list(GENERIC_BAD)
    pattern = sub.get("pattern")
    if pattern == URL_PATTERN:
        values += BAD_URLS
    elif pattern == DATETIME_PATTERN:
        values += BAD_DATETIMES
    elif pattern in (EVENT_ID_PATTERN, UUID_PATTERN):
        values += BAD_IDS
    elif pattern == SEMVER_PATTERN:
        values += BAD_SEMVERS
    if "enum" in sub:
        values += BAD_ENUM_STRINGS
        values += [value + "\n" for value in sub["enum"]]
    for bound in ("minimum", "maximum"):
        if bound in sub:
            edge = sub[bound]
            values += [edge - 1, edge, edge + 1, float(edge) - 0.5, float(edge)]
    if "integer" in _types(sub):
        values += [1.5, 2.0, 1e2]
    return tuple(values)


# ------------------------------------------------------------- valid values


def _sample_value(sub: dict[str, Any]) -> Json:
    kinds = _types(sub)
    pattern: str = sub.get("pattern", "")
    if "enum" in sub:
        return sub["enum"][0]
    if "string" in kinds:
        return {
            URL_PATTERN: "https://api.github.com/repos/acme/api/hooks/7",
            DATETIME_PATTERN: "2026-11-25T10:15:30+05:30",
            EVENT_ID_PATTERN: ULID_EXAMPLE,
            UUID_PATTERN: UUID_EXAMPLE,
            SEMVER_PATTERN: "2.7.0",
        }.get(pattern, "x")
    if "integer" in kinds:
        return max(sub.get("minimum", 0), 1)
    if "number" in kinds:
        return 12.5
    return {}


def sample_document(name: str) -> dict[str, Json]:
    """A fixed valid document: every field of ``name``'s schema set to a plain valid value."""
    doc = {prop: _sample_value(sub) for prop, sub in field_schemas(name).items()}
    if name == ENVELOPE_SCHEMA:
        doc["event_type"] = "ConnectorDegraded"
        doc["payload"] = sample_document("ConnectorDegraded")
    return doc


_ulids = st.text(CROCKFORD, min_size=26, max_size=26).map(
    lambda text: "".join(ch.lower() if i % 3 == 0 else ch for i, ch in enumerate(text))
)
_uuid_texts = st.uuids().flatmap(
    lambda value: st.sampled_from([str(value), str(value).upper(), value.hex, value.hex.upper()])
)
_event_ids = st.one_of(_ulids, _uuid_texts)

_offsets = st.one_of(
    st.just(timezone.utc),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)


def _rfc3339(moment: datetime, digits: int, zulu: bool) -> str:
    text = f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    offset = moment.utcoffset() or timedelta()
    if zulu and not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_datetimes = st.builds(
    _rfc3339,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets),
    st.integers(0, 6),
    st.booleans(),
)
_hosts = st.one_of(
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){0,2}\Z"),
    st.sampled_from(
        ["[::1]", "[2001:db8::7]", "127.0.0.1", "b\u00fccher.example", "API.GITHUB.COM"]
    ),
)
_urls = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
    st.sampled_from(["http", "https", "HTTPS", "Http"]),
    _hosts,
    st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}")),
    st.one_of(
        st.just(""),
        st.from_regex(r"\A[/?#][!-~]{0,40}\Z"),
    ),
)


def _string_values(sub: dict[str, Any]) -> st.SearchStrategy[Json]:
    pattern = sub.get("pattern")
    if "enum" in sub:
        return st.sampled_from(sub["enum"])
    if pattern == URL_PATTERN:
        return _urls
    if pattern == DATETIME_PATTERN:
        return _datetimes
    if pattern == EVENT_ID_PATTERN:
        return _event_ids
    if pattern == UUID_PATTERN:
        return _uuid_texts
    if pattern is not None:
        return st.from_regex(pattern.replace("$", r"\Z"))
    return st.text(min_size=sub.get("minLength", 0), max_size=12)


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(*INT_RANGE),  # section 8: integers beyond these are not valid JSON input
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _values(sub: dict[str, Any]) -> st.SearchStrategy[Json]:
    kinds = _types(sub)
    options: list[st.SearchStrategy[Json]] = []
    if "null" in kinds:
        options.append(st.none())
    if "string" in kinds:
        options.append(_string_values(sub))
    if "integer" in kinds:
        options.append(st.integers(sub.get("minimum", -(2**63)), sub.get("maximum", 2**63 - 1)))
    if "number" in kinds:
        low = sub.get("minimum", -1e300)
        options.append(
            st.one_of(
                st.floats(min_value=low, max_value=1e300, allow_nan=False),
                st.integers(max(int(low), INT_RANGE[0]), INT_RANGE[1]),
            )
        )
    if "object" in kinds:
        options.append(st.dictionaries(st.text(max_size=6), _json_values, max_size=3))
    return st.one_of(options)


@st.composite
def valid_documents(draw: st.DrawFn, name: str) -> dict[str, Json]:
    """A payload (or, for ``"Event"``, an envelope with a payload) that follows its schema."""
    props = field_schemas(name)
    required = set(load_schema(name).get("required", ()))
    doc: dict[str, Json] = {}
    for prop, sub in props.items():
        if prop in required or draw(st.booleans()):
            doc[prop] = draw(_values(sub))
    if name == ENVELOPE_SCHEMA:
        event_type = draw(st.sampled_from(sorted(PAYLOAD_MODELS)))
        doc["event_type"] = event_type
        doc["payload"] = draw(valid_documents(event_type))
    return doc


@st.composite
def mutated_documents(draw: st.DrawFn, name: str) -> dict[str, Json]:
    """A valid document with one to three mutations applied (or none, now and then)."""
    doc = draw(valid_documents(name))
    targets: list[tuple[dict[str, Json], str]] = [(doc, name)]
    if name == ENVELOPE_SCHEMA:
        targets.append((doc["payload"], doc["event_type"]))
    for _ in range(draw(st.integers(0, 3))):
        obj, schema_name = draw(st.sampled_from(targets))
        props = field_schemas(schema_name)
        prop = draw(st.sampled_from(sorted(props)))
        sub = props[prop]
        action = draw(st.sampled_from(["drop", "bad", "bad", "bad", "near", "any", "extra"]))
        if action == "drop":
            obj.pop(prop, None)
        elif action == "bad":
            obj[prop] = draw(st.sampled_from(bad_values_for(sub)))
        elif action == "near":
            obj[prop] = draw(_near_miss(obj.get(prop), sub))
        elif action == "any":
            obj[prop] = draw(_json_values)
        else:
            obj[draw(st.text(max_size=8))] = draw(_json_values)
    return doc


@st.composite
def _near_miss(draw: st.DrawFn, value: Json, sub: dict[str, Any]) -> Json:
    # Small edits of a valid value: the cases a strict regex must get right.
    if isinstance(value, str) and value:
        index = draw(st.integers(0, len(value)))
        edit = draw(st.sampled_from(["newline", "space", "char", "cut", "case", "drop"]))
        if edit == "newline":
            return value + "\n"
        if edit == "space":
            return value[:index] + " " + value[index:]
        if edit == "char":
            return value[:index] + draw(st.characters(codec="utf-8")) + value[index:]
        if edit == "cut":
            return value[:index]
        if edit == "case":
            return value.swapcase()
        return value[:index] + value[index + 1 :]
    if isinstance(value, bool) or value is None:
        return draw(st.sampled_from(bad_values_for(sub)))
    if isinstance(value, int):
        return value + draw(st.sampled_from([-1, 1, 2**64, -(2**64)]))
    if isinstance(value, float):
        return -value - 1.0
    return draw(st.sampled_from(bad_values_for(sub)))
