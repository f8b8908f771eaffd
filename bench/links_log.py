"""A log where links are common, derived from a generated log, for timing the link fold.

``python bench/links_log.py GENERATED OUT [--share PERCENT]``

The generated log has about 3% links (``ExternalReferenceLinked``). A
service that binds every pull request or issue to an aggregate writes far
more, so this derives a log where a share of the sync lines (default 75%,
which makes about half the lines links) become links. Each chosen line keeps
its envelope (event_id, times, clocks) and connector; its payload becomes a
link of key (the connector's provider, ``issue``, ``ACME-<k>``), ``k`` one of
40,000 values drawn from the event_id's CRC-32, with a URL of its own, so
that some keys are linked more than once: absorbed when the aggregate is
the same, ``conflicting_link`` when not (one in 50 names another aggregate).
A pure function of each line: the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import orjson

KEYS = 40_000
"""External ids a link is drawn from: fewer than the links, so keys repeat."""


def transform(line: bytes, share: int) -> bytes:
    """The line, or the link it becomes when it is a sync line chosen by its event_id."""
    event = orjson.loads(line)
    draw = zlib.crc32(event["event_id"].encode())
    if not event["event_type"].startswith("Sync") or draw % 100 >= share:
        return line
    payload = event["payload"]
    provider = payload["connector_id"].split("-")[0]
    k = (draw >> 8) % KEYS
    aggregate = f"WP{k % 97}" if (draw >> 24) % 50 else f"WP{k % 89}-other"
    event["event_type"] = "ExternalReferenceLinked"
    event["payload"] = {
        "link_id": f"link-{event['event_id']}",
        "connector_id": payload["connector_id"],
        "external_provider": provider,
        "external_ref_type": "issue",
        "external_ref_id": f"ACME-{k}",
        "external_ref_url": f"https://{provider}.example.com/acme/items/{k}",
        "internal_aggregate_type": "work_package",
        "internal_aggregate_id": aggregate,
        "mission_id": payload["mission_id"],
        "linked_by": "sync-bot",
        "recorded_at": payload["recorded_at"],
    }
    return orjson.dumps(event)


def main(argv: list[str]) -> int:
    """Write OUT from GENERATED."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generated", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--share", type=int, default=75, help="percent of sync lines made links")
    args = parser.parse_args(argv)
    if not args.generated.is_file():
        parser.error(f"{args.generated} is not a file")
    if args.out.exists() and args.out.samefile(args.generated):
        parser.error("OUT is GENERATED: write the derived log elsewhere")
    partial = args.out.with_name(args.out.name + ".partial")
    with args.generated.open("rb") as source, partial.open("wb") as out:
        for line in source:
            out.write(transform(line.rstrip(b"\n"), args.share) + b"\n")
    partial.replace(args.out)  # no plausible half-written log under OUT's name
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
