"""Synthetic, realistic event logs for demos, tests and benchmarks.

A seeded simulation of many connectors over time: provisioning, periodic
health checks, degradations and reconnects, the odd revocation, webhook
deliveries that are accepted, rejected, retried, dead-lettered and replayed,
and external reference links. Output is JSONL, one envelope per line, and is
byte-for-byte deterministic for a seed. Options shuffle the lines, add exact
duplicate lines, add conflicting copies (an earlier event_id on different
content) and add invalid lines (each breaking one rule).
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import orjson

from ..contract.catalog import (
    CONNECTOR_DEGRADED,
    CONNECTOR_HEALTH_CHECKED,
    CONNECTOR_PROVISIONED,
    CONNECTOR_RECONNECTED,
    CONNECTOR_REVOKED,
    EXTERNAL_REFERENCE_LINKED,
    SYNC_DEAD_LETTERED,
    SYNC_INGEST_ACCEPTED,
    SYNC_INGEST_REJECTED,
    SYNC_REPLAY_COMPLETED,
    SYNC_RETRY_SCHEDULED,
)
from ..contract.patterns import ULID_ALPHABET
from ..contract.version import CONTRACT_VERSION

__all__ = ["GeneratorOptions", "generate_lines"]

_START: Final = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)
_PROVIDERS: Final = (
    ("github", "webhook", "https://api.github.com/app/hook/{n}"),
    ("jira", "polling", "https://acme.atlassian.net/rest/api/3/webhook/{n}"),
    ("slack", "events-api", "https://slack.com/api/apps.event/{n}"),
    ("gitlab-ci", "webhook", "https://gitlab.example.com/api/v4/hooks/{n}"),
)
_OFFSETS: Final = (timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))
_SHUFFLE_BUCKET: Final = 200_000


@dataclass(frozen=True)
class GeneratorOptions:
    """What to generate: size, seed and the kinds of noise to add."""

    events: int = 1000
    """Number of valid events (before duplicates and invalid lines are added)."""
    connectors: int = 10
    """Number of connectors the events are spread over."""
    seed: int = 0
    """Random seed; the same options always give the same bytes."""
    shuffle: bool = False
    """Emit the lines in a seeded random order instead of replay order."""
    duplicates: int = 0
    """Exact copies of earlier lines to add."""
    invalid: int = 0
    """Invalid lines to add (malformed JSON, missing field, credentials in a URL ...)."""
    conflicts: int = 0
    """Conflicting copies to add: valid lines reusing an earlier line's event_id with other
    content. Every other one is another connector's event (so the copies of one event_id
    name different connectors); the rest differ from the original in ``node_id`` only."""

    @property
    def total(self) -> int:
        """Lines written: the events and every kind of noise."""
        return self.events + self.duplicates + self.invalid + self.conflicts


@dataclass
class _Connector:
    cid: str
    provider: str
    ctype: str
    url: str
    mission: str
    state: str | None = None
    last_healthy: datetime | None = None
    open_retries: dict[str, int] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)
    deliveries: int = 0


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Simulation:
    def __init__(self, options: GeneratorOptions) -> None:
        self.rng = random.Random(options.seed)
        self.project = _uuid(self.rng)
        self.lamport = 0
        self.now = _START
        self.links = 0
        self.count = max(1, options.connectors)
        # Made when first drawn: a log of a few events over many connectors costs
        # only the connectors it names.
        self.connectors: dict[int, _Connector] = {}

    def _connector(self, i: int) -> _Connector:
        provider, ctype, url = _PROVIDERS[i % len(_PROVIDERS)]
        return _Connector(
            cid=f"{provider}-{i:05d}",
            provider=provider,
            ctype=ctype,
            url=url.format(n=i),
            mission=f"mission-{i % 17:02d}",
        )

    def _ulid(self) -> str:
        ms = int(self.now.timestamp() * 1000)
        value = (ms << 80) | self.rng.getrandbits(80)
        return "".join(ULID_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))

    def _time(self, at: datetime) -> str:
        tz = self.rng.choice(_OFFSETS[1:]) if self.rng.random() < 0.1 else None
        return (at.astimezone(tz) if tz else at).isoformat().replace("+00:00", "Z")

    def envelope(self, event_type: str, aggregate: str, payload: dict[str, Any]) -> bytes:
        self.lamport += 1
        self.now += timedelta(milliseconds=self.rng.randint(5, 1500))
        event_id = self._ulid()
        data = {
            "event_id": event_id,
            "event_type": event_type,
            "aggregate_id": aggregate,
            "payload": payload,
            "timestamp": self._time(self.now),
            "node_id": f"node-{self.lamport % 3}",
            "lamport_clock": self.lamport,
            "project_uuid": self.project,
            "correlation_id": event_id,
            "causation_id": None,
            "schema_version": CONTRACT_VERSION,
            "data_tier": 1,
        }
        return orjson.dumps(data)

    def connector_event(self, c: _Connector) -> bytes:
        rng = self.rng
        extra: dict[str, Any]
        common: dict[str, Any] = {
            "connector_id": c.cid,
            "connector_type": c.ctype,
            "provider": c.provider,
            "mission_id": c.mission,
            "project_uuid": self.project,
            "actor_id": "connector-supervisor",
            "actor_type": "service",
            "endpoint_url": c.url,
            "recorded_at": self._time(self.now),
        }
        roll = rng.random()
        if c.state is None:
            c.state = "provisioned"
            return self.envelope(CONNECTOR_PROVISIONED, c.cid, common)
        if c.state == "revoked" or (c.state == "degraded" and roll < 0.35):
            previous, c.state = c.state, "reconnected"
            strategy = rng.choice(("automatic", "manual", "backoff"))
            extra = {"previous_state": previous, "reconnect_strategy": strategy}
            return self.envelope(CONNECTOR_RECONNECTED, c.cid, {**common, **extra})
        if c.state in ("healthy", "reconnected") and roll < 0.004:
            c.state = "revoked"
            extra = {"revocation_reason": "installation removed by organization owner"}
            return self.envelope(CONNECTOR_REVOKED, c.cid, {**common, **extra})
        if c.state == "healthy" and roll < 0.03:
            c.state = "degraded"
            extra = {
                "degradation_reason": rng.choice(("rate limited", "5xx from provider", "timeouts")),
                "last_healthy_at": self._time(c.last_healthy or self.now),
            }
            return self.envelope(CONNECTOR_DEGRADED, c.cid, {**common, **extra})
        status = "healthy"
        if c.state == "degraded":
            status = rng.choice(("healthy", "unreachable", "degraded"))
        elif rng.random() < 0.01:
            status = "unreachable"
        c.state = "healthy" if status == "healthy" else "degraded"
        if status == "healthy":
            c.last_healthy = self.now
        latency = round(rng.uniform(20, 400) if status == "healthy" else rng.uniform(900, 5000), 1)
        extra = {"health_status": status, "latency_ms": latency}
        return self.envelope(CONNECTOR_HEALTH_CHECKED, c.cid, {**common, **extra})

    def sync_event(self, c: _Connector) -> bytes:
        rng = self.rng
        if c.open_retries and rng.random() < 0.5:
            delivery = rng.choice(sorted(c.open_retries))
            attempt = c.open_retries[delivery]
            if attempt >= 5 or (attempt >= 3 and rng.random() < 0.6):
                del c.open_retries[delivery]
                c.dead.append(delivery)
                extra: dict[str, Any] = {
                    "failure_reason": "provider kept answering 503",
                    "total_attempts": attempt + 1,
                    "dead_letter_ref": f"dlq://{c.cid}/{delivery}",
                }
                return self._sync(c, SYNC_DEAD_LETTERED, delivery, extra)
            if rng.random() < 0.5:
                del c.open_retries[delivery]
                extra = {"ingest_batch_id": f"batch-{self.lamport}", "ingested_count": 1}
                return self._sync(c, SYNC_INGEST_ACCEPTED, delivery, extra)
            c.open_retries[delivery] = attempt + 1
            return self._sync(c, SYNC_RETRY_SCHEDULED, delivery, self._retry(attempt + 1))
        if c.dead and rng.random() < 0.3:
            delivery = c.dead.pop()
            extra = {
                "replay_id": f"replay-{self.lamport}",
                "replay_source": "dead-letter-queue",
                "replayed_count": rng.randint(1, 5),
            }
            return self._sync(c, SYNC_REPLAY_COMPLETED, delivery, extra)
        c.deliveries += 1
        delivery = f"dlv-{c.cid}-{c.deliveries:07d}"
        roll = rng.random()
        if roll < 0.85:
            extra = {
                "ingest_batch_id": f"batch-{self.lamport}",
                "ingested_count": rng.randint(1, 50),
            }
            return self._sync(c, SYNC_INGEST_ACCEPTED, delivery, extra)
        if roll < 0.9:
            extra = {
                "rejection_reason": "payload failed provider signature check",
                "rejected_payload_ref": f"s3://rejected/{delivery}",
            }
            return self._sync(c, SYNC_INGEST_REJECTED, delivery, extra)
        c.open_retries[delivery] = 1
        return self._sync(c, SYNC_RETRY_SCHEDULED, delivery, self._retry(1))

    def _retry(self, attempt: int) -> dict[str, Any]:
        return {
            "retry_attempt": attempt,
            "max_retries": 5,
            "next_retry_at": self._time(self.now + timedelta(seconds=30 * 2**attempt)),
        }

    def _sync(self, c: _Connector, event_type: str, delivery: str, extra: dict[str, Any]) -> bytes:
        payload = {
            "delivery_id": delivery,
            "source_event_fingerprint": "sha256:"
            + hashlib.blake2b(delivery.encode(), digest_size=12).hexdigest(),
            "connector_id": c.cid,
            "mission_id": c.mission,
            "recorded_at": self._time(self.now),
            **extra,
        }
        return self.envelope(event_type, c.cid, payload)

    def link_event(self, c: _Connector) -> bytes:
        self.links += 1
        n = self.links
        payload = {
            "link_id": f"link-{n:07d}",
            "connector_id": c.cid,
            "external_provider": c.provider,
            "external_ref_type": "pull_request" if c.provider == "github" else "issue",
            "external_ref_id": f"ACME-{n}",
            "external_ref_url": f"https://{c.provider}.example.com/acme/items/{n}",
            "internal_aggregate_type": "work_package",
            "internal_aggregate_id": f"WP{n % 97:02d}",
            "mission_id": c.mission,
            "linked_by": "sync-bot",
            "recorded_at": self._time(self.now),
        }
        return self.envelope(EXTERNAL_REFERENCE_LINKED, c.cid, payload)

    def step(self) -> bytes:
        i = self.rng.randrange(self.count)
        c = self.connectors.get(i)
        if c is None:
            c = self.connectors[i] = self._connector(i)
        roll = self.rng.random()
        if c.state is None or c.state in ("degraded", "revoked") or roll < 0.3:
            return self.connector_event(c)
        if roll < 0.97:
            return self.sync_event(c)
        return self.link_event(c)


_INVALID_KINDS: Final = (
    "truncated_json",
    "missing_field",
    "credentials_in_url",
    "naive_timestamp",
    "boolean_for_number",
    "unknown_event_id_format",
)


def _corrupt(line: bytes, kind: str) -> bytes:
    if kind == "truncated_json":
        return line[: len(line) // 2]
    data = orjson.loads(line)
    payload = data["payload"]
    if kind == "missing_field":
        payload.pop("connector_id", None)
    elif kind == "credentials_in_url":
        data["event_type"] = CONNECTOR_PROVISIONED
        data["payload"] = {
            "connector_id": payload.get("connector_id", "broken"),
            "connector_type": "webhook",
            "provider": "github",
            "mission_id": "mission-00",
            "project_uuid": data["project_uuid"],
            "actor_id": "ops",
            "actor_type": "human",
            "endpoint_url": "https://deploy:s3cret@hooks.example.com/in",
            "recorded_at": data["timestamp"],
        }
    elif kind == "naive_timestamp":
        data["timestamp"] = "2026-11-24T12:00:00"
    elif kind == "boolean_for_number":
        data["lamport_clock"] = True
    else:
        data["event_id"] = "not-an-id"
    return orjson.dumps(data)


def _conflicting(original: bytes, recent: list[bytes], other_connector: bool) -> bytes:
    """A valid line with ``original``'s event_id and other content (see ``conflicts``)."""
    data = orjson.loads(original)
    if other_connector:
        others = [
            line for line in recent if orjson.loads(line)["aggregate_id"] != data["aggregate_id"]
        ]
        if others:
            copy = orjson.loads(others[len(others) // 2])
            copy["event_id"] = data["event_id"]
            return orjson.dumps(copy)
    data["node_id"] = "node-replica"
    return orjson.dumps(data)


def _ordered(options: GeneratorOptions) -> Iterator[bytes]:
    sim = _Simulation(options)
    noise = random.Random(options.seed + 1)
    total = options.total
    extras = sorted(noise.sample(range(1, total + 1), total - options.events))
    kinds = ["dup"] * options.duplicates + ["bad"] * options.invalid
    # Appended after the others: a log without conflicts keeps its bytes.
    kinds += ["conflict"] * options.conflicts
    noise.shuffle(kinds)
    planned = dict(zip(extras, kinds, strict=True))
    recent: list[bytes] = []
    # An extra planned before the first event has nothing to copy or corrupt:
    # it waits for the next event's position, so the counts stay exact.
    waiting: list[str] = []
    for position in range(1, total + 1):
        kind = planned.get(position)
        if kind is None and waiting:
            kind = waiting.pop()
        if kind is not None and not recent:
            waiting.append(kind)
            kind = None
        if kind is None:
            line = sim.step()
            recent.append(line)
            if len(recent) > 64:
                recent.pop(0)
            yield line
        elif kind == "dup":
            yield noise.choice(recent)
        elif kind == "conflict":
            yield _conflicting(noise.choice(recent), recent, position % 2 == 0)
        else:
            yield _corrupt(noise.choice(recent), _INVALID_KINDS[position % len(_INVALID_KINDS)])


def _shuffled(lines: Iterator[bytes], seed: int, total: int) -> Iterator[bytes]:
    rng = random.Random(seed + 2)
    if total <= _SHUFFLE_BUCKET:
        buffered = list(lines)
        rng.shuffle(buffered)
        yield from buffered
        return
    # Large logs: scatter lines over temporary buckets, then shuffle each
    # bucket in memory; a uniform shuffle in bounded memory.
    buckets = max(2, total // _SHUFFLE_BUCKET + 1)
    with tempfile.TemporaryDirectory(prefix="csc-gen-") as tmp:
        paths = [Path(tmp) / f"{i}.jsonl" for i in range(buckets)]
        handles = [p.open("wb") for p in paths]
        try:
            for line in lines:
                handles[rng.randrange(buckets)].write(line + b"\n")
        finally:
            for h in handles:
                h.close()
        for path in paths:
            chunk = path.read_bytes().splitlines()
            path.unlink()
            rng.shuffle(chunk)
            yield from chunk


def generate_lines(options: GeneratorOptions) -> Iterator[bytes]:
    """Yield the lines (without newline) of a synthetic log described by ``options``."""
    lines = _ordered(options)
    if options.shuffle:
        return _shuffled(lines, options.seed, options.total)
    return lines
