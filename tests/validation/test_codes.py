"""Every code a problem can carry is in ``VIOLATION_CODES`` and in COMPATIBILITY.md.

Codes are the stable part of a problem (consumers branch on them), so the
list users read and the constant they import must name every code any entry
point can report: ``validate_event``, the command line's line problems
(``nul_byte``, ``blank_line``, ``line_too_long``) and CloudEvent mapping
problems. The source is scanned for every place that builds a problem with
a literal code, and every table that maps another library's errors to codes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import connector_sync_contracts
from connector_sync_contracts import SEMANTIC_RULES, VIOLATION_CODES
from connector_sync_contracts.validation import layers, messages

ROOT: Final = Path(__file__).resolve().parents[2]
SOURCE: Final = Path(connector_sync_contracts.__file__).resolve().parent

# Callable name -> position of its code argument.
CODE_ARGUMENT: Final = {
    "LineProblem": 2,
    "Violation": 2,
    "violation": 2,
    "CloudEventProblem": 1,
    "_problem": 1,
    "_bad": 1,
    "_Literal": 1,
}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal_codes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        position = CODE_ARGUMENT.get(_name(node.func) or "")
        if position is None:
            continue
        found: list[ast.expr] = [kw.value for kw in node.keywords if kw.arg == "code"]
        if len(node.args) > position:
            found.append(node.args[position])
        for arg in found:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value


def test_every_literal_code_in_the_source_is_listed() -> None:
    seen = 0
    for path in sorted(SOURCE.rglob("*.py")):
        for line, code in _literal_codes(ast.parse(path.read_text(encoding="utf-8"))):
            seen += 1
            where = f"{path.relative_to(SOURCE)}:{line}"
            assert code in VIOLATION_CODES, f"{where} reports {code!r}, not in VIOLATION_CODES"
    # The scan must really find the places that build problems.
    assert seen >= 30


def test_every_mapped_code_is_listed() -> None:
    mapped = {
        *messages.PYDANTIC_CODES.values(),
        *layers._SCHEMA_CODES.values(),
        "invalid",  # what an unmapped pydantic or schema error becomes
        *(rule.code for rule in SEMANTIC_RULES),
    }
    assert mapped <= VIOLATION_CODES, sorted(mapped - VIOLATION_CODES)


def test_the_codes_the_command_line_reports_on_lines_are_listed() -> None:
    for code in ("nul_byte", "blank_line", "line_too_long", "looks_like_cloudevent"):
        assert code in VIOLATION_CODES


def _documented_codes() -> set[str]:
    text = (ROOT / "COMPATIBILITY.md").read_text(encoding="utf-8")
    section = text.split("## Violation codes", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    codes = set()
    for row in table:
        cells = row.split("|")
        codes.update(re.findall(r"`([a-z][a-z0-9_]*)`", cells[2]))
    return codes


def test_compatibility_lists_exactly_the_violation_codes() -> None:
    documented = _documented_codes()
    assert documented == VIOLATION_CODES, (
        f"missing from COMPATIBILITY.md: {sorted(VIOLATION_CODES - documented)}; "
        f"not in VIOLATION_CODES: {sorted(documented - VIOLATION_CODES)}"
    )
