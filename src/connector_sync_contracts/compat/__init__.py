"""Schema compatibility gate: classify every change against a baseline as additive or breaking.

Within a major version every change must be additive (``COMPATIBILITY.md``,
FR-010): every event the baseline's schemas accept, the new ones accept too
(stored events and older producers keep passing), and no field changes its
type, so a consumer built against an older release still reads every field
it knows as the type it knows. What a newer producer may add is told apart
by an older consumer's schemas, not misread: a new optional field passes, a
new enum value, event type or a loosened constraint is reported there
(``enum``, ``unknown_event_type``, ``pattern`` ...). This module compares the committed
JSON Schemas with a baseline set (a released version's schemas, shipped in
``compat/baselines/<version>/``, or any folder of ``<name>.json`` files) and names, per change,
the schema, the field (a JSON path into the instance), a stable code and the
reason.

Breaking (a consumer or a stored event can break):

* ``schema_removed`` an event type (or the envelope) disappeared
* ``field_removed`` a property disappeared
* ``required_added`` a new property is required
* ``field_made_required`` / ``field_made_optional`` required-ness changed
* ``type_narrowed`` / ``type_changed`` / ``type_widened`` fewer, other or
  more JSON types (field types never change within a major version: an
  ``integer`` that may become a ``number`` or ``null`` breaks a consumer
  that decodes it into an integer)
* ``enum_value_removed`` a value is no longer allowed
* ``constraint_tightened`` minLength/maxLength/minimum/maximum/pattern/format ...
  added, moved inward or changed, or values newly restricted to an enum
* ``additional_properties_closed`` unknown fields are no longer allowed
* ``unclassified_change`` any other keyword changed (conservative)

Additive: ``schema_added``, ``optional_field_added``, ``enum_value_added``,
``constraint_loosened``, ``additional_properties_opened``.
Annotations (``description``, ``title``, ``$comment``, ``examples``,
``default``) and the version inside ``$id`` are ignored. Local ``$ref``s are
resolved before comparing, so moving an enum into ``$defs`` is no change; a
``$ref`` beside other keywords takes what both its target and they take.

A changed ``pattern`` is ``constraint_loosened`` only when every string the
old pattern matches is proven to match the new one (both anchored, compared
as automata), and no change when each matches the same strings as the
other; anything the proof cannot decide is breaking.

A breaking change passes the gate only when the major version moved: the
baseline's version is read from its ``$id``s, the current one is
``CONTRACT_VERSION``.

The gate fails closed: a baseline (or candidate) that is not a schema set
of this contract (an empty or wrong folder, files that are not JSON
Schemas, no envelope schema, no event type of this package, ``$id``s that
do not name one version) raises ``SchemaSetError`` instead of reporting
every schema as added.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast
from urllib.parse import unquote

from ..contract.catalog import EVENT_FAMILIES
from ..contract.version import CONTRACT_VERSION
from ..errors import SchemaSetError
from ..io import os_error_reason, read_small
from ..validation.input import repeated_keys
from ..validation.paths import Wildcard, json_path
from . import _automata
from ._automata import Relation

__all__ = [
    "ADDITIVE_CODES",
    "BREAKING_CODES",
    "CompatReport",
    "SchemaChange",
    "baseline_dir",
    "baseline_versions",
    "check_compatibility",
    "compare_schema_sets",
    "compare_schemas",
    "current_schemas",
    "load_schema_dir",
    "load_schema_set",
    "schema_set_version",
]

ChangeKind = Literal["additive", "breaking"]

BREAKING_CODES: Final = frozenset(
    {
        "schema_removed",
        "field_removed",
        "required_added",
        "field_made_required",
        "field_made_optional",
        "type_narrowed",
        "type_changed",
        "type_widened",
        "enum_value_removed",
        "constraint_tightened",
        "additional_properties_closed",
        "unclassified_change",
    }
)
"""Codes of changes that break consumers (allowed only with a new major version)."""

ADDITIVE_CODES: Final = frozenset(
    {
        "schema_added",
        "optional_field_added",
        "enum_value_added",
        "constraint_loosened",
        "additional_properties_opened",
    }
)
"""Codes of backward-compatible changes."""

_ANNOTATIONS: Final = frozenset(
    {
        "$comment",
        "$defs",
        "$id",
        "default",
        "definitions",
        "deprecated",
        "description",
        "examples",
        "readOnly",
        "title",
        "writeOnly",
    }
)
_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT: Final = ("pattern", "format", "multipleOf", "uniqueItems")
_STRUCTURE: Final = frozenset(
    {"type", "enum", "const", "properties", "required", "additionalProperties", "items"}
)
_HANDLED: Final = _ANNOTATIONS | _STRUCTURE | set(_LOWER_BOUNDS) | set(_UPPER_BOUNDS) | set(_EXACT)
_ALL_TYPES: Final = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_NUMBER: Final = r"(?:0|[1-9][0-9]*)"  # semver: no leading zero (03 would read as 3)
_VERSION_IN_ID: Final = re.compile(rf"/schemas/({_NUMBER}\.{_NUMBER}\.{_NUMBER})/[^/]+\Z")
_RELEASE: Final = re.compile(rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}")
_MAX_REF_DEPTH: Final = 32
ENVELOPE_NAME: Final = "Event"
"""The envelope's schema in a set (``Event.json``); every other is an event type's payload."""
SCHEMA_FILE_LIMIT: Final = 16 * 2**20
"""The largest schema file read (16 MiB; this contract's are under 20 kB)."""
_ADJACENT: Final = (
    frozenset({"properties", "patternProperties", "additionalProperties", "unevaluatedProperties"}),
    frozenset({"prefixItems", "items", "unevaluatedItems"}),
    frozenset({"contains", "minContains", "maxContains"}),
    frozenset({"if", "then", "else"}),
)
"""Keywords that read their neighbours' results: merged only from one side."""

_Path = tuple[str | int | Wildcard, ...]


@dataclass(frozen=True, slots=True, order=True)
class SchemaChange:
    """One difference between a baseline schema and the current one."""

    schema: str
    """Schema name: ``Event`` or an event type."""
    field: str
    """JSON path of the affected value in an instance, e.g. ``$.latency_ms`` (``$``: the whole)."""
    code: str
    """Stable code, from ``BREAKING_CODES`` or ``ADDITIVE_CODES``."""
    reason: str
    """What changed, e.g. ``minLength 1 -> 3``."""

    @property
    def kind(self) -> ChangeKind:
        """``breaking`` or ``additive``."""
        return "breaking" if self.code in BREAKING_CODES else "additive"

    def __str__(self) -> str:
        return f"{self.kind}: {self.schema}: {self.field}: {self.code}: {self.reason}"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "schema": self.schema,
            "field": self.field,
            "code": self.code,
            "reason": self.reason,
        }


def _major(version: str | None) -> int | None:
    return None if version is None else int(version.split(".")[0])


@dataclass(frozen=True, slots=True)
class CompatReport:
    """Every change between a baseline set and the current schemas, and the gate's verdict."""

    baseline_version: str | None
    """Version of the baseline (from its ``$id``s); None when it cannot be told."""
    current_version: str
    """Version of the current schemas."""
    changes: tuple[SchemaChange, ...]
    """Every change, ordered by (schema, field, code, reason)."""

    @property
    def breaking(self) -> tuple[SchemaChange, ...]:
        """The breaking changes."""
        return tuple(change for change in self.changes if change.kind == "breaking")

    @property
    def additive(self) -> tuple[SchemaChange, ...]:
        """The additive changes."""
        return tuple(change for change in self.changes if change.kind == "additive")

    @property
    def major_moved(self) -> bool:
        """Whether the current major version is above the baseline's (unknown baseline: no)."""
        baseline = _major(self.baseline_version)
        current = _major(self.current_version)
        return baseline is not None and current is not None and current > baseline

    @property
    def passes(self) -> bool:
        """True when there is no breaking change, or the major version moved."""
        return not self.breaking or self.major_moved

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "baseline_version": self.baseline_version,
            "current_version": self.current_version,
            "major_moved": self.major_moved,
            "passes": self.passes,
            "changes": [change.to_dict() for change in self.changes],
        }


# ------------------------------------------------------------------ one schema


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    """What the local ``$ref`` ``ref`` (``#/...``) names in ``root``; ``KeyError``,
    ``IndexError`` or ``ValueError`` when nothing (an anchor, ``#name``, is not looked up).

    The fragment is percent-decoded first, then split, then ``~1`` and ``~0``
    read (RFC 3986, RFC 6901): ``#/$defs/Actor%20Type`` names ``Actor Type``.
    """
    fragment = unquote(ref[1:], errors="strict")
    if fragment and not fragment.startswith("/"):
        raise KeyError(ref)
    node: Any = root
    for part in fragment.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _resolve(node: Any, root: Mapping[str, Any], depth: int = 0, *, nested: bool = False) -> Any:
    """Inline local ``$ref``s: a ``$ref`` beside other keywords is the ``_conjunction``
    of its target and them, as draft 2020-12 applies both.

    A subschema with an ``$id`` of its own (``nested``: below the top) is a new base
    for the ``$ref``s inside it, which then name its own ``$defs``, not the root's:
    it is left as it is, so that any change there is compared as written
    (``unclassified_change`` unless the baseline has the same).
    """
    if isinstance(node, list):
        return [_resolve(item, root, depth, nested=True) for item in node]
    if not isinstance(node, dict) or (nested and "$id" in node):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and depth < _MAX_REF_DEPTH:
        try:
            target = _pointer(root, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            target = None
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if isinstance(target, dict):
            return _resolve(_conjunction(target, siblings), root, depth + 1, nested=nested)
        if isinstance(target, bool):  # a boolean schema: no sibling can widen false
            if not siblings or not target:
                return target
            return _resolve(siblings, root, depth, nested=nested)
    return {key: _resolve(value, root, depth, nested=True) for key, value in node.items()}


def _conjunction(target: dict[str, Any], siblings: dict[str, Any]) -> dict[str, Any]:
    """One schema taking what both ``target`` and ``siblings`` take.

    Their keywords are merged (annotations: the siblings') when that is exact:
    no keyword on both sides with different values, and no group of keywords
    that read each other (``properties`` and ``additionalProperties`` ...)
    split between them. Otherwise the target joins the siblings' ``allOf``
    (what ``$ref`` means), compared as any other keyword: a change unless the
    baseline has the same.
    """
    shared = (target.keys() & siblings.keys()) - _ANNOTATIONS
    differ = any(target[key] != siblings[key] for key in shared)
    for group in _ADJACENT:
        mine = {key: target[key] for key in group & target.keys()}
        theirs = {key: siblings[key] for key in group & siblings.keys()}
        differ = differ or (bool(mine) and bool(theirs) and mine != theirs)
    if not differ:
        return {**target, **siblings}
    every = siblings.get("allOf")
    return {**siblings, "allOf": [*(every if isinstance(every, list) else []), target]}


def _types(node: Mapping[str, Any]) -> frozenset[str]:
    value = node.get("type")
    if value is None:
        return _ALL_TYPES
    return frozenset([value] if isinstance(value, str) else value)


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _show_types(types: frozenset[str]) -> str:
    return "any" if types == _ALL_TYPES else "|".join(sorted(types))


def _values(node: Mapping[str, Any]) -> dict[str, Any] | None:
    # enum and const both restrict values; canonical JSON makes them hashable.
    if "const" in node:
        values = [node["const"]]
    elif isinstance(node.get("enum"), list):
        values = node["enum"]
    else:
        return None
    return {json.dumps(value, sort_keys=True): value for value in values}


def _open(node: Mapping[str, Any]) -> bool:
    return node.get("additionalProperties", True) is not False


def _dialect(uri: Any) -> Any:
    """A ``$schema`` URI without an empty fragment (``.../schema#`` names ``.../schema``)."""
    return uri[:-1] if isinstance(uri, str) and uri.endswith("#") else uri


def _takes_everything(node: Any) -> bool:
    """Whether a schema provably takes every value: ``true``, ``{}`` (annotations
    aside), or the negation of one that takes nothing."""
    if node is True:
        return True
    if not isinstance(node, dict):
        return False
    keys = node.keys() - _ANNOTATIONS
    if keys == {"type"}:
        return _covers(_types(node), _ALL_TYPES)
    return not keys or (keys == {"not"} and _takes_nothing(node["not"]))


def _takes_nothing(node: Any) -> bool:
    """Whether a schema provably takes no value.

    By rules, not by a prover: ``false``; the negation of a schema that takes
    everything; an empty ``enum`` or ``type``; ``enum``/``const`` values none of
    which is of the declared type; bounds that cross (``minLength`` over
    ``maxLength``, ``minimum`` over ``maximum``); an ``allOf`` with a branch that
    takes nothing or branches whose types share none; an ``anyOf``/``oneOf``
    whose branches all take nothing, a ``oneOf`` with two that take everything;
    an ``if`` that takes everything with a ``then`` that takes nothing.
    """
    if node is False:
        return True
    if not isinstance(node, dict):
        return False
    types = _types(node)
    values = _values(node)
    every = node.get("allOf")
    rules = (
        _takes_everything(node.get("not", False)),
        not types,
        values is not None and not any(_of_types(v, types) for v in values.values()),
        _crossed(node, "minLength", "maxLength"),
        _crossed(node, "minimum", "maximum"),
        _crossed(node, "minItems", "maxItems"),
        isinstance(every, list) and any(_takes_nothing(branch) for branch in every),
        isinstance(every, list)
        and not frozenset.intersection(
            _ALL_TYPES, *(_types(b) for b in every if isinstance(b, dict))
        ),
        _takes_everything(node.get("if", False)) and _takes_nothing(node.get("then", True)),
        types <= {"integer", "number"} and _no_number_between(node, integers=types == {"integer"}),
        types == {"array"}
        and _number(node.get("minItems", 0)) >= 1
        and "prefixItems" not in node
        and _takes_nothing(node.get("items", True)),
        types == {"object"}
        and any(
            _takes_nothing(node.get("properties", {}).get(name, True))
            for name in node.get("required", ())
            if isinstance(name, str)
        ),
    )
    # The costly rules last, asked only when the others found nothing: a validator
    # built per enum value, an automaton built in a child process.
    if (
        any(rules)
        or (values is not None and not any(_valid_under(node, v) for v in values.values()))
        or (types == {"string"} and _matches_nothing(node.get("pattern")))
    ):
        return True
    branches = [node.get(key) for key in ("anyOf", "oneOf")]
    if any(isinstance(b, list) and b and all(_takes_nothing(x) for x in b) for b in branches):
        return True
    one = node.get("oneOf")
    return isinstance(one, list) and sum(map(_takes_everything, one)) >= 2


def _number(value: object) -> float:
    """``value`` as a bound when it is a JSON number, else 0."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _valid_under(node: Mapping[str, Any], value: object) -> bool:
    """Whether one of an ``enum``'s values passes the rest of ``node`` (``const``
    ``"a"`` with ``minLength`` 2 passes nothing); a schema ``jsonschema`` cannot
    apply counts as passing it (not proven to take nothing)."""
    from jsonschema import Draft202012Validator

    try:
        return bool(Draft202012Validator(dict(node)).is_valid(value))
    except Exception:  # a pattern Python cannot read, a keyword's wrong type
        return True


def _no_number_between(node: Mapping[str, Any], *, integers: bool) -> bool:
    """Whether ``node``'s bounds (``minimum``, ``exclusiveMinimum`` ...) leave no
    number between them, or no integer when only integers are taken."""
    bounds: dict[str, float] = {}
    for key in (*_LOWER_BOUNDS[:2], *_UPPER_BOUNDS[:2]):
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
            return False
        if value is not None:
            bounds[key] = value
    low, high = bounds.get("minimum", -math.inf), bounds.get("maximum", math.inf)
    low_open, high_open = "exclusiveMinimum" in bounds, "exclusiveMaximum" in bounds
    if low_open and bounds["exclusiveMinimum"] >= low:
        low = bounds["exclusiveMinimum"]
    else:
        low_open = False
    if high_open and bounds["exclusiveMaximum"] <= high:
        high = bounds["exclusiveMaximum"]
    else:
        high_open = False
    if low > high or (low == high and (low_open or high_open)):
        return True
    if not (integers and math.isfinite(low) and math.isfinite(high)):
        return False
    first = math.floor(low) + 1 if low_open else math.ceil(low)
    last = math.ceil(high) - 1 if high_open else math.floor(high)
    return first > last


def _crossed(node: Mapping[str, Any], low: str, high: str) -> bool:
    lower, upper = node.get(low), node.get(high)
    numbers = (int, float)
    return (
        isinstance(lower, numbers)
        and isinstance(upper, numbers)
        and not isinstance(lower, bool)
        and not isinstance(upper, bool)
        and lower > upper
    )


def _of_types(value: Any, types: frozenset[str]) -> bool:
    """Whether a JSON value is of one of ``types`` (an integral number is an integer)."""
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return bool(types & {"integer", "number"})
    elif isinstance(value, float):
        kind = "number"
    elif value is None:
        kind = "null"
    elif isinstance(value, str):
        kind = "string"
    else:
        kind = "array" if isinstance(value, list) else "object"
    return kind in types


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _edits(before: str, after: str, *, most: int = 3) -> str:
    """What changed from ``before`` to ``after`` (two patterns), as ``"T" -> "[Tt]"``
    pieces: edits a few characters apart are one piece. More than ``most``
    pieces: ``after`` itself, shortened (a rewrite is read whole)."""
    changes = SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    pieces: list[list[int]] = []
    for kind, i1, i2, j1, j2 in changes:
        if kind == "equal":
            continue
        if pieces and i1 - pieces[-1][1] <= 3 and j1 - pieces[-1][3] <= 3:
            pieces[-1][1], pieces[-1][3] = i2, j2
        else:
            pieces.append([i1, i2, j1, j2])
    if not pieces or len(pieces) > most:
        return _short(after)
    return ", ".join(
        f"{_short(before[i1:i2])} -> {_short(after[j1:j2])}" for i1, i2, j1, j2 in pieces
    )


_PATTERN_SECONDS: Final = 10.0
"""Longest a comparison of two patterns may take before it counts as unproven."""


def _pattern_relation(old: object, new: object) -> Relation:
    """Whether ``new`` is proven to match every string ``old`` matches (both ``^...$``):
    ``wider`` (and more), ``same`` (exactly those), else ``unproven``.

    The two patterns are compiled to finite automata (``interegular``) and
    ``L(old) - L(new)`` must be empty. A pattern that is not anchored at both
    ends, that the automaton builder cannot read, or whose comparison takes
    more than ``_PATTERN_SECONDS``, is never proven
    wider: the gate then calls the change breaking (it fails closed).
    """
    if not (isinstance(old, str) and isinstance(new, str)):
        return "unproven"
    if not all(p.startswith("^") and p.endswith("$") and not p.endswith("\\$") for p in (old, new)):
        return "unproven"
    if not (_portable(old) and _portable(new)):
        return "unproven"
    return _automata_relation(old[1:-1], new[1:-1])


_SAME_ESCAPES: Final = frozenset("\\/.-^$|?*+()[]{}nrtfv0")
"""Characters whose escape means one thing in ECMA-262, in Python's ``re`` and to the
automata (with ``x``, ``u`` and their hex digits): ``\\d``, ``\\w``, ``\\s`` and
their negations are Unicode classes in Python's ``re``, ASCII ones in ECMA-262 (``\\s``
aside) and in this package's engines; ``\\b``, ``\\A``, ``\\Z`` and back-references
differ more."""

_SAME_GROUPS: Final = (":", "=", "!", "<=", "<!")
"""What may follow ``(?``: a plain group and the lookarounds."""


def _portable(pattern: str) -> bool:
    """Whether ``pattern`` uses only what means one thing to every reader of it.

    Python's ``re`` also reads possessive quantifiers (``*+``), atomic and
    named groups, inline flags and conditionals, which ECMA-262 refuses or
    reads otherwise, and which the automata may read as something else (a
    possessive ``*+`` as a repeat of a repeat, found wider where it is
    narrower): a pattern that holds one is never proven wider.
    """
    at, in_class, quantified = 0, False, False
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            escaped = pattern[at + 1 : at + 2]
            if escaped not in _SAME_ESCAPES and escaped not in ("x", "u"):
                return False
            at, quantified = at + 2, False
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(" and pattern.startswith("(?", at):
            if not pattern.startswith(_SAME_GROUPS, at + 2):
                return False
        elif char == "+" and quantified:  # a possessive quantifier
            return False
        quantified = not in_class and char in "*+?}"
        at += 1
    return True


def _matches_nothing(pattern: object) -> bool:
    """Whether a ``pattern`` (searched for, as JSON Schema does) is proven to match no
    string at all (``[^\\s\\S]``), its automaton empty."""
    if not isinstance(pattern, str) or not _portable(pattern):
        return False
    inner = pattern.removeprefix("^").removesuffix("$") if not pattern.endswith("\\$") else ""
    if not inner or "^" in inner.replace("[^", "") or "$" in inner:
        return False  # an anchor inside: not read here
    return _in_child(inner) == "empty"


def _automata_relation(old: str, new: str) -> Relation:
    """``_pattern_relation`` of two unanchored patterns, decided in a child process
    stopped after ``_PATTERN_SECONDS`` (``_in_child``, once per pair: a set of
    schemas changes one pattern in many fields alike)."""
    answer = _in_child(old, new)
    return answer if answer in ("wider", "same") else "unproven"  # type: ignore[return-value]


@functools.lru_cache(maxsize=256)
def _in_child(*patterns: str) -> str:
    """``_automata``'s answer for one pattern (``emptiness``) or two (``relation``),
    from a child process stopped after ``_PATTERN_SECONDS``: ``unproven`` then."""
    try:
        done = subprocess.run(
            [sys.executable, _automata.__file__],
            input=json.dumps(patterns),
            capture_output=True,
            text=True,
            timeout=_PATTERN_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "unproven"
    except OSError:  # no interpreter to start (an embedded Python): compared here, unbounded
        return _automata.answer(list(patterns))
    return done.stdout.strip() or "unproven"


class _Diff:
    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.changes: list[SchemaChange] = []

    def add(self, path: _Path, code: str, reason: str) -> None:
        self.changes.append(SchemaChange(self.schema, json_path(path), code, reason))

    def compare(self, old: Any, new: Any, path: _Path) -> None:
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:
                self.add(path, "unclassified_change", f"{_short(old)} -> {_short(new)}")
            return
        self._types(old, new, path)
        self._values(old, new, path)
        self._bounds(old, new, path)
        self._properties(old, new, path)
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), (*path, Wildcard.ITEM))
        for key in sorted((old.keys() | new.keys()) - _HANDLED):
            if key == "$schema" and _dialect(old.get(key)) == _dialect(new.get(key)):
                continue
            if old.get(key) != new.get(key):
                self.add(
                    path,
                    "unclassified_change",
                    f"{key} {_short(old.get(key))} -> {_short(new.get(key))}",
                )

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: _Path) -> None:
        before, after = _types(old), _types(new)
        if before == after:
            return
        shown = f"type {_show_types(before)} -> {_show_types(after)}"
        if _covers(after, before):
            self.add(path, "type_widened", shown)
        elif _covers(before, after):
            self.add(path, "type_narrowed", shown)
        else:
            self.add(path, "type_changed", shown)

    def _values(self, old: Mapping[str, Any], new: Mapping[str, Any], path: _Path) -> None:
        before, after = _values(old), _values(new)
        if before is None and after is None:
            return
        if before is None:
            assert after is not None
            self.add(path, "constraint_tightened", f"values restricted to {sorted(after)}")
        elif after is None:
            self.add(path, "constraint_loosened", "values no longer restricted to an enum")
        else:
            for key in sorted(before.keys() - after.keys()):
                self.add(path, "enum_value_removed", f"value {key} no longer allowed")
            for key in sorted(after.keys() - before.keys()):
                self.add(path, "enum_value_added", f"value {key} now allowed")

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: _Path) -> None:
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            shown = f"{key} {_short(before) if before is not None else 'none'} -> " + (
                _short(after) if after is not None else "none"
            )
            if after is None:
                tighter = False
            elif before is None:
                tighter = True
            else:
                tighter = after > before if key in _LOWER_BOUNDS else after < before
            self.add(path, "constraint_tightened" if tighter else "constraint_loosened", shown)
        for key in _EXACT:
            before, after = old.get(key), new.get(key)
            if key == "uniqueItems":
                before, after = before or None, after or None
            if before == after:
                continue
            if after is None:
                self.add(path, "constraint_loosened", f"{key} {_short(before)} removed")
            elif before is None:
                self.add(path, "constraint_tightened", f"{key} {_short(after)} added")
            elif key == "pattern" and (relation := _pattern_relation(before, after)) != "unproven":
                if relation == "wider":  # "same": written anew, no change
                    self.add(
                        path, "constraint_loosened", f"pattern widened: {_edits(before, after)}"
                    )
            else:
                self.add(path, "constraint_tightened", f"{key} changed: {_short(after)}")

    def _properties(self, old: Mapping[str, Any], new: Mapping[str, Any], path: _Path) -> None:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required = set(old.get("required", ()))
        new_required = set(new.get("required", ()))
        for name in sorted(old_props.keys() | new_props.keys() | old_required | new_required):
            where = (*path, name)
            was = name in old_props or name in old_required
            now = name in new_props or name in new_required
            if was and not now:
                self.add(where, "field_removed", f"property {name!r} removed")
            elif now and not was:
                if name in new_required:
                    self.add(where, "required_added", f"new required property {name!r}")
                elif self.schema == ENVELOPE_NAME and path == ("payload",):
                    if not _takes_everything(new_props.get(name, {})):
                        # A payload's fields are its event type's; every event carries some.
                        self.add(
                            where,
                            "constraint_tightened",
                            f"the envelope now constrains payload field {name!r}: events "
                            "whose payload carries it may now fail",
                        )
                elif _takes_nothing(new_props.get(name, {})):
                    # The schema was open to it: events that carry it passed, and now fail.
                    self.add(
                        where,
                        "constraint_tightened",
                        f"new property {name!r} takes no value: events that carry it now fail",
                    )
                else:
                    self.add(where, "optional_field_added", f"new optional property {name!r}")
            else:
                if name in new_required and name not in old_required:
                    self.add(where, "field_made_required", f"{name!r} is now required")
                elif name in old_required and name not in new_required:
                    self.add(where, "field_made_optional", f"{name!r} is no longer required")
                self.compare(old_props.get(name, {}), new_props.get(name, {}), where)
        if _open(old) and not _open(new):
            self.add(path, "additional_properties_closed", "additionalProperties is now false")
        elif not _open(old) and _open(new):
            self.add(path, "additional_properties_opened", "additionalProperties no longer false")
        else:
            before, after = old.get("additionalProperties"), new.get("additionalProperties")
            if isinstance(before, dict) or isinstance(after, dict):
                self.compare(
                    before if isinstance(before, dict) else {},
                    after if isinstance(after, dict) else {},
                    (*path, Wildcard.KEY),
                )


def compare_schemas(
    name: str, baseline: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[SchemaChange, ...]:
    """Every change from ``baseline`` to ``current`` (two versions of the schema ``name``)."""
    diff = _Diff(name)
    diff.compare(_resolve(dict(baseline), baseline), _resolve(dict(current), current), ())
    return tuple(sorted(set(diff.changes)))


def compare_schema_sets(
    baseline: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> tuple[SchemaChange, ...]:
    """Every change between two sets of schemas keyed by name (removed and added ones too)."""
    changes: list[SchemaChange] = []
    for name in sorted(baseline.keys() | current.keys()):
        if name not in current:
            changes.append(SchemaChange(name, "$", "schema_removed", f"schema {name} removed"))
        elif name not in baseline:
            changes.append(SchemaChange(name, "$", "schema_added", f"new schema {name}"))
        else:
            changes.extend(compare_schemas(name, baseline[name], current[name]))
    return tuple(sorted(changes))


# ------------------------------------------------------------------ sets and the gate


BASELINES: Final = resources.files("connector_sync_contracts.compat").joinpath("baselines")
"""The schemas of every released version, shipped in the package: ``baselines/<version>/``."""


def baseline_versions() -> tuple[str, ...]:
    """Versions whose schemas ship as baselines, oldest first."""
    found = [entry.name for entry in BASELINES.iterdir() if _RELEASE.fullmatch(entry.name)]
    return tuple(sorted(found, key=lambda v: tuple(int(part) for part in v.split("."))))


def baseline_dir(version: str) -> Path:
    """The folder of a shipped baseline; ``SchemaSetError`` for a version not shipped."""
    if version not in baseline_versions():
        shipped = ", ".join(baseline_versions())
        raise SchemaSetError(f"no shipped baseline {version!r}; shipped: {shipped}")
    return Path(str(BASELINES.joinpath(version)))


def load_schema_dir(directory: Path) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` of a folder, parsed, keyed by name; ``load_schema_set`` checks."""
    if not directory.is_dir():
        raise SchemaSetError(f"{directory}: not a folder of schema files")
    return {
        path.stem: json.loads(read_small(path, SCHEMA_FILE_LIMIT).decode("utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def load_schema_set(directory: Path) -> dict[str, dict[str, Any]]:
    """The schema set in ``directory``, checked to be one of this contract's.

    Raises ``SchemaSetError`` naming what is wrong when the folder is missing
    or empty, a file is not a JSON Schema object, the envelope schema
    (``Event.json``) or every event type of this package is missing, or the
    ``$id``s do not name one contract version.
    """
    if not directory.is_dir():
        raise SchemaSetError(f"{directory}: not a folder")
    schemas: dict[str, dict[str, Any]] = {}
    ids: dict[object, Path] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            schema = json.loads(
                read_small(path, SCHEMA_FILE_LIMIT).decode("utf-8"),
                object_pairs_hook=_one_value_a_key,
                parse_constant=_no_constant,
            )
        except OSError as exc:
            raise SchemaSetError(f"{path}: cannot read it: {os_error_reason(exc)}") from exc
        except (UnicodeDecodeError, ValueError) as exc:
            raise SchemaSetError(f"{path}: not a JSON file ({exc})") from exc
        if not isinstance(schema, dict) or "$schema" not in schema:
            raise SchemaSetError(f"{path}: not a JSON Schema (no $schema)")
        _check_against_its_dialect(path, schema)
        _check_refs(path, schema)
        same = ids.setdefault(schema.get("$id"), path)
        if same != path and schema.get("$id") is not None:
            raise SchemaSetError(f"{path}: its $id is {same.name}'s too")
        schemas[path.stem] = schema
    if not schemas:
        raise SchemaSetError(f"{directory}: no schema files (*.json) in it")
    if ENVELOPE_NAME not in schemas:
        raise SchemaSetError(f"{directory}: no envelope schema Event.json")
    if not set(schemas) & set(EVENT_FAMILIES):
        raise SchemaSetError(
            f"{directory}: none of this package's event types ({', '.join(sorted(EVENT_FAMILIES))})"
        )
    if schema_set_version(schemas) is None:
        raise SchemaSetError(f"{directory}: the $ids do not name one contract version")
    return schemas


def _one_value_a_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object of a schema file; a key written twice raises ``ValueError`` (which
    value a reader keeps is its own choice: the gate would compare one of them)."""
    repeated = repeated_keys(pairs)
    if repeated:
        raise ValueError(f"the key {repeated[0]!r} is written more than once in one object")
    return dict(pairs)


def _no_constant(name: str) -> float:
    """``json``'s reading of ``NaN`` and ``Infinity``, which are not JSON: refused."""
    raise ValueError(f"{name} is not JSON")


def _check_refs(path: Path, schema: dict[str, Any]) -> None:
    """``SchemaSetError`` when a local ``$ref`` (``#/...``) names nothing in ``schema``:
    compared as a ``$ref`` to nothing, the field it constrains would read as taking
    anything (found by an outside run as ``type_widened`` plus a false additive)."""
    stack: list[Any] = list(schema.values())
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict) or "$id" in node:  # a base of its own: not read here
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            try:
                _pointer(schema, ref)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise SchemaSetError(f"{path}: $ref {ref!r} names nothing in it") from exc
        stack.extend(node.values())


def _check_against_its_dialect(path: Path, schema: dict[str, Any]) -> None:
    """``SchemaSetError`` when ``schema`` breaks its own dialect's meta-schema (a
    ``"required": "event_id"``, a ``"minimum": "x"``): compared as it is, it would be
    read letter by letter, or fail the comparison (found by an outside run)."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    validator = validator_for(schema, default=cast("Any", None))  # None: a dialect not known
    if validator is None:
        raise SchemaSetError(f"{path}: $schema {schema['$schema']!r} names no dialect known here")
    try:
        with warnings.catch_warnings():
            # "Possible nested set" and the like: Python's opinion of a pattern, not the gate's
            warnings.simplefilter("ignore", FutureWarning)
            validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "the top"
        raise SchemaSetError(
            f"{path}: not a valid JSON Schema of its dialect ({exc.message}, at {where})"
        ) from exc


def current_schemas() -> dict[str, dict[str, Any]]:
    """The committed schemas shipped in this package, keyed by name."""
    root = resources.files("connector_sync_contracts.schemas")
    return {
        entry.name.removesuffix(".json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    }


def schema_set_version(schemas: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The contract version in the ``$id``s of a schema set (None if absent or mixed)."""
    versions = set()
    for schema in schemas.values():
        match = _VERSION_IN_ID.search(str(schema.get("$id", "")))
        versions.add(match[1] if match else None)
    return versions.pop() if len(versions) == 1 else None


def check_compatibility(baseline: Path | str, current_dir: Path | None = None) -> CompatReport:
    """Compare a baseline with the current schemas (default: the packaged ones).

    ``baseline`` is a folder of schema files or the version of a shipped
    baseline (``"2.7.0"``). Both sets are checked with ``load_schema_set``:
    a folder that is not a schema set of this contract raises
    ``SchemaSetError``, never a report.
    """
    if isinstance(baseline, str) and not Path(baseline).is_dir():
        if Path(baseline).exists():  # a file, most likely one schema: a set is a folder
            raise SchemaSetError(
                f"{baseline} is a file; a baseline is a version shipped here "
                f"({', '.join(baseline_versions())}) or a folder of schema files"
            )
        baseline = baseline_dir(baseline)
    old = load_schema_set(Path(baseline))
    current = load_schema_set(current_dir) if current_dir is not None else current_schemas()
    return CompatReport(
        baseline_version=schema_set_version(old),
        current_version=schema_set_version(current) or CONTRACT_VERSION,
        changes=compare_schema_sets(old, current),
    )
