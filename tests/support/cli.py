"""Running the real ``connector-sync`` program and reading what it prints.

Every CLI test goes through ``run_cli``: a fresh interpreter running
``python -m connector_sync_contracts``, so argument parsing, exit codes,
standard streams and the terminal check are the ones a user meets.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "PROGRAM",
    "AnomalyLine",
    "Problem",
    "Run",
    "Summary",
    "file_size_limit",
    "open_files_limit",
    "parse_anomaly_lines",
    "parse_problems",
    "parse_summary",
    "run_cli",
    "run_env",
]

PROGRAM: Final = (sys.executable, "-m", "connector_sync_contracts")
"""The command line every test runs (the ``connector-sync`` script does the same)."""

_PROBLEM: Final = re.compile(
    r"^(?P<file>.+?):(?P<line>[0-9]+): (?!anomaly )(?P<field>.+?): (?P<code>[a-z][a-z0-9_]*): "
    r"(?P<message>.*)$"
)
_ANOMALY: Final = re.compile(
    r"^(?P<file>.+?):(?P<line>[0-9]+): anomaly (?P<kind>[a-z][a-z0-9_]*)"
    r"(?: \[connector (?P<connector>[^\]]*)\])?: (?P<message>.*)$"
)
_NUMBER: Final = r"[0-9][0-9,]*"
_SUMMARY: Final = re.compile(
    rf"^(?P<read>{_NUMBER}) lines? read: (?P<accepted>{_NUMBER}) accepted, "
    rf"(?P<rejected>{_NUMBER}) rejected \((?P<problems>{_NUMBER}) problems?\)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Run:
    """Exit code and raw output streams of one finished run."""

    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        """Standard output as text."""
        return self.stdout.decode()

    @property
    def err(self) -> str:
        """Standard error as text."""
        return self.stderr.decode()

    def explain(self) -> str:
        """Everything a failing assertion should show."""
        return (
            f"exit code {self.code}\n--- stdout ---\n{self.stdout[:3000]!r}\n"
            f"--- stderr ---\n{self.stderr[:3000]!r}"
        )


@dataclass(frozen=True)
class Problem:
    """One ``file:line: field: code: message`` line."""

    file: str
    line: int
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class Summary:
    """The ``N lines read: A accepted, R rejected (P problems)`` line (``1 line`` ...)."""

    lines_read: int
    accepted: int
    rejected: int
    problems: int


def run_env(**extra: str) -> dict[str, str]:
    """The environment of a run: this one, with Python's output unbuffered and UTF-8.

    ``COLUMNS`` and ``LINES`` of the shell running the tests are left out, so
    a table is as wide as for any piped output (80) unless ``extra`` sets them.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def run_cli(
    *args: str | Path,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run ``connector-sync ARGS...`` to completion (stdin empty unless given).

    ``env`` adds environment variables (``COLUMNS`` ...) to ``run_env()``'s.
    """
    command: Sequence[str] = [*PROGRAM, *(str(arg) for arg in args)]
    completed = subprocess.run(
        command,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=run_env(**(env or {})),
        timeout=timeout,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def parse_problems(text: str) -> list[Problem]:
    """Every problem line of ``text`` (other lines, such as the summary, are skipped)."""
    found = []
    for line in text.splitlines():
        match = _PROBLEM.match(line)
        if match is not None:
            found.append(
                Problem(
                    match["file"],
                    int(match["line"]),
                    match["field"],
                    match["code"],
                    match["message"],
                )
            )
    return found


def parse_summary(text: str) -> Summary:
    """The one summary line of ``text``; fails when there is not exactly one."""
    matches = list(_SUMMARY.finditer(text))
    assert len(matches) == 1, f"expected one summary line in {text[-2000:]!r}"
    m = matches[0]

    def number(name: str) -> int:
        return int(m[name].replace(",", ""))

    return Summary(number("read"), number("accepted"), number("rejected"), number("problems"))


@dataclass(frozen=True)
class AnomalyLine:
    """One ``file:line: anomaly kind [connector ID]: message`` line of ``replay``'s stderr."""

    file: str
    line: int
    kind: str
    connector: str | None
    message: str


def parse_anomaly_lines(text: str) -> list[AnomalyLine]:
    """Every located-anomaly line of ``text`` (problems and other lines are skipped)."""
    found = []
    for line in text.splitlines():
        match = _ANOMALY.match(line)
        if match is not None:
            found.append(
                AnomalyLine(
                    match["file"],
                    int(match["line"]),
                    match["kind"],
                    match["connector"],
                    match["message"],
                )
            )
    return found


def file_size_limit(limit: int) -> None:
    """As under ``ulimit -f`` (a ``preexec_fn``): a write past ``limit`` bytes fails with
    EFBIG, as on a full disk, instead of killing the process (SIGXFSZ ignored)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def open_files_limit(limit: int) -> None:
    """As under ``ulimit -n`` (a ``preexec_fn``): at most ``limit`` descriptors open."""
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
