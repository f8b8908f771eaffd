"""What every command shares: exit codes, errors, options, sources and the progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NoReturn

import click

from .._engine.runner import RunSummary
from ..errors import InputError
from ..io import DEFAULT_MAX_LINE_BYTES, MAX_LINE_BYTES_LIMIT, LineProblem, Source

__all__ = [
    "EXIT_CLEAN",
    "EXIT_INTERRUPTED",
    "EXIT_OUTPUT_CLOSED",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "INPUT_FORMAT_OPTION",
    "MAX_LINE_OPTION",
    "Progress",
    "fail",
    "printable",
    "problem_text",
    "reading",
    "summary_text",
    "write_out",
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


def fail(message: str) -> NoReturn:
    """Print a usage or I/O error and exit 2."""
    click.echo(f"connector-sync: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


class Progress:
    """A progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total_bytes: int | None) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = total_bytes
        self.done = 0
        self.lines = 0
        self.started = time.monotonic()
        self.next_draw = self.started + 0.5

    def advance(self, nbytes: int, lines: int) -> None:
        """Count bytes and lines read; redraw at most five times a second."""
        self.done += nbytes
        self.lines += lines
        # Line by line, look at the clock every 1,024 lines; a block of lines at a time, always.
        if self.enabled and (lines > 1 or self.lines & 0x3FF == 0):
            now = time.monotonic()
            if now >= self.next_draw:
                self.next_draw = now + 0.2
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.lines / max(now - self.started, 1e-9)
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}"
        else:
            bar = "[working]"
        sys.stderr.write(f"\r{bar} {self.lines:,} lines, {rate:,.0f} lines/s")
        sys.stderr.flush()

    def close(self) -> None:
        """Clear the bar (when one was drawn)."""
        if self.enabled and self.lines >= 0x400:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _sources(files: tuple[str, ...], max_line_bytes: int) -> list[Source]:
    from .files import check_inputs

    if not files:
        fail("no input files given (use - for standard input)")
    check_inputs(files)
    return [Source(name, max_line_bytes=max_line_bytes) for name in files]


def _known_size(sources: list[Source]) -> int | None:
    if any(source.streamed() or source.name.endswith(".gz") for source in sources):
        return None
    return sum(Path(source.name).stat().st_size for source in sources)


@contextmanager
def reading(files: tuple[str, ...], max_line_bytes: int) -> Iterator[tuple[list[Source], Progress]]:
    """The sources of FILE... and a progress bar; an input that cannot be read exits 2."""
    sources = _sources(files, max_line_bytes)
    progress = Progress(_known_size(sources))
    try:
        yield sources, progress
    except InputError as exc:
        fail(str(exc))
    finally:
        progress.close()
        for source in sources:
            source.close()


def write_out(data: bytes | str) -> None:
    """Write all of ``data`` to standard output (text as UTF-8).

    Under ``python -u`` standard output is a raw file whose ``write`` may
    take only part of a big block when the reader goes away; this keeps
    writing, so a closed pipe always ends in ``BrokenPipeError`` (exit
    141), never in an output cut short with exit 0.
    """
    out = sys.stdout.buffer
    view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
    while view:
        written = out.write(view)
        view = view[len(view) if written is None else written :]


def printable(text: str) -> str:
    """``text`` with lone surrogates escaped, so it can always be printed."""
    # A key may hold a lone surrogate ("\ud800" is valid JSON text), and so may
    # a problem's field path: print it escaped instead of failing to encode it.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def problem_text(name: str, problem: LineProblem) -> str:
    """``file:line: field: code: message``."""
    return f"{name}:{problem.line}: {problem.field}: {problem.code}: {problem.message}"


def summary_text(summary: RunSummary) -> str:
    """The line accounting printed at the end of a run."""
    return (
        f"{summary.lines_read} lines read: {summary.accepted} accepted, "
        f"{summary.rejected} rejected ({summary.problems} problems)"
    )


MAX_LINE_OPTION = click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1, max=MAX_LINE_BYTES_LIMIT),
    default=DEFAULT_MAX_LINE_BYTES,
    show_default=True,
    help="Longest accepted line; longer lines are reported, not read.",
)

INPUT_FORMAT_OPTION = click.option(
    "--input-format",
    type=click.Choice(["envelope", "cloudevents"]),
    default="envelope",
    show_default=True,
    help="envelope: contract envelopes; cloudevents: structured-mode CloudEvents JSON, "
    "one per line (see docs/interop.md).",
)
