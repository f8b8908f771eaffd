"""Deprecated path of the sync family (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "SYNC_DEAD_LETTERED": "",
    "SYNC_EVENT_TYPES": "",
    "SYNC_INGEST_ACCEPTED": "",
    "SYNC_INGEST_REJECTED": "",
    "SYNC_REPLAY_COMPLETED": "",
    "SYNC_RETRY_SCHEDULED": "",
    "SYNC_SCHEMA_VERSION": "",
    "SyncDeadLetteredPayload": "",
    "SyncIngestAcceptedPayload": "",
    "SyncIngestRejectedPayload": "",
    "SyncOutcome": "",
    "SyncPayloadBase": "",
    "SyncReplayCompletedPayload": "",
    "SyncRetryScheduledPayload": "",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
