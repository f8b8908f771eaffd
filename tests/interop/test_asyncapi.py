"""AsyncAPI 3.0 document: valid against the official schema, complete, resolvable, not stale."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from connector_sync_contracts import PAYLOAD_MODELS, SEMANTIC_RULES, Family
from connector_sync_contracts.asyncapi import (
    CHANNELS,
    PAYLOAD_SCHEMA_FORMAT,
    generate_document,
    load_document,
    render_document,
)
from connector_sync_contracts.conformance import load_manifest
from connector_sync_contracts.contract.catalog import EVENT_FAMILIES
from connector_sync_contracts.interop.cloudevents import build_type
from connector_sync_contracts.schemas import load_schema, schema_id
from tests.support.cli import run_cli

# The official AsyncAPI 3.0.0 JSON Schema, vendored from the @asyncapi/specs package
# (see tests/data/README.md for its source and licence).
OFFICIAL_SCHEMA: Final = Path(__file__).resolve().parents[1] / "data" / "asyncapi-3.0.0.schema.json"
DOCUMENT_URI: Final = "file:///connector_sync_contracts/asyncapi/asyncapi.json"


@cache
def _official_validator() -> Draft7Validator:
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["asyncapi"]["const"] == "3.0.0"
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in _official_validator().iter_errors(document)
    ]


def test_committed_document_is_valid_asyncapi_3() -> None:
    assert _errors(load_document()) == []


def test_the_official_schema_really_checks() -> None:
    # Guard against a vacuous check: broken documents must fail.
    broken = copy.deepcopy(load_document())
    del broken["info"]
    assert _errors(broken)
    broken = copy.deepcopy(load_document())
    broken["operations"]["sendConnectorLifecycle"]["action"] = "publish"
    assert _errors(broken)
    broken = copy.deepcopy(load_document())
    broken["channels"]["syncLifecycle"]["unexpected"] = True
    assert _errors(broken)


def test_one_message_per_event_type_and_one_channel_per_family() -> None:
    document = generate_document()
    messages = document["components"]["messages"]
    assert sorted(messages) == sorted(PAYLOAD_MODELS)
    assert set(CHANNELS) == set(Family)
    seen: list[str] = []
    for family, spec in CHANNELS.items():
        channel = document["channels"][spec.channel_id]
        expected = sorted(t for t, f in EVENT_FAMILIES.items() if f is family)
        assert sorted(channel["messages"]) == expected
        seen.extend(expected)
        for action in ("send", "receive"):
            matching = [
                op
                for op in document["operations"].values()
                if op["action"] == action
                and op["channel"]["$ref"] == f"#/channels/{spec.channel_id}"
            ]
            assert len(matching) == 1
            refs = [m["$ref"] for m in matching[0]["messages"]]
            assert refs == [f"#/channels/{spec.channel_id}/messages/{t}" for t in expected]
    assert sorted(seen) == sorted(PAYLOAD_MODELS)
    for event_type, message in messages.items():
        assert message["name"] == event_type
        assert message["x-schema-id"] == schema_id(event_type)
        assert message["x-cloudevents-type"] == build_type(event_type)
        assert message["payload"]["schemaFormat"] == PAYLOAD_SCHEMA_FORMAT


def _pointer(document: Any, ref: str) -> Any:
    assert ref.startswith("#/")
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_resolves() -> None:
    document = load_document()
    schema_dir = resources.files("connector_sync_contracts.schemas")
    external = set()
    for ref in _refs(document):
        if ref.startswith("#/"):
            assert _pointer(document, ref) is not None
        else:
            assert ref.startswith("../schemas/")
            external.add(ref.removeprefix("../schemas/"))
            assert schema_dir.joinpath(ref.removeprefix("../schemas/")).is_file()
    assert external == {f"{name}.json" for name in ("Event", *PAYLOAD_MODELS)}


@cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry()
    for name in ("Event", *PAYLOAD_MODELS):
        resource = Resource.from_contents(load_schema(name))
        file_uri = f"file:///connector_sync_contracts/schemas/{name}.json"
        registry = registry.with_resources([(file_uri, resource), (schema_id(name), resource)])
    return registry


def _message_validator(event_type: str) -> Draft202012Validator:
    schema = dict(load_document()["components"]["messages"][event_type]["payload"]["schema"])
    schema["$id"] = DOCUMENT_URI
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _fixtures(result: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f.id, f.load())
        for f in load_manifest().fixtures
        if f.expected_result == result
        and f.fixture_type in ("connector", "sync", "external_reference")
        and not f.strict
    ]


@pytest.mark.parametrize(("fixture_id", "envelope"), _fixtures("valid"))
def test_message_schemas_accept_valid_fixtures(fixture_id: str, envelope: dict[str, Any]) -> None:
    event_type = envelope["event_type"]
    assert list(_message_validator(event_type).iter_errors(envelope)) == []
    # ... and only under their own message.
    other = next(t for t in sorted(PAYLOAD_MODELS) if t != event_type)
    assert list(_message_validator(other).iter_errors(envelope))


def test_message_schemas_reject_payload_violations() -> None:
    semantic = {rule.code for rule in SEMANTIC_RULES}
    manifest = load_manifest()
    checked = 0
    for fixture_id, envelope in _fixtures("invalid"):
        errors = list(_message_validator(envelope["event_type"]).iter_errors(envelope))
        if manifest.by_id(fixture_id).expected_violation in semantic:
            # Cross-field rules are beyond JSON Schema.
            assert errors == []
        else:
            assert any("payload" in error.absolute_path for error in errors), fixture_id
            checked += 1
    assert checked >= 8


# ------------------------------------------------------------------ --self-contained


@cache
def _self_contained() -> dict[str, Any]:
    run = run_cli("asyncapi", "--self-contained")
    assert run.code == 0, run.explain()
    document: dict[str, Any] = json.loads(run.stdout)
    assert run.stdout.decode() == render_document(self_contained=True)
    return document


def test_self_contained_document_is_valid_asyncapi_3() -> None:
    assert _errors(_self_contained()) == []


def test_self_contained_document_refers_only_to_itself() -> None:
    document = _self_contained()
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        assert _pointer(document, ref) is not None, ref
    schemas = document["components"]["schemas"]
    assert sorted(schemas) == sorted(("Event", *PAYLOAD_MODELS))
    for name, entry in schemas.items():
        assert entry["schemaFormat"] == PAYLOAD_SCHEMA_FORMAT
        assert entry["x-schema-id"] == schema_id(name)
        assert "$id" not in entry["schema"]
        # Everything but the $refs and $id/$schema is the committed schema itself.
        committed = load_schema(name)
        assert entry["schema"]["properties"].keys() == committed["properties"].keys()


def _inlined_validator(document: dict[str, Any], event_type: str) -> Draft202012Validator:
    # The saved document is the only resource: nothing else can be looked up.
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schema = {"$ref": f"{DOCUMENT_URI}#/components/messages/{event_type}/payload/schema"}
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize(("fixture_id", "envelope"), _fixtures("valid"))
def test_self_contained_message_schemas_accept_valid_fixtures(
    fixture_id: str, envelope: dict[str, Any]
) -> None:
    document = _self_contained()
    event_type = envelope["event_type"]
    assert list(_inlined_validator(document, event_type).iter_errors(envelope)) == []
    other = next(t for t in sorted(PAYLOAD_MODELS) if t != event_type)
    assert list(_inlined_validator(document, other).iter_errors(envelope))


def test_self_contained_message_schemas_reject_payload_violations() -> None:
    document = _self_contained()
    semantic = {rule.code for rule in SEMANTIC_RULES}
    manifest = load_manifest()
    checked = 0
    for fixture_id, envelope in _fixtures("invalid"):
        if manifest.by_id(fixture_id).expected_violation in semantic:
            continue
        validator = _inlined_validator(document, envelope["event_type"])
        errors = list(validator.iter_errors(envelope))
        assert any("payload" in error.absolute_path for error in errors), fixture_id
        checked += 1
    assert checked >= 8
