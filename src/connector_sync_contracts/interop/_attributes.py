"""The CloudEvents mapping as data: attribute names, constants and the compiled plan.

What ``interop.cloudevents`` maps by, kept apart from it so that reading
CloudEvents lines the compiled core maps whole (``formats.CloudEventsSource``
with ``compiled_plan``) does not load the pydantic models that module needs
for everything else. ``interop.cloudevents`` exports the public names.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ..contract.version import CONTRACT_VERSION

if TYPE_CHECKING:
    from .._engine.native import CloudEventsPlan

__all__ = [
    "AS_WRITTEN",
    "ATTRIBUTE_MAP",
    "BUILD_MARK",
    "CONTENT_TYPE",
    "INTEGER_EXTENSIONS",
    "OPTIONAL_EXTENSIONS",
    "SOURCE_PREFIX",
    "SPEC_VERSION",
    "TYPE_PREFIX",
    "attribute_path",
    "compiled_plan",
]

SPEC_VERSION: Final = "1.0"
"""The CloudEvents ``specversion`` written and accepted."""

CONTENT_TYPE: Final = "application/json"
"""``datacontenttype`` of every mapped event: ``data`` is the payload as a JSON object."""

TYPE_PREFIX: Final = "dev.connector-sync-contracts."
"""Reverse-DNS prefix of ``type`` (the schemas live under ``connector-sync-contracts.dev``)."""

SOURCE_PREFIX: Final = "urn:connector-sync:node:"
"""Start of every ``source``: ``urn:connector-sync:node:<node_id>[:build:<build_id>]``."""

BUILD_MARK: Final = ":build:"
"""What separates the node from the build in ``source``."""

_FIELD: Final = re.compile(r"\$\.([A-Za-z_][A-Za-z0-9_]*)(.*)\Z", re.DOTALL)


def attribute_path(path: str) -> str:
    """An envelope field's JSON path as the CloudEvents attribute that carries it:
    ``$.lamport_clock`` -> ``$.lamportclock``, ``$.payload.provider`` ->
    ``$.data.provider``; any other path as it is."""
    match = _FIELD.match(path)
    if match is None or match[1] not in ATTRIBUTE_MAP:
        return path
    return f"$.{ATTRIBUTE_MAP[match[1]]}{match[2]}"


_EXTENSION_NAME: Final = re.compile(r"[a-z0-9]{1,20}\Z")

ATTRIBUTE_MAP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "event_id": "id",
        "event_type": "type",
        "aggregate_id": "subject",
        "timestamp": "time",
        "node_id": "source",
        "build_id": "source",
        "payload": "data",
        "correlation_id": "correlationid",
        "causation_id": "causationid",
        "lamport_clock": "lamportclock",
        "project_uuid": "projectuuid",
        "project_slug": "projectslug",
        "schema_version": "schemaversion",
        "data_tier": "datatier",
    }
)
"""Envelope field -> the CloudEvents attribute that carries it (``data`` for the payload)."""

OPTIONAL_EXTENSIONS: Final = (
    ("causation_id", "causationid"),
    ("project_slug", "projectslug"),
    ("schema_version", "schemaversion"),
)
"""(field, extension) of the optional envelope fields an extension carries one to one
(a null field is left out)."""

_REQUIRED_EXTENSIONS: Final = (
    ("correlation_id", "correlationid"),
    ("project_uuid", "projectuuid"),
)

INTEGER_EXTENSIONS: Final = (
    ("lamport_clock", "lamportclock", True),
    ("data_tier", "datatier", False),
)
"""(field, extension, required) of the integer envelope fields."""

AS_WRITTEN: Final = (
    ("aggregate_id", "subject", True),
    ("timestamp", "time", True),
    *((field, name, True) for field, name in _REQUIRED_EXTENSIONS),
    *((field, name, False) for field, name in OPTIONAL_EXTENSIONS),
)
"""(field, attribute, required) of the attributes whose value is the envelope field's,
as written: their presence is checked by the mapping, their content by the envelope."""

assert all(
    _EXTENSION_NAME.match(name)
    for name in (*ATTRIBUTE_MAP.values(), "partitionkey")
    if name not in {"id", "type", "subject", "time", "source", "data"}
)


@functools.cache
def compiled_plan() -> CloudEventsPlan:
    """``envelope_from_cloudevent_dict`` as rows for the compiled core's mapping.

    One row per attribute: (name, kind, required, envelope fields, constants),
    in the order that function fills the envelope. The compiled core
    (``Scanner.map_cloudevents``, ``cloudevents.c``) maps a line by it only
    when that gives what the function gives, and leaves every other line to it.
    """

    def raw(name: str) -> bytes:
        return name.encode()

    def named(*fields: str) -> tuple[bytes, tuple[bytes, ...]]:
        # The attribute that carries these envelope fields, and the fields.
        return raw(ATTRIBUTE_MAP[fields[0]]), tuple(map(raw, fields))

    major = CONTRACT_VERSION.split(".")[0]
    id_name, id_fields = named("event_id")
    type_name, type_fields = named("event_type")
    source_name, source_fields = named("node_id", "build_id")
    data_name, data_fields = named("payload")
    rows: list[tuple[bytes, str, bool, tuple[bytes, ...], tuple[bytes, ...]]] = [
        (b"specversion", "equal", True, (), (json.dumps(SPEC_VERSION).encode(),)),
        (id_name, "string", True, id_fields, ()),
        (type_name, "type", True, type_fields, (raw(TYPE_PREFIX), raw(major))),
        (source_name, "source", True, source_fields, (raw(SOURCE_PREFIX), raw(BUILD_MARK))),
        (b"datacontenttype", "json_media", False, (), ()),
        (data_name, "raw", True, data_fields, ()),
        # Never mapped by the core: an empty text equals no JSON value, so a line
        # that has data_base64 (with data, a problem) is left to this module.
        (b"data_base64", "equal", False, (), (b"",)),
        *((raw(name), "raw", required, (raw(field),), ()) for field, name, required in AS_WRITTEN),
        *(
            (raw(name), "integer", required, (raw(field),), ())
            for field, name, required in INTEGER_EXTENSIONS
        ),
    ]
    return tuple(rows)
