"""connector-sync-contracts: canonical, replay-safe connector and sync event contracts.

One vocabulary for connector lifecycle (FR-001, FR-002), sync delivery
outcomes with idempotency markers (FR-003, FR-004) and external reference
links (FR-005); deterministic reducers and whole-log replay (FR-006, FR-007);
and validation against the models and the committed JSON Schemas (FR-008).

Interoperability lives in its own modules, imported by name: ``cloudevents``
(CloudEvents 1.0 mapping; the SDK objects need the ``[cloudevents]`` extra),
``asyncapi`` (the generated AsyncAPI 3.0 document), ``compat`` (the schema
compatibility gate) and ``docs`` (the generated reference page).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from ._vocab import CONTRACT_VERSION

if TYPE_CHECKING:
    from .connector import (
        CONNECTOR_DEGRADED,
        CONNECTOR_EVENT_TYPES,
        CONNECTOR_HEALTH_CHECKED,
        CONNECTOR_PROVISIONED,
        CONNECTOR_RECONNECTED,
        CONNECTOR_REVOKED,
        CONNECTOR_SCHEMA_VERSION,
        ActorType,
        ConnectorDegradedPayload,
        ConnectorHealthCheckedPayload,
        ConnectorPayloadBase,
        ConnectorProvisionedPayload,
        ConnectorReconnectedPayload,
        ConnectorRevokedPayload,
        ConnectorState,
        HealthStatus,
        ReconnectStrategy,
    )
    from .envelope import CONTRACT_VERSION, Event, SortKey, canonical_json, sort_key
    from .errors import ContractError, ContractViolationError, UnknownEventTypeError
    from .links import EXTERNAL_REFERENCE_LINKED, ExternalReferenceLinkedPayload
    from .reducers import (
        EventLike,
        Projection,
        reduce_connector_events,
        reduce_external_links,
        reduce_sync_events,
        replay,
    )
    from .registry import (
        ALLOWED_TRANSITIONS,
        DEFAULT_MAX_RECONNECT_CYCLES,
        PAYLOAD_MODELS,
        SEMANTIC_RULES,
        SYNC_OUTCOMES,
        TERMINAL_OUTCOMES,
        Family,
    )
    from .results import (
        Anomaly,
        ConnectorProjection,
        DeliveryState,
        ExternalLink,
        LinkIndex,
        ReducedConnectorState,
        ReducedSyncState,
        ReplayResult,
        ReverseIndexEntry,
        SyncProjection,
    )
    from .schemas import load_schema
    from .sync import (
        SYNC_DEAD_LETTERED,
        SYNC_EVENT_TYPES,
        SYNC_INGEST_ACCEPTED,
        SYNC_INGEST_REJECTED,
        SYNC_REPLAY_COMPLETED,
        SYNC_RETRY_SCHEDULED,
        SYNC_SCHEMA_VERSION,
        SyncDeadLetteredPayload,
        SyncIngestAcceptedPayload,
        SyncIngestRejectedPayload,
        SyncOutcome,
        SyncPayloadBase,
        SyncReplayCompletedPayload,
        SyncRetryScheduledPayload,
    )
    from .validation import VIOLATION_CODES, Layer, ValidationResult, Violation, validate_event

_MODULES: Final = (
    "connector",
    "envelope",
    "errors",
    "links",
    "reducers",
    "registry",
    "results",
    "schemas",
    "sync",
    "validation",
)
"""The modules the public names come from (the imports above), loaded on first use."""

# Hidden from type checkers: a module __getattr__ would let them accept any
# name imported from the package; the imports above give them the real ones.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Load a public name on first use (PEP 562).

        The command line's compiled replay path imports only the modules it
        needs, so it starts without pydantic; ``import connector_sync_contracts``
        stays cheap and every public name works as before.
        """
        if name in __all__:
            for module in _MODULES:
                found = getattr(importlib.import_module(f".{module}", __name__), name, _MISSING)
                if found is not _MISSING:
                    globals()[name] = found
                    return found
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        """Module attributes, the public names not loaded yet included."""
        return sorted({*globals(), *__all__})


_MISSING: Final = object()

__version__ = CONTRACT_VERSION
"""Package version; equal to the contract version."""

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CONNECTOR_DEGRADED",
    "CONNECTOR_EVENT_TYPES",
    "CONNECTOR_HEALTH_CHECKED",
    "CONNECTOR_PROVISIONED",
    "CONNECTOR_RECONNECTED",
    "CONNECTOR_REVOKED",
    "CONNECTOR_SCHEMA_VERSION",
    "CONTRACT_VERSION",
    "DEFAULT_MAX_RECONNECT_CYCLES",
    "EXTERNAL_REFERENCE_LINKED",
    "PAYLOAD_MODELS",
    "SEMANTIC_RULES",
    "SYNC_DEAD_LETTERED",
    "SYNC_EVENT_TYPES",
    "SYNC_INGEST_ACCEPTED",
    "SYNC_INGEST_REJECTED",
    "SYNC_OUTCOMES",
    "SYNC_REPLAY_COMPLETED",
    "SYNC_RETRY_SCHEDULED",
    "SYNC_SCHEMA_VERSION",
    "TERMINAL_OUTCOMES",
    "VIOLATION_CODES",
    "ActorType",
    "Anomaly",
    "ConnectorDegradedPayload",
    "ConnectorHealthCheckedPayload",
    "ConnectorPayloadBase",
    "ConnectorProjection",
    "ConnectorProvisionedPayload",
    "ConnectorReconnectedPayload",
    "ConnectorRevokedPayload",
    "ConnectorState",
    "ContractError",
    "ContractViolationError",
    "DeliveryState",
    "Event",
    "EventLike",
    "ExternalLink",
    "ExternalReferenceLinkedPayload",
    "Family",
    "HealthStatus",
    "Layer",
    "LinkIndex",
    "Projection",
    "ReconnectStrategy",
    "ReducedConnectorState",
    "ReducedSyncState",
    "ReplayResult",
    "ReverseIndexEntry",
    "SortKey",
    "SyncDeadLetteredPayload",
    "SyncIngestAcceptedPayload",
    "SyncIngestRejectedPayload",
    "SyncOutcome",
    "SyncPayloadBase",
    "SyncProjection",
    "SyncReplayCompletedPayload",
    "SyncRetryScheduledPayload",
    "UnknownEventTypeError",
    "ValidationResult",
    "Violation",
    "__version__",
    "canonical_json",
    "load_schema",
    "reduce_connector_events",
    "reduce_external_links",
    "reduce_sync_events",
    "replay",
    "sort_key",
    "validate_event",
]
