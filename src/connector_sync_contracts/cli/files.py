"""Inputs read whatever they are, outputs written so that no input is ever lost.

Every readable input is read: a file, ``-`` for standard input, a FIFO, a
process substitution ``<(...)`` or ``/dev/stdin``. An input that cannot be
read gets a plain sentence (no such file, is a directory, permission
denied), with exit code 2, before anything is read or written.

An output (``validate --quarantine``, ``generate -o``) is refused with exit
code 2 when it is one of the inputs, however it is spelled (``X``, ``./X``,
a symlink or a hard link to it), before anything is opened for writing; a
quarantine is also refused when it is ``-`` or where standard output or
error goes (``/dev/stdout`` over a redirected output). A regular output
file is written to a temporary file beside it and renamed over it only
when the command finished (``StagedFile``), so an interrupted run never
leaves a shorter file that looks like a valid log; a device or FIFO is
written in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .._staged import StagedFile
from ..io import os_error_reason
from .common import fail, writes_to

__all__ = ["Output", "check_inputs", "writing"]


def check_inputs(files: Iterable[str]) -> None:
    """Exit 2 with a plain sentence when an input cannot be read; ``-`` is standard input."""
    files = list(files)
    if files.count("-") > 1:  # read to its end the first time: nothing would be left
        fail("cannot read - twice: standard input can be read only once")
    pipes: dict[tuple[int, int], int] = {}
    for at, name in enumerate(files):
        try:
            info = os.fstat(0) if name == "-" else os.stat(name)
        except OSError as exc:
            if name == "-":  # closed when the command started
                fail("cannot read -: standard input is closed")
            fail(f"cannot read {name}: {os_error_reason(exc)}")
        mode = info.st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # -, /dev/stdin, /dev/fd/0 ...
            pipe = (info.st_dev, info.st_ino)
            if pipe in pipes:
                first = files[pipes[pipe]]
                same = "twice" if first == name else f"and {first}: one pipe"
                fail(f"cannot read {name} {same}; a pipe can be read only once")
            pipes[pipe] = at
        if name == "-":
            continue
        if stat.S_ISDIR(mode):
            fail(f"cannot read {name}: is a directory")
        if not os.access(name, os.R_OK):
            fail(f"cannot read {name}: permission denied")


def _identity(name: str) -> tuple[int, int] | None:
    try:
        info = os.fstat(0) if name == "-" else os.stat(name)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _refuse_streams(path: str, what: str) -> None:
    """Exit 2 when ``path`` is ``-`` or names the file or pipe that standard output or
    standard error writes to (a device such as ``/dev/null`` or a terminal is shared)."""
    if path == "-":
        fail(f"{what} '-' would be standard output, where the problems are printed; give a file")
    try:
        mine = os.stat(path)
    except OSError:
        return  # does not exist yet (or cannot be written: writing says so)
    if stat.S_ISCHR(mine.st_mode):
        return  # /dev/null, a terminal: nothing there is read back as a file
    for fd, name in ((1, "standard output"), (2, "standard error")):
        try:
            stream = os.fstat(fd)
        except OSError:
            continue
        if (stream.st_dev, stream.st_ino) == (mine.st_dev, mine.st_ino):
            fail(f"{what} {path} is {name}, where the command prints; give a file of its own")


def _refuse_inputs(target: Path, inputs: Iterable[str], what: str) -> None:
    """Exit 2 when ``target`` is one of ``inputs`` (same device and inode, or same path)."""
    mine = _identity(str(target))
    if mine is None:
        return  # does not exist yet, so it is no input
    for name in inputs:
        if _identity(name) == mine:
            fail(f"{what} {target} is the input {name}; refusing to overwrite an input")


class Output:
    """An output file whose failed write (a full disk, a failing device) is exit 2 naming it."""

    def __init__(self, handle: IO[bytes], what: str) -> None:
        self._handle = handle
        self._what = what

    def write(self, data: bytes) -> int:
        """Write ``data``; see ``common.writes_to``."""
        with writes_to(self._what):
            return self._handle.write(data)


@contextlib.contextmanager
def writing(
    path: str, *, inputs: Iterable[str] = (), what: str = "output", own_file: bool = False
) -> Iterator[Output]:
    """Open ``path`` for writing without ever losing an input or leaving a partial file.

    Refuses (exit 2) an output that is one of ``inputs``, and with
    ``own_file`` one that is ``-`` or the file standard output or standard
    error writes to (``/dev/stdout`` ...), where the command also prints. A regular file is
    written to a temporary file in the same folder and renamed over ``path``
    when the block ends normally; on any error or interruption the temporary
    file is removed and ``path`` is left as it was. A device or FIFO is
    written in place.
    """
    if own_file:
        _refuse_streams(path, what)
    if not path:
        fail(f"cannot write {what}: the path is empty")
    given = Path(path)
    _refuse_inputs(given, inputs, what)
    label = f"{what} {path}"
    try:
        try:
            # What the path names, through links: /dev/stdout names the pipe or
            # terminal the process writes to (resolved, /proc's link would not).
            info: os.stat_result | None = os.stat(given)
        except FileNotFoundError:
            info = None
        target = given.resolve()
    except OSError as exc:
        fail(f"cannot write {label}: {os_error_reason(exc)}")
    if info is not None and stat.S_ISDIR(info.st_mode):
        fail(f"cannot write {label}: is a directory")
    if info is None and not target.parent.is_dir():
        if given.is_symlink():  # a dangling link: its folder is not where it points
            missing = f"it links to {target}, and there is no folder {target.parent}"
            fail(f"cannot write {label}: {missing}")
        fail(f"cannot write {label}: no folder {given.parent}")
    if info is not None and stat.S_ISREG(info.st_mode) and not info.st_mode & 0o222:
        # Replaced by a rename, which the file's own mode does not stop: asked here.
        fail(f"cannot write {label}: it is read-only; make it writable to replace it")
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            handle = given.open("wb")
        except OSError as exc:
            fail(f"cannot write {label}: {os_error_reason(exc)}")
        try:
            yield Output(handle, label)
            with writes_to(label):
                handle.flush()
        finally:
            with contextlib.suppress(OSError):
                handle.close()
        return
    try:
        staged = StagedFile(target)
    except OSError as exc:
        fail(f"cannot write {label}: {os_error_reason(exc)}")
    with staged:
        yield Output(staged.handle, label)
        with writes_to(label):
            staged.commit()
