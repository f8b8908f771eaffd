"""Rerun the inputs of the fixed sanitizer reports of ``fuzz/FINDINGS.md`` (regressions).

Each input is built from valid generated lines (``connector-sync generate
--events 200 --seed 1``), edited as little as possible, and run through the
compiled core the way ``connector-sync replay`` does (scan with keep,
settle, fold).

``python fuzz/known_reports.py NAME`` runs one input in this process; under
the sanitizer build (``make sanitize-build``, ASan runtime preloaded) a
regression aborts with the report. ``--write DIR`` saves each input's lines
as ``DIR/NAME.jsonl`` (replay them with ``connector-sync replay``).
``--all`` runs every input in a child process and checks that it runs clean
(exit 0, no sanitizer report) and that the sums are exact; it exits 1 when
one regressed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from connector_sync_contracts._engine import native as _accel
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines

HUGE_COUNT = 999_999_999_999_999_999  # ten of them exceed 2^63 - 1


def _compact(event: dict[str, object]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def _generated() -> list[dict[str, object]]:
    """The lines of ``connector-sync generate --events 200 --seed 1``, parsed."""
    options = GeneratorOptions(events=200, seed=1)
    return [json.loads(line) for line in generate_lines(options)]


def ingested_overflow() -> list[bytes]:
    """Ten valid SyncIngestAccepted lines of one connector, each ingesting 999999999999999999."""
    accepted = [
        e
        for e in _generated()
        if e["event_type"] == "SyncIngestAccepted"
        and isinstance(e["payload"], dict)
        and e["payload"]["connector_id"] == "jira-00009"
    ]
    assert len(accepted) == 10, len(accepted)
    for event in accepted:
        assert isinstance(event["payload"], dict)
        event["payload"]["ingested_count"] = HUGE_COUNT
    return [_compact(e) for e in accepted]


def replayed_overflow() -> list[bytes]:
    """The same ten deliveries as SyncReplayCompleted lines, each replaying 999999999999999999."""
    lines = []
    for number, line in enumerate(ingested_overflow()):
        event = json.loads(line)
        payload = event["payload"]
        del payload["ingest_batch_id"], payload["ingested_count"]
        payload.update(
            replay_id=f"replay-{number}",
            replay_source="dead-letter-queue",
            replayed_count=HUGE_COUNT,
        )
        event["event_type"] = "SyncReplayCompleted"
        lines.append(_compact(event))
    return lines


def empty_string() -> list[bytes]:
    """One valid ConnectorProvisioned line whose endpoint_url is the empty string."""
    event = next(e for e in _generated() if e["event_type"] == "ConnectorProvisioned")
    assert isinstance(event["payload"], dict)
    event["payload"]["endpoint_url"] = ""
    return [_compact(event)]


REPORTS: dict[str, tuple[Callable[[], list[bytes]], str]] = {
    # name: (lines, what the fold must print for it)
    "ingested-overflow": (ingested_overflow, f"ingested_items={10 * HUGE_COUNT}"),
    "replayed-overflow": (replayed_overflow, f"replayed_items={10 * HUGE_COUNT}"),
    # endpoint_url "" breaks its pattern now: the line is deferred and rejected.
    "empty-string": (empty_string, "scanned 1 lines, 1 deferred"),
}


def replay(lines: list[bytes]) -> None:
    """What ``connector-sync replay`` does with the compiled core: scan, settle, fold."""
    scanner = _accel.scanner()
    if scanner is None:
        sys.exit(f"no compiled core (not built, or {_accel.PURE_PYTHON_ENV}=1)")
    block = b"".join(line + b"\n" for line in lines)
    count, deferred = scanner.scan(block, True, 1 << 20, False, 0, 1)
    print(f"scanned {count} lines, {len(deferred)} deferred", flush=True)
    scanner.settle()
    scanner.start_fold()
    while (group := scanner.next_group(True, 3, 7)) is not None:
        if group[0] == "partition" and group[3] is not None:
            print(f"{group[1]}: ingested_items={group[3][1]} replayed_items={group[3][2]}")


def run_all() -> int:
    """Run every input in a child; 0 when each runs clean and prints what it must."""
    failed = 0
    for name, (_, expected) in REPORTS.items():
        child = subprocess.run(
            [sys.executable, __file__, name], capture_output=True, text=True, check=False
        )
        report = [line for line in child.stderr.splitlines() if "runtime error" in line]
        clean = child.returncode == 0 and not report and expected in child.stdout
        print(f"{name}: {'clean' if clean else 'REGRESSED'} (exit {child.returncode})")
        for line in report[:3]:
            print(f"    {line}")
        if not clean:
            failed = 1
            print(child.stdout + child.stderr[-3000:])
    return failed


def main() -> int:
    """See the module docstring."""
    args = sys.argv[1:]
    if args == ["--all"]:
        return run_all()
    if len(args) == 2 and args[0] == "--write":
        folder = Path(args[1])
        folder.mkdir(parents=True, exist_ok=True)
        for name, (make, _) in REPORTS.items():
            (folder / f"{name}.jsonl").write_bytes(b"".join(line + b"\n" for line in make()))
        return 0
    if len(args) != 1 or args[0] not in REPORTS:
        print(f"usage: {sys.argv[0]} {{{','.join(REPORTS)}}} | --all | --write DIR")
        return 2
    if not os.environ.get("LD_PRELOAD"):
        print("note: without the sanitizer build and its runtime preloaded nothing is checked")
    replay(REPORTS[args[0]][0]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
