"""Committed JSON Schemas (draft 2020-12) for the envelope and every payload (FR-008).

One file per payload model (``<EventType>.json``) and one for the envelope
(``Event.json``) live beside this module and ship in the wheel, so producers
and consumers in any language validate against exactly what the Python
models accept. This module owns the committed files and their runtime
loader only; they are generated from the models by ``generate_schema``
(``_tooling.schemagen``, also reachable here) and drift-checked by ``make
schema-check``.

The committed schemas leave ``additionalProperties`` open: unknown fields are
ignored by default, and ``validate_event(..., strict=True)`` reports them.
:func:`create_validator` returns a ``jsonschema`` validator with the dialect
details the contract relies on (ECMA-262 ``pattern`` semantics, strict JSON
number types, the date-time format); see ``validation``.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..contract.catalog import EVENT_FAMILIES
from ..contract.patterns import utc_instant_in_range
from ..contract.version import CONTRACT_VERSION
from ..errors import UnknownEventTypeError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "ENVELOPE_SCHEMA",
    "SCHEMA_DIALECT",
    "SCHEMA_ID_BASE",
    "check_schemas",
    "create_validator",
    "ecma_regex",
    "generate_schema",
    "generated_files",
    "load_schema",
    "render_schema",
    "schema_file_name",
    "schema_id",
    "schema_names",
    "write_schemas",
]

# Generation needs the models; it lives with the tooling and is loaded on first use.
_GENERATION: Final = frozenset(
    {"check_schemas", "generate_schema", "generated_files", "render_schema", "write_schemas"}
)

if TYPE_CHECKING:
    from .._tooling.schemagen import (
        check_schemas,
        generate_schema,
        generated_files,
        render_schema,
        write_schemas,
    )
else:

    def __getattr__(name: str) -> Any:
        """Load the generation functions from ``_tooling.schemagen`` on first use (PEP 562)."""
        if name in _GENERATION:
            found = getattr(
                importlib.import_module("connector_sync_contracts._tooling.schemagen"), name
            )
            globals()[name] = found
            return found
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
"""The ``$schema`` of every committed schema: JSON Schema draft 2020-12."""

SCHEMA_ID_BASE: Final = f"https://connector-sync-contracts.dev/schemas/{CONTRACT_VERSION}/"
"""Prefix of every ``$id``; the contract version makes each release's ids distinct."""

ENVELOPE_SCHEMA: Final = "Event"
"""Name of the envelope schema (``Event.json``); payload schemas are named by event type."""

SCHEMA_DIR: Final = Path(__file__).resolve().parent
"""Where the committed schema files live in a source checkout."""


def schema_names() -> tuple[str, ...]:
    """Every schema name: ``"Event"`` first, then the event types in sorted order."""
    return (ENVELOPE_SCHEMA, *sorted(EVENT_FAMILIES))


def schema_file_name(name: str) -> str:
    """File name of a schema inside this package, e.g. ``ConnectorProvisioned.json``."""
    _known(name)
    return f"{name}.json"


def schema_id(name: str) -> str:
    """Stable ``$id`` of a schema, e.g. ``https://connector-sync-contracts.dev/schemas/2.7.0/Event.json``."""
    return SCHEMA_ID_BASE + schema_file_name(name)


def _known(name: str) -> None:
    if name != ENVELOPE_SCHEMA and name not in EVENT_FAMILIES:
        raise UnknownEventTypeError(
            f"no schema named {name!r}: expected 'Event' or one of {sorted(EVENT_FAMILIES)}"
        )


def load_schema(name: str) -> dict[str, Any]:
    """Load the committed schema of ``name`` (``"Event"`` or an event type).

    Reads the JSON file shipped in this package through ``importlib.resources``,
    so it works from a wheel or a zip. Raises ``UnknownEventTypeError`` (a
    ``ValueError``) for a name that has no schema.
    """
    schema: dict[str, Any] = json.loads(_committed_text(name))
    return schema


@cache
def _committed_text(name: str) -> str:
    file = resources.files(__package__).joinpath(schema_file_name(name))
    return file.read_text(encoding="utf-8")


def forget_committed() -> None:
    """Drop the cached committed texts (after the files were rewritten)."""
    _committed_text.cache_clear()


# ------------------------------------------------------------------ validators


def _ecma_source(pattern: str) -> Iterator[str]:
    # Translate a JSON Schema (ECMA-262) regex to Python: outside a character
    # class, '$' becomes '\Z', because Python's '$' also matches just before a
    # final newline and ECMA's does not. Everything else is copied.
    in_class = False
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            yield char + next(chars, "")
        elif in_class:
            in_class = char != "]"
            yield char
        elif char == "[":
            in_class = True
            yield char
        elif char == "$":
            yield r"\Z"
        else:
            yield char


@lru_cache(maxsize=256)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """Compile a JSON Schema ``pattern`` with ECMA-262 semantics for ``$`` and ASCII classes.

    ``re.search(ecma_regex(p), s)`` then matches exactly the strings an
    ECMA-262 engine matches for the patterns this contract uses: ``"abc\\n"``
    does not match ``^abc$``.
    """
    return re.compile("".join(_ecma_source(pattern)), re.ASCII)


_UPPER_T_Z: Final = str.maketrans("tz", "TZ")


def _is_date_time(instance: object) -> bool:
    from rfc3339_validator import validate_rfc3339

    if not isinstance(instance, str):
        return True
    # rfc3339-validator's own regex ends in a Python '$', which allows a final newline,
    # and takes only upper-case T and Z, which RFC 3339 section 5.6 does not require.
    return (
        "\n" not in instance
        and bool(validate_rfc3339(instance.translate(_UPPER_T_Z)))
        and utc_instant_in_range(instance)
    )


@lru_cache(maxsize=1)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

    def is_integer(_checker: object, instance: object) -> bool:
        # A JSON integer is written without fraction or exponent: 1.0 and 1e2
        # parse to floats, and the models' strict integers reject them too.
        return isinstance(instance, int) and not isinstance(instance, bool)

    def is_number(_checker: object, instance: object) -> bool:
        return isinstance(instance, (int, float)) and not isinstance(instance, bool)

    def pattern(
        validator: Any, regex: str, instance: object, _schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(instance, str) and ecma_regex(regex).search(instance) is None:
            yield ValidationError(f"{_short(instance)} does not match {regex!r}")

    def required(
        validator: Any, names: list[str], instance: object, _schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        # One error per missing property, located at that property (as pydantic does).
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    yield ValidationError(f"{name!r} is a required property", path=(name,))

    type_checker = Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": is_integer, "number": is_number}
    )
    format_checker = FormatChecker()
    format_checker.checks("date-time")(_is_date_time)
    extend: Any = validators.extend  # untyped in types-jsonschema
    cls = extend(
        Draft202012Validator,
        validators={"pattern": pattern, "required": required},
        type_checker=type_checker,
        format_checker=format_checker,
    )
    return cls, format_checker


def _short(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


@cache
def create_validator(name: str) -> Validator:
    """A ``jsonschema`` validator for the committed schema of ``name``.

    Draft 2020-12 with the contract's dialect details: ``pattern`` uses
    ECMA-262 semantics (``$`` never matches before a final newline);
    ``integer`` means an integer literal and booleans are never numbers;
    ``date-time`` is checked by rfc3339-validator, and its date as written and
    its UTC instant must both fall within years 0001-9999; a missing property
    is reported at its own path.
    """
    cls, format_checker = _validator_class()
    validator: Validator = cls(load_schema(name), format_checker=format_checker)
    return validator
