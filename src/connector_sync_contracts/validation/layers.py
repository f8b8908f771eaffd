"""The model, schema, semantic and strict layers, and ``validate_event`` (FR-008; section 7).

``validate_event`` accepts a payload (with its event type) or a whole
envelope, as a mapping or as JSON text/bytes, and never raises on bad data:
every problem comes back as a ``Violation`` with a layer, a JSON path, a
stable code and a message. The layers are

``input``
    the data is JSON at all (``input``). When this layer fails, no other
    layer runs.
``model``
    the frozen pydantic models (envelope, then payload).
``schema``
    the committed JSON Schemas, through ``jsonschema``. Model and schema
    layers use one vocabulary of codes (``required``, ``type``, ``enum``,
    ``min_length``, ``max_length``, ``minimum``, ``maximum``, ``pattern``,
    ``format``) and report at most one code per path (the first failing rule
    in that order), so the two layers agree on the codes as well as on the
    verdict; the conformance suite tests that agreement. A problem both
    layers find is reported once, in the model's words (which name the
    offending value), with ``found_by`` naming both layers.
``semantic``
    the cross-field rules of ``contract.rules.SEMANTIC_RULES``, checked only
    when the payload passed the model layer.
``strict``
    only with ``strict=True``: unknown envelope and payload fields, and an
    envelope ``project_uuid`` that differs from the payload's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..contract.rules import semantic_failures, semantic_rule_field
from ..models.envelope import LIMITS_CHECKED, Event
from ..models.fields import UuidField
from ..models.payloads import PAYLOAD_MODELS
from ..schemas import ENVELOPE_SCHEMA, create_validator
from .input import PathParts, cloudevent_hint, load_json_object, spelled_as_json, violation
from .messages import one_per_path, semantic_message, unknown_event_type_message
from .outcomes import Outcomes, validate_once
from .result import LAYER_ORDER, Layer, ValidationResult, Violation, merge_layers

__all__ = ["validate_event"]

_SCHEMA_CODES: Final[Mapping[str, str]] = {
    "required": "required",
    "type": "type",
    "enum": "enum",
    "const": "enum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "exclusiveMinimum": "exclusive_minimum",
    "maximum": "maximum",
    "exclusiveMaximum": "exclusive_maximum",
    "pattern": "pattern",
    "format": "format",
}


def _model_layer(
    run: _Run, model: type[BaseModel], data: dict[str, Any], prefix: PathParts
) -> tuple[BaseModel | None, list[Violation]]:
    found = validate_once(model, data, run.outcomes, prefix, LIMITS_CHECKED)
    return (None, found) if isinstance(found, list) else (found, [])


def _schema_layer(name: str, data: dict[str, Any], prefix: PathParts) -> list[Violation]:
    found = [
        violation(
            Layer.SCHEMA,
            (*prefix, *error.absolute_path),
            _SCHEMA_CODES.get(str(error.validator), "invalid"),
            error.message,
        )
        for error in create_validator(name).iter_errors(spelled_as_json(data))
    ]
    return one_per_path(found)


def _semantic_layer(
    event_type: str, parsed: BaseModel, payload: Mapping[str, Any], prefix: PathParts
) -> list[Violation]:
    """The rules ``parsed`` breaks, each told with the values ``payload`` writes."""
    return [
        violation(
            Layer.SEMANTIC,
            (*prefix, semantic_rule_field(rule)),
            rule.code,
            semantic_message(rule, payload),
        )
        for rule in semantic_failures(event_type, parsed)
    ]


def _unknown_fields(
    model: type[BaseModel], data: Mapping[str, Any], prefix: PathParts
) -> list[Violation]:
    known, name = model.model_fields, model.__name__  # a property: asked once
    return [
        violation(
            Layer.STRICT, (*prefix, key), "unknown_field", f"{key!r} is not a field of {name}"
        )
        for key in data
        if key not in known
    ]


# ------------------------------------------------------------------ entry point


@dataclass
class _Run:
    violations: list[Violation]
    layers: list[Layer]
    schema: bool = True
    """Run the schema layer (``explain_line`` leaves it out)."""
    outcomes: Outcomes | None = None
    """The model layer's verdicts on this data that are known already."""

    def ran(self, *layers: Layer) -> None:
        for layer in layers:
            if layer not in self.layers:
                self.layers.append(layer)


def _payload_layers(
    run: _Run, event_type: str, payload: dict[str, Any], prefix: PathParts, strict: bool
) -> BaseModel | None:
    model = PAYLOAD_MODELS[event_type]
    run.ran(Layer.MODEL)
    parsed, problems = _model_layer(run, model, payload, prefix)
    run.violations.extend(problems)
    if run.schema:
        run.ran(Layer.SCHEMA)
        run.violations.extend(_schema_layer(event_type, payload, prefix))
    if parsed is not None:
        run.ran(Layer.SEMANTIC)
        run.violations.extend(_semantic_layer(event_type, parsed, payload, prefix))
    if strict:
        run.ran(Layer.STRICT)
        run.violations.extend(_unknown_fields(model, payload, prefix))
    return parsed


_ENVELOPE_ONLY: Final = frozenset(Event.model_fields).difference(
    *(model.model_fields for model in PAYLOAD_MODELS.values())
)
"""The envelope's fields that no payload has (event_id, timestamp, ...; not project_uuid)."""


def _is_envelope(data: Mapping[str, Any], event_type: object) -> bool:
    """An object with a payload, or, with no event_type argument, with any field only an
    envelope has: one that lacks its event_type and payload is told so, as a line is,
    rather than taken for a bare payload (an outside run found the two answers apart)."""
    return "payload" in data or (event_type is None and not _ENVELOPE_ONLY.isdisjoint(data))


def _known_type(event_type: object, path: PathParts, run: _Run) -> str | None:
    if isinstance(event_type, str) and event_type in PAYLOAD_MODELS:
        return event_type
    run.violations.append(
        violation(Layer.INPUT, path, "unknown_event_type", unknown_event_type_message(event_type))
    )
    return None


def _validate_envelope(
    run: _Run, data: dict[str, Any], requested: str | None, strict: bool
) -> str | None:
    run.ran(Layer.MODEL)
    envelope, problems = _model_layer(run, Event, data, ())
    run.violations.extend(problems)
    if run.schema:
        run.ran(Layer.SCHEMA)
        run.violations.extend(_schema_layer(ENVELOPE_SCHEMA, data, ()))
    if strict:
        run.ran(Layer.STRICT)
        run.violations.extend(_unknown_fields(Event, data, ()))
    declared = data.get("event_type")
    if not isinstance(declared, str) or not declared:
        return None  # the model and schema layers already report it
    if requested is not None and requested != declared:
        run.violations.append(
            violation(
                Layer.INPUT,
                ("event_type",),
                "event_type_mismatch",
                f"envelope says {declared!r} but {requested!r} was requested",
            )
        )
    event_type = _known_type(declared, ("event_type",), run)
    payload = data.get("payload")
    if event_type is None or not isinstance(payload, dict):
        return event_type
    parsed = _payload_layers(run, event_type, payload, ("payload",), strict)
    if strict and "project_uuid" in PAYLOAD_MODELS[event_type].model_fields:
        # Judged on the two values alone, whatever else is wrong with the line:
        # a producer fixing one problem must not find this one on the next run.
        outer = envelope.project_uuid if isinstance(envelope, Event) else _uuid(data)
        inner = getattr(parsed, "project_uuid", None) if parsed is not None else _uuid(payload)
        run.violations.extend(_uuid_mismatch(outer, inner))
    return event_type


def _uuid_mismatch(outer: UUID | None, inner: UUID | None) -> list[Violation]:
    if outer is None or inner is None or inner == outer:
        return []
    message = f"payload project_uuid {inner} differs from the envelope's {outer}"
    return [violation(Layer.STRICT, ("payload", "project_uuid"), "project_uuid_mismatch", message)]


def strict_violations(obj: Mapping[str, Any]) -> tuple[Violation, ...]:
    """``explain_line(obj, strict=True)``'s violations for an envelope of a known
    event type that every other layer accepts, found without validating it again.

    Only what ``strict`` adds can be wrong with such a line: its unknown
    fields (envelope and payload) and a payload ``project_uuid`` that is not
    the envelope's, worded and ordered as ``explain_line`` words and orders
    them. The compiled core tells which lines these are (it takes them when
    not strict); a newer producer's log, every line with a new field, is then
    checked by ``validate --strict`` at a few microseconds a line.
    """
    payload = obj["payload"]
    model = PAYLOAD_MODELS[obj["event_type"]]
    found = [*_unknown_fields(Event, obj, ()), *_unknown_fields(model, payload, ("payload",))]
    if "project_uuid" in model.model_fields:
        found.extend(_uuid_mismatch(_uuid(obj), _uuid(payload)))
    return merge_layers(found)


_VALID_LAYERS: Final = (Layer.INPUT, Layer.MODEL, Layer.SCHEMA, Layer.SEMANTIC)
"""The layers that run on a valid envelope of a known event type (and STRICT)."""


def _taken_object(data: dict[str, Any], strict: bool) -> ValidationResult | None:
    """``_taken_whole`` of an envelope mapping: the core reads it as ``replay()``
    reads a mapping (only values JSON carries exactly; anything else is left
    to the layers) and takes it only when it is valid (a known event type, no
    semantic rule broken). ``strict`` then adds only unknown fields and a
    payload project_uuid that is not the envelope's (``strict_violations``):
    a mapping with either is left to the layers, which word them."""
    from .._engine import native

    scanner = native.shared_scanner()
    if scanner is None or scanner.probe_object(data, None, False) is None:
        return None
    if strict and strict_violations(data):
        return None
    layers = (*_VALID_LAYERS, Layer.STRICT) if strict else _VALID_LAYERS
    return ValidationResult(True, (), "envelope", data["event_type"], layers)


def _taken_event(event: Event, strict: bool) -> ValidationResult | None:
    """``_taken_object`` of an ``Event``'s fields (``model_dump``: its timestamp and
    project_uuid as objects, which the core reads as the models read their text).

    The whole envelope is read, not only the payload: an Event made with
    ``model_construct`` was never validated, and is judged as its JSON is.
    """
    try:
        fields = event.model_dump(warnings=False)  # the layers warn, if need be
    except ValueError:  # PydanticSerializationError: the layers word it
        return None
    return _taken_object(fields, strict)


def _taken_whole(data: bytes | str, strict: bool) -> ValidationResult | None:
    """The result of an envelope's JSON text that the compiled core takes whole as
    valid, or None: the layers decide it.

    The core reads one line exactly as the input layer does (stricter, never
    looser) and checks the envelope, the payload and the semantic rules (and
    with ``strict`` unknown fields and the project_uuid) as the models do, as
    the engines' shared tests hold it; a line it takes is valid, and its
    result has nothing to say but which event type it is. A service checking
    each event from a queue then pays microseconds, not the half millisecond
    of the model and schema layers.
    """
    from .._engine import native

    scanner = native.shared_scanner()
    if scanner is None:
        return None
    if isinstance(data, str):
        try:
            data = data.encode()
        except UnicodeEncodeError:  # a lone surrogate: the input layer words it
            return None
    count, deferred = scanner.scan(data, False, len(data), strict, 0, 1)
    if count != 1 or deferred:
        return None
    layers = (*_VALID_LAYERS, Layer.STRICT) if strict else _VALID_LAYERS
    event_type = orjson.loads(data)["event_type"]
    return ValidationResult(True, (), "envelope", event_type, layers)  # valid, nothing to say


_UUID_FIELD: Final = TypeAdapter(UuidField)


def _uuid(data: Mapping[str, Any]) -> UUID | None:
    """``data``'s project_uuid as the models read it; None when absent, null or not
    one (the model layer reports that)."""
    value = data.get("project_uuid")
    if value is None:
        return None
    try:
        return _UUID_FIELD.validate_python(value)
    except ValidationError:
        return None


def validate_event(
    data: object, event_type: str | None = None, *, strict: bool = False
) -> ValidationResult:
    """Validate a payload or a whole envelope and report every violation; never raises
    on bad data (a ``strict`` that is not a bool is a ``TypeError``).

    ``data`` is a mapping, JSON text (``str``) or UTF-8 JSON bytes, or a model
    instance. It is read as an envelope when it has a ``payload`` key (or an
    ``event_type`` key and no ``event_type`` argument); otherwise it is a
    payload and ``event_type`` names its model. ``strict=True`` also reports
    unknown fields and an envelope/payload ``project_uuid`` mismatch.

    >>> validate_event({"delivery_id": "d1"}, "SyncIngestAccepted").valid
    False
    """
    if not isinstance(strict, bool):  # a wrong argument, not bad data: "no" would be truthy
        raise TypeError(f"strict must be a bool, not {type(strict).__name__}")
    if event_type is None:  # an envelope the core may take whole
        taken = None
        if isinstance(data, (bytes, str)):
            taken = _taken_whole(data, strict)
        elif type(data) is dict:
            taken = _taken_object(data, strict)
        elif isinstance(data, Event):
            taken = _taken_event(data, strict)
        if taken is not None:
            return taken
    return _validated(data, event_type, strict)


def _validated(data: object, event_type: str | None, strict: bool) -> ValidationResult:
    """``validate_event`` by the layers themselves."""
    if event_type is None and isinstance(data, BaseModel) and not isinstance(data, Event):
        event_type = next(
            (name for name, model in PAYLOAD_MODELS.items() if model is type(data)), None
        )
    if isinstance(data, BaseModel):
        try:
            # A field holding a value of another type (an instance made with
            # model_construct) is a violation said below, not a warning too.
            data = data.model_dump(mode="json", warnings=False)
        except ValueError as exc:  # PydanticSerializationError: a field that is not JSON
            message = f"model does not serialize: {exc}"
            return _result(
                _Run([violation(Layer.INPUT, (), "not_json", message)], [Layer.INPUT]), None, None
            )
    obj, problems = load_json_object(data)
    if obj is None:
        return _result(_Run(list(problems), [Layer.INPUT]), None, None)
    return _validate_object(_Run([], [Layer.INPUT]), obj, event_type, strict)


def explain_line(
    obj: dict[str, Any], *, strict: bool = False, outcomes: Outcomes | None = None
) -> ValidationResult:
    """``validate_event(obj, strict=strict)`` without the schema layer, for a parsed line.

    What the command line reports for a line it rejected: ``obj`` is the
    object of a line that passed the input layer (``io.parse_line``), and the
    model layer decided its verdict. The schema layer would name the same
    (path, code) pairs in other words, which the report shows once in the
    model's: tests/validation/test_agreement.py holds the two layers to
    that, and to this function's problems being ``validate_event``'s. It is
    left out because it costs three quarters of an explanation.

    A line of a log is always read as an envelope: an object with neither
    ``payload`` nor ``event_type`` is told which envelope fields it lacks,
    where ``validate_event`` would take it for a bare payload and ask for
    an ``event_type`` argument that a line cannot pass.

    ``outcomes``: what deciding the line found validating its envelope and
    payload (``admit_envelope``, ``event_to_fact``), so it is not done again.
    """
    run = _Run([], [Layer.INPUT], schema=False, outcomes=outcomes)
    return _validate_object(run, obj, None, strict, envelope=True)


def _validate_object(
    run: _Run,
    obj: dict[str, Any],
    event_type: str | None,
    strict: bool,
    *,
    envelope: bool = False,
) -> ValidationResult:
    hint = cloudevent_hint(obj) if event_type is None else None
    if hint is not None:
        return _result(_Run([hint], [Layer.INPUT]), None, None)
    if envelope or _is_envelope(obj, event_type):
        requested = event_type if isinstance(event_type, str) else None
        if event_type is not None and requested is None:
            _known_type(event_type, (), run)
        chosen = _validate_envelope(run, obj, requested, strict)
        return _result(run, "envelope", chosen)
    if event_type is None:
        run.violations.append(
            violation(
                Layer.INPUT,
                (),
                "event_type_required",
                "a bare payload needs event_type; pass it, or validate the whole envelope",
            )
        )
        return _result(run, "payload", None)
    known = _known_type(event_type, (), run)
    if known is not None:
        _payload_layers(run, known, obj, (), strict)
    return _result(run, "payload", known)


def _result(
    run: _Run, kind: Literal["envelope", "payload"] | None, event_type: str | None
) -> ValidationResult:
    violations = merge_layers(run.violations)
    layers = tuple(sorted(run.layers, key=LAYER_ORDER.__getitem__))
    return ValidationResult(
        valid=not violations,
        violations=violations,
        kind=kind,
        event_type=event_type,
        layers=layers,
    )
