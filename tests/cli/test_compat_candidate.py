"""``connector-sync schema --compat BASELINE --candidate DIR``: judge a proposed schema set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connector_sync_contracts.compat import baseline_dir, current_schemas
from tests.support.cli import run_cli

BASELINE = baseline_dir("2.7.0")


def _candidate(tmp_path: Path) -> Path:
    folder = tmp_path / "candidate"
    folder.mkdir()
    for name, schema in current_schemas().items():
        (folder / f"{name}.json").write_text(json.dumps(schema, indent=2, sort_keys=True))
    return folder


def _edit(path: Path, change: Any) -> None:
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema, indent=2, sort_keys=True))


def test_unchanged_candidate_passes(tmp_path: Path) -> None:
    run = run_cli("schema", "--compat", BASELINE, "--candidate", _candidate(tmp_path))
    assert run.code == 0, run.err
    # Every additive change since the baseline is listed, one line each, and counted.
    additive = [line for line in run.out.splitlines() if line.startswith("additive: ")]
    assert additive
    assert f"0 breaking, {len(additive)} additive" in run.err


def test_removing_a_required_field_is_breaking(tmp_path: Path) -> None:
    folder = _candidate(tmp_path)

    def drop(schema: dict[str, Any]) -> None:
        schema["required"].remove("ingest_batch_id")
        del schema["properties"]["ingest_batch_id"]

    _edit(folder / "SyncIngestAccepted.json", drop)
    run = run_cli("schema", "--compat", BASELINE, "--candidate", folder)
    assert run.code == 1
    assert "breaking: SyncIngestAccepted: $.ingest_batch_id: field_removed" in run.out


def test_adding_an_optional_field_is_additive(tmp_path: Path) -> None:
    folder = _candidate(tmp_path)

    def add(schema: dict[str, Any]) -> None:
        schema["properties"]["ticket_url"] = {"type": "string", "description": "Optional."}

    _edit(folder / "ConnectorRevoked.json", add)
    run = run_cli("schema", "--compat", BASELINE, "--candidate", folder)
    assert run.code == 0, run.out + run.err
    assert "additive: ConnectorRevoked: $.ticket_url: optional_field_added" in run.out


def test_candidate_without_compat_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert run_cli("schema", "--candidate", folder).code == 2
