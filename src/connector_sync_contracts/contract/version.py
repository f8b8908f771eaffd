"""The contract version: the one place its number is written."""

from __future__ import annotations

from typing import Final

__all__ = ["CONNECTOR_SCHEMA_VERSION", "CONTRACT_VERSION", "SYNC_SCHEMA_VERSION"]

CONTRACT_VERSION: Final = "2.7.0"
"""Version of the contract this package implements (also the package version)."""

CONNECTOR_SCHEMA_VERSION: Final = CONTRACT_VERSION
"""Contract version of the connector lifecycle family."""

SYNC_SCHEMA_VERSION: Final = CONTRACT_VERSION
"""Contract version of the sync delivery family."""
