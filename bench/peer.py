"""One timed run of the peer package, ``spec-kitty-events`` 5.2.0, in its own venv.

``PEER_PYTHON bench/peer.py MODE LOG REPORT_FD`` runs under the separate
virtual environment the benchmark creates for the peer (so its dependencies
never mix with ours); it uses only the standard library and the peer,
imported by name. It reads every line of LOG with ``json.loads`` and maps
each envelope to the peer's input (``to_peer``) BEFORE the clock starts.
Modes:

- ``reduce``: the peer's reducers over a list of its own ``Event`` objects,
  built beforehand with ``spec_kitty_events.Event.model_validate``;
- ``validate-reduce``: ``spec_kitty_events.Event.model_validate`` of each
  mapped dict, then the same reducers, both timed;
- ``reduce-batches``, ``validate-reduce-batches``: the same of each run of
  ``BATCH`` consecutive events, one call a batch.

The peer has no whole-log replay: its ``reduce_connector_events`` and
``reduce_sync_events`` fold ONE connector's events each (they neither
partition nor look at ``connector_id``), so ``reduce_all`` partitions the
log by ``payload.connector_id`` and family, as our ``replay`` does, and
calls them once per connector; that partition is timed too. The peer has
no reducer for ``ExternalReferenceLinked``; those events (3% of the log)
are skipped. Both reducers validate each payload with the peer's payload
models, so payload validation is timed in both modes, as it is in ours.

Mapping (``to_peer``), as faithful as the peer's model allows:

- envelope fields have the same names and rules, except that the peer
  requires ``build_id`` (ours is optional and null in generated logs):
  null or missing becomes ``"unknown"``;
- the peer's ``ConnectorProvisioned`` payload also requires
  ``credentials_ref`` and ``config_hash``, which our contract does not
  have: both become ``"unknown"`` when missing;
- every other payload field has the same name; fields the peer does not
  know (``tenant_region``, ``trace``, ...) are ignored by its models, as by ours.

The report (JSON, to REPORT_FD) has seconds, peak RSS, the number of events
and a summary of the result (connectors, anomalies), so the reader can see
that the two packages do not compute the same thing; bench/README.md lists
the differences.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from peak import peak_rss

MODES = ("reduce", "validate-reduce", "reduce-batches", "validate-reduce-batches")

BATCH = 10
"""Events a call in the ``*-batches`` modes (as ``library.py``'s ``batches-*``)."""
UNKNOWN = "unknown"
"""The value for fields the peer requires and our envelopes do not carry."""


def to_peer(envelope: dict[str, Any]) -> dict[str, Any]:
    """Map one of our envelopes (a dict from JSON) to the peer's ``Event`` input."""
    mapped = dict(envelope)
    build_id = mapped.get("build_id")
    if not isinstance(build_id, str) or not build_id:
        mapped["build_id"] = UNKNOWN
    payload = mapped.get("payload")
    if mapped.get("event_type") == "ConnectorProvisioned" and isinstance(payload, dict):
        payload = dict(payload)
        payload.setdefault("credentials_ref", UNKNOWN)
        payload.setdefault("config_hash", UNKNOWN)
        mapped["payload"] = payload
    return mapped


class Peer:
    """The peer's names this benchmark drives, imported by name."""

    def __init__(self) -> None:
        package = importlib.import_module("spec_kitty_events")
        connector = importlib.import_module("spec_kitty_events.connector")
        sync = importlib.import_module("spec_kitty_events.sync")
        self.version: str = package.__version__
        self.event_model: Any = package.Event
        self.reduce_connector_events: Any = connector.reduce_connector_events
        self.reduce_sync_events: Any = sync.reduce_sync_events
        self.connector_types: frozenset[str] = connector.CONNECTOR_EVENT_TYPES
        self.sync_types: frozenset[str] = sync.SYNC_EVENT_TYPES

    def accepted(self, mapped: list[dict[str, Any]]) -> tuple[list[Any], int]:
        """Each mapped event as the peer's ``Event`` (None where its model refuses it)."""
        error = importlib.import_module("pydantic").ValidationError
        events: list[Any] = []
        refused = 0
        for obj in mapped:
            try:
                events.append(self.event_model.model_validate(obj))
            except error:
                events.append(None)
                refused += 1
        return events, refused

    def reduce_all(self, events: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Partition by connector and family; fold each with the peer's reducers."""
        connectors: dict[str, list[Any]] = {}
        syncs: dict[str, list[Any]] = {}
        for event in events:
            connector_id = event.payload.get("connector_id")
            if event.event_type in self.connector_types:
                connectors.setdefault(connector_id, []).append(event)
            elif event.event_type in self.sync_types:
                syncs.setdefault(connector_id, []).append(event)
        return (
            {cid: self.reduce_connector_events(connectors[cid]) for cid in sorted(connectors)},
            {cid: self.reduce_sync_events(syncs[cid]) for cid in sorted(syncs)},
        )


def summary(result: tuple[dict[str, Any], dict[str, Any]]) -> str:
    """Connectors and anomalies in the peer's result."""
    connectors, syncs = result
    anomalies = sum(len(state.anomalies) for state in connectors.values())
    anomalies += sum(len(state.anomalies) for state in syncs.values())
    return f"{len(connectors)} connectors, {anomalies} anomalies"


def run(mode: str, log: Path) -> dict[str, Any]:
    """Prepare ``mode``'s input from ``log``, then time one run."""
    peer = Peer()
    setup = time.perf_counter()
    mapped = [to_peer(json.loads(line)) for line in log.read_bytes().splitlines()]
    validate = peer.event_model.model_validate
    # Lines the peer's model refuses (a log this script did not write may have
    # them) are left out of both modes, before the clock, and counted.
    events, refused = peer.accepted(mapped)
    batches = mode.endswith("-batches")
    result: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    if mode.startswith("reduce"):
        del mapped
        events = [event for event in events if event is not None]
        count = len(events)
        parts = [events[at : at + BATCH] for at in range(0, count, BATCH)] if batches else [events]
        setup = time.perf_counter() - setup
        start = time.perf_counter()
        for part in parts:  # each result dropped once made, as library.py's batches
            result = peer.reduce_all(part)
    else:
        if refused:
            mapped = [obj for obj, event in zip(mapped, events, strict=True) if event is not None]
        del events
        count = len(mapped)
        given = [mapped[at : at + BATCH] for at in range(0, count, BATCH)] if batches else [mapped]
        setup = time.perf_counter() - setup
        start = time.perf_counter()
        for part in given:
            result = peer.reduce_all([validate(obj) for obj in part])
    seconds = time.perf_counter() - start
    calls = -(-count // BATCH) if batches else 1
    per_call = seconds / max(calls, 1) * 1e6
    said = f"{calls:,} calls, {per_call:.0f} us a call" if batches else summary(result)
    pydantic = importlib.import_module("pydantic")
    return {
        "seconds": seconds,
        "setup_seconds": setup,
        "events": count,
        "summary": said + (f", {refused} lines its model refused" if refused else ""),
        "peer_version": peer.version,
        "pydantic": pydantic.VERSION,
    }


def main(argv: list[str]) -> int:
    """Run one mode and write the report to the given file descriptor."""
    if len(argv) != 3 or argv[0] not in MODES:
        print(f"usage: peer.py {{{','.join(MODES)}}} LOG REPORT_FD", file=sys.stderr)
        return 2
    report = run(argv[0], Path(argv[1]))
    report["peak_rss"] = peak_rss()
    os.write(int(argv[2]), json.dumps(report).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
