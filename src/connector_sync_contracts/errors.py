"""Every exception the library raises, CloudEvents ones included.

Validation of data never raises (see ``validate_event``); these are for
programming errors and I/O, and for callers that ask for an exception.
Every leaf also subclasses ``ValueError`` so generic handlers keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "CloudEventMappingError",
    "CloudEventProblem",
    "CloudEventsSDKMissingError",
    "ClusterUnavailableError",
    "ContractError",
    "ContractViolationError",
    "InputError",
    "OutOfOrderWarning",
    "SchemaSetError",
    "SpillError",
    "UnknownEventTypeError",
]


class Described(Protocol):
    """A problem as every item of ``ContractViolationError.violations`` describes it (a
    ``Violation``, a ``CloudEventProblem``), and as ``io.LineProblem.of`` reads one."""

    @property
    def path(self) -> str:
        """JSON path of the offending value, e.g. ``$.payload.latency_ms``."""

    @property
    def code(self) -> str:
        """Stable code of the rule broken."""

    @property
    def message(self) -> str:
        """Human-readable explanation."""


class ContractError(Exception):
    """Root of every exception raised by ``connector_sync_contracts``."""


class ContractViolationError(ContractError, ValueError):
    """Data broke a contract rule; ``violations`` holds every problem found, each
    with its ``path`` (JSON path), stable ``code`` and ``message``: a
    ``Violation``, or a ``CloudEventProblem`` for ``CloudEventMappingError``."""

    def __init__(self, message: str, violations: Iterable[Described] = ()) -> None:
        super().__init__(message)
        self.violations: tuple[Described, ...] = tuple(violations)


class UnknownEventTypeError(ContractError, ValueError):
    """An event type that no family of this contract defines."""


class SchemaSetError(ContractError, ValueError):
    """A folder given as a schema set (a compatibility baseline or candidate) is not one."""


class InputError(ContractError, OSError):
    """An input could not be read (missing, unreadable, or damaged gzip data).

    The message names the input and says why in plain words.
    """


class OutOfOrderWarning(UserWarning):
    """``Projection.apply`` got an event that sorts before one it already applied.

    The incremental result then can differ from ``replay()`` of the same
    events; ``Projection.out_of_order`` counts such events. Sort the events
    with ``sort_key`` first, or use ``replay()``, which sorts.
    """


class ClusterUnavailableError(ContractError, OSError):
    """A Dask cluster could not be used: its scheduler is unreachable, Dask is missing,
    or its workers kept dying while running one task (killed, or out of memory).

    An I/O error, like ``InputError``: the message says which scheduler or task and why.
    """


class SpillError(ContractError, OSError):
    """A replay spilling to disk could not write its temporary folder (a full disk, a
    file size limit, a failing device).

    An I/O error, like ``InputError``: the message names the folder and says
    why. ``TMPDIR`` chooses where the folder goes.
    """


class CloudEventsSDKMissingError(ContractError, ImportError):
    """The ``cloudevents`` SDK is needed here but not installed."""

    def __init__(self) -> None:
        super().__init__(
            "this needs the official CloudEvents SDK: "
            "pip install 'connector-sync-contracts[cloudevents]'"
        )


@dataclass(frozen=True, slots=True)
class CloudEventProblem:
    """One reason a CloudEvent cannot become an envelope."""

    path: str
    """JSON path in the structured CloudEvent, e.g. ``$.source`` or ``$.data.latency_ms``."""
    code: str
    """Stable code, e.g. ``missing_attribute``, ``invalid_source`` or an envelope rule code."""
    message: str
    """Human-readable explanation."""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form: path, code, message."""
        return {"path": self.path, "code": self.code, "message": self.message}


class CloudEventMappingError(ContractViolationError):
    """A CloudEvent does not map to a valid envelope; ``violations`` lists every problem."""

    violations: tuple[CloudEventProblem, ...]

    def __init__(self, problems: tuple[CloudEventProblem, ...]) -> None:
        shown = "; ".join(f"{p.path}: {p.code}: {p.message}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"not a contract CloudEvent: {shown}{more}", problems)
        self.violations = problems
