"""connector-sync-contracts: canonical, replay-safe connector and sync event contracts.

One vocabulary for connector lifecycle (FR-001, FR-002), sync delivery
outcomes with idempotency markers (FR-003, FR-004) and external reference
links (FR-005); deterministic reducers and whole-log replay (FR-006, FR-007);
and validation against the models and the committed JSON Schemas (FR-008).
The requirement ids are defined in ``docs/specification.md``.

Every public name is importable from here and listed in ``__all__``; its
home module is named in ``_DYNAMIC_IMPORTS`` and loaded on first use, so
``import connector_sync_contracts`` stays cheap and the command line starts
without pydantic. The package is laid out by responsibility
(``docs/architecture.md``): ``contract`` (rules as data), ``models``
(pydantic), ``reducing``, ``validation``, ``io``, ``interop``, ``scale``
(partitioned replay), ``schemas``, ``asyncapi``, ``compat``, ``conformance``
and ``cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from .contract.version import CONTRACT_VERSION

if TYPE_CHECKING:
    from .contract.catalog import (
        CONNECTOR_DEGRADED,
        CONNECTOR_EVENT_TYPES,
        CONNECTOR_HEALTH_CHECKED,
        CONNECTOR_PROVISIONED,
        CONNECTOR_RECONNECTED,
        CONNECTOR_REVOKED,
        EXTERNAL_REFERENCE_LINKED,
        SYNC_DEAD_LETTERED,
        SYNC_EVENT_TYPES,
        SYNC_INGEST_ACCEPTED,
        SYNC_INGEST_REJECTED,
        SYNC_OUTCOMES,
        SYNC_REPLAY_COMPLETED,
        SYNC_RETRY_SCHEDULED,
        Family,
    )
    from .contract.lifecycle import (
        ALLOWED_TRANSITIONS,
        DEFAULT_MAX_RECONNECT_CYCLES,
        TERMINAL_OUTCOMES,
        ActorType,
        ConnectorState,
        HealthStatus,
        ReconnectStrategy,
        SyncOutcome,
    )
    from .contract.rules import SEMANTIC_RULES
    from .contract.version import CONNECTOR_SCHEMA_VERSION, SYNC_SCHEMA_VERSION
    from .errors import (
        CloudEventMappingError,
        CloudEventProblem,
        CloudEventsSDKMissingError,
        ClusterUnavailableError,
        ContractError,
        ContractViolationError,
        InputError,
        OutOfOrderWarning,
        SchemaSetError,
        SpillError,
        UnknownEventTypeError,
    )
    from .models.connector import (
        ConnectorDegradedPayload,
        ConnectorHealthCheckedPayload,
        ConnectorPayloadBase,
        ConnectorProvisionedPayload,
        ConnectorReconnectedPayload,
        ConnectorRevokedPayload,
    )
    from .models.envelope import Event, SortKey, canonical_json, sort_key
    from .models.links import ExternalReferenceLinkedPayload
    from .models.payloads import PAYLOAD_MODELS
    from .models.results import (
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
    from .models.sync import (
        SyncDeadLetteredPayload,
        SyncIngestAcceptedPayload,
        SyncIngestRejectedPayload,
        SyncPayloadBase,
        SyncReplayCompletedPayload,
        SyncRetryScheduledPayload,
    )
    from .reducing.api import (
        EventLike,
        Projection,
        reduce_connector_events,
        reduce_external_links,
        reduce_sync_events,
        replay,
        replay_lines,
    )
    from .scale.api import replay_partitioned
    from .schemas import load_schema
    from .validation.layers import validate_event
    from .validation.result import VIOLATION_CODES, Layer, ValidationResult, Violation


def _homes(module: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, module)


_DYNAMIC_IMPORTS: Final[dict[str, str]] = {
    **_homes(
        "contract.catalog",
        "CONNECTOR_DEGRADED",
        "CONNECTOR_EVENT_TYPES",
        "CONNECTOR_HEALTH_CHECKED",
        "CONNECTOR_PROVISIONED",
        "CONNECTOR_RECONNECTED",
        "CONNECTOR_REVOKED",
        "EXTERNAL_REFERENCE_LINKED",
        "SYNC_DEAD_LETTERED",
        "SYNC_EVENT_TYPES",
        "SYNC_INGEST_ACCEPTED",
        "SYNC_INGEST_REJECTED",
        "SYNC_OUTCOMES",
        "SYNC_REPLAY_COMPLETED",
        "SYNC_RETRY_SCHEDULED",
        "Family",
    ),
    **_homes(
        "contract.lifecycle",
        "ALLOWED_TRANSITIONS",
        "DEFAULT_MAX_RECONNECT_CYCLES",
        "TERMINAL_OUTCOMES",
        "ActorType",
        "ConnectorState",
        "HealthStatus",
        "ReconnectStrategy",
        "SyncOutcome",
    ),
    **_homes("contract.rules", "SEMANTIC_RULES"),
    **_homes("contract.version", "CONNECTOR_SCHEMA_VERSION", "SYNC_SCHEMA_VERSION"),
    **_homes(
        "errors",
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
    ),
    **_homes(
        "models.connector",
        "ConnectorDegradedPayload",
        "ConnectorHealthCheckedPayload",
        "ConnectorPayloadBase",
        "ConnectorProvisionedPayload",
        "ConnectorReconnectedPayload",
        "ConnectorRevokedPayload",
    ),
    **_homes("models.envelope", "Event", "SortKey", "canonical_json", "sort_key"),
    **_homes("models.links", "ExternalReferenceLinkedPayload"),
    **_homes("models.payloads", "PAYLOAD_MODELS"),
    **_homes(
        "models.results",
        "Anomaly",
        "ConnectorProjection",
        "DeliveryState",
        "ExternalLink",
        "LinkIndex",
        "ReducedConnectorState",
        "ReducedSyncState",
        "ReplayResult",
        "ReverseIndexEntry",
        "SyncProjection",
    ),
    **_homes(
        "models.sync",
        "SyncDeadLetteredPayload",
        "SyncIngestAcceptedPayload",
        "SyncIngestRejectedPayload",
        "SyncPayloadBase",
        "SyncReplayCompletedPayload",
        "SyncRetryScheduledPayload",
    ),
    **_homes(
        "reducing.api",
        "EventLike",
        "Projection",
        "reduce_connector_events",
        "reduce_external_links",
        "reduce_sync_events",
        "replay",
        "replay_lines",
    ),
    **_homes("scale.api", "replay_partitioned"),
    **_homes("schemas", "load_schema"),
    **_homes("validation.layers", "validate_event"),
    **_homes("validation.result", "VIOLATION_CODES", "Layer", "ValidationResult", "Violation"),
}
"""Public name -> the module (relative to this package) that defines it."""

# Hidden from type checkers: a module __getattr__ would let them accept any
# name imported from the package; the imports above give them the real ones.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Load a public name from its home module on first use (PEP 562)."""
        home = _DYNAMIC_IMPORTS.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        found = getattr(importlib.import_module(f".{home}", __name__), name)
        globals()[name] = found
        return found

    def __dir__() -> list[str]:
        """Module attributes, the public names not loaded yet included."""
        return sorted({*globals(), *__all__})


__version__ = CONTRACT_VERSION
"""Package version; equal to the contract version."""

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ActorType",
    "Anomaly",
    "CONNECTOR_DEGRADED",
    "CONNECTOR_EVENT_TYPES",
    "CONNECTOR_HEALTH_CHECKED",
    "CONNECTOR_PROVISIONED",
    "CONNECTOR_RECONNECTED",
    "CONNECTOR_REVOKED",
    "CONNECTOR_SCHEMA_VERSION",
    "CONTRACT_VERSION",
    "CloudEventMappingError",
    "CloudEventProblem",
    "CloudEventsSDKMissingError",
    "ClusterUnavailableError",
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
    "DEFAULT_MAX_RECONNECT_CYCLES",
    "DeliveryState",
    "EXTERNAL_REFERENCE_LINKED",
    "Event",
    "EventLike",
    "ExternalLink",
    "ExternalReferenceLinkedPayload",
    "Family",
    "HealthStatus",
    "InputError",
    "Layer",
    "LinkIndex",
    "OutOfOrderWarning",
    "PAYLOAD_MODELS",
    "Projection",
    "ReconnectStrategy",
    "ReducedConnectorState",
    "ReducedSyncState",
    "ReplayResult",
    "ReverseIndexEntry",
    "SEMANTIC_RULES",
    "SYNC_DEAD_LETTERED",
    "SYNC_EVENT_TYPES",
    "SYNC_INGEST_ACCEPTED",
    "SYNC_INGEST_REJECTED",
    "SYNC_OUTCOMES",
    "SYNC_REPLAY_COMPLETED",
    "SYNC_RETRY_SCHEDULED",
    "SYNC_SCHEMA_VERSION",
    "SchemaSetError",
    "SortKey",
    "SpillError",
    "SyncDeadLetteredPayload",
    "SyncIngestAcceptedPayload",
    "SyncIngestRejectedPayload",
    "SyncOutcome",
    "SyncPayloadBase",
    "SyncProjection",
    "SyncReplayCompletedPayload",
    "SyncRetryScheduledPayload",
    "TERMINAL_OUTCOMES",
    "UnknownEventTypeError",
    "VIOLATION_CODES",
    "ValidationResult",
    "Violation",
    "__version__",
    "canonical_json",
    "load_schema",
    "reduce_connector_events",
    "reduce_external_links",
    "reduce_sync_events",
    "replay",
    "replay_lines",
    "replay_partitioned",
    "sort_key",
    "validate_event",
]
