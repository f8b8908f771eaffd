"""``connector-sync asyncapi`` and ``connector-sync schema --compat``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from connector_sync_contracts.asyncapi import render_document
from connector_sync_contracts.compat import current_schemas

from .helpers import run_cli

BASELINE = Path(__file__).resolve().parents[2] / "compat-baseline" / "2.7.0"


def test_asyncapi_prints_the_committed_document() -> None:
    run = run_cli("asyncapi")
    assert run.code == 0
    assert run.out == render_document()
    checked = run_cli("asyncapi", "--check")
    assert checked.code == 0
    assert "up to date" in checked.err


def test_schema_compat_against_the_committed_baseline_is_clean() -> None:
    run = run_cli("schema", "--compat", BASELINE)
    assert run.code == 0, run.out + run.err
    assert run.out == ""
    assert "0 breaking, 0 additive change(s) against baseline 2.7.0 (current 2.7.0)" in run.err


def test_schema_compat_reports_breaking_and_additive_changes(tmp_path: Path) -> None:
    # Against this edited baseline, the current schemas add a required field and
    # drop a field (both breaking) and add an optional field (additive).
    baseline = tmp_path / "2.7.0"
    shutil.copytree(BASELINE, baseline)
    schemas = current_schemas()
    degraded = schemas["ConnectorDegraded"]
    del degraded["properties"]["degradation_reason"]
    degraded["required"].remove("degradation_reason")
    provisioned = schemas["ConnectorProvisioned"]
    provisioned["properties"]["legacy_flag"] = {"type": "boolean"}
    del schemas["Event"]["properties"]["build_id"]
    for name in ("ConnectorDegraded", "ConnectorProvisioned", "Event"):
        (baseline / f"{name}.json").write_text(json.dumps(schemas[name]), encoding="utf-8")
    run = run_cli("schema", "--compat", baseline)
    assert run.code == 1
    assert run.out.splitlines() == [
        "breaking: ConnectorDegraded: $.degradation_reason: required_added: "
        "new required property 'degradation_reason'",
        "breaking: ConnectorProvisioned: $.legacy_flag: field_removed: "
        "property 'legacy_flag' removed",
        "additive: Event: $.build_id: optional_field_added: new optional property 'build_id'",
    ]
    assert "2 breaking, 1 additive change(s)" in run.err
