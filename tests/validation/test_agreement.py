"""Model <=> schema agreement (FR-008): both layers accept exactly the same inputs.

For every event type and for the envelope, Hypothesis draws documents that
follow the committed schema and mutates them; the model layer (pydantic)
and the schema layer (jsonschema on the committed file) must then report
the same (path, code) pairs, so they accept and reject the same inputs and
speak one vocabulary. A deterministic sweep also tries every bad value of
the ``BAD_*`` tables on every field, and every dropped field.

Examples per target: ``AGREEMENT_EXAMPLES`` (300 by default, so 3,600 in
``make test``; 4,000 per target, 48,000 in all, with ``CSC_SOAK=1``).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import Layer, ValidationResult, validate_event
from connector_sync_contracts._engine.modelpath import LineChecker
from connector_sync_contracts.schemas import ENVELOPE_SCHEMA, schema_names
from connector_sync_contracts.validation.layers import explain_line
from tests.support.schema_strategies import (
    bad_values_for,
    field_schemas,
    mutated_documents,
    sample_document,
    valid_documents,
)
from tests.support.soak import SOAK

AGREEMENT_EXAMPLES: Final = 4000 if SOAK else 300
"""Hypothesis examples per schema (12 schemas: 11 payloads and the envelope)."""

TARGETS: Final = schema_names()

_settings = settings(
    max_examples=AGREEMENT_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _validate(doc: dict[str, Any], target: str) -> ValidationResult:
    if target == ENVELOPE_SCHEMA:
        return validate_event(doc)
    return validate_event(doc, target)


def _pairs(result: ValidationResult, layer: Layer) -> set[tuple[str, str]]:
    return {(v.path, v.code) for v in result.by_layer(layer)}


def assert_layers_agree(doc: dict[str, Any], target: str) -> ValidationResult:
    """Validate ``doc`` and fail unless model and schema report the same (path, code) pairs."""
    result = _validate(doc, target)
    if Layer.INPUT in {v.layer for v in result.violations}:
        # Not JSON (or no payload model): neither layer ran, so there is nothing to compare.
        assert Layer.MODEL not in result.layers or result.kind == "envelope"
        return result
    assert Layer.MODEL in result.layers
    assert Layer.SCHEMA in result.layers
    model, schema = _pairs(result, Layer.MODEL), _pairs(result, Layer.SCHEMA)
    assert model == schema, (
        f"model and schema disagree on {json.dumps(doc, default=repr)[:2000]}\n"
        f"model only: {sorted(model - schema)}\nschema only: {sorted(schema - model)}\n"
        f"{[v.to_dict() for v in result.violations]}"
    )
    return result


@pytest.mark.parametrize("target", TARGETS)
@_settings
@given(data=st.data())
def test_model_and_schema_agree_on_mutated_documents(target: str, data: st.DataObject) -> None:
    doc = data.draw(mutated_documents(target), label="document")
    result = assert_layers_agree(doc, target)
    event("layers accept" if not result.by_layer(Layer.MODEL) else "layers reject")
    for code in sorted(result.codes):
        event(f"code {code}")
    # The same document as JSON text gets the same verdict, violation for violation.
    text = json.dumps(doc)
    assert _validate_text(text, target) == result


def _validate_text(text: str, target: str) -> ValidationResult:
    return validate_event(text) if target == ENVELOPE_SCHEMA else validate_event(text, target)


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=max(50, AGREEMENT_EXAMPLES // 6), deadline=None)
@given(data=st.data())
def test_generated_documents_are_valid(target: str, data: st.DataObject) -> None:
    # Guards the generator: unmutated documents pass both layers, so the
    # mutations above start from valid data and each one tests a single rule.
    doc = data.draw(valid_documents(target), label="document")
    result = _validate(doc, target)
    broken = {v.code for v in result.violations if v.layer in (Layer.MODEL, Layer.SCHEMA)}
    assert not broken, [v.to_dict() for v in result.violations]


@pytest.mark.parametrize("target", TARGETS)
def test_every_listed_mutation_agrees(target: str) -> None:
    base = sample_document(target)
    assert _validate(base, target).valid
    tried = rejected = 0
    for prop, sub in sorted(field_schemas(target).items()):
        dropped = {key: value for key, value in base.items() if key != prop}
        assert_layers_agree(dropped, target)
        for bad in bad_values_for(sub):
            result = assert_layers_agree({**base, prop: bad}, target)
            tried += 1
            rejected += not result.valid
    # Most listed values must really be rejected, or the sweep proves little.
    assert rejected > tried // 2


def _envelope_of(doc: dict[str, Any], target: str) -> dict[str, Any]:
    if target == ENVELOPE_SCHEMA:
        return doc
    return {**sample_document(ENVELOPE_SCHEMA), "event_type": target, "payload": doc}


def _said(result: ValidationResult) -> list[tuple[str, str, str]]:
    return [(v.path, v.code, v.message) for v in result.violations]


_explaining = settings(
    max_examples=max(100, AGREEMENT_EXAMPLES // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Half the agreement examples for each test of how a line is explained."""


@pytest.mark.parametrize("target", TARGETS)
@_explaining
@given(data=st.data(), strict=st.booleans())
def test_a_rejected_line_is_explained_as_validate_event_explains_it(
    target: str, data: st.DataObject, strict: bool
) -> None:
    """The command line explains a line that passed the input layer without the
    schema layer (``explain_line``): since the layers agree, it says what
    ``validate_event`` says, problem for problem and word for word."""
    envelope = _envelope_of(data.draw(mutated_documents(target), label="document"), target)
    expected = validate_event(envelope, strict=strict)
    assume(
        Layer.INPUT not in {v.layer for v in expected.violations if v.code != "unknown_event_type"}
    )
    assert _said(explain_line(envelope, strict=strict)) == _said(expected)


@pytest.mark.parametrize("target", TARGETS)
@_explaining
@given(data=st.data(), strict=st.booleans())
def test_a_line_the_model_path_decided_is_explained_as_validate_event_explains_it(
    target: str, data: st.DataObject, strict: bool
) -> None:
    """The model path explains a rejected line with what deciding it found
    (the envelope and payload models' verdicts, the input layer's problems)
    instead of validating it again: the problems must still be those
    ``validate_event`` names for the line's bytes, word for word, and the
    verdict the same."""
    envelope = _envelope_of(data.draw(mutated_documents(target), label="document"), target)
    try:
        raw = json.dumps(envelope, ensure_ascii=data.draw(st.booleans())).encode()
    except (TypeError, ValueError):
        assume(False)
    expected = validate_event(raw, strict=strict)
    checker = LineChecker(strict=strict)
    decision = checker.decide(raw, 7)
    assert decision.valid == expected.valid
    found = checker.problems(7, decision)
    if decision.parsed is not None:
        # Explained without deciding first (as ``validate`` explains a deferred line):
        # the same problems, and none exactly when the line is valid.
        assert checker.explain(7, decision.parsed) == found
        assert (not found) == decision.valid
    if "event_type_required" in {v.code for v in expected.violations}:
        # A line is always an envelope: where validate_event takes an object with
        # neither payload nor event_type for a bare payload and asks for the
        # event_type argument, the line is told which envelope fields it lacks.
        assert {("$.event_type", "required"), ("$.payload", "required")} <= {
            (p.field, p.code) for p in found
        }
        return
    assert [(p.field, p.code, p.message) for p in found] == _said(expected)
    assert {p.line for p in found} <= {7}
