"""Classification of schema changes: each class on synthetic pairs, then on real schema copies."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Final

import pytest

from connector_sync_contracts import compat
from connector_sync_contracts.compat import (
    ADDITIVE_CODES,
    BREAKING_CODES,
    CompatReport,
    SchemaChange,
    _edits,
    baseline_dir,
    check_compatibility,
    compare_schema_sets,
    compare_schemas,
    current_schemas,
    load_schema_set,
    schema_set_version,
)
from connector_sync_contracts.errors import SchemaSetError

BASE: Final[dict[str, Any]] = {
    "$id": "https://connector-sync-contracts.dev/schemas/2.7.0/Thing.json",
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"Color": {"enum": ["red", "green"], "type": "string"}},
    "additionalProperties": True,
    "description": "A thing.",
    "properties": {
        "name": {"description": "Name.", "minLength": 1, "maxLength": 10, "type": "string"},
        "size": {"minimum": 0, "maximum": 100, "type": "integer"},
        "ratio": {"type": "number"},
        "color": {"$ref": "#/$defs/Color", "description": "Color."},
        "code": {"pattern": "^[a-z]+$", "type": "string"},
        "when": {"format": "date-time", "type": "string"},
        "nick": {"type": ["string", "null"]},
        "tags": {"items": {"minLength": 1, "type": "string"}, "type": "array"},
    },
    "required": ["name", "size", "color"],
    "type": "object",
}


_TAKES_NOTHING: Final[tuple[Any, ...]] = (
    False,
    {"not": {}},
    {"not": True, "description": "reserved"},
    {"enum": []},
    {"allOf": [{"type": "string"}, False]},
    {"oneOf": [False, {"not": {"title": "nothing"}}]},
    # found by a second outside run
    {"oneOf": [True, True]},
    {"oneOf": [{}, {"description": "anything"}]},
    {"not": {"not": False}},
    {"not": {"type": ["array", "boolean", "null", "number", "object", "string"]}},
    {"if": True, "then": False},
    {"allOf": [{"type": "string"}, {"type": "integer"}]},
    {"type": "string", "enum": [1]},
    {"type": "string", "const": 1},
    {"type": "string", "minLength": 5, "maxLength": 2},
    {"type": "integer", "minimum": 5, "maximum": 1},
    {"type": []},
)
"""Schemas no value passes."""


def _changed(edit: Any) -> list[tuple[str, str, str]]:
    current = copy.deepcopy(BASE)
    edit(current)
    return [(c.kind, c.field, c.code) for c in compare_schemas("Thing", BASE, current)]


def _set(path: str, value: Any) -> Any:
    def edit(schema: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = schema
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _drop(path: str) -> Any:
    def edit(schema: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = schema
        for part in parents:
            node = node[part]
        del node[last]

    return edit


def test_identical_and_annotation_only_changes_are_no_change() -> None:
    def annotations(schema: dict[str, Any]) -> None:
        schema["description"] = "Another wording."
        schema["$id"] = "https://connector-sync-contracts.dev/schemas/2.8.0/Thing.json"
        schema["properties"]["name"]["description"] = "The name."
        schema["properties"]["name"]["title"] = "Name"
        schema["properties"]["size"]["$comment"] = "why"
        schema["properties"]["size"]["examples"] = [3]

    assert _changed(lambda s: None) == []
    assert _changed(annotations) == []


def test_moving_an_enum_into_defs_is_no_change() -> None:
    def inline(schema: dict[str, Any]) -> None:
        schema["properties"]["color"] = {"enum": ["red", "green"], "type": "string"}
        del schema["$defs"]

    assert _changed(inline) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # fields
        (
            lambda s: (
                s["properties"].update(extra={"type": "string"}),
                s["required"].append("extra"),
            ),
            [("breaking", "$.extra", "required_added")],
        ),
        (
            lambda s: s["properties"].update(extra={"type": "string"}),
            [("additive", "$.extra", "optional_field_added")],
        ),
        (
            lambda s: s["properties"].update(extra={"anyOf": [{"type": "string"}, {"not": {}}]}),
            [("additive", "$.extra", "optional_field_added")],
        ),
        # a new property no value passes: events that carry it (the schema was open) fail
        *(
            (
                lambda s, forbidding=forbidding: s["properties"].update(extra=forbidding),
                [("breaking", "$.extra", "constraint_tightened")],
            )
            for forbidding in _TAKES_NOTHING
        ),
        # another dialect reads the same keywords otherwise; an empty fragment names the same
        (
            _set("$schema", "http://json-schema.org/draft-04/schema#"),
            [("breaking", "$", "unclassified_change")],
        ),
        (_set("$schema", "https://json-schema.org/draft/2020-12/schema#"), []),
        # satisfiable new properties stay additive
        *(
            (
                lambda s, taking=taking: s["properties"].update(extra=taking),
                [("additive", "$.extra", "optional_field_added")],
            )
            for taking in (
                True,
                {},
                {"type": "integer", "minimum": 1, "maximum": 1},
                {"oneOf": [{"type": "string"}, {"type": "null"}]},
                {"type": ["string", "integer"], "enum": ["a", 2.0]},
            )
        ),
        # a $ref to a definition that takes nothing
        (
            lambda s: (
                s["$defs"].update(Never=False),
                s["properties"].update(extra={"$ref": "#/$defs/Never", "description": "x"}),
            ),
            [("breaking", "$.extra", "constraint_tightened")],
        ),
        # a $ref beside other keywords: both apply (draft 2020-12), found by an outside tester
        (
            lambda s: (
                s["$defs"].update(Z={"type": "integer"}),
                s["properties"]["name"].update({"$ref": "#/$defs/Z"}),
            ),
            [("breaking", "$.name", "unclassified_change")],
        ),
        (
            lambda s: (
                s["$defs"].update(Z={"minLength": 5}),
                s["properties"]["name"].update({"$ref": "#/$defs/Z"}),
            ),
            [("breaking", "$.name", "unclassified_change")],
        ),
        (
            lambda s: (
                s["$defs"].update(Z={"pattern": "^a"}),
                s["properties"]["name"].update({"$ref": "#/$defs/Z"}),
            ),
            [("breaking", "$.name", "constraint_tightened")],
        ),
        (
            lambda s: (s["$defs"].update(X={"required": ["zzz"]}), s.update({"$ref": "#/$defs/X"})),
            [("breaking", "$", "unclassified_change")],
        ),
        (
            lambda s: (
                s["$defs"].update(X={"additionalProperties": False}),
                s.update({"$ref": "#/$defs/X"}),
            ),
            [("breaking", "$", "unclassified_change")],
        ),
        (
            lambda s: (
                s["$defs"].update(X={"properties": {"size": {"maximum": 1}}}),
                s.update({"$ref": "#/$defs/X"}),
            ),
            [("breaking", "$", "unclassified_change")],
        ),
        # found by an outside tester of the gate: each passed as additive or no change
        *(
            (
                _set("properties.code.pattern", pattern),
                [("breaking", "$.code", "constraint_tightened")],
            )
            for pattern in (
                "^[a-z]*+[a-z]$",  # possessive: Python's re reads it, narrower than it looks
                "^[a-z\\W]+$",  # \\W: a Unicode class in Python's re, an ASCII one in ECMA-262
                "^(?P<x>[a-z]+)$",  # named group: ECMA-262 cannot read it
                "^(?i:[a-z]+)$",  # inline flags
            )
        ),
        (  # a percent-encoded fragment names the decoded key
            lambda s: (
                s["$defs"].update(
                    {
                        "Co lor": {"enum": ["red"], "type": "string"},
                        "Co%20lor": {"$ref": "#/$defs/Color"},
                    }
                ),
                s["properties"]["color"].update({"$ref": "#/$defs/Co%20lor"}),
            ),
            [("breaking", "$.color", "enum_value_removed")],
        ),
        (  # an $id inside makes its $refs name its own $defs: compared as written
            _set(
                "properties.color",
                {
                    "$id": "inner.json",
                    "$ref": "#/$defs/Color",
                    "$defs": {"Color": {"enum": ["red"], "type": "string"}},
                },
            ),
            [
                ("additive", "$.color", "constraint_loosened"),
                ("breaking", "$.color", "type_widened"),
                ("breaking", "$.color", "unclassified_change"),
            ],
        ),
        *(
            (
                lambda s, forbidding=forbidding: s["properties"].update(extra=forbidding),
                [("breaking", "$.extra", "constraint_tightened")],
            )
            for forbidding in (
                {"type": "string", "pattern": "(?!)"},
                {"type": "integer", "minimum": 0.5, "maximum": 0.7},
                {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                {"type": "number", "exclusiveMinimum": 1, "maximum": 1},
                {"type": "string", "const": "a", "minLength": 2},
                {"type": "string", "enum": ["ab"], "pattern": "^x"},
                {"type": "array", "minItems": 1, "items": False},
                {"type": "object", "required": ["a"], "properties": {"a": False}},
                {"$ref": "#/$defs/Color", "enum": ["blue"]},
            )
        ),
        # the same keywords, or only annotations, beside a $ref change nothing
        (
            lambda s: (
                s["$defs"].update(Z={"type": "string", "description": "same"}),
                s["properties"]["name"].update({"$ref": "#/$defs/Z"}),
            ),
            [],
        ),
        (_drop("properties.ratio"), [("breaking", "$.ratio", "field_removed")]),
        (
            lambda s: (s["properties"].pop("name"), s["required"].remove("name")),
            [("breaking", "$.name", "field_removed")],
        ),
        (lambda s: s["required"].remove("size"), [("breaking", "$.size", "field_made_optional")]),
        (lambda s: s["required"].append("ratio"), [("breaking", "$.ratio", "field_made_required")]),
        # types
        (_set("properties.ratio.type", "integer"), [("breaking", "$.ratio", "type_narrowed")]),
        (_set("properties.nick.type", "string"), [("breaking", "$.nick", "type_narrowed")]),
        (_set("properties.size.type", "number"), [("breaking", "$.size", "type_widened")]),
        (
            _set("properties.name.type", ["string", "null"]),
            [("breaking", "$.name", "type_widened")],
        ),
        (_set("properties.code.type", "integer"), [("breaking", "$.code", "type_changed")]),
        # enums (through the $ref)
        (_set("$defs.Color.enum", ["red"]), [("breaking", "$.color", "enum_value_removed")]),
        (
            _set("$defs.Color.enum", ["red", "green", "blue"]),
            [("additive", "$.color", "enum_value_added")],
        ),
        (
            _set("properties.code.enum", ["abc"]),
            [("breaking", "$.code", "constraint_tightened")],
        ),
        (_drop("$defs.Color.enum"), [("additive", "$.color", "constraint_loosened")]),
        # constraints
        (
            _set("properties.name.minLength", 2),
            [("breaking", "$.name", "constraint_tightened")],
        ),
        (_set("properties.name.minLength", 0), [("additive", "$.name", "constraint_loosened")]),
        (
            _set("properties.name.maxLength", 5),
            [("breaking", "$.name", "constraint_tightened")],
        ),
        (_drop("properties.name.maxLength"), [("additive", "$.name", "constraint_loosened")]),
        (_set("properties.size.minimum", 1), [("breaking", "$.size", "constraint_tightened")]),
        (_set("properties.size.maximum", 99), [("breaking", "$.size", "constraint_tightened")]),
        (_set("properties.size.maximum", 1000), [("additive", "$.size", "constraint_loosened")]),
        (
            _set("properties.ratio.exclusiveMinimum", 0),
            [("breaking", "$.ratio", "constraint_tightened")],
        ),
        (
            # Proven wider: every string the old pattern matches, the new one matches too.
            _set("properties.code.pattern", "^[a-z0-9]+$"),
            [("additive", "$.code", "constraint_loosened")],
        ),
        (
            # Written anew, the same strings: no change (not "widened").
            _set("properties.code.pattern", "^[a-z]*[a-z]$"),
            [],
        ),
        (
            _set("properties.code.pattern", "^[a-y]+$"),
            [("breaking", "$.code", "constraint_tightened")],
        ),
        (
            _set("properties.code.pattern", "^[0-9]+$"),
            [("breaking", "$.code", "constraint_tightened")],
        ),
        (
            # Not anchored: what it matches cannot be compared, so it counts as breaking.
            _set("properties.code.pattern", "[a-z]"),
            [("breaking", "$.code", "constraint_tightened")],
        ),
        (
            # Python-only syntax the automaton builder cannot read counts as breaking too.
            _set("properties.code.pattern", "^(?P<x>[a-z]+)(?P=x)$"),
            [("breaking", "$.code", "constraint_tightened")],
        ),
        (_drop("properties.code.pattern"), [("additive", "$.code", "constraint_loosened")]),
        (
            _set("properties.nick.pattern", "^x"),
            [("breaking", "$.nick", "constraint_tightened")],
        ),
        (_set("properties.nick.format", "email"), [("breaking", "$.nick", "constraint_tightened")]),
        (_drop("properties.when.format"), [("additive", "$.when", "constraint_loosened")]),
        (
            _set("properties.tags.items.minLength", 3),
            [("breaking", "$.tags[*]", "constraint_tightened")],
        ),
        (
            _set("properties.tags.uniqueItems", True),
            [("breaking", "$.tags", "constraint_tightened")],
        ),
        # additionalProperties
        (
            _set("additionalProperties", False),
            [("breaking", "$", "additional_properties_closed")],
        ),
        (_drop("additionalProperties"), []),
        # anything the classifier does not know is treated as breaking
        (
            _set("properties.ratio.oneOf", [{"type": "number"}]),
            [("breaking", "$.ratio", "unclassified_change")],
        ),
    ],
)
def test_each_class_of_change(edit: Any, expected: list[tuple[str, str, str]]) -> None:
    assert _changed(edit) == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("^[a-z0-9]+$", 'pattern widened: "" -> "0-9"'),
        ("^(?:[a-z]+|[0-9]+)$", 'pattern widened: "" -> "(?:", "" -> "|[0-9]+)"'),
        ("^[a-z]+(?:-[a-z]+)*$", 'pattern widened: "" -> "(?:-[a-z]+)*"'),
    ],
)
def test_a_widened_pattern_shows_what_was_added(pattern: str, reason: str) -> None:
    widened = copy.deepcopy(BASE)
    widened["properties"]["code"]["pattern"] = pattern
    [change] = compare_schemas("Thing", BASE, widened)
    assert (change.code, change.reason) == ("constraint_loosened", reason)


@pytest.mark.parametrize(
    "pattern",
    [
        "^(a|b)*a(a|b){20}$",  # an automaton of 2**20 states
        "^(?:[a-z]{1,100}){1,100}$",  # of the product of its repeats
    ],
)
def test_a_pattern_too_costly_to_compare_is_breaking_within_the_bound(
    pattern: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wider than ^[a-z]+$ in truth for the second, but not proven within the bound:
    # the gate fails closed, and it does not hang.
    monkeypatch.setattr(compat, "_PATTERN_SECONDS", 1.0)
    compat._in_child.cache_clear()
    costly = copy.deepcopy(BASE)
    costly["properties"]["code"]["pattern"] = pattern
    [change] = compare_schemas("Thing", BASE, costly)
    assert (change.kind, change.code) == ("breaking", "constraint_tightened")
    compat._in_child.cache_clear()


def test_a_pattern_rewritten_in_many_places_is_shown_whole() -> None:
    # More pieces than a reader follows: the new pattern (shortened when long).
    assert _edits("a1234b1234c1234d1234e", "aX1234bX1234cX1234dX1234e") == (
        '"aX1234bX1234cX1234dX1234e"'
    )
    assert _edits("a1234b1234c1234e", "aX1234bX1234cX1234e") == ('"" -> "X", "" -> "X", "" -> "X"')


def test_the_envelope_constraining_a_payload_field_is_breaking() -> None:
    # Found by an outside tester: a payload's fields are its event type's, so a new
    # property under the envelope's payload is not new, and was taken as additive.
    envelope = current_schemas()["Event"]
    for constraint in ({"type": "string", "maxLength": 3}, {"type": "integer"}):
        candidate = copy.deepcopy(envelope)
        candidate["properties"]["payload"]["properties"] = {"connector_id": constraint}
        assert [
            (c.kind, c.field, c.code) for c in compare_schemas("Event", envelope, candidate)
        ] == [("breaking", "$.payload.connector_id", "constraint_tightened")]
    candidate = copy.deepcopy(envelope)
    candidate["properties"]["payload"]["properties"] = {"connector_id": {"description": "x"}}
    assert compare_schemas("Event", envelope, candidate) == ()


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            lambda text: text.replace('"type": "object"', '"type": "object", "type": "string"', 1),
            "is written more than once",
        ),
        (lambda text: text.replace('"minLength": 1', '"minLength": NaN', 1), "NaN is not JSON"),
        (lambda text: text.replace('"#/$defs/', '"#/$defs/Missing', 1), "names nothing in it"),
    ],
    ids=["repeated-key", "nan", "dangling-ref"],
)
def test_a_schema_file_the_gate_cannot_read_one_way_is_refused(
    tmp_path: Path, edit: Any, said: str
) -> None:
    folder = tmp_path / "candidate"
    shutil.copytree(baseline_dir("2.7.0"), folder)
    target = folder / "ConnectorProvisioned.json"
    text = target.read_text()
    changed = edit(text)
    assert changed != text
    target.write_text(changed)
    with pytest.raises(SchemaSetError, match=said):
        load_schema_set(folder)


def test_two_files_of_one_id_and_a_version_with_a_leading_zero_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "candidate"
    shutil.copytree(baseline_dir("2.7.0"), folder)
    revoked = json.loads((folder / "ConnectorRevoked.json").read_text())
    checked = json.loads((folder / "ConnectorHealthChecked.json").read_text())
    checked["$id"] = revoked["$id"]
    (folder / "ConnectorHealthChecked.json").write_text(json.dumps(checked))
    with pytest.raises(SchemaSetError, match=r"its \$id is ConnectorHealthChecked\.json's too"):
        load_schema_set(folder)
    shutil.rmtree(folder)
    shutil.copytree(baseline_dir("2.7.0"), folder)
    for path in folder.glob("*.json"):
        path.write_text(path.read_text().replace("/schemas/2.7.0/", "/schemas/03.0.0/"))
    with pytest.raises(SchemaSetError, match="do not name one contract version"):
        load_schema_set(folder)


def test_opening_additional_properties_is_additive() -> None:
    closed = copy.deepcopy(BASE) | {"additionalProperties": False}
    changes = compare_schemas("Thing", closed, BASE)
    assert [(c.kind, c.code) for c in changes] == [("additive", "additional_properties_opened")]


def test_several_changes_are_all_reported_in_order() -> None:
    def many(schema: dict[str, Any]) -> None:
        schema["properties"]["size"]["minimum"] = 5
        schema["properties"]["extra"] = {"type": "string"}
        del schema["properties"]["ratio"]

    assert _changed(many) == [
        ("additive", "$.extra", "optional_field_added"),
        ("breaking", "$.ratio", "field_removed"),
        ("breaking", "$.size", "constraint_tightened"),
    ]


def test_event_types_removed_and_added() -> None:
    changes = compare_schema_sets({"A": BASE, "B": BASE}, {"B": BASE, "C": BASE})
    assert [(c.schema, c.kind, c.code) for c in changes] == [
        ("A", "breaking", "schema_removed"),
        ("C", "additive", "schema_added"),
    ]


def test_codes_are_partitioned() -> None:
    assert not BREAKING_CODES & ADDITIVE_CODES
    change = SchemaChange("Thing", "$.x", "field_removed", "property 'x' removed")
    assert str(change) == "breaking: Thing: $.x: field_removed: property 'x' removed"
    assert change.to_dict()["kind"] == "breaking"


# ------------------------------------------------------------------ real schema copies


def _write(directory: Path, schemas: dict[str, dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (directory / f"{name}.json").write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return directory


def test_removing_a_required_field_from_a_copy_is_breaking(tmp_path: Path) -> None:
    schemas = current_schemas()
    baseline = _write(tmp_path / "baseline", schemas)
    edited = copy.deepcopy(schemas)
    target = edited["ConnectorHealthChecked"]
    del target["properties"]["latency_ms"]
    target["required"].remove("latency_ms")
    report = check_compatibility(baseline, _write(tmp_path / "current", edited))
    assert [(c.schema, c.field, c.code) for c in report.breaking] == [
        ("ConnectorHealthChecked", "$.latency_ms", "field_removed")
    ]
    assert not report.passes


def test_adding_an_optional_field_to_a_copy_is_additive(tmp_path: Path) -> None:
    schemas = current_schemas()
    baseline = _write(tmp_path / "baseline", schemas)
    edited = copy.deepcopy(schemas)
    edited["SyncIngestAccepted"]["properties"]["batch_label"] = {
        "description": "Optional human label of the batch.",
        "type": "string",
    }
    report = check_compatibility(baseline, _write(tmp_path / "current", edited))
    assert [(c.schema, c.field, c.kind, c.code) for c in report.changes] == [
        ("SyncIngestAccepted", "$.batch_label", "additive", "optional_field_added")
    ]
    assert report.passes


def _with_version(schemas: dict[str, dict[str, Any]], version: str) -> dict[str, dict[str, Any]]:
    out = copy.deepcopy(schemas)
    for name, schema in out.items():
        schema["$id"] = f"https://connector-sync-contracts.dev/schemas/{version}/{name}.json"
    return out


def test_breaking_changes_pass_only_with_a_new_major_version(tmp_path: Path) -> None:
    schemas = current_schemas()
    baseline = _write(tmp_path / "baseline", _with_version(schemas, "2.7.0"))
    for version, passes in [("2.8.0", False), ("3.0.0", True)]:
        edited = _with_version(schemas, version)
        del edited["ConnectorRevoked"]
        report = check_compatibility(baseline, _write(tmp_path / version, edited))
        assert report.baseline_version == "2.7.0"
        assert report.current_version == version
        assert [c.code for c in report.breaking] == ["schema_removed"]
        assert report.major_moved is passes
        assert report.passes is passes
        assert report.to_dict()["passes"] is passes


def test_unknown_baseline_version_never_excuses_a_breaking_change() -> None:
    removed = (SchemaChange("X", "$", "schema_removed", "gone"),)
    assert not CompatReport(None, "3.0.0", removed).passes
    assert CompatReport(None, "3.0.0", ()).passes
    assert schema_set_version({"A": {"$id": "https://x/schemas/1.0.0/A.json"}, "B": {}}) is None
