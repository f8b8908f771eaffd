"""Exceptions raised by the library.

Validation of data never raises (see ``validate_event``); these are for
programming errors and I/O, and for callers that ask for an exception.
Every leaf also subclasses ``ValueError`` so generic handlers keep working.
"""

from __future__ import annotations

__all__ = ["ContractError", "ContractViolationError", "UnknownEventTypeError"]


class ContractError(Exception):
    """Root of every exception raised by ``connector_sync_contracts``."""


class ContractViolationError(ContractError, ValueError):
    """Data broke a contract rule; ``violations`` holds every problem found."""

    def __init__(self, message: str, violations: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.violations = violations


class UnknownEventTypeError(ContractError, ValueError):
    """An event type that no family of this contract defines."""
