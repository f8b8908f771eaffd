"""The conformance kit shipped inside the package (FR-008, FR-009, FR-010).

Fixtures are data: canonical JSON envelopes (valid and invalid, one broken
rule each) and JSONL replay streams with committed golden outputs, listed in
``manifest.json``, which its own ``manifest.schema.json`` validates. This
module loads them through ``importlib.resources``, so it works from an
installed wheel; ``pytest --pyargs connector_sync_contracts.conformance``
runs the packaged suite, and ``python -m connector_sync_contracts.conformance.regen``
regenerates the golden outputs.

Producers and consumers in other languages can use the files directly:
validate each ``valid``/``invalid`` fixture against ``schemas/Event.json``
and ``schemas/<event_type>.json`` (plus the semantic and strict rules), and
compare their own replay of each stream with its golden file.

>>> manifest = load_manifest()
>>> sorted(fixtures_by_category())[:2]
['connector/invalid', 'connector/replay']
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Literal

from ..reducing.api import replay
from ..validation.layers import validate_event
from ..validation.result import ValidationResult

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = [
    "EXPECTED_RESULTS",
    "FIXTURE_TYPES",
    "MANIFEST_FILE",
    "MANIFEST_SCHEMA_FILE",
    "Fixture",
    "Manifest",
    "fixtures_by_category",
    "load_manifest",
    "load_manifest_schema",
    "read_resource",
    "resource",
]

MANIFEST_FILE: Final = "manifest.json"
"""The manifest, relative to this package."""

MANIFEST_SCHEMA_FILE: Final = "manifest.schema.json"
"""The JSON Schema (draft 2020-12) that the manifest must satisfy."""

FIXTURE_TYPES: Final = ("connector", "sync", "external_reference", "envelope", "mixed")
"""What a fixture exercises: one family, the envelope, or a mixed stream."""

EXPECTED_RESULTS: Final = ("valid", "invalid", "replay")
"""``valid``/``invalid`` for single envelopes, ``replay`` for JSONL streams with a golden."""

FixtureType = Literal["connector", "sync", "external_reference", "envelope", "mixed"]
ExpectedResult = Literal["valid", "invalid", "replay"]


def resource(path: str) -> Traversable:
    """The packaged file at ``path`` (relative to this package, ``/``-separated)."""
    node: Traversable = resources.files(__package__)
    for part in path.split("/"):
        node = node.joinpath(part)
    return node


def read_resource(path: str) -> bytes:
    """Bytes of the packaged file at ``path`` (relative to this package)."""
    return resource(path).read_bytes()


@dataclass(frozen=True, slots=True)
class Fixture:
    """One manifest entry: a fixture file and what it must produce."""

    id: str
    """Stable identifier, e.g. ``connector-invalid-negative-latency``."""
    path: str
    """File path relative to the conformance package."""
    fixture_type: FixtureType
    """Family (or ``envelope``/``mixed``) the fixture exercises."""
    event_type: str | None
    """Event type of a single-envelope fixture; None for streams and unnamed types."""
    expected_result: ExpectedResult
    """``valid``, ``invalid`` or ``replay``."""
    expected_violation: str | None
    """For ``invalid``: the only violation code ``validate_event`` may report."""
    notes: str
    """What the fixture shows and why."""
    min_version: str
    """First contract version the fixture applies to."""
    strict: bool = False
    """Validate with ``strict=True`` (unknown fields, project_uuid mismatch)."""
    golden: str | None = None
    """For ``replay``: path of the golden ``replay(events).to_json()`` output."""

    @property
    def category(self) -> str:
        """``<fixture_type>/<expected_result>``, e.g. ``sync/invalid``."""
        return f"{self.fixture_type}/{self.expected_result}"

    def read_bytes(self) -> bytes:
        """The fixture file's bytes."""
        return read_resource(self.path)

    def load(self) -> dict[str, Any]:
        """The envelope of a single-envelope fixture, parsed."""
        data: dict[str, Any] = json.loads(self.read_bytes())
        return data

    def events(self) -> list[dict[str, Any]]:
        """The envelopes of a replay stream (one JSON object per line), in file order."""
        text = self.read_bytes().decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def golden_bytes(self) -> bytes:
        """The committed golden output of a replay stream."""
        if self.golden is None:
            raise ValueError(f"fixture {self.id!r} has no golden output")
        return read_resource(self.golden)

    def validate(self) -> ValidationResult:
        """Run ``validate_event`` on the fixture's bytes the way the manifest says."""
        return validate_event(self.read_bytes(), strict=self.strict)

    def replay_json(self) -> bytes:
        """``replay(events).to_json()`` of a replay stream: what the golden must equal."""
        return replay(self.events()).to_json()


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed ``manifest.json``: the contract version and every fixture, in file order."""

    contract_version: str
    """Contract version the kit was written for."""
    fixtures: tuple[Fixture, ...]
    """Every fixture, in manifest order."""

    def by_id(self, fixture_id: str) -> Fixture:
        """The fixture with this id; ``KeyError`` when there is none."""
        for fixture in self.fixtures:
            if fixture.id == fixture_id:
                return fixture
        raise KeyError(fixture_id)

    def by_category(self) -> Mapping[str, tuple[Fixture, ...]]:
        """Fixtures grouped by ``category`` (sorted keys, manifest order inside)."""
        groups: dict[str, list[Fixture]] = {}
        for fixture in self.fixtures:
            groups.setdefault(fixture.category, []).append(fixture)
        return MappingProxyType({key: tuple(groups[key]) for key in sorted(groups)})

    def select(
        self, fixture_type: str | None = None, expected_result: str | None = None
    ) -> tuple[Fixture, ...]:
        """Fixtures of one type and/or expected result."""
        return tuple(
            fixture
            for fixture in self.fixtures
            if fixture_type in (None, fixture.fixture_type)
            and expected_result in (None, fixture.expected_result)
        )


def load_manifest_schema() -> dict[str, Any]:
    """The committed JSON Schema of the manifest."""
    schema: dict[str, Any] = json.loads(read_resource(MANIFEST_SCHEMA_FILE))
    return schema


def load_manifest() -> Manifest:
    """Load ``manifest.json`` from the installed package.

    The manifest is read as data; the packaged suite checks it against
    ``manifest.schema.json``.
    """
    raw = json.loads(read_resource(MANIFEST_FILE))
    return Manifest(
        contract_version=raw["contract_version"],
        fixtures=tuple(Fixture(**entry) for entry in raw["fixtures"]),
    )


def fixtures_by_category() -> Mapping[str, tuple[Fixture, ...]]:
    """Every fixture grouped by ``<fixture_type>/<expected_result>``, e.g. ``connector/valid``."""
    return load_manifest().by_category()
