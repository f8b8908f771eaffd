"""What every command shares: exit codes, errors, warnings, options, sources and wording."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Final, NoReturn

import click

from .._engine.runner import RunSummary
from ..contract.patterns import encodable
from ..contract.words import plural
from ..errors import InputError
from ..io import DEFAULT_MAX_LINE_BYTES, MAX_LINE_BYTES_LIMIT, LineProblem, Source
from ..scale.budget import parse_bytes
from .progress import Progress

__all__ = [
    "EXIT_CLEAN",
    "EXIT_INTERRUPTED",
    "EXIT_OUTPUT_CLOSED",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "INPUT_FORMAT_OPTION",
    "MAX_LINE_OPTION",
    "PREFIX",
    "QUIET_OPTION",
    "STDOUT",
    "Progress",
    "echo_lines",
    "echo_text",
    "encodable",
    "examples",
    "fail",
    "line_cut_short",
    "plural",
    "printable",
    "problem_text",
    "quiet_stdout",
    "to_devnull",
    "reading",
    "say",
    "summary_text",
    "warn",
    "write_failed",
    "write_out",
    "writes_to",
]

EXIT_CLEAN: Final = 0
"""Exit code: nothing wrong."""
EXIT_PROBLEMS: Final = 1
"""Exit code: data problems found."""
EXIT_USAGE: Final = 2
"""Exit code: usage or I/O error."""
EXIT_INTERRUPTED: Final = 130
"""Exit code: interrupted (Ctrl-C), as a shell reports a process stopped by SIGINT."""
EXIT_OUTPUT_CLOSED: Final = 141
"""Exit code: standard output was closed early (``... | head``), as for SIGPIPE."""


PREFIX: Final = "connector-sync"
"""What every error and warning line starts with: ``connector-sync: error: ...``."""


def fail(message: str) -> NoReturn:
    """Print a usage or I/O error and exit 2."""
    click.echo(f"{PREFIX}: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def warn(message: str) -> None:
    """Print ``connector-sync: warning: ...`` on standard error; the run goes on."""
    click.echo(f"{PREFIX}: warning: {message}", err=True)


def examples(*commands: str) -> str:
    """The ``Examples:`` epilog of a command's help, one command per line, kept unwrapped."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {command}" for command in commands)


def _sources(files: tuple[str, ...], max_line_bytes: int) -> list[Source]:
    from .files import check_inputs

    if not files:
        fail("no input files given (use - for standard input)")
    check_inputs(files)
    return [Source(name, max_line_bytes=max_line_bytes) for name in files]


@contextmanager
def reading(
    files: tuple[str, ...], max_line_bytes: int, *, quiet: bool = False, then: str | None = None
) -> Iterator[tuple[list[Source], Progress]]:
    """The sources of FILE... and a progress bar; an input that cannot be read exits 2.

    The bar is off with ``quiet``; ``then`` labels what follows the reading.
    """
    sources = _sources(files, max_line_bytes)
    progress = Progress(sources, then=then, enabled=False if quiet else None)
    try:
        yield sources, progress
    except InputError as exc:
        progress.close()
        fail(str(exc))
    finally:
        progress.close()
        for source in sources:
            source.close()


def quiet_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush stays silent."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # no descriptor (closed when the command started): nothing is left to flush
    to_devnull(fd)


def to_devnull(fd: int) -> None:
    """Point descriptor ``fd`` at /dev/null (opening it there when it was closed)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != fd:  # fd itself when it was closed
        os.dup2(devnull, fd)
        os.close(devnull)


STDOUT: Final = "standard output"
"""What ``writes_to`` calls standard output."""


@contextmanager
def writes_to(what: str) -> Iterator[None]:
    """Exit 2 with ``cannot write WHAT: reason`` when a write in the block fails.

    A full disk or a failing device under a redirected output is the
    command's I/O error, not a traceback. A closed pipe is not such a
    failure: ``BrokenPipeError`` goes on to end the command quietly (exit
    141). For ``STDOUT``, what is still buffered for it is dropped, so that
    the last flush does not report the error again.
    """
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        write_failed(what, exc)


def write_failed(what: str, exc: OSError) -> NoReturn:
    """``writes_to``'s end, for a hot loop that catches the ``OSError`` itself
    (not a ``BrokenPipeError``) rather than enter a context per write."""
    from ..io import os_error_reason

    if what == STDOUT:
        quiet_stdout()
    fail(f"cannot write {what}: {os_error_reason(exc)}")


def say(text: str = "") -> None:
    """``click.echo(text)`` to standard output, a failed write being exit 2 (``writes_to``)."""
    with writes_to(STDOUT):
        click.echo(text)


def write_out(data: bytes | memoryview | str) -> None:
    """Write all of ``data`` to standard output (text as UTF-8).

    Under ``python -u`` standard output is a raw file whose ``write`` may
    take only part of a big block when the reader goes away; this keeps
    writing, so a closed pipe always ends in ``BrokenPipeError`` (exit
    141), never in an output cut short with exit 0. A write that fails
    otherwise is exit 2 (``writes_to``).
    """
    out = sys.stdout.buffer
    view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
    with writes_to(STDOUT):
        while view:
            written = out.write(view)
            view = view[len(view) if written is None else written :]


ECHO_CHUNK: Final = 4096
"""Lines ``echo_lines`` prints per write."""


def echo_lines(lines: Iterable[str], *, err: bool = False) -> None:
    """Print each of ``lines`` (made ``printable``, each one line), a chunk of lines per write.

    One ``click.echo`` a line costs a flush and click's terminal checks every
    time: the anomaly lines of a log where a quarter of the lines have one
    took longer to print than the replay took to compute them.
    """
    items = iter(lines)
    while batch := list(islice(items, ECHO_CHUNK)):
        joined = "\n".join(batch)
        if joined.count("\n") != len(batch) - 1:
            # One item, one line: a newline inside an item (from a log) is escaped.
            joined = "\n".join(printable(text) if "\n" in text else text for text in batch)
        echo_text(joined, err=err)


class _Writing:
    """Whether a write of lines to standard error is under way (not returned yet)."""

    writing = False


_STDERR: Final = _Writing()


def line_cut_short() -> str:
    """``"\\n"`` when a write of lines to standard error was cut short (a signal
    raised in the middle of it), else ``""``: written before the one line that
    says the command was interrupted, so that line is never glued to a
    problem's half (an outside run saw it after a cluster's replay)."""
    cut, _STDERR.writing = _STDERR.writing, False
    return "\n" if cut else ""


def echo_text(text: str, *, err: bool = False) -> None:
    """Print ``text``: lines joined by newlines, none of which holds a newline of its own.

    Made ``printable`` with its newlines kept, so each of its lines is
    printed as one line; ``echo_lines`` prints through it.
    """
    if err:  # where a failure would be reported: nowhere left to say it
        _STDERR.writing = True
        click.echo(printable(text, lines=True), err=True)
        _STDERR.writing = False
        return
    with writes_to(STDOUT):
        click.echo(printable(text, lines=True))


_CONTROLS: Final = "\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069"
"""C0 and C1 controls but the newline, DEL, line separators, bidirectional marks,
overrides and isolates: what text from a log must not bring to a terminal."""
_UNPRINTABLE: Final = re.compile(f"[{_CONTROLS}\n]")
_UNPRINTABLE_LINES: Final = re.compile(f"[{_CONTROLS}]")
_ASCII: Final = bytes([*range(0x20), 0x7F])
"""The ASCII characters among them (with the newline)."""
_ASCII_LINES: Final = _ASCII.replace(b"\n", b"")
_SUSPECT: Final = _ASCII + b"\xc2\xe2\xed"
"""Those and the UTF-8 lead bytes of U+0080-U+00BF (C1 controls), U+2000-U+2FFF
(marks, separators, overrides, isolates) and U+D000-U+DFFF (surrogates)."""
_SUSPECT_LINES: Final = _SUSPECT.replace(b"\n", b"")


def _escape(found: re.Match[str]) -> str:
    return found.group().encode("unicode_escape").decode("ascii")


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` as escapes where it cannot be printed as it is, so it can always be printed.

    Text from a log is untrusted: each control or direction-changing
    character (``\\x1b``, ``\\u202e``, and the newline unless ``lines``:
    text that is lines joined by newlines) is written as its escape, so a
    line can neither drive the terminal nor pass for another line; lone
    surrogates are escaped as ``encodable`` escapes them.
    """
    # The usual case, told at the speed of bytes: no byte that can begin one.
    if text.isascii():
        raw, suspect = text.encode("ascii"), _ASCII_LINES if lines else _ASCII
    else:
        raw, suspect = text.encode("utf-8", "surrogatepass"), _SUSPECT_LINES if lines else _SUSPECT
    if len(raw.translate(None, suspect)) == len(raw):
        return text
    pattern = _UNPRINTABLE_LINES if lines else _UNPRINTABLE
    if pattern.search(text) is not None:
        text = pattern.sub(_escape, text)
    return encodable(text)


def problem_text(name: str, problem: LineProblem) -> str:
    """``file:line: field: code: message``."""
    return f"{name}:{problem.line}: {problem.field}: {problem.code}: {problem.message}"


def summary_text(summary: RunSummary) -> str:
    """The line accounting printed at the end of a run: ``1 line read: 1 accepted, ...``."""
    return (
        f"{plural(summary.lines_read, 'line')} read: {summary.accepted:,} accepted, "
        f"{summary.rejected:,} rejected ({plural(summary.problems, 'problem')})"
    )


def _line_bytes(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Click callback: a line length in bytes, written as a number or as
    ``--memory-limit`` writes sizes (``64kB``, ``1MiB``), from 1 byte to 1 GiB."""
    try:
        if not any(char.isdigit() for char in value):  # '' (an unset variable), 'KiB'
            raise ValueError("no number")
        size = parse_bytes(value)
    except (ValueError, OverflowError):  # OverflowError: 1e400 bytes
        raise click.BadParameter(
            f"{value!r} is not a size in bytes (65536, 64KiB, 1MiB)", ctx=ctx, param=param
        ) from None
    if not 1 <= size <= MAX_LINE_BYTES_LIMIT:
        raise click.BadParameter(
            f"{value!r} is not between 1 byte and {MAX_LINE_BYTES_LIMIT:,} (1GiB)",
            ctx=ctx,
            param=param,
        )
    return size


MAX_LINE_OPTION = click.option(
    "--max-line-bytes",
    default=str(DEFAULT_MAX_LINE_BYTES),
    callback=_line_bytes,
    show_default=True,
    metavar="BYTES",
    help="Longest accepted line, in bytes (1048576, 64KiB, 1MiB; at most 1GiB); a longer "
    "line is reported (line_too_long) and never held in memory whole.",
)

QUIET_OPTION = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only the problems (and the output asked for): no summary, progress or hints.",
)

INPUT_FORMAT_OPTION = click.option(
    "--input-format",
    type=click.Choice(["envelope", "cloudevents"]),
    default="envelope",
    show_default=True,
    help="envelope: contract envelopes, one per line; cloudevents: structured-mode "
    "CloudEvents JSON, one per line (see docs/interop.md).",
)
