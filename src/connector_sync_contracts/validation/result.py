"""What validation returns: layers, violations, results and the stable codes (FR-008).

No pydantic here: the command line's compiled path reports problems with
these types without loading the models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..contract.lifecycle import ValueEnum
from ..contract.projection import canonical_dumps
from ..contract.rules import SEMANTIC_RULES

__all__ = [
    "CLOUDEVENT_CODES",
    "FIELD_CODES",
    "FIELD_RANK",
    "INPUT_CODES",
    "LINE_CODES",
    "LAYER_ORDER",
    "STRICT_CODES",
    "VIOLATION_CODES",
    "Layer",
    "ValidationResult",
    "Violation",
    "merge_layers",
    "violation_order",
]


class Layer(ValueEnum):
    """Validation layer a violation comes from, in the order the layers run."""

    INPUT = "input"
    MODEL = "model"
    SCHEMA = "schema"
    SEMANTIC = "semantic"
    STRICT = "strict"


LAYER_ORDER: Final = {layer: index for index, layer in enumerate(Layer)}
"""Layer -> its position in the order the layers run."""

FIELD_CODES: Final = (
    "required",
    "type",
    "enum",
    "min_length",
    "max_length",
    "minimum",
    "exclusive_minimum",
    "maximum",
    "exclusive_maximum",
    "pattern",
    "format",
    "invalid",
)
"""Codes of the model and schema layers, most fundamental first; each layer keeps one per path."""
FIELD_RANK: Final = {code: rank for rank, code in enumerate(FIELD_CODES)}
"""Field code -> its rank in ``FIELD_CODES``."""

INPUT_CODES: Final = (
    "nul_byte",
    "invalid_json",
    "invalid_utf8",
    "invalid_unicode",
    "duplicate_key",
    "non_finite_number",
    "integer_out_of_range",
    "too_deep",
    "not_json",
    "not_an_object",
    "event_type_required",
    "event_type_mismatch",
    "unknown_event_type",
    "looks_like_cloudevent",
)
"""Codes of the input layer."""
STRICT_CODES: Final = ("unknown_field", "project_uuid_mismatch")
"""Codes of the strict layer."""

LINE_CODES: Final = ("blank_line", "line_too_long")
"""Codes of a JSONL line as a whole, reported by the command line (``io``, the engine)."""
CLOUDEVENT_CODES: Final = (
    "missing_attribute",
    "attribute_type",
    "unsupported_specversion",
    "unknown_type",
    "incompatible_version",
    "invalid_source",
    "unsupported_datacontenttype",
    "unsupported_data_encoding",
    "looks_like_envelope",
)
"""Codes of a CloudEvent that does not map to an envelope (``--input-format cloudevents``,
``CloudEventMappingError``); the envelope rules it breaks keep their own codes."""

VIOLATION_CODES: Final[frozenset[str]] = frozenset(
    {
        *INPUT_CODES,
        *FIELD_CODES,
        *STRICT_CODES,
        *(rule.code for rule in SEMANTIC_RULES),
        *LINE_CODES,
        *CLOUDEVENT_CODES,
    }
)
"""Every code a problem can carry: a ``Violation``, a line problem of the command line, or a
CloudEvent mapping problem. Codes are stable across releases of 2.x."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (a JSON path such as ``$.payload.endpoint_url``), which rule
    (a stable ``code`` from ``VIOLATION_CODES``), which layer found it, and a message.

    ``str()`` reads ``$.payload.endpoint_url: pattern: must be ...``.
    """

    layer: Layer
    """Layer that found the problem first (the model before the schema)."""
    path: str
    """JSON path of the offending value (``$`` is the validated object itself)."""
    code: str
    """Stable machine-readable code, e.g. ``required``, ``pattern``, ``unknown_field``."""
    message: str
    """Human-readable explanation, naming the offending value; wording may change."""
    found_by: tuple[Layer, ...] = ()
    """Every layer that reported this (path, code), in layer order; ``(layer,)`` by default.

    The model and schema layers check the same rules, so most problems are
    found by both; ``validate_event`` reports each once and lists both here.
    """

    def __post_init__(self) -> None:
        if not self.found_by:
            object.__setattr__(self, "found_by", (self.layer,))

    def __str__(self) -> str:
        """``path: code: message``, as the command line prints a problem."""
        return f"{self.path}: {self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: layer, path, code, message and found_by (layer values)."""
        return {
            "layer": self.layer.value,
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "found_by": [layer.value for layer in self.found_by],
        }


def violation_order(violation: Violation) -> tuple[int, str, str, str]:
    """Sort key of violations: (layer, path, code, message)."""
    return (LAYER_ORDER[violation.layer], violation.path, violation.code, violation.message)


def merge_layers(violations: Iterable[Violation]) -> tuple[Violation, ...]:
    """One violation per (path, code), sorted: the first layer's, found by every layer.

    The model and schema layers describe the same broken rule in their own
    words; a reader needs it once. The earliest layer's wording is kept (the
    model's, which names the value), and ``found_by`` lists every layer that
    reported it. Each of the two reports one problem per path, so a schema
    violation at a path the model reported under another code is the
    model's too.
    """
    merged: dict[tuple[str, str], Violation] = {}
    by_model: dict[str, tuple[str, str]] = {}
    for found in sorted(violations, key=violation_order):
        key = (found.path, found.code)
        if found.layer is Layer.SCHEMA and key not in merged and found.path in by_model:
            # Each layer names one problem per path; where the two name a value's
            # problem differently (a naive datetime object: the model's "format",
            # the schema's "pattern" of its text), it is still one problem.
            key = by_model[found.path]
        held = merged.get(key)
        if held is None:
            merged[key] = found
            if found.layer is Layer.MODEL:
                by_model.setdefault(found.path, key)
        elif not set(found.found_by) <= set(held.found_by):
            layers = sorted({*held.found_by, *found.found_by}, key=LAYER_ORDER.__getitem__)
            merged[key] = Violation(held.layer, held.path, held.code, held.message, tuple(layers))
    return tuple(sorted(merged.values(), key=violation_order))


@dataclass(frozen=True, slots=True, repr=False)
class ValidationResult:
    """Outcome of ``validate_event``: the verdict and every violation, deterministically sorted.

    ``valid`` is true only when every layer that applies is clean. Violations
    are ordered by (layer, path, code, message). ``repr()`` is one short
    line; ``str()`` is the verdict and one line per violation, as the
    command line prints them; ``to_json()`` gives canonical bytes.
    """

    valid: bool
    """True when no layer reported a violation."""
    violations: tuple[Violation, ...]
    """Every problem found, once each, ordered by (layer, path, code, message)."""
    kind: Literal["envelope", "payload"] | None
    """What the data was read as; None when it could not be read at all."""
    event_type: str | None
    """Event type whose payload rules applied (None when none could be chosen)."""
    layers: tuple[Layer, ...]
    """Layers that ran, in order."""

    @property
    def codes(self) -> frozenset[str]:
        """The distinct violation codes."""
        return frozenset(violation.code for violation in self.violations)

    def by_layer(self, layer: Layer | str) -> tuple[Violation, ...]:
        """The violations one layer reported (also those another layer found first)."""
        wanted = Layer(layer)
        return tuple(violation for violation in self.violations if wanted in violation.found_by)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole result."""
        return {
            "valid": self.valid,
            "kind": self.kind,
            "event_type": self.event_type,
            "layers": [layer.value for layer in self.layers],
            "violations": [violation.to_dict() for violation in self.violations],
        }

    def to_json(self) -> bytes:
        """Canonical JSON bytes of ``to_dict()``: sorted keys, 2-space indent, final newline.

        What a service returns to a producer whose event it rejected.
        """
        return canonical_dumps(self.to_dict())

    def _what(self) -> str:
        what = self.kind or "input"
        return f"{what} ({self.event_type})" if self.event_type else what

    def __repr__(self) -> str:
        """``ValidationResult(valid=False, kind='envelope', event_type=..., violations=3)``."""
        return (
            f"ValidationResult(valid={self.valid}, kind={self.kind!r}, "
            f"event_type={self.event_type!r}, violations={len(self.violations)})"
        )

    def __str__(self) -> str:
        """``valid envelope (X)``, or ``invalid ...: N violations`` and one line per violation."""
        if self.valid:
            return f"valid {self._what()}"
        count = len(self.violations)
        lines = [f"invalid {self._what()}: {count} violation{'s' if count != 1 else ''}"]
        lines.extend(f"  {violation}" for violation in self.violations)
        return "\n".join(lines)
