"""``connector-sync replay``: the whole-log projection of JSONL logs."""

from __future__ import annotations

import sys

import click

from .._engine.native import no_gc
from .._engine.runner import replay_sources
from ..contract.lifecycle import DEFAULT_MAX_RECONNECT_CYCLES
from ..contract.limits import INT64_MAX
from ..contract.projection import canonical_dumps, has_anomalies
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
    write_out,
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
    type=click.IntRange(min=0, max=INT64_MAX),
    default=DEFAULT_MAX_RECONNECT_CYCLES,
    show_default=True,
    help="Reconnects without reaching healthy before a reconnect_loop anomaly.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["invalid", "anomalies", "never"]),
    default="invalid",
    show_default=True,
    help="Exit 1 when: invalid, a line is rejected; anomalies, a line is rejected or the "
    "projection records any anomaly; never, whatever the data (exit 0).",
)
@MAX_LINE_OPTION
@INPUT_FORMAT_OPTION
def replay(
    files: tuple[str, ...],
    fmt: str,
    connector: str | None,
    no_logs: bool,
    max_reconnect_cycles: int,
    fail_on: str,
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
    with no_gc():  # many short-lived, acyclic objects: collections only cost time
        if fmt == "json":
            data = result.to_dict(include_logs=not no_logs)
            if connector is not None:
                data = focus(data, connector)
            write_out(canonical_dumps(data))
        else:
            write_out(table(result.to_dict(include_logs=False), connector))
    click.echo(summary_text(summary), err=True)
    failed = {
        "invalid": summary.rejected > 0,
        "anomalies": summary.rejected > 0 or has_anomalies(result.data),
        "never": False,
    }[fail_on]
    sys.exit(EXIT_PROBLEMS if failed else EXIT_CLEAN)
