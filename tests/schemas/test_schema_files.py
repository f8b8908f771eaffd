"""The committed JSON Schemas: canonical, deterministic, open, with ECMA-262 patterns (FR-008).

Their drift check is in ``tests/tooling/test_regen.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector_sync_contracts import UnknownEventTypeError, load_schema
from connector_sync_contracts.contract.projection import canonical_dumps
from connector_sync_contracts.schemas import (
    SCHEMA_DIR,
    SCHEMA_ID_BASE,
    check_schemas,
    create_validator,
    ecma_regex,
    generated_files,
    render_schema,
    schema_names,
)


def test_generation_is_deterministic_and_canonical() -> None:
    assert generated_files() == generated_files()
    for name in schema_names():
        text = render_schema(name)
        assert text.endswith("}\n")
        assert text == canonical_dumps(json.loads(text)).decode()
        assert json.loads(text)["$id"] == f"{SCHEMA_ID_BASE}{name}.json"


def test_schemas_carry_the_model_descriptions_and_stay_open() -> None:
    schema = load_schema("ConnectorProvisioned")
    assert schema["additionalProperties"] is True
    assert "user-info" in schema["properties"]["endpoint_url"]["description"]
    assert all("description" in sub for sub in schema["properties"].values())
    envelope = load_schema("Event")
    assert envelope["properties"]["causation_id"]["type"] == ["string", "null"]


def test_unknown_schema_names_raise_a_contract_error() -> None:
    with pytest.raises(UnknownEventTypeError):
        load_schema("ConnectorExploded")


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^abc$", "abc", True),
        ("^abc$", "abc\n", False),
        ("^a[$]$", "a$", True),
        (r"^a\$$", "a$", True),
        (r"^a\$$", "a$\n", False),
        ("^[0-9]+$", "\u0661\u0662", False),
    ],
)
def test_patterns_use_ecma_262_semantics(pattern: str, text: str, matches: bool) -> None:
    assert (ecma_regex(pattern).search(text) is not None) is matches


def test_schema_validator_rejects_a_final_newline_and_integral_floats() -> None:
    validator = create_validator("SyncIngestAccepted")
    assert not validator.is_valid(
        {
            "delivery_id": "d",
            "source_event_fingerprint": "f",
            "connector_id": "c",
            "mission_id": "m",
            "recorded_at": "2026-11-25T10:00:00Z\n",
            "ingest_batch_id": "b",
            "ingested_count": 1,
        }
    )
    assert not create_validator("Event").is_valid({"lamport_clock": 1.0})


def _descriptions(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["description"]] if isinstance(node.get("description"), str) else []
        return found + [text for value in node.values() for text in _descriptions(value)]
    if isinstance(node, list):
        return [text for value in node for text in _descriptions(value)]
    return []


def test_descriptions_are_markdown_not_restructuredtext() -> None:
    from connector_sync_contracts.asyncapi import load_document, self_contained_document

    documents = [load_schema(name) for name in schema_names()]
    documents += [load_document(), self_contained_document()]
    texts = [text for document in documents for text in _descriptions(document)]
    assert len(texts) > 100
    assert [text for text in texts if "``" in text] == []
    # The literals are still marked, the Markdown way.
    assert any("`ConnectorDegraded`" in text for text in texts)


def test_the_check_reads_the_committed_bytes_line_ends_included(tmp_path: Path) -> None:
    # Found by an outside run: a schema rewritten with CRLF line ends
    # (core.autocrlf) passed `schema --check`, though its bytes differ.
    for path in SCHEMA_DIR.glob("*.json"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert check_schemas(tmp_path) == []
    event = tmp_path / "Event.json"
    event.write_bytes(event.read_bytes().replace(b"\n", b"\r\n"))
    [diff] = check_schemas(tmp_path)
    assert "Event.json" in diff
