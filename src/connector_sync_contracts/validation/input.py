"""The input layer: is the data JSON at all, within the contract's limits (section 8)?

Reads JSON text or bytes (or a mapping) into plain JSON values and reports
what makes JSON parsers disagree or misbehave: invalid UTF-8 or JSON,
repeated keys, ``NaN``/``Infinity`` and numbers beyond the double range,
integers beyond 64 bits, nesting deeper than 64 levels, unpaired
surrogates, values that are not JSON, and a top level that is not an
object. No pydantic here: the command line reads lines with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Final
from uuid import UUID

import orjson

from ..contract.limits import INT_RANGE, MAX_DEPTH
from ..contract.patterns import offset_text, rfc3339_offset, spelled_event_id
from .paths import json_path
from .result import Layer, Violation, violation_order

__all__ = [
    "CLOUDEVENT_HINT",
    "PathParts",
    "cloudevent_hint",
    "first_problem",
    "lenient_member",
    "load_json_object",
    "load_mapping",
    "nul_byte",
    "refused_event_id",
    "repeated_keys",
    "spelled_as_json",
    "violation",
]

PathParts = tuple[str | int, ...]
"""A JSON path as its segments: keys and array indexes."""

_MESSAGE_LIMIT: Final = 300


def _clip(message: str) -> str:
    if len(message) <= _MESSAGE_LIMIT:
        return message
    return message[: _MESSAGE_LIMIT - 3] + "..."


def violation(layer: Layer, path: PathParts, code: str, message: str) -> Violation:
    """A violation at ``path`` with its message clipped to a readable length."""
    return Violation(layer, json_path(path), code, _clip(message))


class _JsonObject(dict[str, Any]):
    """A parsed JSON object that remembers the keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def repeated_keys(pairs: list[tuple[str, Any]]) -> tuple[str, ...]:
    """The keys that ``pairs`` (one JSON object's members, as ``json``'s
    ``object_pairs_hook`` gets them) holds more than once, in first-repeat order."""
    seen: set[str] = set()
    repeated: dict[str, None] = {}  # ordered, and a lookup per key: linear in the members
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        else:
            seen.add(key)
    return tuple(repeated)


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        obj.duplicates = repeated_keys(pairs)
    return obj


class _Literal:
    """A number literal JSON allows but no contract value can hold (``NaN``/``Infinity``,
    or an integer of more than 20 digits); the scan reports it with its path."""

    __slots__ = ("code", "text")

    def __init__(self, text: str, code: str) -> None:
        self.text = text
        self.code = code


def _constant(text: str) -> _Literal:
    return _Literal(text, "non_finite_number")


def _integer(text: str) -> int | _Literal:
    # No 64-bit integer needs more than 20 characters; int() refuses over 4300 digits.
    return _Literal(text, "integer_out_of_range") if len(text) > 20 else int(text)


_MESSAGES: Final = {
    "integer_out_of_range": "integer does not fit in 64 bits",
    "non_finite_number": "NaN, Infinity and numbers beyond the double range are not JSON numbers",
}


def _parse_text(text: str) -> tuple[Any, list[Violation]]:
    try:
        return json.loads(
            text, object_pairs_hook=_object_pairs, parse_constant=_constant, parse_int=_integer
        ), []
    except json.JSONDecodeError as exc:
        if text.startswith("\ufeff"):
            # json's own words ("decode using utf-8-sig") are advice for Python code.
            bom = "not valid JSON: starts with a UTF-8 byte order mark (write UTF-8 without one)"
            return None, [violation(Layer.INPUT, (), "invalid_json", bom)]
        # "Unterminated string starting at" already ends with "at": say it once.
        what = exc.msg.removesuffix(" at")
        # A JSONL line is one line of JSON: its column is what locates the problem
        # (the file's line number comes first, and "line 1" would contradict it).
        where = f"column {exc.colno}"
        if exc.lineno > 1:
            where = f"line {exc.lineno} {where}"
        message = f"not valid JSON: {what} at {where}"
    except RecursionError:
        return None, [
            violation(Layer.INPUT, (), "too_deep", f"nested deeper than {MAX_DEPTH} levels")
        ]
    return None, [violation(Layer.INPUT, (), "invalid_json", message)]


def lenient_member(raw: bytes, key: str) -> object:
    """The top-level member ``key`` of JSON text read without the contract's limits.

    For a line the input layer refused although it is a JSON object (a value
    beyond a limit, a repeated key, nesting deeper than 64): what it still
    says. None when the text is no JSON object (invalid JSON or UTF-8,
    nested too deep to read at all), has no such member, or repeats ``key``
    (then no one value is the line's).
    """
    try:
        obj, _ = _parse_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if not isinstance(obj, _JsonObject) or key in obj.duplicates:
        return None
    return obj.get(key)


def refused_event_id(raw: bytes) -> str | None:
    """The ``event_id`` of a line the input layer refused, when it can still be told.

    Such a line breaks a limit (section 8: a value beyond 64 bits or the
    double range, a lone surrogate, a repeated key, nesting deeper than 64)
    but may name its event; its anomaly then names it as a mapping's is
    named (``spelled_event_id``). The line is read again without the limits;
    it tells nothing when it is no JSON object or repeats ``event_id``.
    """
    return spelled_event_id(lenient_member(raw, "event_id"))


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, _Literal)):  # a _Literal is a number read as its text
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


_MODEL_OBJECTS: Final = (datetime, UUID)
"""The Python objects a mapping may hold besides JSON values: what the models
turn RFC 3339 and UUID strings into, so what ``model_dump()`` gives back.
The model of the field they stand in judges them."""


class _Scan:
    """Copies Python data into plain JSON values and records what is not JSON.

    ``datetime`` and ``UUID`` objects are kept as they are (``_MODEL_OBJECTS``);
    any other object that is not a JSON value (a ``Decimal``, ``bytes``, a
    ``set``) is ``not_json``, in every entry point alike.
    """

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self._open: set[int] = set()

    def _bad(self, path: PathParts, code: str, message: str) -> None:
        self.violations.append(violation(Layer.INPUT, path, code, message))

    def value(self, value: Any, path: PathParts) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self._string(value, path)
        if isinstance(value, int):
            number = int(value)
            if not INT_RANGE[0] <= number <= INT_RANGE[1]:
                self._bad(path, "integer_out_of_range", _MESSAGES["integer_out_of_range"])
            return number
        if isinstance(value, float):
            if not math.isfinite(value):
                self._bad(path, "non_finite_number", _MESSAGES["non_finite_number"])
            return float(value)
        if isinstance(value, _Literal):
            # Same words as for the Python value, so text and mapping input agree.
            self._bad(path, value.code, _MESSAGES[value.code])
            return None
        if isinstance(value, (Mapping, list, tuple)):
            return self._container(value, path)
        if isinstance(value, _MODEL_OBJECTS):
            offset = value.utcoffset() if isinstance(value, datetime) else None
            if offset is not None and not rfc3339_offset(offset):
                # Kept as it is (a payload is a plain dict), it would be written as
                # another instant: RFC 3339 has no seconds in an offset.
                self._bad(
                    path,
                    "not_json",
                    "a datetime whose UTC offset is not whole minutes "
                    f"({offset_text(offset)}) cannot be written as RFC 3339 text",
                )
            return value
        self._bad(
            path,
            "not_json",
            f"a {type(value).__name__} is not a JSON value"
            " (besides JSON values, a mapping may hold datetime and UUID objects)",
        )
        return None

    def _string(self, value: str, path: PathParts) -> str:
        text = str.__str__(value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                self._bad(path, "invalid_unicode", "string contains an unpaired surrogate")
        return text

    def _container(self, value: Any, path: PathParts) -> Any:
        if len(path) >= MAX_DEPTH:
            # Reported on the document: the full path of the 65th level helps no one.
            where = json_path(path[:2])
            self._bad((), "too_deep", f"nested deeper than {MAX_DEPTH} levels (under {where})")
            return None
        marker = id(value)
        if marker in self._open:
            self._bad(path, "not_json", "contains itself (a cycle is not JSON)")
            return None
        self._open.add(marker)
        try:
            if isinstance(value, Mapping):
                return self._object(value, path)
            return [self.value(item, (*path, index)) for index, item in enumerate(value)]
        finally:
            self._open.discard(marker)

    def _object(self, value: Mapping[Any, Any], path: PathParts) -> dict[str, Any]:
        for key in getattr(value, "duplicates", ()):
            self._bad((*path, key), "duplicate_key", f"key {key!r} appears more than once")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self._bad(path, "not_json", f"object key {key!r} is not a string")
                continue
            name = self._string(key, (*path, key))
            out[name] = self.value(item, (*path, name))
        return out


def load_json_object(data: object) -> tuple[dict[str, Any] | None, tuple[Violation, ...]]:
    """Read ``data`` (JSON text/bytes or a mapping) as a plain JSON object, like the input layer.

    Returns the object and no violations, or None and every input problem
    (invalid JSON or UTF-8, repeated keys, ``NaN``/``Infinity``, integers
    beyond 64 bits, nesting deeper than 64, values that are not JSON).
    """
    obj, problems = _load(data)
    return obj, tuple(sorted(problems, key=violation_order))


def load_mapping(data: object) -> tuple[dict[str, Any] | None, tuple[Violation, ...]]:
    """``load_json_object`` for data that is already parsed: text is not read as JSON.

    What ``replay()`` and ``Event(...)`` apply to an envelope mapping, so that
    a mapping and the JSON text it came from get the same verdict
    (specification section 8). ``datetime`` and ``UUID`` objects are kept
    for the models to judge, as ``validate_event`` keeps them.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        # Not a JSON value at all: most likely a JSONL line given where its
        # parsed object belongs.
        message = (
            f"expected a JSON object, got {type(data).__name__} (text is not read as JSON "
            "here: replay_lines reads JSONL lines)"
        )
        return None, (violation(Layer.INPUT, (), "not_an_object", message),)
    if isinstance(data, str) or not isinstance(data, Mapping):
        message = f"expected a JSON object, got {_json_type(data)}"
        return None, (violation(Layer.INPUT, (), "not_an_object", message),)
    obj, problems = _scan(data)
    return obj, tuple(sorted(problems, key=violation_order))


def spelled_as_json(value: Any) -> Any:
    """``value`` with its ``datetime`` and ``UUID`` objects written as JSON strings.

    For the JSON Schema layer, which reads JSON values only: a UUID as its
    hyphenated form, a datetime as RFC 3339 (its UTC instant, so an offset
    with seconds, which RFC 3339 cannot write, still names the same instant;
    a naive one without an offset, which the schema refuses as the model
    does). ``value`` is what the input layer read: dicts, lists and scalars.
    """
    if isinstance(value, dict):
        return {key: spelled_as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [spelled_as_json(item) for item in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return _rfc3339(value)
    return value


def _rfc3339(value: datetime) -> str:
    if value.utcoffset() is None:
        return value.isoformat()
    try:
        return value.astimezone(timezone.utc).isoformat()
    except OverflowError:  # no UTC instant within years 1-9999: the schema says so
        return value.isoformat()


CLOUDEVENT_HINT: Final = (
    "this looks like a CloudEvent: use --input-format cloudevents (in Python: from_structured_json)"
)
"""What is said of a CloudEvent read as an envelope, instead of its missing fields."""


def cloudevent_hint(obj: Mapping[str, Any]) -> Violation | None:
    """The ``looks_like_cloudevent`` violation when ``obj`` is a CloudEvent, not an envelope.

    A structured CloudEvent carries ``specversion`` and neither ``event_type``
    nor ``payload``: listing the envelope fields it lacks would not help.
    """
    if "specversion" in obj and "event_type" not in obj and "payload" not in obj:
        return violation(Layer.INPUT, (), "looks_like_cloudevent", CLOUDEVENT_HINT)
    return None


def first_problem(problems: tuple[Violation, ...]) -> str:
    """``path: code: message`` of the first input problem, as a malformed line is described."""
    first = problems[0]
    return f"{first.path}: {first.code}: {first.message}"


_PLAIN_DEPTH: Final = MAX_DEPTH // 2
_BIG: Final = float(2**63)


def _colons(value: Any, depth: int) -> int:
    """The ``:`` that writing ``value`` as JSON takes: one per object member, and
    those in its strings. -1 when nested deeper than _PLAIN_DEPTH, or for a
    float of magnitude 2**63 or more (orjson's reading of a longer integer)."""
    if depth > _PLAIN_DEPTH:
        return -1
    items: Iterable[Any]
    if type(value) is dict:
        count, items = len(value) + "".join(value).count(":"), value.values()
    elif type(value) is list:
        count, items = 0, value
    else:
        return 0
    for item in items:
        kind = type(item)
        if kind is str:
            count += item.count(":")
        elif kind is float:
            if not -_BIG < item < _BIG:
                return -1
        elif kind is dict or kind is list:
            inner = _colons(item, depth + 1)
            if inner < 0:
                return -1
            count += inner
    return count


def _plain_object(raw: bytes) -> dict[str, Any] | None:
    """The object of ``raw`` when orjson reads it exactly as ``_load_exactly`` does, else None.

    orjson refuses invalid UTF-8 and JSON, lone surrogates, ``NaN`` and
    numbers beyond the double range, as the exact reading does, but keeps
    the last of repeated keys, reads an integer beyond 64 bits as a float,
    and allows deeper nesting. A repeated key drops a member, so the object
    read then accounts for fewer ``:`` than the line holds (unless one is
    written as an escape, ``\\u003a``: such lines are read exactly). So a
    line is taken only if its ``:`` are all accounted for, it has no float
    of 64-bit magnitude, and it is not nested near the limit. Anything else
    is read exactly, which names the problem.
    """
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or b"\\u003a" in raw or b"\\u003A" in raw:
        return None
    colons = _colons(obj, 0)
    return obj if colons >= 0 and colons == raw.count(b":") else None


def _load(data: object) -> tuple[dict[str, Any] | None, list[Violation]]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        obj = _plain_object(bytes(data))
        if obj is not None:
            return obj, []
    return _load_exactly(data)


def nul_byte(raw: bytes) -> Violation | None:
    """The ``nul_byte`` violation of JSON text holding a NUL byte, if any.

    JSON text never holds one raw (a string writes it ``\\u0000``), and in a
    log it most often marks a file zero-filled after a crash: said as such,
    with the offset in bytes, ahead of any other problem of the text.
    """
    offset = raw.find(b"\x00")
    if offset < 0:
        return None
    return violation(Layer.INPUT, (), "nul_byte", f"NUL byte at offset {offset}")


def _load_exactly(data: object) -> tuple[dict[str, Any] | None, list[Violation]]:
    if isinstance(data, str) and "\x00" in data:
        data = data.encode("utf-8", "surrogatepass")
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        found = nul_byte(raw)
        if found is not None:
            return None, [found]
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
            return None, [violation(Layer.INPUT, (), "invalid_utf8", message)]
    if isinstance(data, str):
        data, problems = _parse_text(data)
        if problems:
            return None, problems
    if not isinstance(data, Mapping):
        message = f"expected a JSON object, got {_json_type(data)}"
        return None, [violation(Layer.INPUT, (), "not_an_object", message)]
    return _scan(data)


def _scan(data: Mapping[Any, Any]) -> tuple[dict[str, Any] | None, list[Violation]]:
    scan = _Scan()
    try:
        obj = scan._container(data, ())
    except RecursionError:
        return None, [
            violation(Layer.INPUT, (), "too_deep", f"nested deeper than {MAX_DEPTH} levels")
        ]
    if scan.violations:
        return None, scan.violations
    return obj, []
