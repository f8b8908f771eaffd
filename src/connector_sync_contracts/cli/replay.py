"""``connector-sync replay``: the whole-log projection of JSONL logs."""

from __future__ import annotations

import sys

import click

from .._engine.native import no_gc
from .._engine.runner import replay_sources
from ..contract.projection import canonical_dumps
from ..interop.formats import adapt_input, extra_problems
from ..io import LineProblem
from .common import (
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    INPUT_FORMAT_OPTION,
    MAX_LINE_OPTION,
    problem_text,
    reading,
    summary_text,
)
from .render import focus, table

__all__ = ["replay"]


@click.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: readable per-connector view; json: the canonical projection (spec section 6).",
)
@click.option("--connector", metavar="ID", help="Show only this connector.")
@click.option(
    "--no-logs",
    is_flag=True,
    help="Leave out transition_log, outcome_log and deliveries (for huge inputs).",
)
@click.option(
    "--max-reconnect-cycles",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Reconnects without reaching healthy before a reconnect_loop anomaly.",
)
@MAX_LINE_OPTION
@INPUT_FORMAT_OPTION
def replay(
    files: tuple[str, ...],
    fmt: str,
    connector: str | None,
    no_logs: bool,
    max_reconnect_cycles: int,
    max_line_bytes: int,
    input_format: str = "envelope",
) -> None:
    """Replay FILE... (JSONL; '-' is stdin; .gz accepted) into per-connector projections.

    Invalid lines are reported on stderr as file:line: field: code: message
    and appear in the projection as anomalies; none is dropped silently.
    """

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        click.echo(problem_text(name, problem), err=True)

    with reading(files, max_line_bytes) as (sources, progress):
        sink = adapt_input(input_format, sources, on_problem)
        result, summary = replay_sources(
            sources,
            include_logs=not no_logs,
            max_reconnect_cycles=max_reconnect_cycles,
            on_problem=sink,
            on_line=progress.advance if progress.enabled else None,
        )
        summary.problems += extra_problems(sink)
    out = sys.stdout.buffer
    with no_gc():  # many short-lived, acyclic objects: collections only cost time
        if fmt == "json":
            data = result.to_dict(include_logs=not no_logs)
            if connector is not None:
                data = focus(data, connector)
            out.write(canonical_dumps(data))
        else:
            out.write(table(result.to_dict(include_logs=False), connector).encode())
    click.echo(summary_text(summary), err=True)
    sys.exit(EXIT_PROBLEMS if summary.rejected else EXIT_CLEAN)
