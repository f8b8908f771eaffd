"""The public API: every documented name, from every documented path, is what it claims.

``COMPATIBILITY.md`` promises the names of ``connector_sync_contracts.__all__``
and a few public submodules; the 2.x releases before the package was laid
out by responsibility also had a flat module per concern, and those paths
keep working with a ``DeprecationWarning`` until 3.0.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Final

import pytest

import connector_sync_contracts

COMPATIBILITY: Final = Path(__file__).resolve().parents[2] / "COMPATIBILITY.md"


def _type_checking_imports() -> dict[str, str]:
    """Public name -> module, as the package's ``if TYPE_CHECKING:`` imports state it."""
    tree = ast.parse(Path(connector_sync_contracts.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_public_name_is_what_type_checkers_are_told_it_is() -> None:
    package = connector_sync_contracts
    declared = _type_checking_imports()
    assert set(declared) | {"CONTRACT_VERSION", "__version__"} == set(package.__all__)
    assert package.__all__ == sorted(package.__all__)
    for name, module in declared.items():
        defining = importlib.import_module(f"connector_sync_contracts.{module}")
        assert getattr(package, name) is getattr(defining, name), name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = package.NoSuchName  # type: ignore[attr-defined]


def _assert_readable_docstring(value: object, name: str) -> None:
    assert (value.__doc__ or "").strip(), name
    # ``\r`` or ``\t`` meant as text in a docstring that is not raw would break
    # help() (a carriage return overwrites its line), as ``io.LinesSource``'s once did.
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", value.__doc__ or ""), name


def test_every_public_name_has_a_docstring_or_is_a_documented_constant() -> None:
    source = Path(connector_sync_contracts.__file__).parent
    for name in connector_sync_contracts.__all__:
        value = getattr(connector_sync_contracts, name)
        if callable(value) or isinstance(value, type):
            _assert_readable_docstring(value, name)
            continue
        # Constants are documented by the string literal under their assignment.
        found = [
            path
            for path in source.rglob("*.py")
            if re.search(
                rf"^{re.escape(name)}(?::[^=\n]*)? = [\s\S]*?\n\"\"\"",
                path.read_text(encoding="utf-8"),
                re.M,
            )
        ]
        assert found, f"{name} has no docstring where it is defined"


def _documented_exports() -> set[str]:
    """Names in the 'Public exports' table of COMPATIBILITY.md."""
    text = COMPATIBILITY.read_text(encoding="utf-8")
    table = text[text.index("## Public exports") : text.index("Public submodules")]
    rows = [line.split("|")[2] for line in table.splitlines() if line.startswith("| ")]
    return {name for row in rows[1:] for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row)}


def test_the_documented_exports_are_the_package_roots_all() -> None:
    documented = _documented_exports()
    assert len(documented) > 60
    assert documented == set(connector_sync_contracts.__all__)
    for name in documented:
        namespace: dict[str, object] = {}
        exec(f"from connector_sync_contracts import {name}", namespace)
        assert namespace[name] is getattr(connector_sync_contracts, name)


PUBLIC_SUBMODULES: Final = (
    "connector_sync_contracts.schemas",
    "connector_sync_contracts.conformance",
    "connector_sync_contracts.validation",
    "connector_sync_contracts.interop.cloudevents",
    "connector_sync_contracts.compat",
    "connector_sync_contracts.io",
)


def _documented_submodules() -> dict[str, set[str]]:
    """Module -> the names its bullet under 'Public submodules' in COMPATIBILITY.md lists."""
    text = COMPATIBILITY.read_text(encoding="utf-8")
    section = text[text.index("Public submodules:") : text.index("## Violation codes")]
    bullets = re.split(r"^- `(connector_sync_contracts[.\w]*)`", section, flags=re.M)[1:]
    return {
        module: {name for name in re.findall(r"`([^`]+)`", body) if name.isidentifier()}
        for module, body in zip(bullets[::2], bullets[1::2], strict=True)
    }


def test_the_public_submodules_hold_exactly_the_documented_names() -> None:
    # An undocumented name in a public __all__ is a promise nobody wrote down.
    documented = _documented_submodules()
    assert sorted(documented) == sorted(PUBLIC_SUBMODULES)
    for module in PUBLIC_SUBMODULES:
        loaded = importlib.import_module(module)
        public = set(loaded.__all__)
        assert public <= documented[module], (module, sorted(public - documented[module]))
        # Any other name the bullet gives is not one of the module's (a field, an argument).
        stray = {name for name in documented[module] - public if hasattr(loaded, name)}
        assert not stray, (module, sorted(stray))
        for name in loaded.__all__:
            namespace: dict[str, object] = {}
            exec(f"from {module} import {name}", namespace)
            value = getattr(loaded, name)
            assert namespace[name] is value
            if inspect.isclass(value) or inspect.isroutine(getattr(value, "__wrapped__", value)):
                _assert_readable_docstring(value, f"{module}.{name}")


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("connector", "ConnectorState", "connector_sync_contracts"),
        ("connector", "ConnectorProvisionedPayload", "connector_sync_contracts"),
        ("sync", "SYNC_RETRY_SCHEDULED", "connector_sync_contracts"),
        ("links", "ExternalReferenceLinkedPayload", "connector_sync_contracts"),
        ("envelope", "canonical_json", "connector_sync_contracts"),
        ("registry", "ALLOWED_TRANSITIONS", "connector_sync_contracts"),
        ("registry", "OBSERVATION_STATES", "connector_sync_contracts.contract.lifecycle"),
        ("reducers", "replay", "connector_sync_contracts"),
        ("results", "ReplayResult", "connector_sync_contracts"),
        ("jsonl", "Source", "connector_sync_contracts.io"),
        ("cloudevents", "to_structured_json", "connector_sync_contracts.interop.cloudevents"),
        ("cloudevents", "CloudEventMappingError", "connector_sync_contracts"),
        ("docs", "render_docs", "connector_sync_contracts._tooling.docs"),
    ],
)
def test_old_module_paths_still_resolve_with_a_deprecation_warning(
    old: str, name: str, new: str
) -> None:
    shim = importlib.import_module(f"connector_sync_contracts.{old}")
    with pytest.warns(DeprecationWarning, match=f"import it from {re.escape(new)}$"):
        value = getattr(shim, name)
    assert value is getattr(importlib.import_module(new), name)
    assert name in dir(shim)
    with pytest.raises(AttributeError):
        _ = shim.NoSuchName


@pytest.mark.parametrize(
    ("module", "private"),
    [
        (
            "connector_sync_contracts.reducing.api",
            ["admit_envelope", "event_to_fact", "build_result"],
        ),
        ("connector_sync_contracts.validation", ["load_json_object", "INT_RANGE"]),
    ],
)
def test_helpers_are_not_public(module: str, private: list[str]) -> None:
    loaded = importlib.import_module(module)
    assert not set(private) & set(loaded.__all__)
