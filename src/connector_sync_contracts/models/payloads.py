"""Event type -> frozen payload model, built from the catalogue's rows."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel

from ..contract.catalog import CATALOG
from . import connector, links, sync

__all__ = ["PAYLOAD_MODELS"]

_FAMILY_MODULES: Final = (connector, sync, links)


def _model(name: str) -> type[BaseModel]:
    for module in _FAMILY_MODULES:
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    raise LookupError(f"the catalogue names a payload model {name!r} that no family defines")


PAYLOAD_MODELS: Final[Mapping[str, type[BaseModel]]] = MappingProxyType(
    {row.event_type: _model(row.model) for row in CATALOG}
)
"""Event type -> frozen payload model, for every event type of the contract."""
