"""Sync delivery family: frozen payloads (FR-003, FR-004).

Every sync event carries the idempotency marker (``delivery_id``,
``source_event_fingerprint``) in ``SyncPayloadBase``; the five payload
models add only their own fields.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .fields import Count, NonEmptyStr, NonNegativeCount, RecordedAt, UtcDatetime

__all__ = [
    "SyncDeadLetteredPayload",
    "SyncIngestAcceptedPayload",
    "SyncIngestRejectedPayload",
    "SyncPayloadBase",
    "SyncReplayCompletedPayload",
    "SyncRetryScheduledPayload",
]


class SyncPayloadBase(BaseModel):
    """Idempotency fields every sync payload carries (FR-004)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    delivery_id: NonEmptyStr = Field(
        description="Identifier of the delivery; with source_event_fingerprint, the "
        "idempotency key."
    )
    source_event_fingerprint: NonEmptyStr = Field(
        description="Fingerprint of the external event being delivered (e.g. a content hash)."
    )
    connector_id: NonEmptyStr = Field(
        description="Connector the delivery came through; the reducer's partition key."
    )
    mission_id: NonEmptyStr = Field(description="Mission the delivery belongs to.")
    recorded_at: RecordedAt


class SyncIngestAcceptedPayload(SyncPayloadBase):
    """Payload of ``SyncIngestAccepted``: the delivery's items were ingested."""

    ingest_batch_id: NonEmptyStr = Field(description="Batch the items were ingested in.")
    ingested_count: Count = Field(description="Number of items ingested: an integer >= 1.")


class SyncIngestRejectedPayload(SyncPayloadBase):
    """Payload of ``SyncIngestRejected``: the delivery was refused."""

    rejection_reason: NonEmptyStr = Field(description="Why the delivery was refused.")
    rejected_payload_ref: NonEmptyStr = Field(
        description="Reference to where the refused payload is kept."
    )


class SyncRetryScheduledPayload(SyncPayloadBase):
    """Payload of ``SyncRetryScheduled``: another attempt is scheduled."""

    retry_attempt: Count = Field(description="Number of this retry, starting at 1.")
    max_retries: Count = Field(description="Retry budget of the delivery: an integer >= 1.")
    next_retry_at: UtcDatetime = Field(
        description="When the next attempt is due; must not be before recorded_at."
    )


class SyncDeadLetteredPayload(SyncPayloadBase):
    """Payload of ``SyncDeadLettered``: the delivery gave up."""

    failure_reason: NonEmptyStr = Field(description="Why the delivery finally failed.")
    total_attempts: Count = Field(description="Attempts made in total: an integer >= 1.")
    dead_letter_ref: NonEmptyStr = Field(description="Reference to the dead-letter entry.")


class SyncReplayCompletedPayload(SyncPayloadBase):
    """Payload of ``SyncReplayCompleted``: a replay of stored deliveries finished."""

    replay_id: NonEmptyStr = Field(description="Identifier of the replay run.")
    replay_source: NonEmptyStr = Field(description="Where the replayed deliveries came from.")
    replayed_count: NonNegativeCount = Field(
        description="Number of items replayed: an integer >= 0."
    )
