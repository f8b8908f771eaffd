"""AsyncAPI 3.0 description of the contract's events, generated from the catalogue (FR-008).

One message per event type (``models.payloads.PAYLOAD_MODELS``), one channel per
family (``contract.catalog.EVENT_FAMILIES``: connector lifecycle, sync lifecycle,
external links) and a ``send`` and a ``receive`` operation per channel, so
integrators can feed the contract to AsyncAPI tooling (catalogues, code and
docs generators, brokers' schema registries) without transcribing it.

A message is the envelope as it travels: ``Event.json`` with ``event_type``
fixed to the message's type and ``payload`` following that type's committed
schema. Payload schemas are referenced, never copied: ``$ref`` points at the
committed files next to this package (``../schemas/<name>.json``) and
``x-schema-id`` names their ``$id``. The schemas are JSON Schema draft
2020-12, so the payload uses a Multi Format Schema Object with
``schemaFormat`` ``application/schema+json;version=2020-12``.

The document is committed as ``asyncapi.json`` (canonical: sorted keys,
2-space indent, final newline) beside the schemas it references, and is
drift-checked like them by ``make schema-check`` (``_tooling.regen``).
``self_contained_document`` (``connector-sync asyncapi --self-contained``)
is the same document with every schema inlined under
``components.schemas``, for tools that read one file alone.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from ..contract.catalog import EVENT_FAMILIES, Family
from ..contract.projection import canonical_dumps
from ..contract.version import CONTRACT_VERSION
from ..interop.cloudevents import build_type
from ..models.payloads import PAYLOAD_MODELS
from ..schemas import ENVELOPE_SCHEMA, load_schema, schema_file_name, schema_id

__all__ = [
    "ASYNCAPI_VERSION",
    "CHANNELS",
    "DOCUMENT_FILE",
    "DOCUMENT_PATH",
    "PAYLOAD_SCHEMA_FORMAT",
    "ChannelSpec",
    "committed_text",
    "generate_document",
    "load_document",
    "render_document",
    "schema_ref",
    "self_contained_document",
]

ASYNCAPI_VERSION: Final = "3.0.0"
"""The AsyncAPI specification version the document follows."""

DOCUMENT_FILE: Final = "asyncapi.json"
"""File name of the committed document inside this package."""

PAYLOAD_SCHEMA_FORMAT: Final = "application/schema+json;version=2020-12"
"""``schemaFormat`` of every message payload: the committed schemas are draft 2020-12."""

DOCUMENT_PATH: Final = Path(__file__).resolve().parent / DOCUMENT_FILE
"""Where the committed document lives in a source checkout."""


class ChannelSpec(NamedTuple):
    """How one event family appears in the document."""

    channel_id: str
    """Key under ``channels`` (and the stem of the operation ids)."""
    address: str
    """Suggested topic / routing key; brokers may map it to their own names."""
    title: str
    """Human-friendly channel title."""
    description: str
    """What travels on the channel."""


CHANNELS: Final[Mapping[Family, ChannelSpec]] = MappingProxyType(
    {
        Family.CONNECTOR: ChannelSpec(
            "connectorLifecycle",
            "connector-sync.connector-lifecycle",
            "Connector lifecycle",
            "Provisioning, health checks, degradation, revocation and reconnection of "
            "connectors (FR-001, FR-002). Consumers partition by `payload.connector_id` "
            "and fold with the FR-006 transition table.",
        ),
        Family.SYNC: ChannelSpec(
            "syncLifecycle",
            "connector-sync.sync-lifecycle",
            "Sync delivery lifecycle",
            "Delivery outcomes of webhook and sync ingestion: accepted, rejected, retries, "
            "dead letters and replays (FR-003, FR-004). The idempotency key is "
            "(`delivery_id`, `source_event_fingerprint`) (FR-007).",
        ),
        Family.LINK: ChannelSpec(
            "externalLinks",
            "connector-sync.external-links",
            "External reference links",
            "Bindings of external objects (pull requests, issues ...) to internal aggregates "
            "(FR-005). The first link of (external_provider, external_ref_type, "
            "external_ref_id) wins.",
        ),
    }
)
"""Family -> its channel; every family of ``Family`` has one."""


def schema_ref(name: str) -> str:
    """Reference from the document to a committed schema file, e.g. ``../schemas/Event.json``."""
    return f"../schemas/{schema_file_name(name)}"


def _markdown(text: str) -> str:
    # Docstrings use reStructuredText literals; AsyncAPI descriptions are CommonMark.
    return inspect.cleandoc(text).replace("``", "`")


def _message(event_type: str) -> dict[str, Any]:
    doc = _markdown(PAYLOAD_MODELS[event_type].__doc__ or event_type)
    family = EVENT_FAMILIES[event_type]
    return {
        "name": event_type,
        "title": event_type,
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "description": doc
        + "\n\nThe message is the contract envelope (`Event.json`) with `event_type` "
        f"`{event_type}` and a `payload` that follows `{schema_file_name(event_type)}`. "
        "Carried as a CloudEvent (`connector_sync_contracts.interop.cloudevents`), its type is "
        f"`{build_type(event_type)}` and its `data` is the payload.",
        "contentType": "application/json",
        "correlationId": {"$ref": "#/components/correlationIds/correlationId"},
        "tags": [{"name": family.value}],
        "payload": {
            "schemaFormat": PAYLOAD_SCHEMA_FORMAT,
            "schema": {
                "type": "object",  # as the envelope is: ajv's strictTypes asks it beside properties
                "allOf": [{"$ref": schema_ref(ENVELOPE_SCHEMA)}],
                "properties": {
                    "event_type": {"const": event_type},
                    "payload": {"$ref": schema_ref(event_type)},
                },
            },
        },
        "x-schema-id": schema_id(event_type),
        "x-envelope-schema-id": schema_id(ENVELOPE_SCHEMA),
        "x-cloudevents-type": build_type(event_type),
    }


def _operation(action: str, spec: ChannelSpec, event_types: list[str]) -> dict[str, Any]:
    verb = "Emit" if action == "send" else "Consume"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{spec.channel_id}"},
        "title": f"{verb} {spec.title.lower()} events",
        "messages": [
            {"$ref": f"#/channels/{spec.channel_id}/messages/{event_type}"}
            for event_type in event_types
        ],
    }


def generate_document() -> dict[str, Any]:
    """Build the AsyncAPI 3.0 document from the catalogue."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for family in Family:
        spec = CHANNELS[family]
        event_types = sorted(t for t, f in EVENT_FAMILIES.items() if f is family)
        channels[spec.channel_id] = {
            "address": spec.address,
            "title": spec.title,
            "description": spec.description,
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in event_types},
        }
        stem = spec.channel_id[0].upper() + spec.channel_id[1:]
        operations[f"send{stem}"] = _operation("send", spec, event_types)
        operations[f"receive{stem}"] = _operation("receive", spec, event_types)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "connector-sync-contracts",
            "version": CONTRACT_VERSION,
            "description": "Canonical, replay-safe event contracts for connector lifecycle, "
            "sync delivery outcomes and external reference links. Generated from the "
            "`connector_sync_contracts` registry; the payload schemas are the committed JSON "
            "Schemas of the same release.",
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {event_type: _message(event_type) for event_type in sorted(PAYLOAD_MODELS)},
            "correlationIds": {
                "correlationId": {
                    "description": "Identifier shared by the events of one logical operation.",
                    "location": "$message.payload#/correlation_id",
                }
            },
        },
    }


def _inlined(name: str) -> dict[str, Any]:
    """A committed schema as a part of the document: its own ``#/...`` references rebased.

    Without ``$id`` and ``$schema`` it is no separate resource, so every
    reference resolves against the document, for 2020-12 resolvers and for
    tools that only follow JSON pointers alike.
    """
    base = f"#/components/schemas/{name}/schema"

    def rebase(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: rebase(value) for key, value in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                out["$ref"] = base + ref[1:]
            return out
        if isinstance(node, list):
            return [rebase(item) for item in node]
        return node

    schema = rebase(load_schema(name))
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return dict(schema)


def self_contained_document() -> dict[str, Any]:
    """The document with every schema inlined: its ``$ref``s resolve when it is saved alone.

    The committed schemas go under ``components.schemas`` as Multi Format
    Schema Objects (draft 2020-12, ``x-schema-id`` naming each one's ``$id``)
    and ``../schemas/<name>.json`` references point there instead.
    """
    names = (ENVELOPE_SCHEMA, *sorted(PAYLOAD_MODELS))
    files = {schema_ref(name): f"#/components/schemas/{name}/schema" for name in names}

    def point_inside(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: point_inside(value) for key, value in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref in files:
                out["$ref"] = files[ref]
            return out
        if isinstance(node, list):
            return [point_inside(item) for item in node]
        return node

    document: dict[str, Any] = point_inside(generate_document())
    document["components"]["schemas"] = {
        name: {
            "schemaFormat": PAYLOAD_SCHEMA_FORMAT,
            "schema": _inlined(name),
            "x-schema-id": schema_id(name),
        }
        for name in names
    }
    return document


def render_document(*, self_contained: bool = False) -> str:
    """Canonical text of the generated document: sorted keys, 2-space indent, final newline.

    ``self_contained`` inlines the schemas (``self_contained_document``).
    """
    document = self_contained_document() if self_contained else generate_document()
    return canonical_dumps(document).decode("utf-8")


def committed_text() -> str:
    """The committed document's text, read from the installed package as stored
    (line ends not translated: ``asyncapi --check`` compares bytes)."""
    return resources.files(__package__).joinpath(DOCUMENT_FILE).read_bytes().decode("utf-8")


def load_document() -> dict[str, Any]:
    """The committed document, read from the installed package."""
    document: dict[str, Any] = json.loads(committed_text())
    return document
