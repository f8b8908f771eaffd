"""The two ratios with targets, measured in turns: ours and the reference alternately.

``python bench/turns.py [--turns N] [--size N] [--library-events N] [--kinds ...]
[--log [NAME=]PATH ...]``

``bench/run.py`` measures each run on its own, three times, and divides the
fastest of ours by the fastest of the reference (the ``orjson.loads`` floor,
or the peer's reducers). On a shared machine a run can be slowed by a fifth
for a few seconds, so a kind's verdict moves with whichever runs were hit.
Here the two runs of each ratio take turns, N times, each in a fresh
process, so that a slow stretch of the machine falls on both about equally,
and the ratio of the medians is printed beside the ratio of the fastest
runs and every pair's own ratio:

- CLI ``replay --no-logs --format json`` / the floor, on the ``--size`` log;
- the peer's reducers / ``replay(list[Event])``, on the ``--library-events`` log.

It reuses ``run.py``'s children, its logs (written and checked by a
``run.py`` run first: this script never writes a generated log) and its peer
venv. A log written by anyone else is given with ``--log [NAME=]PATH``, as to
``run.py``: the CLI ratio is taken on the whole file, the library ratio on its
first ``--library-events`` accepted lines (the slice ``run.py`` writes).
Timing is never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from kinds import KINDS
from run import (
    _BENCH,
    _CHILD,
    PEER_TARGET,
    REPLAY_TARGET,
    BenchError,
    Logs,
    _child_report,
    user_log,
)


def _in_turns(kind: str, what: str, above: list[str], below: list[str], turns: int) -> str:
    """Run ``below`` and ``above`` in turns; the line giving their ratio (above / below)."""
    lower: list[float] = []
    upper: list[float] = []
    for _ in range(turns):
        lower.append(float(_child_report(below)["seconds"]))
        upper.append(float(_child_report(above)["seconds"]))
    ratios = sorted(u / b for u, b in zip(upper, lower, strict=True))
    pairs = ", ".join(f"{r:.2f}" for r in ratios)
    best = min(upper) / min(lower)
    middle = statistics.median(upper) / statistics.median(lower)
    return f"{kind:<18} {what}: fastest {best:.2f}x, medians {middle:.2f}x (each pair: {pairs})"


def main() -> int:
    """Measure the chosen kinds in turns and print one line per ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--size", type=int, default=1_000_000, help="CLI log size (events)")
    parser.add_argument("--library-events", type=int, default=100_000)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", type=Path, default=_BENCH / "out")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--no-library", action="store_true")
    parser.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="a log written by anyone else, measured as bench/run.py --log measures it",
    )
    args = parser.parse_args()
    logs = Logs(args.out)
    peer = args.out / "peer-venv" / "bin" / "python"
    kinds = [k for k in args.kinds.split(",") if k]
    if args.log and args.kinds == parser.get_default("kinds"):
        kinds = []  # only the given logs, unless --kinds names some too
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or args.turns < 1:
        parser.error(f"unknown kinds {unknown}" if unknown else "--turns must be >= 1")
    needed = [
        path
        for kind in kinds
        for path in (
            *(() if args.no_cli else (logs.path(args.size, kind),)),
            *(() if args.no_library else (logs.path(args.library_events, kind),)),
        )
    ]
    if not args.no_library:
        needed.append(peer)
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        print("run bench/run.py first; missing: " + ", ".join(missing), file=sys.stderr)
        return 2
    # (name, CLI log, library log) for each kind and each --log
    measured: list[tuple[str, Path, Path | None]] = [
        (kind, logs.path(args.size, kind), logs.path(args.library_events, kind)) for kind in kinds
    ]
    names = set(kinds)
    try:
        for spec in args.log:
            user = user_log(spec, logs, 0 if args.no_library else args.library_events, names)
            measured.append((user.name, user.path, user.library))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(f"{args.turns} turns; ours and the reference alternately, each in a fresh process")
    for name, cli_log, library_log in measured:
        if not args.no_cli:
            what = f"CLI replay --no-logs / floor (target <= {REPLAY_TARGET}x)"
            above = [sys.executable, "-c", _CHILD, "replay", str(cli_log)]
            below = [sys.executable, "-c", _CHILD, "floor", str(cli_log)]
            print(_in_turns(name, what, above, below, args.turns), flush=True)
        if not args.no_library and library_log is not None:
            what = f"peer reduce / replay(list[Event]) (target >= {PEER_TARGET}x)"
            above = [str(peer), str(_BENCH / "peer.py"), "reduce", str(library_log)]
            below = [sys.executable, str(_BENCH / "library.py"), "events", str(library_log)]
            print(_in_turns(name, what, above, below, args.turns), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
