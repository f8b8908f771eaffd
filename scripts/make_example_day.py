"""Write the bundled example log: three connectors over one realistic day.

Run: python scripts/make_example_day.py > src/connector_sync_contracts/examples/example_day.jsonl
The output is committed; this script documents how it was made.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

PROJECT = "6f1c2b9e-4a7d-4e21-9d3b-8c5a7e2f1b04"
DAY = datetime(2026, 11, 24, tzinfo=timezone.utc)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CONNECTORS = {
    "gh-acme-app": ("github", "app-installation", "https://api.github.com/app/installations/4242"),
    "jira-acme-cloud": (
        "jira",
        "webhook",
        "https://acme.atlassian.net/rest/webhooks/1.0/webhook/17",
    ),
    "slack-acme-alerts": ("slack", "events-api", "https://slack.com/api/apps.connections.open"),
}
pending: list[tuple[datetime, int, str, str, dict[str, Any]]] = []


def ulid(at: datetime, n: int) -> str:
    value = (int(at.timestamp() * 1000) << 80) | (n * 7919)
    return "".join(CROCKFORD[(value >> s) & 31] for s in range(125, -1, -5))


def emit(event_type: str, aggregate: str, at: datetime, payload: dict[str, Any]) -> None:
    pending.append((at, len(pending), event_type, aggregate, payload))


def render() -> list[bytes]:
    """Number the events in time order: lamport clocks follow the day."""
    lines = []
    for n, (at, _, event_type, aggregate, payload) in enumerate(sorted(pending), start=1):
        event_id = ulid(at, n)
        lines.append(
            orjson.dumps(
                {
                    "event_id": event_id,
                    "event_type": event_type,
                    "aggregate_id": aggregate,
                    "payload": payload,
                    "timestamp": at.isoformat().replace("+00:00", "Z"),
                    "node_id": "connector-supervisor-1",
                    "lamport_clock": n,
                    "project_uuid": PROJECT,
                    "correlation_id": event_id,
                    "schema_version": "2.7.0",
                }
            )
        )
    return lines


def t(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def connector(event_type: str, cid: str, at: datetime, **extra: Any) -> None:
    provider, ctype, url = CONNECTORS[cid]
    payload = {
        "connector_id": cid,
        "connector_type": ctype,
        "provider": provider,
        "mission_id": "mission-onboarding",
        "project_uuid": PROJECT,
        "actor_id": extra.pop("actor_id", "connector-supervisor"),
        "actor_type": extra.pop("actor_type", "service"),
        "endpoint_url": url,
        "recorded_at": at.isoformat().replace("+00:00", "Z"),
        **extra,
    }
    emit(event_type, cid, at, payload)


def sync(event_type: str, cid: str, at: datetime, delivery: str, **extra: Any) -> None:
    payload = {
        "delivery_id": delivery,
        "source_event_fingerprint": f"sha256:{delivery[-4:]}e3b0c44298fc",
        "connector_id": cid,
        "mission_id": "mission-onboarding",
        "recorded_at": at.isoformat().replace("+00:00", "Z"),
        **extra,
    }
    emit(event_type, cid, at, payload)


def health(cid: str, at: datetime, status: str = "healthy", latency: float = 84.0) -> None:
    connector("ConnectorHealthChecked", cid, at, health_status=status, latency_ms=latency)


def main() -> None:
    for i, cid in enumerate(CONNECTORS):
        connector(
            "ConnectorProvisioned",
            cid,
            t(0.1 + i * 0.05),
            actor_id="ops@acme.dev",
            actor_type="human",
        )
    for hour in range(1, 24, 3):
        for cid in CONNECTORS:
            if cid == "jira-acme-cloud" and 9 <= hour <= 12:
                continue
            if cid == "slack-acme-alerts" and hour >= 16:
                continue
            health(cid, t(hour), latency=60.0 + hour * 3)
    # Jira degrades mid-morning, is reconnected with backoff and recovers.
    connector(
        "ConnectorDegraded",
        "jira-acme-cloud",
        t(9.5),
        degradation_reason="HTTP 503 from Jira for 15 minutes",
        last_healthy_at=t(7).isoformat().replace("+00:00", "Z"),
    )
    health("jira-acme-cloud", t(10), status="unreachable", latency=5000.0)
    connector(
        "ConnectorReconnected",
        "jira-acme-cloud",
        t(11),
        previous_state="degraded",
        reconnect_strategy="backoff",
    )
    health("jira-acme-cloud", t(11.5), latency=140.0)
    # Slack's token is revoked in the afternoon.
    connector(
        "ConnectorRevoked",
        "slack-acme-alerts",
        t(15.5),
        revocation_reason="bot token revoked by workspace admin",
        actor_id="slack-admin@acme.dev",
        actor_type="human",
    )
    # Webhook deliveries.
    for n in range(1, 9):
        sync(
            "SyncIngestAccepted",
            "gh-acme-app",
            t(1 + n * 2.2),
            f"gh-delivery-{n:04d}",
            ingest_batch_id=f"batch-gh-{n:03d}",
            ingested_count=n % 3 + 1,
        )
    sync(
        "SyncRetryScheduled",
        "jira-acme-cloud",
        t(9.6),
        "jira-delivery-0007",
        retry_attempt=1,
        max_retries=3,
        next_retry_at=t(9.7).isoformat().replace("+00:00", "Z"),
    )
    sync(
        "SyncRetryScheduled",
        "jira-acme-cloud",
        t(9.8),
        "jira-delivery-0007",
        retry_attempt=2,
        max_retries=3,
        next_retry_at=t(10.2).isoformat().replace("+00:00", "Z"),
    )
    sync(
        "SyncIngestAccepted",
        "jira-acme-cloud",
        t(11.6),
        "jira-delivery-0007",
        ingest_batch_id="batch-jira-001",
        ingested_count=4,
    )
    sync(
        "SyncRetryScheduled",
        "jira-acme-cloud",
        t(9.9),
        "jira-delivery-0008",
        retry_attempt=1,
        max_retries=2,
        next_retry_at=t(10).isoformat().replace("+00:00", "Z"),
    )
    sync(
        "SyncRetryScheduled",
        "jira-acme-cloud",
        t(10.1),
        "jira-delivery-0008",
        retry_attempt=2,
        max_retries=2,
        next_retry_at=t(10.5).isoformat().replace("+00:00", "Z"),
    )
    sync(
        "SyncDeadLettered",
        "jira-acme-cloud",
        t(10.6),
        "jira-delivery-0008",
        failure_reason="gave up after 3 attempts: HTTP 503",
        total_attempts=3,
        dead_letter_ref="dlq://jira-acme-cloud/jira-delivery-0008",
    )
    sync(
        "SyncReplayCompleted",
        "jira-acme-cloud",
        t(12.5),
        "jira-delivery-0008",
        replay_id="replay-2026-11-24-01",
        replay_source="dlq://jira-acme-cloud",
        replayed_count=1,
    )
    sync(
        "SyncIngestRejected",
        "slack-acme-alerts",
        t(14),
        "slack-delivery-0003",
        rejection_reason="signature verification failed",
        rejected_payload_ref="s3://acme-rejected/slack-delivery-0003.json",
    )
    sync(
        "SyncRetryScheduled",
        "slack-acme-alerts",
        t(15.2),
        "slack-delivery-0004",
        retry_attempt=1,
        max_retries=5,
        next_retry_at=t(15.6).isoformat().replace("+00:00", "Z"),
    )
    # Links from external objects to internal work packages.
    for n, (provider, kind, ref, url, wp) in enumerate(
        [
            (
                "github",
                "pull_request",
                "acme/api#412",
                "https://github.com/acme/api/pull/412",
                "WP01",
            ),
            (
                "github",
                "pull_request",
                "acme/api#415",
                "https://github.com/acme/api/pull/415",
                "WP02",
            ),
            ("jira", "issue", "ONB-77", "https://acme.atlassian.net/browse/ONB-77", "WP01"),
        ],
        start=1,
    ):
        cid = "gh-acme-app" if provider == "github" else "jira-acme-cloud"
        emit(
            "ExternalReferenceLinked",
            wp,
            t(12 + n),
            {
                "link_id": f"link-{n:03d}",
                "connector_id": cid,
                "external_provider": provider,
                "external_ref_type": kind,
                "external_ref_id": ref,
                "external_ref_url": url,
                "internal_aggregate_type": "work_package",
                "internal_aggregate_id": wp,
                "mission_id": "mission-onboarding",
                "linked_by": "sync-bot",
                "recorded_at": t(12 + n).isoformat().replace("+00:00", "Z"),
            },
        )
    sys.stdout.buffer.write(b"".join(line + b"\n" for line in render()))


if __name__ == "__main__":
    main()
