"""``connector-sync replay`` in partitions: spilled on this machine, or on a Dask cluster.

``replay`` calls ``run`` when the input is larger than ``--memory-limit``
(or its size is unknown and a limit was given), when ``--workers`` or
``--scheduler`` asks for a cluster, or when an input is a URL or glob
pattern. What it prints is what the in-memory replay prints: the problems
(in input order, with their true file and line), the canonical JSON or the
table, the summary line, and the same exit code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from ..contract.projection import canonical_dumps
from ..errors import ClusterUnavailableError, InputError, SpillError
from ..io import Source
from ..scale._engine_calls import RunSummary
from ..scale.budget import Budget, fits_in_memory, parse_memory_limit
from ..scale.fold import FoldSettings
from ..scale.inputs import expand_inputs, input_states, is_url, piece_source, plan_pieces
from ..scale.plan import Piece
from ..scale.spill import estimated_bytes
from .common import (
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    echo_lines,
    fail,
    problem_text,
    summary_text,
    warn,
    write_out,
)
from .progress import Progress
from .render import LocationTable, focus, listed, table, terminal_width

if TYPE_CHECKING:
    from distributed import Client

    from ..scale.outcome import Outcome

__all__ = [
    "MEMORY_LIMIT_HELP",
    "FoldSettings",
    "Request",
    "anomalies_shown",
    "memory_limit",
    "needs_expansion",
    "run",
    "should_spill",
]

MEMORY_LIMIT_HELP = (
    "Memory for the replay on this machine (or per worker with --workers), as Dask's "
    "memory_limit is written: 512MiB, 2GB, 0.25 (of this machine's memory), auto (half of "
    "it), 0 (no limit). A larger input is folded in partitions spilled to a temporary folder."
)
"""Help text of ``--memory-limit``."""


def memory_limit(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """Click callback: the budget in bytes (None: no limit), or a usage error."""
    try:
        return parse_memory_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@dataclass(frozen=True)
class Request:
    """What ``replay`` was asked for, as the partitioned paths need it."""

    files: tuple[str, ...]
    fmt: str
    connectors: tuple[str, ...]
    no_logs: bool
    fail_on: str
    quiet: bool
    settings: FoldSettings
    limit: int | None
    limit_given: bool
    workers: int | None
    scheduler: str | None


def anomalies_shown(*, quiet: bool, fail_on: str) -> bool:
    """Whether a replay prints each anomaly on standard error at its line: unless
    ``--quiet``, and always with ``--fail-on anomalies``, whose failure they are."""
    return not quiet or fail_on == "anomalies"


def needs_expansion(files: Sequence[str]) -> bool:
    """Whether an input is a URL, or a glob pattern no file is named after."""
    import os

    return any(
        is_url(name) or (set("*?[") & set(name) and not os.path.exists(name)) for name in files
    )


def should_spill(
    sources: Sequence[Source], limit: int | None, limit_given: bool, *, include_logs: bool
) -> bool:
    """Whether the in-memory replay of ``sources`` could outgrow ``limit``
    (``budget.fits_in_memory``; ``include_logs``: the per-event logs are built).

    A pipe's or standard input's size is not known ahead: it is spilled only
    when a limit was given on the command line.
    """
    if limit is None:
        return False
    size = estimated_bytes(sources)
    if size is None:
        return limit_given
    return not fits_in_memory(size, limit, include_logs=include_logs)


@contextlib.contextmanager
def _opened(names: Sequence[str], max_line_bytes: int) -> Iterator[list[Source]]:
    from .files import check_inputs

    check_inputs([name for name in names if not is_url(name)])
    sources = [
        piece_source(Piece(index, name), max_line_bytes)
        if is_url(name)
        else Source(name, max_line_bytes=max_line_bytes)
        for index, name in enumerate(names)
    ]
    try:
        yield sources
    finally:
        for source in sources:
            source.close()


def run(request: Request, *, sources: Sequence[Source] | None = None) -> None:
    """Replay in partitions, print what ``replay`` prints, and exit with its code."""
    from ..scale.api import partitioned

    settings = request.settings
    budget = (
        None
        if request.limit is None
        else Budget(request.limit, include_logs=request.settings.include_logs)
    )
    try:
        if request.workers is not None or request.scheduler is not None:
            names = expand_inputs(request.files)
            states = input_states(names)  # as the pieces are cut: their sizes are these
            pieces = plan_pieces(names)  # an input no task can read fails before a cluster starts
            with (
                _client(request) as client,
                partitioned(
                    names,
                    settings,
                    budget=budget if request.limit_given else None,
                    client=client,
                    pieces=pieces,
                    states=states,
                ) as outcome,
            ):
                _emit(request, outcome)
            return
        with contextlib.ExitStack() as stack:
            if sources is None:
                names = expand_inputs(request.files)
                sources = stack.enter_context(_opened(names, settings.max_line_bytes))
            progress = stack.enter_context(_progress(sources, request.quiet))
            outcome = stack.enter_context(
                partitioned(
                    [source.name for source in sources],
                    settings,
                    budget=budget,
                    sources=sources,
                    on_line=progress.advance if progress.enabled else None,
                )
            )
            progress.close()
            _emit(request, outcome)
    except (InputError, ClusterUnavailableError, SpillError) as exc:
        fail(str(exc))


@contextlib.contextmanager
def _progress(sources: Sequence[Source], quiet: bool) -> Iterator[Progress]:
    progress = Progress(sources, then="folding", enabled=False if quiet else None)
    try:
        yield progress
    finally:
        progress.close()


@contextlib.contextmanager
def _client(request: Request) -> Iterator[Client]:
    from ..scale.cluster import connect, local_cluster

    if request.scheduler is not None:
        with connect(request.scheduler) as client:
            if not client.scheduler_info().get("workers"):
                # Dask waits for one: say so, rather than wait in silence.
                warn(
                    f"the Dask scheduler at {request.scheduler} has no workers yet; waiting"
                    " for one (Ctrl-C to stop)"
                )
            yield client
    else:
        assert request.workers is not None
        limit = request.limit if request.limit_given else None
        with local_cluster(request.workers, limit) as client:
            yield client


def _emit(request: Request, outcome: Outcome) -> None:
    """Print what the in-memory ``replay`` prints for the same input, in the same order.

    The anomalies on standard error follow the order of the inputs as read (a
    glob's matches in its place).
    """
    from .replay import _warn_unknown

    def problems() -> Iterator[str]:
        for name, problem in outcome.problems():
            yield problem_text(name, problem)

    echo_lines(problems(), err=True)
    where: LocationTable = {}
    if request.fmt != "json" and request.settings.locate:  # the table's examples
        for kind, event_id, message, _, source, line in outcome.placed():
            where.setdefault((kind, event_id, message), []).append((source, line))
    whole = request.fmt != "json" or bool(request.connectors)
    data = outcome.to_dict() if whole else None
    if request.connectors:
        assert data is not None
        _warn_unknown(request.connectors, data)
    if anomalies_shown(quiet=request.quiet, fail_on=request.fail_on) and request.settings.locate:
        # Streamed from disk in input order: a log can have an anomaly on every other line.
        echo_lines(listed(outcome.in_input_order()), err=True)
    if request.fmt == "json" and data is None:
        outcome.write_json(write_out)
    elif request.fmt == "json":
        assert data is not None
        write_out(canonical_dumps(focus(data, request.connectors)))
    else:
        assert data is not None
        shown = request.connectors or None
        write_out(table(data, shown, width=terminal_width(), where=where))
    summary = RunSummary(
        lines_read=outcome.lines_read,
        accepted=outcome.accepted,
        rejected=outcome.rejected,
        problems=outcome.problem_count,
    )
    if not request.quiet:
        click.echo(summary_text(summary), err=True)
    failed = {
        "invalid": summary.rejected > 0,
        "anomalies": summary.rejected > 0 or outcome.anomalous,
        "never": False,
    }[request.fail_on]
    sys.exit(EXIT_PROBLEMS if failed else EXIT_CLEAN)
