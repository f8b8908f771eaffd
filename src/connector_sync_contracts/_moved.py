"""Old import paths of the 2.x releases, kept working with a ``DeprecationWarning``.

The package used to be one flat folder (``connector``, ``sync``, ``links``,
``envelope``, ``registry``, ``reducers``, ``results``, ``jsonl``,
``cloudevents``, ``docs``). Those modules are now shims: each name they
exported still resolves, from its new home, and warns once where it is
used. They go away in 3.0; import from ``connector_sync_contracts`` instead.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["forward"]

_PACKAGE = "connector_sync_contracts"


def forward(
    old: str, homes: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the shim module ``old``.

    ``homes`` maps each name the old module exported to its new home, a
    module path relative to the package ("" for the package root).
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        where = f"{_PACKAGE}.{home}" if home else _PACKAGE
        warnings.warn(
            f"{old}.{name} moved: import it from {where}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(where), name)

    def __dir__() -> list[str]:  # noqa: N807 - the module hook's own name
        return sorted(homes)

    return __getattr__, __dir__
