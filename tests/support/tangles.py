"""Logs tangled on purpose, for the partitioned replay: every case that ties partitions.

``tangle`` takes a generated log and plants what a partitioned replay must
get exactly right: identical copies spelled differently, conflicting copies
of one event_id that name *different connectors* (or another family, or a
malformed payload, there or in another connector, or an object or array as
connector_id), a link_id reused for
another external key, conflicting links, malformed links, events of
another family, escapes in the members routing reads, blank, non-JSON and
non-object lines, CRLF line endings, a line over the length limit.
``split`` writes the lines to several files,
one of them gzip-compressed and one without a final newline (its last
line ending in a CR);
``as_cloudevents`` maps every valid envelope to a structured CloudEvent.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any, Final

from connector_sync_contracts import EXTERNAL_REFERENCE_LINKED
from tests.support.factories import ulid

__all__ = ["LINE_LIMIT", "as_cloudevents", "split", "tangle"]

LINE_LIMIT: Final = 4096
"""``--max-line-bytes`` for tangled logs: one planted line is longer."""

_ID_BASE: Final = 7 * 10**15


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _escaped(text: str) -> str:
    """``text`` as a JSON string literal with every character ``\\u``-escaped."""
    return '"' + "".join(f"\\u{ord(c):04x}" for c in text) + '"'


def tangle(lines: list[bytes], seed: int) -> list[bytes]:
    """``lines`` (a generated log) with every hard case of partitioned replay planted."""
    rng = random.Random(seed)
    events = []
    for line in lines:
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict) and isinstance(found.get("payload"), dict):
            events.append(found)
    family = [e for e in events if isinstance(e["payload"].get("connector_id"), str)]
    links = [e for e in events if e["event_type"] == EXTERNAL_REFERENCE_LINKED]
    connectors = sorted({e["payload"]["connector_id"] for e in family})
    fresh = iter(range(_ID_BASE, _ID_BASE + 10**6))
    planted: list[bytes] = []

    def copy(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
        return {**event, "payload": dict(event["payload"]), **changes}

    for event in rng.sample(family, 12):
        # The same event, its id spelled in lower case: an identical copy.
        planted.append(_dump(copy(event, event_id=event["event_id"].lower())))
    for event in rng.sample(family, 12):
        # A conflicting copy naming another connector: the copies land in two partitions.
        other = copy(event)
        other["payload"]["connector_id"] = rng.choice(
            [c for c in connectors if c != event["payload"]["connector_id"]]
        )
        planted.append(_dump(other))
    for event in rng.sample(family, 4):
        # A conflicting copy of another family (an event type no reducer knows): not
        # known valid, it never wins over the valid copy, wherever it is.
        planted.append(_dump(copy(event, event_type="LegacyConnectorPinged")))
    for event in rng.sample(family, 6):
        # A copy whose payload is malformed: the valid copy must win, wherever it is.
        broken = copy(event)
        broken["payload"].pop("mission_id", None)
        planted.append(_dump(broken))
    for event in rng.sample(family, 4):
        # A malformed copy naming another connector: a rejected line in another
        # partition; the valid copy's anomalies stay on the valid copy's line.
        astray = copy(event)
        astray["payload"]["connector_id"] = rng.choice(
            [c for c in connectors if c != event["payload"]["connector_id"]]
        )
        astray["payload"].pop("mission_id", None)
        planted.append(_dump(astray))
    for event, odd in zip(rng.sample(family, 2), ({}, ["in", "an", "array"]), strict=True):
        # A conflicting copy whose connector_id is an object or an array: no string
        # to route it by, yet its event_id must find the valid copy's partition.
        unhashable = copy(event)
        unhashable["payload"]["connector_id"] = odd
        planted.append(_dump(unhashable))
    for event in rng.sample(links, 1):
        # The same for a link, which is routed by its external key.
        unhashable = copy(event)
        unhashable["payload"]["connector_id"] = {"id": 1}
        planted.append(_dump(unhashable))
    for event in rng.sample(links, 4):
        # The link_id reused for another external key, by another event.
        reused = copy(event, event_id=ulid(next(fresh)))
        reused["payload"]["external_ref_id"] = f"REUSED-{rng.randrange(10**6)}"
        reused["lamport_clock"] = rng.randrange(event["lamport_clock"] + 1)
        planted.append(_dump(reused))
    for event in rng.sample(links, 4):
        # The same external key linked to another aggregate: a conflicting link.
        conflict = copy(event, event_id=ulid(next(fresh)))
        conflict["payload"]["internal_aggregate_id"] = "WP-OTHER"
        conflict["lamport_clock"] = rng.randrange(event["lamport_clock"] + 2)
        planted.append(_dump(conflict))
    for event in rng.sample(links, 2):
        # A link whose payload is malformed.
        malformed = copy(event, event_id=ulid(next(fresh)))
        malformed["payload"].pop("external_ref_url")
        planted.append(_dump(malformed))
    for event in rng.sample(family, 4):
        # The same event, its connector_id written with escapes: routed by its value.
        cid = event["payload"]["connector_id"]
        text = _dump(event).replace(_dump(cid), _escaped(cid).encode(), 1)
        planted.append(text)
    # An event of another family on its own: the reducers ignore it.
    alone = copy(rng.choice(family), event_type="LegacyConnectorPinged", event_id=ulid(next(fresh)))
    planted.append(_dump(alone))
    too_long = copy(rng.choice(family), event_id=ulid(next(fresh)))
    too_long["note"] = "x" * LINE_LIMIT
    planted.extend([_dump(too_long), b"", b"not json", b"[1, 2, 3]", b'{"event_id": 7}'])
    tangled = list(lines) + planted
    rng.shuffle(tangled)
    return [line + b"\r" if rng.random() < 0.02 else line for line in tangled]


_TORN: Final = b'{"torn":"' + b"x" * (LINE_LIMIT - 11) + b'"}\r'
"""A last line cut before its LF: LINE_LIMIT bytes and the CR of a CRLF ending. Read
as content, its CR made it one byte too long in one replay and not in others."""


def split(lines: list[bytes], folder: Path, parts: int = 3) -> list[Path]:
    """Write ``lines`` to ``parts`` files; the last is gzip, the first has no final newline
    (its last line, after ``lines``, is ``_TORN``)."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(lines) // parts)
    paths = []
    for index in range(parts):
        chunk = b"\n".join(lines[index * size : (index + 1) * size])
        if index == 0:
            chunk += b"\n" + _TORN
        else:
            chunk += b"\n"
        path = folder / f"part-{index}.jsonl"
        if index == parts - 1:
            path = path.with_suffix(".jsonl.gz")
            path.write_bytes(gzip.compress(chunk, mtime=0))
        else:
            path.write_bytes(chunk)
        paths.append(path)
    return paths


def as_cloudevents(lines: list[bytes]) -> list[bytes]:
    """Each line that is a valid envelope as a structured CloudEvent; the others unchanged."""
    from pydantic import ValidationError

    from connector_sync_contracts import Event
    from connector_sync_contracts.interop.cloudevents import to_structured_json

    mapped = []
    for line in lines:
        try:
            event = Event.model_validate_json(line.rstrip(b"\r"))
        except ValidationError:
            mapped.append(line)
            continue
        mapped.append(to_structured_json(event))
    return mapped
