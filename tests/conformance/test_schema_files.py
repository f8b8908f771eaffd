"""Committed schemas, their drift check and the golden regeneration command (FR-008, FR-009).

The drift check must fail, with a readable diff, as soon as one field of a
committed schema differs from what the models generate; ``--write`` and
the golden ``regen`` command must restore what they own and nothing else.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from connector_sync_contracts import UnknownEventTypeError, load_schema
from connector_sync_contracts.conformance import regen
from connector_sync_contracts.results import canonical_dumps
from connector_sync_contracts.schemas import (
    SCHEMA_ID_BASE,
    check_schemas,
    create_validator,
    ecma_regex,
    generated_files,
    render_schema,
    schema_names,
    write_schemas,
)

PACKAGE_DIR: Final = Path(__file__).resolve().parents[2] / "src" / "connector_sync_contracts"
SCHEMA_DIR: Final = PACKAGE_DIR / "schemas"


def run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    target.mkdir()
    for path in SCHEMA_DIR.glob("*.json"):
        shutil.copy2(path, target / path.name)
    return target


def test_committed_schemas_are_up_to_date() -> None:
    done = run_module("connector_sync_contracts.schemas", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert check_schemas() == []


def test_flipping_one_field_fails_the_check_with_a_diff(schema_copy: Path) -> None:
    path = schema_copy / "SyncIngestAccepted.json"
    schema = json.loads(path.read_text())
    schema["properties"]["ingested_count"]["minimum"] = 0
    path.write_bytes(canonical_dumps(schema))
    done = run_module("connector_sync_contracts.schemas", "--check", "--dir", str(schema_copy))
    assert done.returncode == 1
    assert "--- committed/SyncIngestAccepted.json" in done.stdout
    assert "+++ generated/SyncIngestAccepted.json" in done.stdout
    assert '-      "minimum": 0,' in done.stdout
    assert '+      "minimum": 1,' in done.stdout
    assert "--write" in done.stderr


def test_missing_stale_and_reformatted_files_are_drift(schema_copy: Path) -> None:
    (schema_copy / "Event.json").unlink()
    (schema_copy / "ConnectorExploded.json").write_text("{}\n")
    compact = schema_copy / "ConnectorRevoked.json"
    compact.write_text(json.dumps(json.loads(compact.read_text())))
    problems = check_schemas(schema_copy)
    assert len(problems) == 3
    assert any("ConnectorExploded.json: committed, but no model" in p for p in problems)
    assert any("+++ generated/Event.json" in p for p in problems)
    assert write_schemas(schema_copy) == [
        "ConnectorExploded.json",
        "ConnectorRevoked.json",
        "Event.json",
    ]
    assert check_schemas(schema_copy) == []


def test_write_regenerates_identical_files(tmp_path: Path) -> None:
    done = run_module("connector_sync_contracts.schemas", "--write", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for path in SCHEMA_DIR.glob("*.json"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


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


# ------------------------------------------------------------- golden regen


def test_goldens_are_up_to_date() -> None:
    done = run_module("connector_sync_contracts.conformance.regen", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert regen.stale_goldens() == {}


def test_a_stale_golden_is_detected(tmp_path: Path) -> None:
    conformance = PACKAGE_DIR / "conformance"
    copy = tmp_path / "conformance"
    shutil.copytree(conformance, copy, ignore=shutil.ignore_patterns("__pycache__"))
    golden = copy / "fixtures" / "sync" / "replay" / "retried_delivery.golden.json"
    golden.write_bytes(golden.read_bytes().replace(b'"attempts": 3', b'"attempts": 2'))
    stale = regen.stale_goldens(copy)
    assert list(stale) == ["fixtures/sync/replay/retried_delivery.golden.json"]
    committed, expected = stale["fixtures/sync/replay/retried_delivery.golden.json"]
    assert committed is not None
    assert b'"attempts": 3' in expected
