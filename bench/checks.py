"""Check one derived log once, when the benchmark writes it.

``python bench/checks.py LOG`` runs, in this interpreter,
``connector-sync validate --format json LOG`` and
``connector-sync replay --no-logs --format json LOG`` and prints one JSON
object: the validate summary (lines read, accepted, rejected), the SHA-256 of
the projection's bytes, the anomalies by kind and the connectors that have
any. The benchmark compares that with the ascii log's: every kind must
validate with 0 rejected, the non-anomalous kinds must replay to the ascii
log's projection byte for byte, and the anomalous kind's new anomalies must
belong to the connectors it picked. Run as a child, so the benchmark's own
process never holds a log or a projection.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any


def _cli(args: list[str], out: Path) -> int:
    with out.open("wb") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "connector_sync_contracts", *args],
            stdout=handle,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    return done.returncode


def _anomalies(projection: dict[str, Any]) -> tuple[Counter[str], set[str]]:
    kinds: Counter[str] = Counter()
    owners: set[str] = set()
    for section in ("connectors", "sync"):
        for connector_id, state in projection[section].items():
            for anomaly in state["anomalies"]:
                kinds[anomaly["kind"]] += 1
                owners.add(connector_id)
    for anomaly in projection["anomalies"]:
        kinds[anomaly["kind"]] += 1
    return kinds, owners


def check(log: Path) -> dict[str, Any]:
    """Validate and replay ``log`` with the CLI; summarise both results."""
    with tempfile.TemporaryDirectory(prefix="csc-bench-") as tmp:
        validated = Path(tmp) / "validate.json"
        replayed = Path(tmp) / "replay.json"
        validate_exit = _cli(["validate", "--format", "json", str(log)], validated)
        replay_exit = _cli(["replay", "--no-logs", "--format", "json", str(log)], replayed)
        summary = json.loads(validated.read_bytes())["summary"]
        raw = replayed.read_bytes()
    kinds, owners = _anomalies(json.loads(raw))
    return {
        "lines_read": summary["lines_read"],
        "accepted": summary["accepted"],
        "rejected": summary["rejected"],
        "validate_exit": validate_exit,
        "replay_exit": replay_exit,
        "projection_sha256": hashlib.sha256(raw).hexdigest(),
        "anomalies": dict(sorted(kinds.items())),
        "anomalous_connectors": sorted(owners),
    }


def main(argv: list[str]) -> int:
    """``python bench/checks.py LOG``: print the check of one log as JSON."""
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: checks.py LOG\n\n" + (__doc__ or "").strip(), file=sys.stderr)
        return 0 if argv in (["-h"], ["--help"]) else 2
    if not Path(argv[0]).is_file():
        print(f"checks.py: {argv[0]} is not a file", file=sys.stderr)
        return 2
    print(json.dumps(check(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
