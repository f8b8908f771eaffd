"""``connector-sync replay``: the whole-log projection of JSONL logs."""

from __future__ import annotations

import difflib
import inspect
import sys
from typing import Any

import click
from click.core import ParameterSource

from .._engine.native import no_gc
from .._engine.runner import replay_sources
from ..contract.lifecycle import DEFAULT_MAX_RECONNECT_CYCLES
from ..contract.limits import INT64_MAX
from ..contract.projection import ReplayData, canonical_pieces, has_anomalies
from ..interop.formats import adapt_input, extra_problems
from ..io import LineProblem
from ..scale.inputs import check_unchanged, input_states
from . import partitioned
from .common import (
    ECHO_CHUNK,
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    INPUT_FORMAT_OPTION,
    MAX_LINE_OPTION,
    QUIET_OPTION,
    echo_lines,
    echo_text,
    examples,
    plural,
    printable,
    problem_text,
    reading,
    summary_text,
    warn,
    write_out,
)
from .render import (
    focus,
    locate,
    replay_located_lines,
    replay_located_text,
    table,
    terminal_width,
)

__all__ = ["replay"]


@click.command(
    short_help="Fold logs into per-connector states: a table, or canonical JSON.",
    epilog=examples(
        "connector-sync replay log.jsonl",
        "connector-sync replay --connector jira-00001 --format json log.jsonl.gz",
        "connector-sync replay --fail-on anomalies --quiet log.jsonl > /dev/null",
    ),
)
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: readable per-connector view with an anomaly report; json: the canonical "
    "projection (specification section 6), byte-identical for any order of the lines.",
)
@click.option(
    "--connector",
    "connectors",
    metavar="ID",
    multiple=True,
    help="Show only this connector (repeat for several); a warning names an ID no event has.",
)
@click.option(
    "--no-logs",
    is_flag=True,
    help="Leave out transition_log, outcome_log and deliveries of the JSON (for huge "
    "inputs); the table never needs them.",
)
@click.option(
    "--max-reconnect-cycles",
    type=click.IntRange(min=0, max=INT64_MAX),
    default=DEFAULT_MAX_RECONNECT_CYCLES,
    show_default=True,
    metavar="N",
    help="Reconnects without reaching healthy before a reconnect_loop anomaly.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["invalid", "anomalies", "never"]),
    default="invalid",
    show_default=True,
    help="Exit 1 when: invalid, a line is rejected; anomalies, a line is rejected or the "
    "projection of the whole log records any anomaly, whatever --connector shows (each "
    "anomaly is then printed at its line, with --quiet too); never, whatever the data (exit 0).",
)
@MAX_LINE_OPTION
@INPUT_FORMAT_OPTION
@QUIET_OPTION
@click.option(
    "--memory-limit",
    default="auto",
    show_default=True,
    metavar="SIZE",
    callback=partitioned.memory_limit,
    help=partitioned.MEMORY_LIMIT_HELP,
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Replay on a local Dask cluster of N worker processes (the [dask] extra). "
    "It pays off only with many cores: it adds a routing pass and a shuffle, so on "
    "a few cores the plain replay (or --memory-limit) is faster.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Replay on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
    "(the [dask] extra). Inputs may then be fsspec URLs (s3://..., gs://...) and globs.",
)
def replay(
    files: tuple[str, ...],
    fmt: str,
    connectors: tuple[str, ...],
    no_logs: bool,
    max_reconnect_cycles: int,
    fail_on: str,
    max_line_bytes: int,
    input_format: str = "envelope",
    quiet: bool = False,
    memory_limit: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> None:
    """Replay FILE... (JSONL; '-' is stdin; .gz accepted) into per-connector projections.

    Invalid lines are reported on stderr as file:line: field: code: message
    (what validate reports, counted as rejected) and appear in the projection
    as anomalies; none is dropped silently. An event type with no payload
    model here (another family, or a newer 2.x type) is reported so too
    (unknown_event_type) and counted as an ignored event of another family:
    with --fail-on invalid it fails the gate. A line that breaks only a
    semantic rule is reported so too, yet still applied, with its anomaly
    (semantic_violation; retry_budget_exceeded for a retry over budget). The
    table counts anomalies per kind, root causes first, with the first
    example of each. Logs larger than --memory-limit are replayed in
    partitions spilled to a temporary folder; --workers and --scheduler
    replay on a Dask cluster. The output is the same either way.
    """
    if workers is not None and scheduler is not None:
        raise click.UsageError("use --workers or --scheduler, not both")
    anomalies_shown = partitioned.anomalies_shown(quiet=quiet, fail_on=fail_on)
    limit_given = (
        click.get_current_context().get_parameter_source("memory_limit")
        is not ParameterSource.DEFAULT
    )
    request = partitioned.Request(
        files=files,
        fmt=fmt,
        connectors=connectors,
        no_logs=no_logs,
        fail_on=fail_on,
        quiet=quiet,
        settings=partitioned.FoldSettings(
            input_format=input_format,
            # The table shows no per-event log: building them would only cost time and memory.
            include_logs=fmt == "json" and not no_logs,
            max_reconnect_cycles=max_reconnect_cycles,
            max_line_bytes=max_line_bytes,
            locate=fmt == "table" or anomalies_shown,
        ),
        limit=memory_limit,
        limit_given=limit_given,
        workers=workers,
        scheduler=scheduler,
    )
    if workers is not None or scheduler is not None or partitioned.needs_expansion(files):
        partitioned.run(request)
    states = input_states(files)  # before any line is read
    with reading(files, max_line_bytes, quiet=quiet, then="folding") as (sources, progress):
        include_logs = fmt == "json" and not no_logs
        if partitioned.should_spill(sources, memory_limit, limit_given, include_logs=include_logs):
            progress.close()
            partitioned.run(request, sources=sources)

        # Without a progress bar to clear, problems are printed a chunk of lines per
        # write: a log can have a problem on every tenth line, and a write (with
        # its flush) per line cost more than deciding the lines.
        pending: list[str] = []

        def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
            text = problem_text(name, problem)
            if progress.enabled:
                with progress.printing():
                    click.echo(printable(text), err=True)
                return
            pending.append(text)
            if len(pending) >= ECHO_CHUNK:
                _print_pending(pending)

        sink = adapt_input(input_format, sources, on_problem)
        progress.follow(sources)
        hooks: dict[str, Any] = {}
        if progress.enabled and "on_phase" in inspect.signature(replay_sources).parameters:
            hooks["on_phase"] = progress.step  # an engine that reports its fold's progress
        try:
            result, summary = replay_sources(
                sources,
                # The table shows no per-event log: building them would only cost time and memory.
                include_logs=fmt == "json" and not no_logs,
                max_reconnect_cycles=max_reconnect_cycles,
                on_problem=sink,
                on_line=progress.advance if progress.enabled else None,
                # Where each anomaly comes from: for the table's examples and stderr.
                locate=fmt == "table" or anomalies_shown,
                # Only written as JSON, whole: the link index need not be objects.
                render_links=fmt == "json" and not connectors,
                **hooks,
            )
            summary.problems += extra_problems(sink)
            check_unchanged(states)
        finally:  # before an error's message too: every problem found so far is shown
            _print_pending(pending)
    with no_gc():  # many short-lived, acyclic objects: collections only cost time
        # Only the anomalies and their places are read from ``result`` from here on.
        data = result.spend_to_dict(include_logs=fmt == "json" and not no_logs)
        if connectors:
            _warn_unknown(connectors, data)
        if anomalies_shown:
            _report_located(result, files)
        if fmt == "json":
            if connectors:
                data = focus(data, connectors)
            for piece in canonical_pieces(data):
                write_out(piece)
        else:
            shown = connectors or None
            write_out(table(data, shown, width=terminal_width(), where=locate(result)))
    if not quiet:
        click.echo(summary_text(summary), err=True)
    # Looked for only when asked: a log of many connectors has a state to look at each.
    failed = fail_on != "never" and (
        summary.rejected > 0 or (fail_on == "anomalies" and has_anomalies(result.data))
    )
    sys.exit(EXIT_PROBLEMS if failed else EXIT_CLEAN)


def _print_pending(pending: list[str]) -> None:
    """Print the problem lines held back (``echo_lines``: printable, one line each), and
    forget them."""
    if pending:
        echo_lines(pending, err=True)
        pending.clear()


def _warn_unknown(connectors: tuple[str, ...], data: dict[str, Any]) -> None:
    """Warn about each ``--connector`` ID that no event names (a typo, most often).

    A connector named only by links counts: ``focus`` keeps its links."""
    links = data["external_links"]["links"]
    known = {*data["connectors"], *data["sync"], *(link["connector_id"] for link in links)}
    for cid in dict.fromkeys(connectors):
        if cid in known:
            continue
        close = difflib.get_close_matches(cid, sorted(known), n=3)
        if close:
            hint = f"; did you mean {' or '.join(close)}?"
        else:
            hint = f"; the log names {plural(len(known), 'connector')}"
        warn(f"no event names connector {cid!r}{hint}")


def _report_located(result: ReplayData, files: tuple[str, ...]) -> None:
    """Each anomaly the engine places on a line, as file:line on stderr.

    A rejected line was reported as a problem already, with its anomaly's
    cause, and so was a line that breaks a semantic rule: those anomalies
    (``render.RESTATED``) are left out. What is left are the findings of
    their own (``invalid_transition`` ...), also when their line was
    reported for something else, in file and line order, as a linter
    lists its findings.
    """
    chunks = replay_located_text(result, set(), files, ECHO_CHUNK)
    if chunks is None:  # without the core, or a line with a newline of its own
        echo_lines(replay_located_lines(result, set(), files), err=True)
        return
    for text in chunks:
        echo_text(text, err=True)
