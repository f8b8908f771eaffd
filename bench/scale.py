"""Benchmark the partitioned replay (issue 14): one process, a local Dask cluster, the spill path.

Usage: .venv/bin/python bench/scale.py LOG [--runs memory,workers,spill] [--workers 2]
       [--memory-limit 600MB] [--out DIR] [--shuffle] [--json]

LOG is a generated log (``connector-sync generate --events N --connectors
1000 --seed 1 --shuffle -o LOG``); big logs belong outside the repository.
Each run is ``connector-sync replay --no-logs --format json LOG`` in a fresh
process, with:

- memory:  ``--memory-limit 0``: today's in-memory replay, never spilled;
- workers: ``--workers N``: a local Dask cluster of N worker processes;
- spill:   ``--memory-limit SIZE``: partitions spilled to a temporary folder.

Every run's standard output must be byte for byte the first run's (the
script stops otherwise). For each run it prints the wall time (imports
included, the interpreter's own start not), events/s, the ratio to the
memory run, the process's own peak RSS (VmHWM) and the peak of the summed
RSS of the process and every descendant (the Dask nanny and workers),
sampled every 0.2 s.

``--shuffle`` also replays LOG once through ``replay_partitioned`` on a
local cluster of N workers in this process and reads Dask's own counter of
bytes sent between workers (``Worker.transfer_outgoing_bytes_total``), and
the bytes the routing tasks produce (every routed line, one routing-map
byte per line to the client, one 8-byte check key per line): bytes
shuffled per event. Timing never goes in a test; figures are in
bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

from arguments import at_least

_CHILD: Final = r"""
import json, os, sys, time
report_fd = int(sys.argv[1])
out = sys.argv[2]
start = time.perf_counter()
import click
from connector_sync_contracts.cli import main
sys.stdout = open(out, "w")
try:
    main(sys.argv[3:], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
except click.ClickException as exc:  # a usage error, said as the command says it
    exc.show()
    code = exc.exit_code
sys.stdout.flush()
elapsed = time.perf_counter() - start
peak = 0
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
os.write(report_fd, json.dumps({"seconds": elapsed, "peak_rss": peak, "exit": code}).encode())
"""
"""One run: the CLI in this child, reporting its wall time and own VmHWM on a pipe."""

Report = dict[str, Any]


def _tree_rss(root: int) -> int:
    """Summed VmRSS in bytes of ``root`` and every process descending from it."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        pending.extend(parents.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                total += next(
                    int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:")
                )
        except (OSError, StopIteration):
            continue
    return total


def run_cli(args: list[str], out: Path) -> Report:
    """Run ``connector-sync ARGS`` in a child; its report plus the sampled tree peak RSS."""
    read_fd, write_fd = os.pipe()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(write_fd), str(out), *args],
        pass_fds=(write_fd,),
        stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.2):
            peak_tree = max(peak_tree, _tree_rss(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    done.set()
    sampler.join()
    total = time.perf_counter() - started
    with os.fdopen(read_fd, "rb") as report_pipe:
        raw = report_pipe.read()
    if child.returncode != 0 or not raw:
        raise SystemExit(f"run {args} failed ({child.returncode}): {stderr.decode()[-2000:]}")
    report: Report = json.loads(raw)
    if report["exit"] not in (0, 1):  # 2: a usage or I/O error (no [dask] extra ...), no replay
        raise SystemExit(
            f"run {' '.join(args)} failed (exit {report['exit']}): {stderr.decode()[-2000:]}"
        )
    # Sampled every 0.2 s, the tree can miss a short run's peak: it is at least the child's.
    report["peak_tree_rss"] = max(peak_tree, report["peak_rss"])
    report["process_seconds"] = total
    report["summary"] = stderr.decode().strip().splitlines()[-1]
    return report


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            count += block.count(b"\n")
    return count


def _sent(dask_worker: Any) -> dict[str, int]:
    """Bytes this worker sent, to other workers and to the client (its transfer log)."""
    sent = {"worker": 0, "client": 0}
    for entry in dask_worker.transfer_outgoing_log:
        sent["worker" if entry.get("who") else "client"] += entry["total"]
    return sent


def shuffle_bytes(log: Path, workers: int) -> Report:
    """Replay ``log`` on a local cluster here and count the bytes moved between processes."""
    import logging

    import dask.config
    from distributed import Client, LocalCluster

    from connector_sync_contracts import replay_partitioned

    with (
        dask.config.set({"distributed.admin.low-level-log-length": 10**6}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken, and Dask warns then
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        started = time.perf_counter()
        replay_partitioned(str(log), client, include_logs=False)
        seconds = time.perf_counter() - started
        sent = client.run(_sent).values()
        total = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
    return {
        "seconds": seconds,
        "to_workers": sum(item["worker"] for item in sent),
        "to_client": sum(item["client"] for item in sent),
        "total": sum(total.values()),
    }


_RUNS: Final = ("memory", "workers", "spill")


def _runs(value: str) -> str:
    """An argparse type: runs of ``_RUNS``, comma separated."""
    unknown = [run for run in value.split(",") if run not in _RUNS]
    if unknown or not value:
        raise argparse.ArgumentTypeError(f"{value!r}: choose from {','.join(_RUNS)}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table (or JSON) of every run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument(
        "--runs",
        type=_runs,
        default="memory,workers,spill",
        help="which replays, in this order (default memory,workers,spill; workers and "
        "--shuffle need the [dask] extra)",
    )
    parser.add_argument("--workers", type=at_least(1), default=2, help="workers of the cluster (2)")
    parser.add_argument(
        "--memory-limit", default="600MB", help="the spilled replay's budget (600MB)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where outputs go (a temp dir)")
    parser.add_argument("--shuffle", action="store_true", help="also count bytes shuffled")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args(argv)
    log: Path = options.log
    if not log.is_file():
        parser.error(f"{log} is not a file")
    if options.shuffle and importlib.util.find_spec("distributed") is None:
        parser.error(
            "--shuffle needs the [dask] extra: pip install 'connector-sync-contracts[dask]'"
        )
    events = _lines(log)
    size = log.stat().st_size
    base = ["replay", "--no-logs", "--format", "json", str(log)]
    shapes = {
        "memory": [*base, "--memory-limit", "0"],
        "workers": [*base, "--workers", str(options.workers)],
        "spill": [*base, "--memory-limit", options.memory_limit],
    }
    results: dict[str, Report] = {}
    load_before = os.getloadavg()
    if options.out is not None:
        Path(options.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=options.out) as folder:
        reference: str | None = None
        for name in options.runs.split(","):
            out = Path(folder) / f"{name}.json"
            report = run_cli(shapes[name], out)
            digest = _digest(out)
            out.unlink()
            if reference is None:
                reference = digest
            elif digest != reference:
                raise SystemExit(f"run {name} printed other bytes than the first run")
            report["sha256"] = digest
            results[name] = report
            print(f"{name}: {report['seconds']:.1f} s", file=sys.stderr, flush=True)
    shuffle = shuffle_bytes(log, options.workers) if options.shuffle else None
    load_after = os.getloadavg()
    if options.json:
        print(json.dumps({"log": str(log), "events": events, "bytes": size,
                          "runs": results, "shuffle": shuffle,
                          "load": [load_before, load_after]}, indent=2))  # fmt: skip
        return 0
    print(f"log {log.name}: {events:,} lines, {size / 1e9:.2f} GB ({size / events:.0f} B/line)")
    print(f"load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at end; 2 cores")
    print("| run | seconds | events/s | vs memory | own peak RSS | tree peak RSS |")
    print("|---|---|---|---|---|---|")
    first = results.get("memory")
    for name, report in results.items():
        ratio = f"{report['seconds'] / first['seconds']:.2f}x" if first else "-"
        print(
            f"| {' '.join(shapes[name][5:]) or name} | {report['seconds']:.1f} | "
            f"{events / report['seconds']:,.0f} | {ratio} | "
            f"{report['peak_rss'] / 1e6:,.0f} MB | {report['peak_tree_rss'] / 1e6:,.0f} MB |"
        )
    if shuffle is not None:
        routed = (size + events + 8 * events) / events
        print(
            f"shuffle on {options.workers} workers ({shuffle['seconds']:.1f} s): sent by workers "
            f"{shuffle['to_workers'] / events:.0f} B/event to workers, "
            f"{shuffle['to_client'] / events:.1f} B/event to the client "
            f"(Dask's counter: {shuffle['total'] / events:.0f} B/event); routing produces "
            f"{routed:.0f} B/event ({size / events:.0f} line + 1 routing map + 8 check key)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
