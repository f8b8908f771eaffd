"""The compatibility gate: no breaking schema change within a major version, and it fails closed.

Every released contract version ships its committed schemas as a baseline
(``compat/baselines/<version>/``). The current schemas must be a
backward-compatible evolution of each of them, unless the package's major
version is above the baseline's. When a change is reported here, either
make it additive (a new optional field, a looser constraint) or release a
new major version. A folder that is not a schema set of this contract is
an error, never a pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from connector_sync_contracts import CONTRACT_VERSION, SchemaSetError
from connector_sync_contracts.compat import (
    baseline_dir,
    baseline_versions,
    check_compatibility,
    load_schema_set,
    schema_set_version,
)


def test_the_first_release_ships_as_a_baseline() -> None:
    assert baseline_versions()[0] == "2.7.0"
    assert (baseline_dir("2.7.0") / "Event.json").is_file()


@pytest.mark.parametrize("version", baseline_versions())
def test_baseline_is_labelled_with_its_own_version(version: str) -> None:
    assert schema_set_version(load_schema_set(baseline_dir(version))) == version


@pytest.mark.parametrize("version", baseline_versions())
def test_no_breaking_change_within_a_major_version(version: str) -> None:
    report = check_compatibility(version)
    assert report.current_version == CONTRACT_VERSION
    listing = "\n".join(str(change) for change in report.breaking)
    assert report.passes, (
        f"breaking schema changes against baseline {version} while the major version "
        f"is still {CONTRACT_VERSION.split('.')[0]}:\n{listing}"
    )


def test_a_version_or_a_folder_names_the_same_baseline() -> None:
    assert check_compatibility("2.7.0") == check_compatibility(baseline_dir("2.7.0"))


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "baseline"
    shutil.copytree(baseline_dir("2.7.0"), folder)
    return folder


def _edit(folder: Path, change: Any) -> None:
    path = folder / "Event.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema), encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda folder: [path.unlink() for path in folder.glob("*.json")], "no schema files"),
        (lambda folder: (folder / "Event.json").unlink(), "no envelope schema Event.json"),
        (
            lambda folder: [
                path.unlink() for path in folder.glob("*.json") if path.name != "Event.json"
            ],
            "none of this package's event types",
        ),
        (lambda folder: (folder / "Event.json").write_text("[1, 2]"), "not a JSON Schema"),
        (lambda folder: (folder / "Event.json").write_text("{"), "not a JSON file"),
        (
            lambda folder: (folder / "Event.json").write_text(
                json.dumps(
                    {
                        "$schema": "https://json-schema.org/draft/2020-12/schema",
                        "$id": "https://x/schemas/9.0.0/Event.json",
                    }
                )
            ),
            "do not name one contract version",
        ),
        (
            lambda folder: _edit(folder, lambda s: s.update({"$schema": "x"})),
            r"\$schema 'x' names no dialect known here",
        ),
        # Found by an outside run: read letter by letter, or a traceback.
        (
            lambda folder: _edit(folder, lambda s: s.update(required="event_id")),
            r"of its dialect \('event_id' is not of type 'array', at required\)",
        ),
        (
            lambda folder: _edit(folder, lambda s: s.update(properties=[])),
            "not a valid JSON Schema of its dialect",
        ),
        (
            lambda folder: _edit(
                folder, lambda s: s["properties"]["lamport_clock"].update(minimum="x")
            ),
            "not a valid JSON Schema of its dialect",
        ),
    ],
    ids=[
        "empty",
        "no-envelope",
        "no-event-type",
        "not-a-schema",
        "not-json",
        "mixed-versions",
        "unknown-dialect",
        "required-a-string",
        "properties-a-list",
        "minimum-a-string",
    ],
)
def test_a_folder_that_is_not_a_schema_set_is_an_error(
    tmp_path: Path, spoil: object, reason: str
) -> None:
    folder = _copy(tmp_path)
    spoil(folder)  # type: ignore[operator]
    with pytest.raises(SchemaSetError, match=reason):
        check_compatibility(folder)
    with pytest.raises(SchemaSetError, match=reason):
        check_compatibility("2.7.0", folder)


def test_an_unknown_version_or_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaSetError, match=r"no shipped baseline '9\.9\.9'; shipped: 2\.7\.0"):
        check_compatibility("9.9.9")
    with pytest.raises(SchemaSetError, match="not a folder"):
        check_compatibility(tmp_path / "missing")
    one_schema = tmp_path / "Event.json"
    one_schema.write_text("{}")
    with pytest.raises(SchemaSetError, match=r"Event\.json is a file; a baseline is a version"):
        check_compatibility(str(one_schema))


def _without_descriptions(node: object, case_blind_t_and_z: bool = False) -> object:
    """A schema without its descriptions and comments (wording that validates nothing);
    date-time patterns read with T and Z only."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("description", "$comment"):
                continue
            if key == "pattern" and case_blind_t_and_z and value.startswith("^[0-9]{4}-"):
                value = value.replace("[Tt]", "T").replace("[Zz]", "Z")
            out[key] = _without_descriptions(value, case_blind_t_and_z)
        return out
    if isinstance(node, list):
        return [_without_descriptions(item, case_blind_t_and_z) for item in node]
    return node


def test_since_the_release_the_schemas_changed_only_as_compatibility_md_says() -> None:
    # COMPATIBILITY.md ("Since the 2.7.0 release") tells consumers holding the
    # release's files that the current schemas, under the same $ids, differ
    # only in date-time patterns that also take a lower-case t and z (and in
    # descriptions and $comments). Any other change to them must be told there too.
    released = baseline_dir("2.7.0")
    current = released.parents[2] / "schemas"
    names = sorted(path.name for path in released.glob("*.json"))
    assert names == sorted(path.name for path in current.glob("*.json"))
    for name in names:
        old = json.loads((released / name).read_text(encoding="utf-8"))
        new = json.loads((current / name).read_text(encoding="utf-8"))
        assert _without_descriptions(new, True) == _without_descriptions(old), name
    report = check_compatibility("2.7.0")
    assert (len(report.breaking), len(report.additive)) == (0, 14)
