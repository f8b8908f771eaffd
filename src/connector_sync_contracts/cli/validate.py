"""``connector-sync validate``: check every line of JSONL logs."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter

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
    QUIET_OPTION,
    STDOUT,
    encodable,
    examples,
    printable,
    problem_text,
    reading,
    summary_text,
    write_failed,
    writes_to,
)
from .files import Output, writing

__all__ = ["validate"]


@click.command(
    short_help="Check every line of JSONL logs; report each problem with its line.",
    epilog=examples(
        "connector-sync validate log.jsonl",
        "connector-sync validate --statistics --quarantine rejected.jsonl log.jsonl.gz",
        "connector-sync generate --invalid 3 | connector-sync validate --format github -",
    ),
)
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--strict", is_flag=True, help="Also report unknown fields and project_uuid mismatches."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: one problem per line; json: one document with problems and summary; "
    "github: GitHub Actions workflow annotations (::error file=F,line=N,title=CODE::...).",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Count problems per code instead of listing each (with --format json: a "
    "statistics object beside the problems).",
)
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write every rejected line, unchanged, to this file (never one of the inputs; "
    "written to a temporary file renamed at the end). Each line ends with LF, whatever "
    "ending it had. A line over --max-line-bytes is copied too, in bounded chunks.",
)
@MAX_LINE_OPTION
@INPUT_FORMAT_OPTION
@QUIET_OPTION
def validate(
    files: tuple[str, ...],
    strict: bool,
    fmt: str,
    statistics: bool,
    quarantine: str | None,
    max_line_bytes: int,
    input_format: str = "envelope",
    quiet: bool = False,
) -> None:
    """Check every line of FILE... (JSONL; '-' is stdin; .gz accepted).

    Each problem is printed as file:line: field: code: message. The summary
    on stderr always satisfies accepted + rejected = lines read. Exit 1 when
    any line is rejected.
    """
    if statistics and fmt == "github":
        raise click.UsageError("--statistics and --format github cannot be combined; choose one")
    with contextlib.ExitStack() as stack:
        quarantined = (
            None
            if quarantine is None
            else stack.enter_context(
                writing(quarantine, inputs=files, what="quarantine file", own_file=True)
            )
        )
        report = _Report(fmt, statistics)
        summary = _validate(files, strict, report, quarantined, max_line_bytes, input_format, quiet)
    sys.exit(EXIT_PROBLEMS if summary.rejected else EXIT_CLEAN)


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (``%``, line breaks; ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


class _Out:
    """Standard output, a failed write (not a closed pipe) being exit 2 (``writes_to``)."""

    def write(self, text: str) -> None:
        """Write ``text``."""
        try:  # once a problem: no context entered per write
            sys.stdout.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            write_failed(STDOUT, exc)

    def flush(self) -> None:
        """Flush what was written."""
        with writes_to(STDOUT):
            sys.stdout.flush()


class _Report:
    """Writes problems to standard output in the chosen format, and counts them per code."""

    def __init__(self, fmt: str, statistics: bool) -> None:
        self.fmt = fmt
        self.statistics = statistics
        self.counts: Counter[str] = Counter()
        self.out = _Out()
        self._first = True

    def start(self) -> None:
        """What comes before the first problem."""
        if self.fmt == "json":
            self.out.write('{"problems": [\n')

    def problem(self, name: str, problem: LineProblem) -> str | None:
        """Count one problem; return its text to print, if it is printed one by one."""
        self.counts[problem.code] += 1
        if self.statistics and self.fmt == "text":
            return None
        if self.fmt == "text":
            return printable(problem_text(name, problem)) + "\n"
        if self.fmt == "github":
            return (
                f"::error file={printable(_escape(name, property_value=True))},"
                f"line={problem.line},title={_escape(problem.code, property_value=True)}::"
                f"{printable(_escape(f'{problem.field}: {problem.code}: {problem.message}'))}\n"
            )
        item = {
            "code": problem.code,
            "field": encodable(problem.field),
            "file": encodable(name),
            "line": problem.line,
            "message": encodable(problem.message),
        }
        text = ("" if self._first else ",\n") + orjson.dumps(item).decode()
        self._first = False
        return text

    def finish(self, summary: RunSummary) -> None:
        """What comes after the last problem: the JSON document's end, or the statistics."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        if self.fmt == "json":
            end = {"summary": summary.to_dict()}
            if self.statistics:
                end["statistics"] = dict(ranked)
            tail = orjson.dumps(end, option=orjson.OPT_SORT_KEYS).decode()
            self.out.write("\n],\n" + tail[1:] + "\n")
        elif self.statistics:
            width = max((len(f"{count:,}") for _, count in ranked), default=1)
            for code, count in ranked:
                self.out.write(f"{count:>{width},}  {code}\n")


def _validate(
    files: tuple[str, ...],
    strict: bool,
    report: _Report,
    quarantined: Output | None,
    max_line_bytes: int,
    input_format: str,
    quiet: bool,
) -> RunSummary:
    last: list[tuple[str, int]] = []
    with reading(files, max_line_bytes, quiet=quiet) as (sources, progress):
        # Once every input was found readable: an input that is not prints nothing.
        report.start()
        # Problems go to standard output: clear the bar first when both share a terminal.
        shared = progress.enabled and sys.stdout.isatty()

        def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
            if quarantined is not None and last[-1:] != [(name, problem.line)]:
                # A line over the limit was already spilled there while it was skipped.
                quarantined.write(b"\n" if raw is None else raw + b"\n")
            last[:] = [(name, problem.line)]
            text = report.problem(name, problem)
            if text is None:
                return
            if shared:
                with progress.printing():
                    report.out.write(text)
                    report.out.flush()
            else:
                report.out.write(text)

        sink = adapt_input(input_format, sources, on_problem)
        progress.follow(sources)
        for source in sources:
            source.spill = None if quarantined is None else quarantined.write
        summary = validate_sources(
            sources,
            strict=strict,
            on_problem=sink,
            on_line=progress.advance if progress.enabled else None,
        )
        summary.problems += extra_problems(sink)
    report.finish(summary)
    if not quiet and report.fmt != "json":
        click.echo(summary_text(summary), err=True)
    return summary
