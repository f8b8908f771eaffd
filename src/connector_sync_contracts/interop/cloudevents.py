"""CloudEvents 1.0 mapping of the envelope: structured JSON mode, lossless both ways.

Integrators that already move CloudEvents (Knative, Event Grid, Kafka with
the CloudEvents binding, any CloudEvents SDK) can carry contract events
unchanged; ``from_*`` gives back exactly the ``Event`` that went in
(FR-008 interoperability, contract sections 2 and 7). The mapping is data,
in ``ATTRIBUTE_MAP``:

=================  ====================  =========================================
CloudEvents        envelope              notes
=================  ====================  =========================================
``id``             ``event_id``          normalized ULID/UUID
``type``           ``event_type``        ``dev.connector-sync-contracts.<event_type>.v<contract>``
``source``         ``node_id``,          ``urn:connector-sync:node:<node>[:build:<build>]``,
                   ``build_id``          each part percent-encoded (reversible)
``subject``        ``aggregate_id``
``time``           ``timestamp``         RFC 3339, UTC
``data``           ``payload``           a JSON object; ``datacontenttype`` application/json
``dataschema``     —                     ``$id`` of the committed payload schema (derived)
``correlationid``  ``correlation_id``
``causationid``    ``causation_id``      left out when null
``lamportclock``   ``lamport_clock``     decimal *string*: CloudEvents integers are 32-bit
``partitionkey``   —                     ``payload.connector_id`` when present (derived)
``projectuuid``    ``project_uuid``
``projectslug``    ``project_slug``      left out when null
``schemaversion``  ``schema_version``    left out when null
``datatier``       ``data_tier``         integer 0..4
=================  ====================  =========================================

``dataschema`` and ``partitionkey`` are derived from the event, so they are
written but never read back. Unknown extensions (``traceparent`` and the
like) are ignored on the way in. Nothing here reads a clock or a random
source: ``id`` and ``time`` always come from the event, never from the SDK's
defaults.

The structured-JSON helpers (``to_cloudevent_dict``, ``to_structured_json``,
``from_structured_json``, ``envelope_from_cloudevent_dict``) are plain Python.
Only ``to_cloudevent`` and ``from_cloudevent`` need the official SDK, installed
with ``pip install 'connector-sync-contracts[cloudevents]'``; without it they
raise ``CloudEventsSDKMissingError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote, unquote

import orjson
from pydantic import ValidationError

from ..contract.canonical import zoned_text
from ..contract.limits import INT_RANGE
from ..contract.patterns import format_instant
from ..contract.version import CONTRACT_VERSION
from ..errors import CloudEventMappingError, CloudEventProblem, CloudEventsSDKMissingError
from ..models.envelope import LIMITS_CHECKED, Event
from ..models.payloads import PAYLOAD_MODELS
from ..schemas import schema_id
from ..validation.input import load_json_object, load_mapping
from ..validation.messages import describe_error, shown_value
from ..validation.paths import json_path
from ..validation.result import Violation
from ._attributes import (
    AS_WRITTEN,
    ATTRIBUTE_MAP,
    BUILD_MARK,
    CONTENT_TYPE,
    INTEGER_EXTENSIONS,
    OPTIONAL_EXTENSIONS,
    SOURCE_PREFIX,
    SPEC_VERSION,
    TYPE_PREFIX,
    attribute_path,
)

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

__all__ = [
    "ATTRIBUTE_MAP",
    "CONTENT_TYPE",
    "SOURCE_PREFIX",
    "SPEC_VERSION",
    "TYPE_PREFIX",
    "CloudEventLike",
    "build_source",
    "build_type",
    "envelope_from_cloudevent_dict",
    "from_cloudevent",
    "from_structured_json",
    "parse_source",
    "parse_type",
    "to_cloudevent",
    "to_cloudevent_dict",
    "to_structured_json",
]

_NUMBER: Final = "(?:0|[1-9][0-9]*)"
_TYPE_RE: Final = re.compile(
    re.escape(TYPE_PREFIX)
    + rf"(?P<event_type>.+)\.v(?P<version>{_NUMBER}\.{_NUMBER}\.{_NUMBER})\Z",
    re.DOTALL,
)
_SOURCE_RE: Final = re.compile(
    re.escape(SOURCE_PREFIX) + r"(?P<node>[^:]*)(?::build:(?P<build>[^:]*))?\Z", re.DOTALL
)
_NOT_URI: Final = re.compile(r'%(?![0-9A-Fa-f]{2})|[\x00-\x20\x7f-\x9f"<>\\^`{|}]')
"""What RFC 3986 allows in no URI: a ``%`` without two hex digits, controls (C1 too,
which RFC 3987 allows in no IRI), space and ``"<>\\^`{|}`` (other non-ASCII text is
taken, as an IRI writes it)."""
_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]*)\Z")
_MOST_DIGITS: Final = len(str(INT_RANGE[1]))
_BEYOND_64_BITS: Final = INT_RANGE[1] + 1
_JSON_CONTENT_TYPE: Final = re.compile(
    r"(?:application|text)/(?:[A-Za-z0-9.\-]+\+)?json(?:\s*;.*)?\Z", re.DOTALL | re.IGNORECASE
)
"""A JSON media type; type and subtype are case-insensitive (RFC 6838 section 4.2)."""


# --------------------------------------------------------------------------- naming


def build_type(event_type: str) -> str:
    """CloudEvents ``type`` of an event type.

    ``ConnectorProvisioned`` -> ``dev.connector-sync-contracts.ConnectorProvisioned.v2.7.0``.
    """
    return f"{TYPE_PREFIX}{event_type}.v{CONTRACT_VERSION}"


def parse_type(value: str) -> tuple[str, str]:
    """Split a ``type`` into (event type, contract version); ``ValueError`` if it is not ours."""
    match = _TYPE_RE.match(value)
    if match is None:
        raise ValueError(
            f"type {value[:120]!r} is not {TYPE_PREFIX}<event_type>.v<MAJOR.MINOR.PATCH>"
        )
    return match["event_type"], match["version"]


def build_source(node_id: str, build_id: str | None) -> str:
    """CloudEvents ``source`` URI of a node and optional build (each part percent-encoded)."""
    source = SOURCE_PREFIX + quote(node_id, safe="")
    if build_id is not None:
        source += BUILD_MARK + quote(build_id, safe="")
    return source


def parse_source(value: str) -> tuple[str, str | None]:
    """Invert ``build_source``: (node_id, build_id or None); ``ValueError`` if it is not ours.

    Not ours: another scheme, a ``:`` in a part, a part that is no URI text
    (a ``%`` without two hex digits, a space or another character RFC 3986
    allows in no URI), or ``%XX`` bytes that are not UTF-8.
    """
    match = _SOURCE_RE.match(value)
    if match is None:
        raise ValueError(
            f"source {value[:120]!r} is not {SOURCE_PREFIX}<node_id>[:build:<build_id>]"
        )
    bad = _NOT_URI.search(value)
    if bad is not None:
        found = bad.group()
        what = "'%' without two hex digits" if found == "%" else f"{found!r}"
        raise ValueError(
            f"source {value[:120]!r} is not a URI: {what} at offset {bad.start()}"
            " (percent-encode it: '%' as %25, a space as %20)"
        )
    try:
        node = unquote(match["node"], errors="strict")
        build = match["build"]
        return node, None if build is None else unquote(build, errors="strict")
    except UnicodeDecodeError:
        raise ValueError(
            f"source {value[:120]!r} percent-encodes bytes that are not UTF-8"
        ) from None


# --------------------------------------------------------------------------- outbound


def _partition_key(payload: Mapping[str, Any]) -> str | None:
    connector_id = payload.get("connector_id")
    return connector_id if isinstance(connector_id, str) and connector_id else None


def _attributes(event: Event) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event.event_id,
        "type": build_type(event.event_type),
        "source": build_source(event.node_id, event.build_id),
        "subject": event.aggregate_id,
        "time": event.timestamp,
        "datacontenttype": CONTENT_TYPE,
        "correlationid": event.correlation_id,
        "lamportclock": str(event.lamport_clock),
        "projectuuid": str(event.project_uuid),
        "datatier": event.data_tier,
    }
    for field, name in OPTIONAL_EXTENSIONS:
        value = getattr(event, field)
        if value is not None:
            attributes[name] = value
    if event.event_type in PAYLOAD_MODELS:
        attributes["dataschema"] = schema_id(event.event_type)
    partition = _partition_key(event.payload)
    if partition is not None:
        attributes["partitionkey"] = partition
    return attributes


def to_cloudevent_dict(event: Event) -> dict[str, Any]:
    """The structured-mode JSON object of ``event``, as a dict (``time`` as an RFC 3339 string)."""
    data = _attributes(event)
    data["time"] = format_instant(event.timestamp)
    data["data"] = event.payload
    return data


def to_structured_json(event: Event) -> bytes:
    """Structured-mode CloudEvent JSON of ``event``: one line, sorted keys, no trailing newline.

    The bytes are canonical, so equal events give equal bytes; the content
    type of a message carrying them is ``application/cloudevents+json``.
    """
    data = to_cloudevent_dict(event)
    try:
        return orjson.dumps(data, option=_STRUCTURED, default=_zoned_text)
    except orjson.JSONEncodeError:
        # A payload may hold an integer beyond 64 bits (its model rejects it later);
        # the standard encoder writes it exactly.
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_zoned_text
        )
        return text.encode("utf-8")


_STRUCTURED: Final = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
"""Every date and time to ``_zoned_text``: orjson crashes on a tzinfo whose utcoffset raises."""


def _zoned_text(value: object) -> str:
    """A date or time as orjson writes one (``contract.canonical.zoned_text``); nothing else."""
    if isinstance(value, (date, time)):
        return zoned_text(value, 0)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _sdk_event_class() -> type[CloudEvent]:
    try:
        from cloudevents.core.v1.event import CloudEvent
    except ImportError as exc:
        raise CloudEventsSDKMissingError() from exc
    return CloudEvent


def to_cloudevent(event: Event) -> CloudEvent:
    """``event`` as an SDK ``cloudevents.core.v1.event.CloudEvent`` (needs the extra).

    ``id`` and ``time`` are always set from the event, so the SDK never
    fills them from uuid4 or the clock.
    """
    cls = _sdk_event_class()
    return cls(attributes=_attributes(event), data=dict(event.payload))


# --------------------------------------------------------------------------- inbound


class CloudEventLike(Protocol):
    """What ``from_cloudevent`` reads; the SDK's ``CloudEvent`` and its legacy v1 API both fit."""

    def get_attributes(self) -> Mapping[str, Any]:
        """Every context attribute and extension, by name."""

    def get_data(self) -> Any:
        """The event data."""


_ENVELOPE_HINT: Final = (
    "this looks like an envelope, not a CloudEvent: drop --input-format cloudevents "
    "(in Python: validate or replay it as it is)"
)
"""What is said of an envelope read as a CloudEvent, instead of the attributes it lacks."""


def _problem(path: tuple[str | int, ...], code: str, message: str) -> CloudEventProblem:
    return CloudEventProblem(json_path(path), code, message)


def _integer(value: object) -> object:
    # Accept the decimal string this mapping writes and a JSON integer (what other
    # producers write); anything else is left for the caller to report. Over 20
    # digits no 64-bit integer fits, and int() refuses over 4,300: every such
    # number stands in as one just out of range, reported as integer_out_of_range.
    if isinstance(value, str) and _DECIMAL.match(value):
        return int(value) if len(value) <= _MOST_DIGITS else _BEYOND_64_BITS
    return value


def envelope_from_cloudevent_dict(data: object) -> dict[str, Any]:
    """Map a structured-mode CloudEvent JSON object to an envelope mapping.

    Checks the CloudEvents side (specversion, required attributes, our
    ``type`` and ``source`` schemes, the content type, data that is not
    base64) and reports every problem at once in ``CloudEventMappingError``.
    The envelope's own rules are not checked here: pass the result to
    ``validate_event`` or ``Event.model_validate`` (``from_structured_json``
    does the latter).
    """
    if not isinstance(data, Mapping):
        raise CloudEventMappingError(
            (_problem((), "not_an_object", "a structured CloudEvent must be a JSON object"),)
        )
    if "specversion" not in data and "event_type" in data and "payload" in data:
        # An envelope given as a CloudEvent: every attribute it lacks would be listed.
        raise CloudEventMappingError((_problem((), "looks_like_envelope", _ENVELOPE_HINT),))
    problems: list[CloudEventProblem] = []
    envelope: dict[str, Any] = {}

    def text(name: str, *, required: bool = True) -> str | None:
        if name not in data:
            if required:
                problems.append(
                    _problem((name,), "missing_attribute", f"attribute {name!r} is required")
                )
            return None
        value = data[name]
        if not isinstance(value, str):
            problems.append(
                _problem(
                    (name,),
                    "attribute_type",
                    f"{name!r} must be a string, got {shown_value(value)}",
                )
            )
            return None
        return value

    specversion = text("specversion")
    if specversion is not None and specversion != SPEC_VERSION:
        problems.append(
            _problem(
                ("specversion",),
                "unsupported_specversion",
                f"specversion {specversion[:20]!r} is not {SPEC_VERSION!r}",
            )
        )
    event_id = text("id")
    if event_id is not None:
        envelope["event_id"] = event_id
    type_ = text("type")
    if type_ is not None:
        try:
            event_type, version = parse_type(type_)
        except ValueError as exc:
            problems.append(_problem(("type",), "unknown_type", str(exc)))
        else:
            if version.split(".")[0] != CONTRACT_VERSION.split(".")[0]:
                problems.append(
                    _problem(
                        ("type",),
                        "incompatible_version",
                        f"contract version {version} has another major version than "
                        f"{CONTRACT_VERSION}",
                    )
                )
            envelope["event_type"] = event_type
    source = text("source")
    if source is not None:
        try:
            node_id, build_id = parse_source(source)
        except ValueError as exc:
            problems.append(_problem(("source",), "invalid_source", str(exc)))
        else:
            envelope["node_id"] = node_id
            if build_id is not None:
                envelope["build_id"] = build_id
    content_type = text("datacontenttype", required=False)
    if content_type is not None and not _JSON_CONTENT_TYPE.match(content_type):
        problems.append(
            _problem(
                ("datacontenttype",),
                "unsupported_datacontenttype",
                f"datacontenttype {content_type[:80]!r} is not JSON",
            )
        )
    if "data" in data and "data_base64" in data:
        problems.append(
            _problem(
                ("data_base64",),
                "unsupported_data_encoding",
                "data and data_base64 must not both be present (CloudEvents JSON format)",
            )
        )
    elif "data" in data:
        envelope["payload"] = data["data"]
    elif "data_base64" in data:
        problems.append(
            _problem(
                ("data_base64",),
                "unsupported_data_encoding",
                "data must be a JSON object, not base64 (data_base64)",
            )
        )
    else:
        problems.append(_problem(("data",), "missing_attribute", "attribute 'data' is required"))
    # Attributes that map one to one: presence is checked here, content by the envelope.
    for field, name, required in AS_WRITTEN:
        if name in data:
            envelope[field] = data[name]
        elif required:
            problems.append(
                _problem((name,), "missing_attribute", f"attribute {name!r} is required")
            )
    for field, name, required in INTEGER_EXTENSIONS:
        if name not in data:
            if required:
                problems.append(
                    _problem((name,), "missing_attribute", f"attribute {name!r} is required")
                )
            continue
        value = _integer(data[name])
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(
                _problem(
                    (name,),
                    "attribute_type",
                    f"{name!r} must be an integer, or a decimal string of digits without "
                    f"a sign, spaces or a leading zero, got {shown_value(data[name])}",
                )
            )
        else:
            envelope[field] = value
    if problems:
        raise CloudEventMappingError(tuple(problems))
    return envelope


def _read_problems(
    problems: Iterable[Violation], path: Callable[[str], str] = str
) -> CloudEventMappingError:
    """The input layer's ``problems``, each at ``path`` of its own path."""
    return CloudEventMappingError(
        tuple(CloudEventProblem(path(v.path), v.code, v.message) for v in problems)
    )


def _in_data(path: str) -> str:
    return "$.data" + path[1:]


def _event(envelope: dict[str, Any]) -> Event:
    # The input layer first, as for a line: a limit broken by what an attribute
    # carried (a lamportclock of 30 digits) is named at that attribute.
    checked, limits = load_mapping(envelope)
    if checked is None:
        raise _read_problems(limits, attribute_path)
    try:
        return Event.model_validate(checked, context=LIMITS_CHECKED)  # not scanned twice
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            head = ATTRIBUTE_MAP.get(str(loc[0]), str(loc[0])) if loc else ""
            path = (head, *loc[1:]) if head else ()
            # The codes and wording of validate_event: $.lamportclock: type: ..., got "7".
            problems.append(_problem(path, *describe_error(error)))
        raise CloudEventMappingError(tuple(problems)) from None


def from_structured_json(data: bytes | str) -> Event:
    """The ``Event`` carried by a structured-mode CloudEvent JSON document.

    The document is read as a line of ``--input-format cloudevents`` is:
    invalid UTF-8 or JSON and the input limits of specification section 8
    (a repeated key, nesting, integers beyond 64 bits, lone surrogates,
    extensions included) are problems. Raises ``CloudEventMappingError``
    (a ``ValueError``) listing every problem, in CloudEvents terms
    (``$.lamportclock``, ``$.data.provider``).
    """
    parsed, problems = load_json_object(data)
    if parsed is None:
        raise _read_problems(problems)
    return _event(envelope_from_cloudevent_dict(parsed))


def from_cloudevent(ce: CloudEventLike) -> Event:
    """The ``Event`` carried by an SDK CloudEvent (any object with ``get_attributes``/``get_data``).

    ``time`` may be a datetime (as the SDK holds it) or an RFC 3339 string;
    ``data`` may be a dict or JSON text/bytes holding an object.
    """
    structured = dict(ce.get_attributes())
    time = structured.get("time")
    if isinstance(time, datetime) and time.utcoffset() is not None:
        structured["time"] = format_instant(time)
    elif isinstance(time, datetime):
        raise CloudEventMappingError(
            (_problem(("time",), "format", "time must carry a UTC offset"),)
        )
    data = ce.get_data()
    if isinstance(data, (bytes, bytearray, str)):
        data, problems = load_json_object(data)  # within the input limits, as a line
        if data is None:
            raise _read_problems(problems, _in_data)
    if data is not None:
        structured["data"] = data
    structured.pop("data_base64", None)
    return _event(envelope_from_cloudevent_dict(structured))
