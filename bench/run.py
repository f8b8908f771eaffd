"""Benchmark the CLI and the library on several kinds of log, against orjson and the peer.

Usage: .venv/bin/python bench/run.py [--sizes 1000000] [--kinds ascii,non-ascii,...]
       [--repeat 3] [--max-repeat-seconds 0] [--library-events 100000]
       [--library-kinds ...] [--no-peer] [--peer-venv DIR] [--peer-spec SPEC]
       [--log [NAME=]PATH ...] [--markdown] [--out bench/out]

Logs. For each size the script generates a shuffled log (1,000 connectors,
seed 1) and derives from it one log per kind with the transforms in
bench/kinds.py (ascii = unchanged, non-ascii, forward-compatible, escapes,
anomalous). Each log is checked once, when it is written
(bench/checks.py): ``connector-sync validate`` must reject no line, the
non-anomalous kinds must replay to the ascii log's projection byte for byte,
and the anomalous kind's new anomalies must belong to the connectors it
picked; otherwise the script stops. Logs and their checks are reused while
kinds.py does not change.

CLI runs, for each (size, kind), each in a fresh process:

- floor:    read the file and ``orjson.loads`` every line, nothing else;
- validate: ``connector-sync validate FILE``;
- replay:   ``connector-sync replay --no-logs --format json FILE``.

Library runs, on each kind's log of ``--library-events`` events (the whole
log generated with that many events), each in a fresh process that prepares
its input before the clock starts: ``replay(list[Event])``,
``replay(list[dict])``, ``replay_lines(list[bytes])`` (when that name
exists), ``Projection.apply`` of each dict and of each Event (in replay
order) with this package (bench/library.py), and the peer package
``spec-kitty-events`` 5.2.0's reducers over its own Event objects and its
validation + reducers over dicts (bench/peer.py), installed on demand into a
separate venv (``--peer-venv``). Then the same log in batches of 10 events,
one ``replay()`` call (or one peer reduce) a batch, as a service replays
what one request brings: what a call costs before its first event. Those
are shown against the peer with no target.

Logs written by anyone else. ``--log [NAME=]PATH`` (repeatable) adds an
envelope JSONL log (uncompressed) that this script did not write, measured
side by side with the kinds above in the same runs: the CLI runs on the
whole log, and the library runs (ours and the peer's) on its first
``--library-events`` lines that ``connector-sync validate`` accepts, written
once to OUT as ``log-NAME-DIGEST-EVENTS.jsonl``. Such a log is never
changed and may have invalid lines: they are counted and printed, not fatal
(``validate`` then exits 1, which the table shows). ``--kinds ''`` measures
only the given logs. The peer's model may reject lines that ours accepts;
its runs then leave those out (before the clock) and say how many.

Each log is read once before its runs, so none of them waits on the disk.
Logs up to 1M events are measured ``--repeat`` times (default 3) and the
fastest run is kept, the same rule for every run. The runs of one log take
turns (floor, validate, replay, then again; ours and the peer's likewise),
so a slow stretch of the machine slows one run of each, not every run of
one and its ratio with it. Larger logs are measured once, and
with ``--max-repeat-seconds S`` a run that took over S seconds is not
repeated either (the table marks such rows ``(1 run)``). It
prints seconds, events/s, the ratio to the kind's floor (CLI) or the
speed-up over the peer (library), each process's own peak RSS (VmHWM), and
PASS/MISS against the targets. Timing never goes in a test; the latest figures are
recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import hashlib
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

if importlib.util.find_spec("connector_sync_contracts") is None:
    sys.exit(
        f"{Path(sys.argv[0]).name} runs in the project's venv, where the package is "
        "installed: .venv/bin/python bench/... (make demo makes it)"
    )

from arguments import at_least, folder

# Only the kind names and the anomalous connectors' rule: kinds.py imports
# orjson and nothing of the package, so the parent stays small.
from kinds import KINDS, is_anomalous_connector

_BENCH: Final = Path(__file__).resolve().parent
_CONNECTORS: Final = 1000
_SEED: Final = 1
PEER_VERSION: Final = "5.2.0"

REPLAY_TARGET: Final = 1.3
"""CLI replay --no-logs: at most this many times the kind's floor."""
VALIDATE_TARGET: Final = 1.0
"""CLI validate: at most this many times the kind's floor."""
PEER_TARGET: Final = 5.0
"""Library: at least this many times as fast as the peer's matching run."""

_BATCHES_EVENTS: Final = "replay() of 10 Events, each"
_BATCHES_DICTS: Final = "replay() of 10 dicts, each"
_PEER_BATCHES: Final = "peer reduce of 10, each"
_PEER_VALIDATE_BATCHES: Final = "peer validate + reduce of 10, each"
"""The small-batch runs (``library.py``'s and ``peer.py``'s ``BATCH`` = 10):
the whole library log, one call a batch; shown against the peer, no target."""

_CHILD = r"""
import json, os, resource, sys, time
run, path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[-1])
options = ["--input-format", sys.argv[3]] if len(sys.argv) > 4 else []  # FORMAT before the fd
start = time.perf_counter()
if run == "floor":
    import orjson
    loads = orjson.loads
    with open(path, "rb") as handle:
        for line in handle:
            try:  # a line that is not JSON (a --log may have them) costs its attempt
                loads(line)
            except ValueError:
                pass
    code = 0
else:
    from connector_sync_contracts.cli import main
    sys.stdout = open(os.devnull, "w")
    args = ["validate", *options, path] if run == "validate" else [
        "replay", "--no-logs", "--format", "json", *options, path]
    try:
        main(args, standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
os.write(report_fd, json.dumps({"seconds": elapsed, "peak_rss": peak, "exit": code}).encode())
"""
"""The floor and CLI runs. Peak RSS is the process's own high-water mark
(VmHWM): ``ru_maxrss`` would also count the parent's, which Linux carries
over into a child across fork and exec."""

Report = dict[str, Any]


class BenchError(Exception):
    """A log failed its check, or a child failed: the run stops with this message."""


# ---------------------------------------------------------------- logs


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _generator_recipe(size: int) -> str:
    return f"generate --events {size} --connectors {_CONNECTORS} --seed {_SEED} --shuffle"


def _check(log: Path) -> Report:
    """Validate and replay ``log`` in a child (bench/checks.py); return its summary."""
    done = subprocess.run(
        [sys.executable, str(_BENCH / "checks.py"), str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"checking {log} failed:\n{done.stderr}")
    result: Report = json.loads(done.stdout)
    return result


def _verify(kind: str, log: Path, lines: int | None, checked: Report, ascii: Report) -> None:
    """Stop the run when a log is not what its kind promises."""
    problems = []
    if checked["rejected"] != 0 or checked["accepted"] != checked["lines_read"]:
        problems.append(
            f"validate rejected {checked['rejected']} of {checked['lines_read']} lines"
            " (every line of every kind must stay valid)"
        )
    if lines is not None and checked["lines_read"] != lines:
        problems.append(f"validate read {checked['lines_read']} lines, the file has {lines}")
    if kind == "anomalous":
        new = set(checked["anomalous_connectors"]) - set(ascii["anomalous_connectors"])
        strangers = sorted(c for c in new if not is_anomalous_connector(c))
        if strangers:
            problems.append(f"anomalies on connectors it did not pick: {strangers[:5]}")
        for wanted in ("invalid_transition", "duplicate_delivery"):
            if checked["anomalies"].get(wanted, 0) <= ascii["anomalies"].get(wanted, 0):
                problems.append(f"no new {wanted} anomaly")
    elif kind != "ascii" and checked["projection_sha256"] != ascii["projection_sha256"]:
        problems.append("its projection differs from the ascii log's (it must not)")
    if problems:
        rejected = log.with_name(log.name + ".rejected")
        log.replace(rejected)
        raise BenchError(
            f"the {kind} log does not pass its check (kept as {rejected}):\n  "
            + "\n  ".join(problems)
        )


class Logs:
    """Generated and derived logs under ``out``, each checked once when written."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.kinds_digest = _digest(_BENCH / "kinds.py")

    def path(self, size: int, kind: str) -> Path:
        """Where the log of ``size`` events and ``kind`` lives."""
        name = f"events-{size}.jsonl" if kind == "ascii" else f"events-{size}-{kind}.jsonl"
        return self.out / name

    def _stored(self, log: Path, recipe: str) -> Report | None:
        """The check of ``log`` written with it, if it is still that log: its recipe and
        its size in bytes (a log cut or written over since is made and checked again)."""
        sidecar = log.with_suffix(".check.json")
        if not (log.exists() and sidecar.exists()):
            return None
        stored: Report = json.loads(sidecar.read_text())
        current = stored.get("recipe") == recipe and stored.get("bytes") == log.stat().st_size
        return stored if current else None

    def _store(self, log: Path, recipe: str, checked: Report) -> Report:
        checked = {"recipe": recipe, "bytes": log.stat().st_size, **checked}
        log.with_suffix(".check.json").write_text(json.dumps(checked, indent=1) + "\n")
        return checked

    def ascii(self, size: int) -> Report:
        """The generated log of ``size`` events (reused when present) and its check."""
        log = self.path(size, "ascii")
        recipe = _generator_recipe(size)
        stored = self._stored(log, recipe)
        if stored is not None:
            return stored
        # None there, or not the log its check was made of: made (again).
        print(f"generating {log} ...", file=sys.stderr, flush=True)
        tmp = log.with_suffix(".tmp")
        with _removed_unless_done(tmp):
            generate = [sys.executable, "-m", "connector_sync_contracts", *recipe.split()]
            subprocess.run([*generate, "-o", str(tmp)], check=True)
            tmp.replace(log)
        print(f"checking {log} ...", file=sys.stderr, flush=True)
        checked = _check(log)
        _verify("ascii", log, None, checked, checked)
        return self._store(log, recipe, checked)

    def derived(self, size: int, kind: str) -> Report:
        """The ``kind`` log derived from the generated one (reused when current) and its check."""
        ascii = self.ascii(size)
        if kind == "ascii":
            return ascii
        log = self.path(size, kind)
        recipe = f"{_generator_recipe(size)} | kinds.py {kind} (kinds.py {self.kinds_digest})"
        stored = self._stored(log, recipe)
        if stored is not None:
            return stored
        print(f"deriving and checking {log} ...", file=sys.stderr, flush=True)
        tmp = log.with_suffix(".tmp")
        with _removed_unless_done(tmp):
            done = subprocess.run(
                [
                    sys.executable,
                    str(_BENCH / "kinds.py"),
                    kind,
                    str(self.path(size, "ascii")),
                    str(tmp),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BenchError(f"deriving the {kind} log failed:\n{done.stderr}")
            tmp.replace(log)
        checked = _check(log)
        _verify(kind, log, int(done.stdout), checked, ascii)
        return self._store(log, recipe, checked)

    def user_slice(self, name: str, source: Path, events: int) -> tuple[Path, Report]:
        """The first ``events`` lines of ``source`` that validate accepts (reused when current)."""
        digest = _file_digest(source)
        log = self.out / f"log-{name}-{digest}-{events}.jsonl"
        recipe = f"the first {events} accepted lines of {source} (sha256 {digest}...)"
        stored = self._stored(log, recipe)
        if stored is not None:
            return log, stored
        print(f"writing {log} ...", file=sys.stderr, flush=True)
        head = log.with_suffix(".head")
        tmp = log.with_suffix(".tmp")
        taken = left_out = 0
        with (
            _removed_unless_done(tmp),
            _removed_unless_done(head),
            source.open("rb") as reader,
            tmp.open("wb") as writer,
        ):
            # The next lines, as many as are still wanted, validated together, until
            # enough are accepted or the log ends.
            while taken < events:
                lines = [
                    line if line.endswith(b"\n") else line + b"\n"
                    for line in itertools.islice(reader, events - taken)
                ]
                if not lines:
                    break
                head.write_bytes(b"".join(lines))
                rejected = _rejected_lines(head)
                for number, line in enumerate(lines, 1):
                    if number in rejected or not line.strip():
                        left_out += 1
                    else:
                        writer.write(line)
                        taken += 1
        head.unlink(missing_ok=True)
        tmp.replace(log)
        checked = _check(log)
        if checked["rejected"]:
            raise BenchError(f"{log}: validate still rejects {checked['rejected']} lines")
        checked["left_out"] = left_out
        return log, self._store(log, recipe, checked)


@contextlib.contextmanager
def _removed_unless_done(path: Path) -> Iterator[None]:
    """Remove ``path`` (a file being written) when the block ends with an error or Ctrl-C."""
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- logs written by anyone else


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _rejected_lines(log: Path) -> set[int]:
    """The numbers of the lines of ``log`` that ``connector-sync validate`` rejects."""
    done = subprocess.run(
        [sys.executable, "-m", "connector_sync_contracts", "validate", "--format=json", str(log)],
        capture_output=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise BenchError(f"validate {log} failed (exit {done.returncode}):\n{done.stderr!r}")
    return {int(problem["line"]) for problem in json.loads(done.stdout)["problems"]}


@dataclass
class UserLog:
    """A log given with ``--log``: measured as it is, never changed."""

    name: str
    path: Path
    check: Report
    library: Path | None = None
    """Its first accepted lines, for the library runs (None: no library runs)."""
    library_check: Report | None = None


def user_log(spec: str, logs: Logs, library_events: int, taken: set[str]) -> UserLog:
    """Check a ``--log [NAME=]PATH`` and write its library slice.

    ``taken``: the names already in use (the kinds measured, earlier logs);
    this log's name is added. A log inside ``--out``, where this script
    writes, replaces and renames files, is refused: it must stay as it is.
    """
    name, _, where = spec.rpartition("=")
    path = Path(where)
    if not path.is_file():
        raise BenchError(f"--log {spec}: {path} is not a file")
    if path.suffix == ".gz":
        raise BenchError(f"--log {spec}: give the log uncompressed (the floor reads raw lines)")
    if path.resolve().is_relative_to(logs.out.resolve()):
        raise BenchError(
            f"--log {spec}: {path} is inside --out {logs.out}, where this script writes and "
            "replaces logs; move it out, or give another --out"
        )
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in (name or path.stem))
    if name in taken:
        raise BenchError(f"--log {spec}: the name {name!r} is taken; give another (NAME=PATH)")
    taken.add(name)
    print(f"checking {path} ...", file=sys.stderr, flush=True)
    log = UserLog(name, path, _check(path))
    if library_events > 0 and log.check["accepted"]:
        log.library, log.library_check = logs.user_slice(log.name, path, library_events)
    return log


# ---------------------------------------------------------------- measuring


def _child_report(command: Sequence[str]) -> Report:
    """Run ``command`` + [REPORT_FD] in a fresh process; return the JSON it reports."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [*command, str(write_end)],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            report = reader.read()
        proc.wait()
        if not report:
            stderr.seek(0)
            raise BenchError(
                f"{' '.join(command[:3])} ... reported nothing (exit {proc.returncode}):\n"
                + stderr.read().decode(errors="replace")[-2000:]
            )
    result: Report = json.loads(report)
    return result


def _fastest_in_turns(
    measures: Sequence[tuple[str, Callable[[], Report]]], repeat: int, long_run: float
) -> dict[str, Report]:
    """The fastest of ``repeat`` runs of each measure, the measures taking turns.

    Turn k runs each measure once before turn k + 1 starts, so a slow
    stretch of the machine (the kernel writing back a log just written,
    another process) slows one run of each measure, not every run of one.
    A skipped run is not repeated, nor (when ``long_run`` > 0) one that took
    more than ``long_run`` seconds; such a report says ``"runs": 1``.
    """
    best: dict[str, Report] = {}
    finished: set[str] = set()
    for turn in range(1, repeat + 1):
        for name, measure in measures:
            if name in finished:
                continue
            result = measure()
            if "skipped" in result:
                best[name] = result
                finished.add(name)
                continue
            if name not in best or result["seconds"] < best[name]["seconds"]:
                best[name] = result
            best[name]["runs"] = turn
            if long_run > 0 and result["seconds"] > long_run:
                finished.add(name)
    return best


def _byte_compile() -> str:
    """Byte-compile this package's modules, as pip does when it installs a wheel.

    An editable install is compiled only when imported, and not at all when
    PYTHONDONTWRITEBYTECODE is set: every CLI run would then compile the
    package again (about 0.12 s), which no installed package does and the
    floor (orjson, compiled) never pays.
    """
    spec = importlib.util.find_spec("connector_sync_contracts")
    if spec is None or not spec.submodule_search_locations:
        return "package not found: nothing byte-compiled"
    where = spec.submodule_search_locations[0]
    ok = compileall.compile_dir(where, quiet=1)
    return f"byte-compiled {where}" + ("" if ok else " (some files failed)")


def _warm(path: Path) -> None:
    """Read the log once so that no run, the floor included, waits on the disk."""
    with path.open("rb") as handle:
        while handle.read(1 << 20):
            pass


@dataclass
class Row:
    """One measured (or skipped) run."""

    kind: str
    events: int
    run: str
    report: Report
    repeat: int
    """Runs asked for; ``report["runs"]`` says how many were made."""
    ratio: float | None = None
    """CLI: seconds / the kind's floor. Library: peer seconds / ours (speed-up)."""

    @property
    def label(self) -> str:
        """The run's name, marked when it was made fewer times than asked."""
        runs = int(self.report.get("runs", self.repeat))
        return self.run if runs >= self.repeat else f"{self.run} ({runs} run{'s'[: runs - 1]})"

    @property
    def seconds(self) -> float:
        """Wall time of the fastest run."""
        value: float = self.report["seconds"]
        return value


def _mb(report: Report) -> str:
    return f"{report['peak_rss'] / 2**20:,.0f} MB"


def _cli_table(rows: list[Row], markdown: bool) -> list[str]:
    if markdown:
        out = [
            "| kind | events | run | seconds | events/s | x floor | peak RSS |",
            "|---|---:|---|---:|---:|---:|---:|",
        ]
        for r in rows:
            note = "" if r.report["exit"] == 0 else f" (exit {r.report['exit']})"
            out.append(
                f"| {r.kind} | {r.events:,} | {r.label}{note} | {r.seconds:.2f} | "
                f"{r.events / r.seconds:,.0f} | {r.ratio:.2f} | {_mb(r.report)} |"
            )
        return out
    head = ("kind", "events", "run", "seconds", "events/s", "x floor", "peak RSS")
    out = ["{:<18}  {:>10}  {:<16}  {:>8}  {:>10}  {:>7}  {:>9}".format(*head)]
    for r in rows:
        out.append(
            f"{r.kind:<18}  {r.events:>10,}  {r.label:<16}  {r.seconds:>8.2f}  "
            f"{r.events / r.seconds:>10,.0f}  {r.ratio:>7.2f}  {_mb(r.report):>9}"
            + ("" if r.report["exit"] == 0 else f"  (exit {r.report['exit']})")
        )
    return out


def _library_table(rows: list[Row], markdown: bool) -> list[str]:
    out = []
    if markdown:
        out += [
            "| kind | events | run | seconds | events/s | prep s | peak RSS | x peer | result |",
            "|---|---:|---|---:|---:|---:|---:|---:|---|",
        ]
    else:
        head = ("kind", "events", "run", "seconds", "events/s", "prep s", "peak RSS", "result")
        out.append("{:<18}  {:>8}  {:<32}  {:>8}  {:>9}  {:>6}  {:>9}  {}".format(*head))
    for r in rows:
        if "skipped" in r.report:
            cells = [r.kind, f"{r.events:,}", r.label, "-", "-", "-", "-", r.report["skipped"]]
        else:
            cells = [
                r.kind,
                f"{r.events:,}",
                r.label,
                f"{r.seconds:.2f}",
                f"{r.events / r.seconds:,.0f}",
                f"{r.report['setup_seconds']:.1f}",
                _mb(r.report),
                r.report["summary"],
            ]
        if markdown:
            cells.insert(7, "" if r.ratio is None else f"{r.ratio:.2f}")
            out.append("| " + " | ".join(cells) + " |")
        else:
            out.append(
                "{:<18}  {:>8}  {:<32}  {:>8}  {:>9}  {:>6}  {:>9}  {}".format(*cells).rstrip()
            )
    return out


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- the peer


def _peer_probe(python: Path) -> str | None:
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import spec_kitty_events as p; print(p.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _peer_python(venv: Path, spec: str) -> tuple[Path | None, str]:
    """The peer venv's interpreter, created and installed on demand, or why not."""
    python = venv / "bin" / "python"
    if _peer_probe(python) == PEER_VERSION:
        return python, f"spec-kitty-events {PEER_VERSION} in {venv}"
    print(f"installing {spec} into {venv} ...", file=sys.stderr, flush=True)
    log = venv.with_name(venv.name + "-install.log")
    with log.open("w") as handle:
        made = subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
        if made.returncode == 0:
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", spec],
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
    version = _peer_probe(python)
    if version != PEER_VERSION:
        return None, f"could not install {spec} into {venv} (got {version}; see {log})"
    return python, f"spec-kitty-events {PEER_VERSION} installed into {venv}"


# ---------------------------------------------------------------- main


def _csv(value: str, allowed: Sequence[str]) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {','.join(allowed)}")
    return names


def _kinds(value: str) -> str:
    """An argparse type: a comma-separated list of kinds (checked, kept as written)."""
    _csv(value, list(KINDS))
    return value


def _sizes(value: str) -> list[int]:
    """An argparse type: comma-separated event counts, each at least 1."""
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: event counts, e.g. 100000,1000000") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"{value!r}: each size is at least 1 event")
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    kinds = ",".join(KINDS)
    parser.add_argument(
        "--sizes", type=_sizes, default=[1_000_000], help="events per log, comma separated"
    )
    parser.add_argument(
        "--kinds", type=_kinds, default=kinds, help=f"kinds of log (default {kinds}; '' none)"
    )
    parser.add_argument(
        "--out", type=folder, default=_BENCH / "out", help="where logs are written (bench/out)"
    )
    parser.add_argument(
        "--repeat", type=at_least(1), default=3, help="runs per measurement (<= 1M; default 3)"
    )
    parser.add_argument(
        "--max-repeat-seconds",
        type=float,
        default=0.0,
        help="do not repeat a run that took longer than this (default 0: always repeat)",
    )
    parser.add_argument(
        "--library-events",
        type=at_least(0),
        default=100_000,
        help="events in the library runs' logs (0: no library runs)",
    )
    parser.add_argument(
        "--library-kinds",
        type=_kinds,
        default=None,
        help="kinds for the library runs (default: --kinds)",
    )
    parser.add_argument("--no-peer", action="store_true", help="leave out the peer's runs")
    parser.add_argument("--peer-venv", type=Path, default=None, help="default: OUT/peer-venv")
    parser.add_argument(
        "--peer-spec",
        default=f"spec-kitty-events=={PEER_VERSION}",
        help="what pip installs into the peer venv (a requirement or a wheel path)",
    )
    parser.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="also measure this envelope JSONL log, written by anyone (repeatable)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    return parser


def _environment() -> str:
    # Asked in a child: this process stays small (the children report their own
    # VmHWM, so their figures no longer depend on it, but nothing here needs pydantic).
    code = (
        "import pydantic; from connector_sync_contracts._engine.native import engine;"
        " print(engine(), pydantic.VERSION, sep=',')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    engine, pydantic = done.split(",")
    return f"engine: {engine}  pydantic: {pydantic}"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> int:
    """Check the logs, run every measurement, print the tables and the targets."""
    args = _parser().parse_args()
    kinds = _csv(args.kinds, list(KINDS))
    library_kinds = _csv(args.library_kinds or args.kinds, list(KINDS))
    sizes: list[int] = args.sizes
    args.out.mkdir(parents=True, exist_ok=True)
    logs = Logs(args.out)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}  cores: {os.cpu_count()}  "
        f"python: {sys.version.split()[0]}  {_environment()}"
    )
    print(f"at start: {_load()}")
    print(_byte_compile())
    print(
        f"each run {args.repeat} times (once above 1M events"
        + (f" or after a run over {args.max_repeat_seconds:g} s" if args.max_repeat_seconds else "")
        + "); the fastest is shown",
        flush=True,
    )
    try:
        checks = {(s, k): logs.derived(s, k) for s in sizes for k in kinds}
        if args.library_events > 0:
            for kind in library_kinds:
                logs.derived(args.library_events, kind)
        names = set(kinds) | set(library_kinds if args.library_events > 0 else [])
        users = [user_log(spec, logs, args.library_events, names) for spec in args.log]
    except BenchError as exc:
        print(f"\nABORTED: {exc}", file=sys.stderr)
        return 1
    for user in users:
        print(
            f"--log {user.name}: {user.path}, {user.check['lines_read']:,} lines, "
            f"{user.check['accepted']:,} accepted, {user.check['rejected']:,} rejected; "
            f"anomalies {user.check['anomalies'] or 'none'}"
            + (
                "; no library runs (no line is accepted)"
                if not user.check["accepted"] and args.library_events > 0
                else ""
                if user.library_check is None
                else f"; library runs on its first {user.library_check['lines_read']:,} "
                f"accepted lines ({user.library_check['left_out']:,} rejected lines left out)"
            )
        )

    # (label, size for the repeat rule, path, events)
    cli_logs = [
        (kind, size, logs.path(size, kind), int(checks[(size, kind)]["lines_read"]))
        for size in sizes
        for kind in kinds
    ]
    unjudged = {user.name for user in users if not user.check["accepted"]}
    for user in users:
        lines = int(user.check["lines_read"])
        cli_logs.append((user.name, lines, user.path, lines))
    library_logs = [
        (kind, logs.path(args.library_events, kind), logs.derived(args.library_events, kind))
        for kind in (library_kinds if args.library_events > 0 else [])
    ]
    library_logs += [
        (user.name, user.library, user.library_check)
        for user in users
        if user.library is not None and user.library_check is not None
    ]

    targets: list[str] = []
    cli_rows: list[Row] = []
    print("\nCLI (each in a fresh process; x floor = seconds / the same kind's floor)")
    print(_cli_table([], markdown=False)[0], flush=True)
    for kind, size, path, events in cli_logs:
        repeat = args.repeat if size <= 1_000_000 else 1
        _warm(path)
        floor = 0.0
        runs = ("floor", "validate", "replay")
        reports = _fastest_in_turns(
            [
                (run, partial(_child_report, [sys.executable, "-c", _CHILD, run, str(path)]))
                for run in runs
            ],
            repeat,
            args.max_repeat_seconds,
        )
        for run in runs:
            row = Row(kind, events, run, reports[run], repeat)
            floor = row.seconds if run == "floor" else floor
            row.ratio = row.seconds / floor
            cli_rows.append(row)
            print(_cli_table([row], markdown=False)[1], flush=True)
            if run != "floor":
                limit = REPLAY_TARGET if run == "replay" else VALIDATE_TARGET
                what = "replay --no-logs" if run == "replay" else "validate"
                verdict = (
                    "not judged: no line of it is accepted"
                    if kind in unjudged
                    else _verdict(row.ratio <= limit)
                )
                targets.append(
                    f"{kind:<18} {events:>10,}  CLI {what} <= {limit}x floor: "
                    f"{row.ratio:.2f}x  {verdict}"
                )

    library_rows: list[Row] = []
    if library_logs:
        user_names = {user.name for user in users}
        library_rows = _library(args, library_logs, user_names, targets)

    print(f"\nat end: {_load()}")
    print(
        "\ntargets (printed, never asserted; this machine, this run; stated for logs of 1M "
        "events and libraries of 100,000: below that, start-up weighs on the ratios):"
    )
    for line in targets:
        print(f"  {line}")
    if args.markdown:
        print("\n" + "\n".join(_cli_table(cli_rows, markdown=True)))
        if library_rows:
            print("\n" + "\n".join(_library_table(library_rows, markdown=True)))
    return 0


def _library(
    args: argparse.Namespace,
    library_logs: list[tuple[str, Path, Report]],
    tolerant: set[str],
    targets: list[str],
) -> list[Row]:
    """The library runs (ours and the peer's) on each library log.

    A peer run that fails on a log named in ``tolerant`` (one given with
    ``--log``) is shown as not measured, with the peer's error; on a log this
    script wrote, it stops the benchmark.
    """
    peer: Path | None = None
    if args.no_peer:
        print("\npeer: left out (--no-peer)")
    else:
        peer, note = _peer_python(args.peer_venv or args.out / "peer-venv", args.peer_spec)
        print(f"\npeer: {note}")
    runs: list[tuple[str, list[str]]] = [
        ("replay(list[Event])", [sys.executable, str(_BENCH / "library.py"), "events"]),
        ("replay(list[dict])", [sys.executable, str(_BENCH / "library.py"), "dicts"]),
        ("replay_lines(list[bytes])", [sys.executable, str(_BENCH / "library.py"), "lines"]),
        ("Projection.apply(dict)", [sys.executable, str(_BENCH / "library.py"), "apply-dicts"]),
        ("Projection.apply(Event)", [sys.executable, str(_BENCH / "library.py"), "apply-events"]),
        (_BATCHES_EVENTS, [sys.executable, str(_BENCH / "library.py"), "batches-events"]),
        (_BATCHES_DICTS, [sys.executable, str(_BENCH / "library.py"), "batches-dicts"]),
    ]
    if peer is not None:
        runs += [
            ("peer reduce", [str(peer), str(_BENCH / "peer.py"), "reduce"]),
            ("peer validate + reduce", [str(peer), str(_BENCH / "peer.py"), "validate-reduce"]),
            (_PEER_BATCHES, [str(peer), str(_BENCH / "peer.py"), "reduce-batches"]),
            (
                _PEER_VALIDATE_BATCHES,
                [str(peer), str(_BENCH / "peer.py"), "validate-reduce-batches"],
            ),
        ]
    print(
        f"library (events: the whole {args.library_events:,}-event log of each kind, or the "
        "first accepted lines of a --log; input prepared before the clock; "
        "each in a fresh process)"
    )
    print(_library_table([], markdown=False)[0], flush=True)

    def _tolerated(measure: Callable[[], Report], kind: str, name: str) -> Report:
        """One run; a peer run that fails on a ``tolerant`` log is reported skipped."""
        try:
            return measure()
        except BenchError as exc:
            if kind not in tolerant or not name.startswith("peer"):
                raise
            return {"skipped": "failed: " + str(exc).strip().splitlines()[-1][:120]}

    rows: list[Row] = []
    for kind, path, check in library_logs:
        _warm(path)
        events = int(check["lines_read"])
        measures = [
            (name, partial(_tolerated, partial(_child_report, [*command, str(path)]), kind, name))
            for name, command in runs
        ]
        reports = _fastest_in_turns(measures, args.repeat, args.max_repeat_seconds)
        by_run: dict[str, Row] = {}
        for name, _ in runs:
            row = Row(kind, events, name, reports[name], args.repeat)
            by_run[name] = row
            rows.append(row)
            print(_library_table([row], markdown=False)[1], flush=True)
        for ours, theirs, target in (
            ("replay(list[Event])", "peer reduce", PEER_TARGET),
            ("replay(list[dict])", "peer validate + reduce", PEER_TARGET),
            (_BATCHES_EVENTS, _PEER_BATCHES, None),
            (_BATCHES_DICTS, _PEER_VALIDATE_BATCHES, None),
        ):
            if theirs not in by_run or "skipped" in by_run[theirs].report:
                targets.append(f"{kind:<18} library {ours} vs {theirs}: not measured (no peer)")
                continue
            speedup = by_run[theirs].seconds / by_run[ours].seconds
            by_run[ours].ratio = speedup
            if target is None:
                targets.append(
                    f"{kind:<18} {events:>10,}  library {ours} vs {theirs}: "
                    f"{speedup:.2f}x as fast (no target)"
                )
                continue
            targets.append(
                f"{kind:<18} {events:>10,}  library {ours} >= {target:g}x as fast as "
                f"{theirs}: {speedup:.2f}x  {_verdict(speedup >= target)}"
            )
    return rows


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # a log being written was removed on the way out
        sys.exit("bench/run.py: interrupted")
