"""One timed call of this package's library entry points, in a fresh process.

``python bench/library.py MODE LOG REPORT_FD`` reads every line of LOG and
prepares the input BEFORE the clock starts, then times one call and writes a
JSON report (seconds, peak RSS, events, a summary of the result) to the
file descriptor REPORT_FD. Modes:

- ``events``: ``replay(list[Event])``, the Events built beforehand with
  ``Event.model_validate`` from ``orjson.loads`` of each line;
- ``dicts``:  ``replay(list[dict])``, the dicts from ``orjson.loads``;
- ``lines``:  ``replay_lines(list[bytes])``
  (the report says ``skipped`` otherwise);
- ``apply-dicts``: ``Projection.apply`` of each dict, then ``result()``, the
  dicts sorted into replay order (``sort_key``) beforehand, as a service
  folding a stream in order applies them;
- ``apply-events``: the same of the Events;
- ``batches-events``, ``batches-dicts``: ``replay()`` of each run of
  ``BATCH`` consecutive Events (dicts), one call a batch, as a service
  replays what one request or one connector brings: what a call costs
  before its first event (the compiled core's scanner, the result).

Imports and preparation are not timed; the garbage collector runs as usual.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from peak import peak_rss

from connector_sync_contracts import (
    Event,
    Projection,
    ReplayResult,
    replay,
    replay_lines,
    sort_key,
)

MODES = (
    "events",
    "dicts",
    "lines",
    "apply-dicts",
    "apply-events",
    "batches-events",
    "batches-dicts",
)

BATCH = 10
"""Events a call in the ``batches-*`` modes (the peer's ``*-batches`` modes alike)."""


def summary(result: ReplayResult) -> str:
    """Connectors and anomalies in a result, to compare with the peer's."""
    anomalies = len(result.anomalies)
    anomalies += sum(len(state.anomalies) for state in result.connectors.values())
    anomalies += sum(len(state.anomalies) for state in result.sync.values())
    return f"{len(result.connectors)} connectors, {anomalies} anomalies"


def apply_each(items: list[Any]) -> ReplayResult:
    """``Projection.apply`` of each item, then its ``result()``."""
    projection = Projection()
    for item in items:
        projection.apply(item)
    return projection.result()


def replay_each(batches: list[list[Any]]) -> int:
    """``replay()`` of each batch, each result dropped as a service drops it once
    used (kept, 10,000 results would make the collector's passes the cost)."""
    for batch in batches:
        replay(batch)
    return len(batches)


def run(mode: str, log: Path) -> dict[str, Any]:
    """Prepare ``mode``'s input from ``log``, then time one call."""
    setup = time.perf_counter()
    lines = log.read_bytes().splitlines()
    entry: Any
    data: list[Any]
    if mode == "lines":
        entry = replay_lines
        data = lines
    else:
        entry = replay if mode in ("events", "dicts") else apply_each
        data = [orjson.loads(line) for line in lines]
        if mode.endswith("events"):
            data = [Event.model_validate(obj) for obj in data]
        if mode.startswith("apply"):
            data.sort(key=sort_key)
        del lines
    events = len(data)
    if mode.startswith("batches"):
        entry = replay_each
        data = [data[at : at + BATCH] for at in range(0, events, BATCH)]
    setup = time.perf_counter() - setup
    start = time.perf_counter()
    result = entry(data)
    seconds = time.perf_counter() - start
    if isinstance(result, ReplayResult):
        said = summary(result)
    elif isinstance(result, int):
        said = f"{result:,} calls, {seconds / max(result, 1) * 1e6:.0f} us a call"
    else:
        said = type(result).__name__
    return {"seconds": seconds, "setup_seconds": setup, "events": events, "summary": said}


def main(argv: list[str]) -> int:
    """Run one mode and write the report to the given file descriptor."""
    if len(argv) != 3 or argv[0] not in MODES:
        print(f"usage: library.py {{{','.join(MODES)}}} LOG REPORT_FD", file=sys.stderr)
        return 2
    report = run(argv[0], Path(argv[1]))
    report["peak_rss"] = peak_rss()
    os.write(int(argv[2]), json.dumps(report).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
