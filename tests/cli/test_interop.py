"""``connector-sync asyncapi`` and ``connector-sync schema --compat``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector_sync_contracts import Event
from connector_sync_contracts._engine.native import PURE_PYTHON_ENV
from connector_sync_contracts.asyncapi import render_document
from connector_sync_contracts.compat import baseline_dir, current_schemas
from connector_sync_contracts.conformance import Fixture, load_manifest
from connector_sync_contracts.contract.patterns import normal_event_id
from connector_sync_contracts.interop.cloudevents import to_structured_json
from tests.support.cli import parse_problems, parse_summary, run_cli

BASELINE = baseline_dir("2.7.0")


def _replay_fixtures() -> list[Fixture]:
    return [f for f in load_manifest().fixtures if f.expected_result == "replay"]


def test_asyncapi_prints_the_committed_document() -> None:
    run = run_cli("asyncapi")
    assert run.code == 0
    assert run.out == render_document()
    checked = run_cli("asyncapi", "--check")
    assert checked.code == 0
    assert "up to date" in checked.err


def test_schema_compat_against_the_shipped_baseline_has_only_additive_changes() -> None:
    # 2.7.x accepts lower-case t and z in date-times (specification section 8): a
    # pattern proven wider than 2.7.0's, once per date-time field.
    for baseline in ("2.7.0", str(BASELINE)):
        run = run_cli("schema", "--compat", baseline)
        assert run.code == 0, run.out + run.err
        changes = run.out.splitlines()
        # The lower-case date-time patterns 2.7.x widened (section 8), and any
        # optional field added since: additive, each listed once and counted.
        widened = [line for line in changes if ": constraint_loosened: pattern widened: " in line]
        assert len(widened) == 14
        # What widened is shown, not a pattern cut before it: the T and the Z.
        assert all(
            line.endswith(': pattern widened: "T" -> "[Tt]", "Z" -> "[Zz]"') for line in widened
        )
        assert all(line.startswith("additive: ") for line in changes)
        assert (
            f"0 breaking, {len(changes)} additive changes against baseline 2.7.0 (current 2.7.0)"
            in run.err
        )


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
    # Leave out the lower-case date-time patterns 2.7.x widened (section 8), and
    # what the other schemas may have added since.
    edited = ("ConnectorDegraded: ", "ConnectorProvisioned: ", "Event: ")
    changes = run.out.splitlines()
    assert [
        line
        for line in changes
        if "pattern widened" not in line and line.split(" ", 1)[1].startswith(edited)
    ] == [
        "breaking: ConnectorDegraded: $.degradation_reason: required_added: "
        "new required property 'degradation_reason'",
        "breaking: ConnectorProvisioned: $.legacy_flag: field_removed: "
        "property 'legacy_flag' removed",
        "additive: Event: $.build_id: optional_field_added: new optional property 'build_id'",
    ]
    additive = sum(line.startswith("additive: ") for line in changes)
    assert sum("pattern widened" in line for line in changes) == 10
    assert f"2 breaking, {additive} additive changes" in run.err


# ------------------------------------------------------------------ --input-format cloudevents


def _as_cloudevents(envelope_lines: list[bytes]) -> bytes:
    out = []
    for line in envelope_lines:
        event = Event.model_validate(json.loads(line))
        out.append(to_structured_json(event) + b"\n")
    return b"".join(out)


@pytest.mark.parametrize("fixture", _replay_fixtures(), ids=lambda f: f.id)
def test_replay_of_cloudevents_equals_the_golden_output(fixture: Fixture, tmp_path: Path) -> None:
    lines = [line for line in fixture.read_bytes().splitlines() if line.strip()]
    ce_log = tmp_path / "stream.ce.jsonl"
    ce_log.write_bytes(_as_cloudevents(lines))
    envelope_log = tmp_path / "stream.jsonl"
    envelope_log.write_bytes(fixture.read_bytes())
    envelope_run = run_cli("validate", envelope_log)
    run = run_cli("replay", "--format", "json", "--input-format", "cloudevents", ce_log)
    assert run.code == envelope_run.code
    assert run.stdout == fixture.golden_bytes()
    # Same line accounting as the envelope form; problems named by CloudEvents attribute.
    assert parse_summary(run.err) == parse_summary(envelope_run.err)
    for problem in parse_problems(run.err):
        assert not problem.field.startswith(("$.payload", "$.event_type", "$.lamport_clock"))


def test_validate_cloudevents_reports_attributes_and_quarantines_originals(
    tmp_path: Path,
) -> None:
    good = _as_cloudevents([load_manifest().select("connector", "valid")[0].read_bytes()])
    structured = json.loads(good)
    unmappable = dict(structured, source="https://example.com/producer")
    del unmappable["subject"]
    broken_envelope = dict(structured, lamportclock=-1)
    beyond_64_bits = dict(structured, lamportclock="1" + "0" * 20)  # a decimal string
    broken_payload = dict(structured, data=dict(structured["data"], latency_ms="fast"))
    broken_payload["type"] = structured["type"].replace("Provisioned", "HealthChecked")
    lines = [
        good.rstrip(b"\n"),
        json.dumps(unmappable).encode(),
        json.dumps(broken_envelope).encode(),
        json.dumps(broken_payload).encode(),
        b"[1]",
        json.dumps(beyond_64_bits).encode(),
    ]
    log = tmp_path / "events.ce.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    quarantine = tmp_path / "rejected.jsonl"
    run = run_cli("validate", "--input-format", "cloudevents", "--quarantine", quarantine, log)
    assert run.code == 1
    found = [(p.line, p.field, p.code) for p in parse_problems(run.out)]
    assert (2, "$.source", "invalid_source") in found
    assert (2, "$.subject", "missing_attribute") in found
    assert (3, "$.lamportclock", "minimum") in found
    assert (4, "$.data.health_status", "required") in found
    assert (4, "$.data.latency_ms", "type") in found
    assert (5, "$", "not_an_object") in found
    assert (6, "$.lamportclock", "integer_out_of_range") in found
    assert {line for line, _, _ in found} == {2, 3, 4, 5, 6}
    summary = parse_summary(run.err)
    assert (summary.lines_read, summary.accepted, summary.rejected) == (6, 1, 5)
    assert summary.problems == len(found)
    assert quarantine.read_bytes() == b"\n".join(lines[1:]) + b"\n"


def test_a_cloudevent_refused_for_a_limit_still_names_its_event(tmp_path: Path) -> None:
    good = _as_cloudevents([load_manifest().select("connector", "valid")[0].read_bytes()])
    structured = json.loads(good)
    event_id = normal_event_id(structured["id"])
    body = json.dumps(structured).encode()[1:]
    lines = [
        b'{"xlimit": NaN, ' + body,  # an extension beyond the limits: the id is still read
        b'{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", ' + body,  # "id" repeated: no one id
        # A lone surrogate in the id itself: named as written, escaped.
        json.dumps(dict(structured, id="\ud800")).encode(),
    ]
    log = tmp_path / "events.ce.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    run = run_cli("replay", "--format", "json", "--input-format", "cloudevents", log)
    assert run.code == 1
    anomalies = json.loads(run.stdout)["anomalies"]
    assert sorted((a["kind"], a["event_id"] or "") for a in anomalies) == [
        ("malformed_envelope", ""),
        ("malformed_envelope", event_id),
        ("malformed_envelope", "\\ud800"),
    ]


@pytest.mark.parametrize("engine", ["compiled", "pure"])
@pytest.mark.parametrize("mode", [(), ("--memory-limit", "1kB")], ids=["in-memory", "spilled"])
def test_a_cloudevent_line_refused_before_mapping_is_described_by_its_own_problems(
    tmp_path: Path, engine: str, mode: tuple[str, ...]
) -> None:
    # Found by an outside acceptance run: the anomaly of a line that is not JSON
    # explained the engine's stand-in ("$.event_id: required ...; $.event_type: ..."),
    # though standard error rightly said "invalid_json".
    fixture = load_manifest().select("connector", "valid")[0].read_bytes()
    envelope = json.dumps(json.loads(fixture)).encode()  # one line
    good = _as_cloudevents([envelope]).rstrip(b"\n")
    structured = json.loads(good)
    unmappable = dict(structured, id="01JD8QWDY6DA9C3TWZMK18474E")
    del unmappable["type"], unmappable["source"]
    unreadable = [b"not json at all", b"[1, 2]"]
    log = tmp_path / "events.ce.jsonl"
    log.write_bytes(b"\n".join([good, *unreadable, json.dumps(unmappable).encode()]) + b"\n")
    env = {"CONNECTOR_SYNC_PURE_PYTHON": "1"} if engine == "pure" else None
    run = run_cli(
        "replay", "--format", "json", "--input-format", "cloudevents", *mode, log, env=env
    )
    assert run.code == 1, run.explain()
    stated: dict[int, list[str]] = {}
    for problem in parse_problems(run.err):
        stated.setdefault(problem.line, []).append(
            f"{problem.field}: {problem.code}: {problem.message}"
        )
    messages = sorted(a["message"] for a in json.loads(run.stdout)["anomalies"])
    assert messages == sorted("; ".join(found) for found in stated.values())
    assert "missing_attribute" in messages[0] + messages[1] + messages[2]

    # A line no format can read replays as in the envelope form of the log.
    envelope_log = tmp_path / "events.jsonl"
    envelope_log.write_bytes(b"\n".join([envelope, *unreadable]) + b"\n")
    ce_log = tmp_path / "readable.ce.jsonl"
    ce_log.write_bytes(b"\n".join([good, *unreadable]) + b"\n")
    as_envelopes = run_cli("replay", "--format", "json", *mode, envelope_log, env=env)
    as_cloudevents = run_cli(
        "replay", "--format", "json", "--input-format", "cloudevents", *mode, ce_log, env=env
    )
    assert as_cloudevents.stdout == as_envelopes.stdout


@pytest.mark.parametrize("env", [{}, {PURE_PYTHON_ENV: "1"}], ids=["compiled", "python"])
def test_a_cloudevents_source_that_is_no_uri_is_reported_in_every_engine(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``%zz`` was read as itself, the same node as ``%25zz``: the two lines were one event."""
    good = _as_cloudevents([load_manifest().select("connector", "valid")[0].read_bytes()])
    structured = json.loads(good)
    # U+0085 written raw (C2 85): a C1 control, which the compiled mapping took.
    sources = ["node:%zz", "node:%25zz", "node:a b", "node:a%2", "node:ok:build:{b}", "node:a\x85"]
    lines = [
        json.dumps(
            dict(structured, source="urn:connector-sync:" + source), ensure_ascii=False
        ).encode()
        for source in sources
    ]
    log = tmp_path / "sources.ce.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    run = run_cli("validate", "--input-format", "cloudevents", log, env=env)
    assert run.code == 1
    found = [(p.line, p.field, p.code) for p in parse_problems(run.out)]
    assert found == [(line, "$.source", "invalid_source") for line in (1, 3, 4, 5, 6)]
    replayed = run_cli(
        "replay",
        "--input-format",
        "cloudevents",
        "--format",
        "json",
        "--fail-on",
        "never",
        log,
        env=env,
    )
    result = json.loads(replayed.out)
    assert (result["event_count"], result["duplicates_dropped"]) == (1, 0)


@pytest.mark.parametrize("env", [{}, {PURE_PYTHON_ENV: "1"}], ids=["compiled", "python"])
def test_a_cloudevents_counter_of_thousands_of_digits_is_reported_not_a_crash(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A 4.6 KB line with a 4,301-digit lamportclock string ended the run with int()'s
    own ValueError traceback, exit 1, no line reported."""
    good = _as_cloudevents([load_manifest().select("connector", "valid")[0].read_bytes()]).strip()
    structured = json.loads(good)
    log = tmp_path / "digits.ce.jsonl"
    log.write_bytes(
        b"\n".join([good, json.dumps(structured | {"lamportclock": "1" * 4_301}).encode()]) + b"\n"
    )
    for command in ("validate", "replay"):
        run = run_cli(command, "--input-format", "cloudevents", log, env=env)
        assert run.code == 1, run.explain()
        assert "Traceback" not in run.err
        found = [(p.line, p.field, p.code) for p in parse_problems(run.out + run.err)]
        assert found == [(2, "$.lamportclock", "integer_out_of_range")]
        assert parse_summary(run.err).rejected == 1
