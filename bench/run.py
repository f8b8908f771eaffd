"""Benchmark validate and replay against the floor of parsing each line with orjson.

Usage: python bench/run.py [--sizes 100000,1000000,10000000] [--out bench/out] [--repeat 3]

For each size the script generates a shuffled log (1,000 connectors, seed 1;
reused when already present), then runs, each in a fresh process:

- floor:    read the file and ``orjson.loads`` every line, nothing else;
- validate: ``connector-sync validate FILE``;
- replay:   ``connector-sync replay --no-logs --format json FILE``.

Each log is read once before its runs, so none of them waits on the disk.
Logs up to 1M events are measured ``--repeat`` times (default 3) and the
fastest run is kept, the same rule for all three; 10M once. It prints
events/s, the ratio of each run's wall time to the floor's, and each
process's peak RSS. Timing never goes in a test; the latest figures are
recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, os, resource, sys, time
kind, path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
if kind == "floor":
    import orjson
    loads = orjson.loads
    with open(path, "rb") as handle:
        for line in handle:
            loads(line)
    code = 0
else:
    from connector_sync_contracts.cli import main
    sys.stdout = open(os.devnull, "w")
    args = ["validate", path] if kind == "validate" else [
        "replay", "--no-logs", "--format", "json", path]
    try:
        main(args, standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
os.write(report_fd, json.dumps({"seconds": elapsed, "peak_rss": peak, "exit": code}).encode())
"""


def _generate(size: int, out: Path) -> Path:
    path = out / f"events-{size}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(".tmp")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "connector_sync_contracts",
                "generate",
                "--events",
                str(size),
                "--connectors",
                "1000",
                "--seed",
                "1",
                "--shuffle",
                "-o",
                str(tmp),
            ],
            check=True,
        )
        tmp.rename(path)
    return path


def _measure(kind: str, path: Path) -> dict[str, float]:
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind, str(path), str(write_end)],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        report = reader.read()
    proc.wait()
    result: dict[str, float] = json.loads(report)
    return result


def _warm(path: Path) -> None:
    """Read the log once so that no run, the floor included, waits on the disk."""
    with path.open("rb") as handle:
        while handle.read(1 << 20):
            pass


def _seconds(result: dict[str, float]) -> float:
    return result["seconds"]


def main() -> int:
    """Run the benchmark and print one table row per (size, run)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (<= 1M)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    # Asked in a child: importing the package here would also inflate the children's
    # peak RSS (Linux keeps the parent's resident size in ru_maxrss across exec).
    engine = subprocess.run(
        [
            sys.executable,
            "-c",
            "from connector_sync_contracts._accel import engine; print(engine())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  engine: {engine}")
    print(f"each run {args.repeat} times (once above 1M events); the fastest is shown")
    header = ("events", "run", "seconds", "events/s", "x floor", "peak RSS")
    print("{:>10}  {:<8}  {:>8}  {:>10}  {:>7}  {:>9}".format(*header))
    for size in sizes:
        path = _generate(size, args.out)
        floor = None
        _warm(path)
        repeat = args.repeat if size <= 1_000_000 else 1
        for kind in ("floor", "validate", "replay"):
            result = min((_measure(kind, path) for _ in range(repeat)), key=_seconds)
            seconds = result["seconds"]
            floor = seconds if kind == "floor" else floor
            ratio = seconds / floor if floor else float("nan")
            print(
                f"{size:>10}  {kind:<8}  {seconds:>8.2f}  {size / seconds:>10,.0f}  "
                f"{ratio:>7.2f}  {result['peak_rss'] / 2**20:>7.0f} MB"
                + ("" if result["exit"] == 0 else f"  (exit {result['exit']})"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
