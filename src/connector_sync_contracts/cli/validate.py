"""``connector-sync validate``: check every line of JSONL logs."""

from __future__ import annotations

import contextlib
import sys
from typing import IO

import click
import orjson

from .._engine.runner import RunSummary, validate_sources
from ..interop.formats import adapt_input, extra_problems
from ..io import LineProblem
from .common import (
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    INPUT_FORMAT_OPTION,
    MAX_LINE_OPTION,
    printable,
    problem_text,
    reading,
    summary_text,
)
from .files import writing

__all__ = ["validate"]


@click.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--strict", is_flag=True, help="Also report unknown fields and project_uuid mismatches."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one problem per line; json: one document with problems and summary.",
)
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False),
    help="Write every rejected line, unchanged, to this file (never one of the inputs; "
    "written to a temporary file renamed at the end).",
)
@MAX_LINE_OPTION
@INPUT_FORMAT_OPTION
def validate(
    files: tuple[str, ...],
    strict: bool,
    fmt: str,
    quarantine: str | None,
    max_line_bytes: int,
    input_format: str = "envelope",
) -> None:
    """Check every line of FILE... (JSONL; '-' is stdin; .gz accepted).

    Each problem is printed as file:line: field: code: message. The summary
    always satisfies accepted + rejected = lines read.
    """
    with contextlib.ExitStack() as stack:
        quarantined = (
            None
            if quarantine is None
            else stack.enter_context(writing(quarantine, inputs=files, what="quarantine file"))
        )
        summary = _validate(files, strict, fmt, quarantined, max_line_bytes, input_format)
    sys.exit(EXIT_PROBLEMS if summary.rejected else EXIT_CLEAN)


def _validate(
    files: tuple[str, ...],
    strict: bool,
    fmt: str,
    quarantined: IO[bytes] | None,
    max_line_bytes: int,
    input_format: str,
) -> RunSummary:
    out = sys.stdout
    last: list[tuple[str, int]] = []
    first = [True]

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        if quarantined is not None and last[-1:] != [(name, problem.line)]:
            # A line over the limit was already spilled there while it was skipped.
            quarantined.write(b"\n" if raw is None else raw + b"\n")
        last[:] = [(name, problem.line)]
        if fmt == "text":
            out.write(printable(problem_text(name, problem)) + "\n")
        else:
            item = {
                "code": problem.code,
                "field": printable(problem.field),
                "file": printable(name),
                "line": problem.line,
                "message": printable(problem.message),
            }
            out.write(("" if first[0] else ",\n") + orjson.dumps(item).decode())
            first[0] = False

    if fmt == "json":
        out.write('{"problems": [\n')
    with reading(files, max_line_bytes) as (sources, progress):
        sink = adapt_input(input_format, sources, on_problem)
        for source in sources:
            source.spill = None if quarantined is None else quarantined.write
        summary = validate_sources(
            sources,
            strict=strict,
            on_problem=sink,
            on_line=progress.advance if progress.enabled else None,
        )
        summary.problems += extra_problems(sink)
    if fmt == "json":
        out.write(
            '\n],\n"summary": '
            + orjson.dumps(summary.to_dict(), option=orjson.OPT_SORT_KEYS).decode()
            + "}\n"
        )
    else:
        click.echo(summary_text(summary), err=True)
    return summary
