"""What validating one line's models gave, kept so that explaining the line does not repeat it.

The model path decides a line the compiled core left to Python
(``admit_envelope``, then ``event_to_fact``) and, when the line is
rejected, explains it (``explain_line``). Both validate the same envelope
and the same payload with the same models. ``validate_once`` records each
model's instance or violations in an ``Outcomes`` mapping the first time,
and hands them back the second: a rejected line is validated and described
once, not twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from .input import PathParts
from .messages import model_violations
from .result import Violation

__all__ = ["Outcomes", "validate_once"]

Outcomes: TypeAlias = dict[type[BaseModel], BaseModel | list[Violation]]
"""Per model class, the instance or the violations that validating one line's data with it gave.

One mapping belongs to one line: its envelope is validated with ``Event``
and its payload with its event type's model, so a class names one value.
"""

_Model = TypeVar("_Model", bound=BaseModel)


def validate_once(
    model: type[_Model],
    data: Any,
    outcomes: Outcomes | None,
    prefix: PathParts = (),
    context: Mapping[str, Any] | None = None,
) -> _Model | list[Violation]:
    """``model.model_validate(data, context=context)``, or the violations of its error.

    The violations are ``model_violations(error, prefix)``: ``prefix`` is
    where ``data`` sits in the envelope. With ``outcomes``, an outcome
    recorded for ``model`` is returned without validating again, and a new
    one is recorded.
    """
    if outcomes is not None:
        found = outcomes.get(model)
        if isinstance(found, (model, list)):
            return found
    try:
        result: _Model | list[Violation] = model.model_validate(data, context=context)
    except ValidationError as exc:
        result = model_violations(exc, prefix)
    if outcomes is not None:
        outcomes[model] = result
    return result
