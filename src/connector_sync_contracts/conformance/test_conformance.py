"""The packaged conformance suite (FR-008, FR-009, FR-010).

Run it against an installed package with
``pytest --pyargs connector_sync_contracts.conformance``. It checks the
manifest against its schema and the contract's minimum counts, every valid
and invalid fixture (an invalid one must fail with exactly the code the
manifest names), every replay stream against its golden output byte for
byte, and that the committed JSON Schemas still match the models.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import pytest
from jsonschema import Draft202012Validator

from connector_sync_contracts import (
    CONTRACT_VERSION,
    PAYLOAD_MODELS,
    VIOLATION_CODES,
    validate_event,
)
from connector_sync_contracts.conformance import (
    Fixture,
    load_manifest,
    load_manifest_schema,
    read_resource,
    resource,
)
from connector_sync_contracts.contract.projection import canonical_dumps
from connector_sync_contracts.schemas import (
    SCHEMA_DIALECT,
    check_schemas,
    load_schema,
    schema_id,
    schema_names,
)

if TYPE_CHECKING:
    from importlib.abc import Traversable

MANIFEST: Final = load_manifest()
VALID: Final = MANIFEST.select(expected_result="valid")
INVALID: Final = MANIFEST.select(expected_result="invalid")
REPLAYS: Final = MANIFEST.select(expected_result="replay")

MINIMUM_COUNTS: Final = {
    "connector/valid": 6,
    "connector/invalid": 4,
    "sync/valid": 6,
    "sync/invalid": 4,
    "external_reference/valid": 2,
    "envelope/invalid": 1,
    "connector/replay": 1,
    "sync/replay": 1,
    "mixed/replay": 1,
}
"""Contract section 7: the kit's minimum number of fixtures per category."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _ids(fixtures: tuple[Fixture, ...]) -> list[str]:
    return [fixture.id for fixture in fixtures]


# ------------------------------------------------------------------ manifest


def test_manifest_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(load_manifest_schema())


def test_manifest_satisfies_its_schema() -> None:
    validator = Draft202012Validator(load_manifest_schema())
    errors = [
        error.message for error in validator.iter_errors(json.loads(read_resource("manifest.json")))
    ]
    assert errors == []


def test_manifest_meets_the_minimum_counts() -> None:
    counts = {category: len(items) for category, items in MANIFEST.by_category().items()}
    short = {
        category: (counts.get(category, 0), minimum)
        for category, minimum in MINIMUM_COUNTS.items()
        if counts.get(category, 0) < minimum
    }
    assert short == {}


def test_manifest_ids_are_unique() -> None:
    ids = _ids(MANIFEST.fixtures)
    assert len(ids) == len(set(ids))


def test_every_fixture_applies_to_this_version() -> None:
    assert MANIFEST.contract_version == CONTRACT_VERSION
    for fixture in MANIFEST.fixtures:
        assert fixture.min_version == "2.7.0"
        assert _version(fixture.min_version) <= _version(CONTRACT_VERSION)


def _files(node: Traversable, prefix: str) -> list[str]:
    found = []
    for child in node.iterdir():
        path = f"{prefix}/{child.name}"
        if child.is_dir():
            found.extend(_files(child, path))
        elif child.name.endswith((".json", ".jsonl")):
            found.append(path)
    return found


def test_manifest_lists_every_fixture_file_and_nothing_else() -> None:
    on_disk = set(_files(resource("fixtures"), "fixtures"))
    listed = {fixture.path for fixture in MANIFEST.fixtures}
    listed |= {fixture.golden for fixture in MANIFEST.fixtures if fixture.golden is not None}
    assert on_disk == listed


def test_expected_violations_are_codes_the_validator_can_report() -> None:
    for fixture in INVALID:
        assert fixture.expected_violation in VIOLATION_CODES, fixture.id


def test_fixture_folders_match_their_manifest_entries() -> None:
    for fixture in MANIFEST.fixtures:
        folder = "replay" if fixture.fixture_type == "mixed" else fixture.fixture_type
        assert fixture.path.startswith(f"fixtures/{folder}/"), fixture.id
        if fixture.fixture_type != "mixed":
            assert fixture.path.split("/")[2] == fixture.expected_result, fixture.id


@pytest.mark.parametrize("fixture", [*VALID, *INVALID], ids=_ids((*VALID, *INVALID)))
def test_fixture_is_canonical_json_naming_its_event_type(fixture: Fixture) -> None:
    raw = fixture.read_bytes()
    data = json.loads(raw)
    assert canonical_dumps(data) == raw
    declared = data.get("event_type")
    assert fixture.event_type == (declared if isinstance(declared, str) else None)


@pytest.mark.parametrize("fixture", REPLAYS, ids=_ids(REPLAYS))
def test_replay_stream_is_canonical_jsonl(fixture: Fixture) -> None:
    # One compact JSON object per line, keys sorted, newline at the end.
    text = fixture.read_bytes().decode("utf-8")
    assert text.endswith("\n")
    for line in text.splitlines():
        event = json.loads(line)
        assert isinstance(event, dict)
        assert line == json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------ single events


@pytest.mark.parametrize("fixture", VALID, ids=_ids(VALID))
def test_valid_fixture_is_valid(fixture: Fixture) -> None:
    result = fixture.validate()
    assert result.valid, [violation.to_dict() for violation in result.violations]
    assert result.kind == "envelope"
    assert result.event_type == fixture.event_type


@pytest.mark.parametrize("fixture", INVALID, ids=_ids(INVALID))
def test_invalid_fixture_fails_with_exactly_its_code(fixture: Fixture) -> None:
    result = fixture.validate()
    assert not result.valid
    assert result.codes == {fixture.expected_violation}, [v.to_dict() for v in result.violations]


@pytest.mark.parametrize(
    "fixture", [f for f in INVALID if f.strict], ids=_ids(tuple(f for f in INVALID if f.strict))
)
def test_strict_only_fixture_is_valid_without_strict(fixture: Fixture) -> None:
    assert validate_event(fixture.read_bytes()).valid


@pytest.mark.parametrize("fixture", VALID, ids=_ids(VALID))
def test_valid_fixture_passes_a_stock_json_schema_validator(fixture: Fixture) -> None:
    # What a consumer without this package does: stock draft 2020-12 validation
    # of the envelope and then of the payload against the committed files.
    envelope = fixture.load()
    checker = Draft202012Validator.FORMAT_CHECKER
    Draft202012Validator(load_schema("Event"), format_checker=checker).validate(envelope)
    payload_schema = load_schema(envelope["event_type"])
    Draft202012Validator(payload_schema, format_checker=checker).validate(envelope["payload"])


# ------------------------------------------------------------------- replays


@pytest.mark.parametrize("fixture", REPLAYS, ids=_ids(REPLAYS))
def test_replay_matches_its_golden_byte_for_byte(fixture: Fixture) -> None:
    assert fixture.replay_json() == fixture.golden_bytes()


@pytest.mark.parametrize("fixture", REPLAYS, ids=_ids(REPLAYS))
def test_replay_golden_does_not_depend_on_line_order(fixture: Fixture) -> None:
    from connector_sync_contracts import replay

    events = fixture.events()
    assert replay(list(reversed(events))).to_json() == fixture.golden_bytes()


# ------------------------------------------------------------------- schemas


def test_committed_schemas_match_the_models() -> None:
    assert check_schemas() == []


@pytest.mark.parametrize("name", schema_names())
def test_committed_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["$id"] == schema_id(name)


def test_there_is_a_schema_for_every_event_type() -> None:
    assert set(schema_names()) == {"Event", *PAYLOAD_MODELS}
