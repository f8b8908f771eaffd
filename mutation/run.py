"""Run every hand-made reducer mutant against tests/reducing and report the kill rate.

Usage (from the repository root; ``make mutants`` does this)::

    .venv/bin/python mutation/run.py            # every mutant
    .venv/bin/python mutation/run.py --list     # the mutants, checked, not run
    .venv/bin/python mutation/run.py c-sum-wraps py-equal-retry-applied

The working tree is never changed. The script copies the files git knows
(tracked and untracked, not ignored) of ``src``, ``tests`` and ``docs`` into
a temporary folder, builds the compiled core there, and checks that the
tests pass on that copy. Then each mutant gets its own copy of that folder,
its one replacement (which must match exactly once), a rebuild when it
touches C, and a run of the tests with ``-x``: a failing run kills it. The
run has two stages, to be quick: the rule suite through ``replay()`` in
both engines, then (when that passes) all of tests/reducing. An interrupt
(Ctrl-C or TERM) removes the temporary folder; nothing else is written.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Final, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutants import MUTANTS, Mutant

ROOT: Final = Path(__file__).resolve().parents[1]
COPIED: Final = (
    "src",
    "tests",
    "docs",
    "pyproject.toml",
    "setup.py",
    # The reference reducer written apart from the package, and its producer:
    # tests/reducing/test_reference_reducer.py compares our fold with theirs.
    "bench/spec-reducer",
    "bench/spec-producer",
)
NATIVE: Final = "src/connector_sync_contracts/_engine/native"
TIMEOUT: Final = 900
"""Seconds one mutant's test run may take; a run that hangs counts as killed."""


QUICK: Final = ("tests/reducing/rules", "-k", "Api")
"""First stage: the rule suite through ``replay()`` (both engines); kills most mutants fast."""


def _tests() -> list[str]:
    # The whole rule suite first, then the rest of tests/reducing (differential
    # and property tests).
    rest = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/reducing").glob("test_*.py"))
    return ["tests/reducing/rules", *rest]


class Outcome(NamedTuple):
    """What one mutant's run gave."""

    mutant: Mutant
    verdict: str
    """killed, survived, timeout (counted as killed) or stillborn (did not build)."""
    seconds: float
    detail: str


def check(mutants: Sequence[Mutant]) -> None:
    """Fail unless every mutant's original text occurs exactly once in its file."""
    names = [m.name for m in mutants]
    if len(set(names)) != len(names):
        raise SystemExit("two mutants share a name")
    for m in mutants:
        text = (ROOT / m.path).read_text(encoding="utf-8")
        found = text.count(m.original)
        if found != 1:
            raise SystemExit(f"{m.name}: the original occurs {found} times in {m.path}, not once")
        if m.original == m.mutated:
            raise SystemExit(f"{m.name}: the mutated text is the original")


def copy_tree(target: Path) -> None:
    """Copy the files git knows under ``COPIED`` (tracked or untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *COPIED],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        name = raw.decode()
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree but not yet in the index
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)


def build_native(tree: Path) -> None:
    """Compile ``_native`` in place, with setup.py's flags, for this interpreter."""
    native = tree / NATIVE
    output = native / f"_native{sysconfig.get_config_var('EXT_SUFFIX')}"
    command = [
        *shlex.split(sysconfig.get_config_var("CC") or "cc"),
        *shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC"),
        "-shared",
        "-O2",
        "-fwrapv",
        "-DNDEBUG",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers",
        "-I",
        sysconfig.get_paths()["include"],
        *sorted(str(source) for source in native.glob("*.c")),  # every file setup.py builds
        "-o",
        str(output),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)


def run_tests(tree: Path, tests: Sequence[str] = ()) -> tuple[int | None, str]:
    """Run ``tests`` (default: all of them) on ``tree``'s package.

    Returns the exit status (None on a timeout) and the line that says why.
    """
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_SYNC_PURE_PYTHON"}
    env["PYTHONPATH"] = str(tree / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-o",
        "addopts=",
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-seed=0",
        *(tests or _tests()),
    ]
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return None, f"no result after {TIMEOUT} s"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == 0:
        # A compiled core that no longer loads skips the compiled engines' tests
        # instead of failing them: that is a change of behaviour, not a pass.
        skipped = [line for line in lines if " skipped" in line]
        if skipped:
            return 1, f"tests skipped (the compiled core did not load?): {skipped[-1][:120]}"
        return 0, "every test passed"
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return done.returncode, (failed or lines or [done.stderr.strip()])[-1][:160]


def which_package(tree: Path) -> str:
    """The file ``connector_sync_contracts`` and ``_native`` import from, for ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    code = (
        "import connector_sync_contracts._engine.native._native as n, "
        "connector_sync_contracts as c; print(c.__file__, n.__file__)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def run_mutant(base: Path, work: Path, mutant: Mutant) -> Outcome:
    """Copy ``base``, apply ``mutant``, rebuild when needed, run the tests."""
    started = time.monotonic()
    tree = work / mutant.name
    shutil.copytree(base, tree, symlinks=True)
    try:
        path = tree / mutant.path
        text = path.read_text(encoding="utf-8")
        assert text.count(mutant.original) == 1, mutant.name
        path.write_text(text.replace(mutant.original, mutant.mutated), encoding="utf-8")
        if mutant.path.endswith((".c", ".h")):
            try:
                build_native(tree)
            except subprocess.CalledProcessError as error:
                detail = (error.stderr or "").strip().splitlines()
                return Outcome(
                    mutant, "stillborn", time.monotonic() - started, (detail or ["?"])[-1]
                )
        # Two stages of the same suite: the quick one first, everything when it passes.
        status, detail = run_tests(tree, QUICK)
        if status == 0:
            status, detail = run_tests(tree)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    verdict = "timeout" if status is None else "survived" if status == 0 else "killed"
    return Outcome(mutant, verdict, time.monotonic() - started, detail)


def report(outcomes: Sequence[Outcome]) -> str:
    """The per-engine table and the list of survivors and exclusions."""
    lines = [
        "| engine | mutants | equivalent (excluded) | killed | survived | kill rate |",
        "|---|---|---|---|---|---|",
    ]
    for engine in ("python", "compiled", "both"):
        mine = [o for o in outcomes if o.mutant.engine == engine and o.verdict != "stillborn"]
        if not mine:
            continue
        counted = [o for o in mine if not o.mutant.equivalent]
        killed = sum(o.verdict in ("killed", "timeout") for o in counted)
        rate = f"{100 * killed / len(counted):.1f} %" if counted else "-"
        lines.append(
            f"| {engine} | {len(mine)} | {len(mine) - len(counted)} | {killed} "
            f"| {len(counted) - killed} | {rate} |"
        )
    lines.append("")
    for o in outcomes:
        if o.mutant.equivalent:
            lines.append(
                f"- {o.mutant.name}: {o.verdict}; equivalent, excluded: {o.mutant.equivalent}"
            )
        elif o.verdict in ("survived", "stillborn"):
            lines.append(f"- {o.mutant.name}: {o.verdict.upper()} ({o.detail})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mutants named (every one when none is) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: every one)")
    parser.add_argument("--list", action="store_true", help="check and list the mutants only")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    args = parser.parse_args(argv)
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"no such mutant: {', '.join(unknown)}")
    chosen = [known[n] for n in args.names] if args.names else list(MUTANTS)
    check(MUTANTS)
    if args.list:
        for m in chosen:
            note = f"  (equivalent: {m.equivalent})" if m.equivalent else ""
            print(f"{m.engine:9} {m.name:45} {m.path}{note}")
        return 0
    started = time.monotonic()
    # A TERM (like Ctrl-C) unwinds, so the temporary folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="csc-mutants-") as folder:
        work = Path(folder)
        base = work / "base"
        copy_tree(base)
        build_native(base)
        print(f"tests on the unmutated copy ({which_package(base)})", flush=True)
        status, detail = run_tests(base)
        if status != 0:
            print(f"the unmutated copy fails its tests: {detail}", file=sys.stderr)
            return 2
        outcomes = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = [pool.submit(run_mutant, base, work, mutant) for mutant in chosen]
            for number, run in enumerate(as_completed(runs), 1):
                outcome = run.result()
                outcomes.append(outcome)
                print(
                    f"[{number}/{len(chosen)}] {outcome.verdict:9} {outcome.seconds:6.1f} s  "
                    f"{outcome.mutant.engine:8} {outcome.mutant.name}: {outcome.detail}",
                    flush=True,
                )
        outcomes.sort(key=lambda o: chosen.index(o.mutant))
    print()
    print(report(outcomes))
    print(f"\n{len(chosen)} mutants in {time.monotonic() - started:.0f} s")
    survivors = [o for o in outcomes if o.verdict == "survived" and not o.mutant.equivalent]
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
