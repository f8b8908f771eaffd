"""The progress bar: drawn on stderr when it is a terminal, absent otherwise.

The bar is drawn every 1,024 lines once half a second has passed since the
run started. To get there with a small log, the log comes on standard input
in two parts: the run starts, reads the first part, and the second part
arrives 0.7 s later, so processing starts after the half second without a
large input. Both tests use exactly this timing; only the kind of stderr
differs, so the test without a terminal would see a bar if one were drawn.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import termios
import threading
import time
from typing import IO, Final

import pytest

from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from tests.support.cli import PROGRAM, parse_summary, run_env

LINES: Final = 2100
"""More than twice the 1,024-line drawing interval."""
PAUSE: Final = 0.7
"""Seconds between the two parts of the input (the bar waits 0.5 s)."""
BAR_MARKS: Final = (b"\r", b"lines/s", b"[working]", b"\x1b[", b"#")


@pytest.fixture(scope="module")
def slow_input() -> tuple[bytes, bytes]:
    """A valid log of ``LINES`` lines, split into a small head and the rest."""
    data = b"".join(
        line + b"\n" for line in generate_lines(GeneratorOptions(events=LINES, connectors=5))
    )
    assert data.count(b"\n") == LINES
    cut = data.index(b"\n", 2000) + 1
    return data[:cut], data[cut:]


def _pending_bytes(pipe: IO[bytes]) -> int:
    """Bytes written to a pipe and not read yet (Linux FIONREAD on the pipe)."""
    buffer = bytearray(4)
    fcntl.ioctl(pipe.fileno(), termios.FIONREAD, buffer)
    return int.from_bytes(buffer, sys.byteorder)


def _feed_in_two_parts(process: subprocess.Popen[bytes], parts: tuple[bytes, bytes]) -> None:
    stdin = process.stdin
    assert stdin is not None
    head, rest = parts
    stdin.write(head)
    stdin.flush()
    deadline = time.monotonic() + 60
    # Once the head is read, the run (and its clock) has started.
    while _pending_bytes(stdin) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(PAUSE)
    stdin.write(rest)
    stdin.close()


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            return
        if not chunk:
            return
        into.extend(chunk)


def _spawn(stderr: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*PROGRAM, "validate", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=run_env(),
    )


def test_no_progress_bar_when_stderr_is_not_a_terminal(slow_input: tuple[bytes, bytes]) -> None:
    process = _spawn(subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    err = bytearray()
    reader = threading.Thread(target=_drain, args=(process.stderr.fileno(), err))
    reader.start()
    _feed_in_two_parts(process, slow_input)
    out = process.stdout.read()
    code = process.wait(timeout=120)
    reader.join(timeout=60)
    process.stdout.close()
    process.stderr.close()
    assert code == 0, (out, bytes(err))
    assert out == b""
    for mark in BAR_MARKS:
        assert mark not in err, bytes(err)
    # Nothing but the summary.
    assert bytes(err) == f"{LINES} lines read: {LINES} accepted, 0 rejected (0 problems)\n".encode()


def test_progress_bar_when_stderr_is_a_terminal(slow_input: tuple[bytes, bytes]) -> None:
    pty = pytest.importorskip("pty", reason="needs a pseudo-terminal (POSIX pty module)")
    leader, follower = pty.openpty()
    try:
        process = _spawn(follower)
    finally:
        os.close(follower)
    err = bytearray()
    reader = threading.Thread(target=_drain, args=(leader, err))
    reader.start()
    try:
        assert process.stdout is not None
        _feed_in_two_parts(process, slow_input)
        out = process.stdout.read()
        code = process.wait(timeout=120)
        reader.join(timeout=60)
        process.stdout.close()
    finally:
        os.close(leader)
    text = bytes(err)
    assert code == 0, (out, text)
    assert out == b"", "the bar belongs on stderr only"
    assert b"[working]" in text, text
    assert b"lines/s" in text
    assert b"\r[working]" in text, "the bar redraws in place"
    assert b"\x1b[K" in text, "the bar is erased at the end"
    summary = parse_summary(text.replace(b"\r\n", b"\n").decode().rsplit("\x1b[K", 1)[-1])
    assert summary.lines_read == summary.accepted == LINES
