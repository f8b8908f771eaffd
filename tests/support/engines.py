"""Running validate and replay under either engine: the compiled core or pure Python.

Import it as ``from engines import ...`` (like ``factories``).

``_stream`` asks ``_accel.scanner()`` on every run, so an engine is chosen by
setting or removing ``CONNECTOR_SYNC_PURE_PYTHON`` around the run. This is a
context manager rather than a fixture because Hypothesis rejects
function-scoped fixtures (``monkeypatch``) in ``@given`` tests, and one
example may run both engines one after the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal

import pytest

from connector_sync_contracts import canonical_json, sort_key
from connector_sync_contracts._engine import native as _accel

__all__ = [
    "ENGINES",
    "NATIVE_AVAILABLE",
    "Engine",
    "engine",
    "native_scanner",
    "needs_native",
    "order_and_identity",
    "require_native",
]

Engine = Literal["compiled", "python"]


@contextmanager
def engine(name: Engine) -> Iterator[None]:
    """Run the body with the compiled engine switched on (when built) or off."""
    saved = os.environ.get(_accel.PURE_PYTHON_ENV)
    if name == "python":
        os.environ[_accel.PURE_PYTHON_ENV] = "1"
    else:
        os.environ.pop(_accel.PURE_PYTHON_ENV, None)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_accel.PURE_PYTHON_ENV, None)
        else:
            os.environ[_accel.PURE_PYTHON_ENV] = saved


def native_scanner() -> _accel.Scanner | None:
    """A compiled scanner when the extension is built (whatever the environment says)."""
    with engine("compiled"):
        return _accel.scanner()


NATIVE_AVAILABLE: Final = native_scanner() is not None
"""Whether ``connector_sync_contracts._engine.native._native`` was built and imports."""

_NO_NATIVE: Final = (
    "the compiled extension connector_sync_contracts._engine.native._native is not built"
)

needs_native: Final = pytest.mark.skipif(not NATIVE_AVAILABLE, reason=_NO_NATIVE)
"""Mark for tests of the compiled engine (skipped when it is not built)."""

ENGINES: Final = (
    pytest.param("compiled", marks=needs_native),
    pytest.param("python"),
)
"""Parameters for tests that must hold under both engines (compiled skipped when not built)."""


def require_native() -> None:
    """Skip the calling test when the compiled extension is not built."""
    if not NATIVE_AVAILABLE:
        pytest.skip(_NO_NATIVE)


def order_and_identity(item: Any, name: Engine = "compiled") -> tuple[Any, Any]:
    """``sort_key`` and ``canonical_json`` of ``item`` under engine ``name`` (each with
    its ``repr``: a datetime's ``fold`` is not compared by ``==``), or the error
    each raised (its type and message)."""
    found: list[Any] = []
    with engine(name):
        for made in (sort_key, canonical_json):
            try:
                value = made(item)
                found.append((value, repr(value)))
            except ValueError as exc:
                found.append((type(exc), str(exc)))
    return found[0], found[1]
