"""Generating the JSON Schemas from the models, and their drift check (FR-008).

The committed files in ``schemas/`` are what ``generate_schema`` builds
from the pydantic models, post-processed for determinism (sorted keys,
2-space indent, newline at the end, ``$schema`` and a stable ``$id`` that
carries the contract version). ``make schema-check`` fails with a unified
diff when models and files drift apart; ``make regen`` rewrites them.
"""

from __future__ import annotations

import errno
import json
from importlib import resources
from pathlib import Path
from typing import Any, Final

from ..contract.projection import canonical_dumps
from ..models.envelope import Event
from ..models.payloads import PAYLOAD_MODELS
from ..schemas import (
    ENVELOPE_SCHEMA,
    SCHEMA_DIALECT,
    SCHEMA_DIR,
    SCHEMA_ID_BASE,
    forget_committed,
    schema_file_name,
    schema_id,
    schema_names,
)
from .drift import committed_text, drift_diff, write_if_changed

__all__ = [
    "check_schemas",
    "generate_schema",
    "generated_files",
    "render_schema",
    "write_schemas",
]

_NULL: Final = {"type": "null"}


def _collapse_nullable(node: Any) -> Any:
    # pydantic writes ``X | None`` as anyOf[{...}, {"type": "null"}]. A single
    # typed branch reads better, and reports one error, as {"type": [T, "null"]}:
    # string keywords such as pattern do not apply to null.
    if isinstance(node, list):
        return [_collapse_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _collapse_nullable(value) for key, value in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and _NULL in branches:
        other = branches[0] if branches[1] == _NULL else branches[1]
        if isinstance(other, dict) and isinstance(other.get("type"), str):
            merged = {key: value for key, value in out.items() if key != "anyOf"}
            merged.update(other)
            merged["type"] = [other["type"], "null"]
            return merged
    return out


def _markdown(node: Any) -> Any:
    # Docstrings and field descriptions use reStructuredText literals (``x``); a JSON
    # Schema's readers (docs generators, editors, registries) render Markdown (`x`).
    if isinstance(node, list):
        return [_markdown(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _markdown(value) for key, value in node.items()}
    description = out.get("description")
    if isinstance(description, str):
        out["description"] = description.replace("``", "`")
    return out


def generate_schema(name: str) -> dict[str, Any]:
    """Build the schema of ``name`` (``"Event"`` or an event type) from its model.

    The result is what the committed file must contain: pydantic's
    ``model_json_schema()`` with ``$schema`` and ``$id`` added, nullable
    fields collapsed to ``{"type": [T, "null"]}``, ``additionalProperties``
    stated open, and descriptions in Markdown (single backticks).
    """
    schema_file_name(name)  # raises for an unknown name
    model = Event if name == ENVELOPE_SCHEMA else PAYLOAD_MODELS[name]
    schema = _markdown(_collapse_nullable(model.model_json_schema()))
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = schema_id(name)
    schema["additionalProperties"] = True
    return dict(schema)


def render_schema(name: str) -> str:
    """Canonical text of the generated schema: sorted keys, 2-space indent, final newline."""
    return canonical_dumps(generate_schema(name)).decode("utf-8")


def generated_files() -> dict[str, str]:
    """File name -> canonical text, for every schema the models define."""
    return {schema_file_name(name): render_schema(name) for name in schema_names()}


_OUR_SITE: Final = SCHEMA_ID_BASE.rsplit("/", 2)[0] + "/"
"""What the ``$id`` of every schema of every version starts with."""

_SCHEMA_BYTES: Final = 1 << 20
"""A bigger file is no schema of ours (theirs are a few KiB): it is not read."""


def written_here(path: Path) -> bool:
    """Whether ``path`` is a schema file of this package, of any version."""
    try:
        if path.stat().st_size > _SCHEMA_BYTES:
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    found = data.get("$id") if isinstance(data, dict) else None
    return isinstance(found, str) and found.startswith(_OUR_SITE)


def _committed_files(directory: Path | None) -> dict[str, str]:
    if directory is not None:
        return {path.name: committed_text(path) for path in directory.glob("*.json")}
    root = resources.files("connector_sync_contracts.schemas")
    return {
        entry.name: committed_text(entry)
        for entry in root.iterdir()
        if entry.name.endswith(".json")
    }


def check_schemas(directory: Path | None = None) -> list[str]:
    """Compare the committed schema files with the models; return one diff per difference.

    ``directory`` defaults to the files shipped in this package. An empty list
    means no drift. Each entry is a readable unified diff (committed ->
    generated), or a note about a file that should not be there.
    """
    expected = generated_files()
    committed = _committed_files(directory)
    problems = []
    for file_name in sorted(expected.keys() | committed.keys()):
        want = expected.get(file_name)
        have = committed.get(file_name)
        if want is None:
            problems.append(f"{file_name}: committed, but no model defines this schema\n")
        else:
            diff = drift_diff(file_name, have, want)
            if diff is not None:
                problems.append(diff)
    return problems


def write_schemas(directory: Path | None = None) -> list[str]:
    """Write every generated schema into ``directory`` (default: this package's folder).

    Each file is written beside its target and renamed over it, so an
    interruption leaves the old file or the new one, never a part. A
    schema file this package wrote earlier (its ``$id`` is under
    ``https://connector-sync-contracts.dev/schemas/``) that no model
    defines now is removed; any other file in ``directory`` is left alone,
    and a file of a schema's name that this package did not write stops the
    write before anything is written (``FileExistsError``, naming it).
    Returns the names of the files that changed.
    """
    target = directory if directory is not None else SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    expected = generated_files()
    for file_name in expected:
        path = target / file_name
        if path.is_file() and not written_here(path):
            raise FileExistsError(
                errno.EEXIST,
                "a file this package did not write (no $id of its schemas) is there; "
                "not replaced: move it, or write the schemas to another folder",
                str(path),
            )
    changed = []
    for path in sorted(target.glob("*.json")):
        if path.name not in expected and written_here(path):
            path.unlink()
            changed.append(path.name)
    for file_name, text in expected.items():
        if write_if_changed(target / file_name, text):
            changed.append(file_name)
    forget_committed()
    return sorted(changed)
