"""The progress display, on a pseudo-terminal (the ``pty`` module) and off one.

``CONNECTOR_SYNC_PROGRESS_DELAY=0`` makes the bar appear at once, so every
run here draws it at known points, without waiting on a clock: after each
input file is read, when reading ends (replay then shows its ``folding``
phase), and after each chunk ``generate`` writes. What is checked is what a
user sees: the bar on standard error only, a ``.gz`` input measured by its
compressed bytes (so a percentage, not an open-ended count), problem lines
that start on a clean line instead of being glued onto the bar, and the
bar erased at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Final

import pytest

from connector_sync_contracts.cli.progress import DELAY_ENV
from tests.support.cli import PROGRAM, parse_summary, run_cli, run_env

from .conftest import CorruptedLog, gzip_file

pty = pytest.importorskip("pty", reason="needs a pseudo-terminal (POSIX pty module)")

AT_ONCE: Final = {DELAY_ENV: "0"}
CLEAR: Final = b"\x1b[K"
BAR_MARKS: Final = (b"\r", b"lines/s", b"[working]", CLEAR, b"#", b"folding")


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            return
        if not chunk:
            return
        into.extend(chunk)


def _on_terminal(*args: str | Path, stdout_too: bool = False) -> tuple[int, bytes, bytes]:
    """Run with stderr (and maybe stdout) on a fresh pseudo-terminal: (code, stdout, terminal)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [*PROGRAM, *(str(arg) for arg in args)],
            stdin=subprocess.DEVNULL,
            stdout=follower if stdout_too else subprocess.PIPE,
            stderr=follower,
            env=run_env(**AT_ONCE),
        )
    finally:
        os.close(follower)
    seen = bytearray()
    reader = threading.Thread(target=_drain, args=(leader, seen))
    reader.start()
    try:
        out = b"" if stdout_too else (process.stdout.read() if process.stdout else b"")
        code = process.wait(timeout=120)
        reader.join(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
    finally:
        os.close(leader)
    return code, out, bytes(seen)


def _after_last_clear(terminal: bytes) -> str:
    return terminal.replace(b"\r\n", b"\n").decode().rsplit("\x1b[K", 1)[-1]


def test_no_progress_bar_when_stderr_is_not_a_terminal(valid_log: Path) -> None:
    run = run_cli("validate", valid_log, env=AT_ONCE)
    assert run.code == 0, run.explain()
    for mark in BAR_MARKS:
        assert mark not in run.stderr, run.explain()
    summary = parse_summary(run.err)
    lines = f"{summary.lines_read:,}"
    assert run.err == f"{lines} lines read: {lines} accepted, 0 rejected (0 problems)\n"


def test_progress_bar_on_a_terminal_is_drawn_on_stderr_and_erased(valid_log: Path) -> None:
    code, out, terminal = _on_terminal("validate", valid_log)
    assert code == 0, terminal
    assert out == b"", "the bar belongs on stderr only"
    assert b"\rreading [" in terminal, terminal
    assert b"100.0%" in terminal
    assert b"lines/s" in terminal
    assert CLEAR in terminal, "the bar is erased at the end"
    summary = parse_summary(_after_last_clear(terminal))
    assert summary.lines_read == summary.accepted > 0


def test_gzip_input_shows_progress_by_compressed_bytes(valid_log: Path) -> None:
    packed = gzip_file(valid_log)
    code, _, terminal = _on_terminal("validate", packed)
    assert code == 0, terminal
    # The size of a .gz file is its compressed size: the bar has a share to show.
    assert b"[working]" not in terminal, terminal
    assert b"100.0%" in terminal


def test_replay_shows_its_fold_phase_after_reading(valid_log: Path) -> None:
    code, out, terminal = _on_terminal("replay", "--format", "json", valid_log)
    assert code == 0, terminal
    assert out.startswith(b"{")
    full_bar = terminal.index(b"100.0%")
    folding = terminal.index(b"\rfolding ", full_bar)
    assert b"lines read in" in terminal[folding:]
    parse_summary(_after_last_clear(terminal))


@pytest.mark.parametrize("command", ["validate", "replay"])
def test_problem_lines_never_glue_onto_the_bar(
    command: str, valid_log: Path, corrupted_log: CorruptedLog
) -> None:
    # The bar is drawn when the first file is read; the second file's problems follow.
    code, _, terminal = _on_terminal(
        command, valid_log, corrupted_log.path, stdout_too=command == "validate"
    )
    assert code == 1, terminal
    name = re.escape(str(corrupted_log.path).encode())
    starts = [m.start() for m in re.finditer(name + rb":[0-9]+: ", terminal)]
    assert len(starts) >= len(corrupted_log.planted)
    for start in starts:
        before = terminal[max(0, start - 3) : start]
        assert before.endswith((b"\n", CLEAR)), terminal[max(0, start - 200) : start + 80]
    # The first problem came while the bar was on screen: it was cleared first.
    assert terminal[starts[0] - 4 : starts[0]] == b"\r" + CLEAR
    assert b"reading [" in terminal[: starts[0]]


def test_generate_shows_progress_and_a_summary_on_a_terminal(tmp_path: Path) -> None:
    target = tmp_path / "log.jsonl"
    code, out, terminal = _on_terminal("generate", "--events", "6000", "-o", target)
    assert code == 0, terminal
    assert out == b""
    assert b"\rwriting [" in terminal, terminal
    tail = _after_last_clear(terminal).strip()
    assert re.fullmatch(
        r"wrote 6,000 lines \(6,000 events, 0 duplicates, 0 conflicting copies, 0 invalid\) "
        r"for 10 connectors "
        rf"to {re.escape(str(target))} in [0-9.,]+ s",
        tail,
    ), tail
    assert len(target.read_bytes().splitlines()) == 6000


def test_generate_prints_no_summary_off_a_terminal(tmp_path: Path) -> None:
    run = run_cli("generate", "--events", "10", "-o", tmp_path / "log.jsonl", env=AT_ONCE)
    assert run.code == 0, run.explain()
    assert run.stderr == b""
