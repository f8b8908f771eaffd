"""Where this package's projection and the independent reference reducer's differ.

``python bench/reference_diff.py LOG [LOG ...]`` replays the logs with
``connector-sync replay --format json`` and with ``bench/spec-reducer/reference.py``
(written from the specification alone; see its README), parses both and
prints every difference grouped by where it is in the projection (a JSON
path, list items as ``[]``), with how many times it occurs and one example.
Anomaly messages are left out: the specification does not word them.

Every difference it found on the spec producer's logs is one of the readings
the README lists under "Where the specification leaves the choice open"; a
difference of another kind is a finding. Exit status 0 whatever it finds:
it reports, it does not judge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_BENCH = Path(__file__).resolve().parent
REFERENCE = _BENCH / "spec-reducer" / "reference.py"
TOP_COUNTS = ("contract_version", "event_count", "duplicates_dropped", "ignored_event_count")


def projection(command: list[str]) -> dict[str, Any]:
    """The JSON a replay command prints (its exit status says whether lines were invalid)."""
    done = subprocess.run(command, capture_output=True, check=False)
    if not done.stdout:
        sys.exit(f"{command[0]}: no output (exit {done.returncode}): {done.stderr[-400:]!r}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _without_messages(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_messages(v) for k, v in value.items() if k != "message"}
    if isinstance(value, list):
        return [_without_messages(v) for v in value]
    return value


class Differences:
    """Differences by path: how many, and the first example of each."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.example: dict[str, tuple[Any, Any]] = {}

    def add(self, path: str, ours: Any, theirs: Any) -> None:
        """Count one difference at ``path``."""
        self.count[path] += 1
        self.example.setdefault(path, (ours, theirs))

    def walk(self, path: str, ours: Any, theirs: Any) -> None:
        """Compare two JSON values, member by member and item by item."""
        if type(ours) is not type(theirs):
            self.add(f"{path} (type)", ours, theirs)
        elif isinstance(ours, dict):
            for key in sorted(ours.keys() | theirs.keys()):
                if key not in ours or key not in theirs:
                    self.add(f"{path}.{key} (only one has it)", ours.get(key), theirs.get(key))
                else:
                    self.walk(f"{path}.{key}", ours[key], theirs[key])
        elif isinstance(ours, list):
            if len(ours) != len(theirs):
                self.add(f"{path} (length)", len(ours), len(theirs))
            else:
                for mine, other in zip(ours, theirs, strict=True):
                    self.walk(f"{path}[]", mine, other)
        elif ours != theirs:
            self.add(path, ours, theirs)


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> Differences:
    """Every difference of two projections, anomaly messages left out."""
    ours, theirs = _without_messages(ours), _without_messages(theirs)
    found = Differences()
    for key in TOP_COUNTS:
        if ours.get(key) != theirs.get(key):
            found.add(key, ours.get(key), theirs.get(key))
    for section in ("connectors", "sync"):
        for ident in sorted(ours[section].keys() | theirs[section].keys()):
            if ident not in ours[section] or ident not in theirs[section]:
                found.add(f"{section} (id in one only)", ident in ours[section], ident)
            else:
                found.walk(section, ours[section][ident], theirs[section][ident])
    found.walk("external_links", ours["external_links"], theirs["external_links"])
    found.walk("anomalies", ours["anomalies"], theirs["anomalies"])
    return found


def main(logs: list[str]) -> int:
    """Replay ``logs`` both ways and print the differences."""
    if not logs or logs[0] in ("-h", "--help"):
        print((__doc__ or "").strip(), file=sys.stderr)
        return 0 if logs else 2
    missing = [log for log in logs if not Path(log).is_file()]
    if missing:
        print(f"reference_diff.py: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    ours = projection(
        [sys.executable, "-m", "connector_sync_contracts", "replay", "--format", "json", *logs]
    )
    theirs = projection([sys.executable, str(REFERENCE), *logs])
    found = compare(ours, theirs)
    print(f"{sum(found.count.values())} differences at {len(found.count)} places")
    for path, times in found.count.most_common():
        mine, other = found.example[path]
        print(f"{times:>8}  {path}")
        print(f"          ours {json.dumps(mine)[:160]}")
        print(f"          ref  {json.dumps(other)[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
