"""``replay_partitioned``: whole-log replay of logs of any size, here or on a Dask cluster.

The library's entry point to the partitioned replay (the command line's is
``connector-sync replay --memory-limit / --workers / --scheduler``). Both
go through ``partitioned``: on one machine the partitions are spilled to a
temporary folder (``spill``), on a cluster they are Dask tasks
(``cluster``); the projection is the one ``replay`` gives for the same
events.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..contract.lifecycle import DEFAULT_MAX_RECONNECT_CYCLES
from ..io import DEFAULT_MAX_LINE_BYTES, LineProblem, Source, check_problem_sink, checked_line_limit
from .budget import AUTO, Budget, parse_memory_limit
from .fold import FoldSettings
from .inputs import check_unchanged, expand_inputs, input_states, is_url, piece_source
from .outcome import Outcome
from .plan import Piece
from .spill import spilling

if TYPE_CHECKING:
    from distributed import Client

    from ..models.results import ReplayResult

__all__ = ["partitioned", "replay_partitioned"]


def _budget(memory_limit: int | str | None, *, include_logs: bool) -> Budget | None:
    """The budget of ``memory_limit`` (bytes, a Dask-style string, or None for ``auto``)."""
    if memory_limit is not None and (
        isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, str))
    ):
        raise TypeError(
            "memory_limit must be bytes (an int) or a string such as '512MiB', "
            f"not {type(memory_limit).__name__}"
        )
    limit = parse_memory_limit(AUTO if memory_limit is None else str(memory_limit))
    return None if limit is None else Budget(limit, include_logs=include_logs)


def _checked_paths(paths: object) -> list[str | os.PathLike[str]]:
    """``paths`` as a list: one ``str`` or path, or an iterable of them; else ``TypeError``."""
    if isinstance(paths, (str, os.PathLike)):
        given: list[object] = [paths]
    elif isinstance(paths, (bytes, bytearray, memoryview)) or not isinstance(paths, Iterable):
        raise TypeError(
            f"paths must be a str, a path or a sequence of them, not {type(paths).__name__}"
        )
    else:
        given = list(paths)
    found: list[str | os.PathLike[str]] = []
    for path in given:
        if isinstance(path, str) or (
            isinstance(path, os.PathLike) and isinstance(os.fspath(path), str)
        ):
            found.append(path)
        else:
            raise TypeError(f"each path must be a str or a path, not {type(path).__name__}")
    return found


def _sources(names: Sequence[str], max_line_bytes: int) -> list[Source]:
    return [
        piece_source(Piece(index, name), max_line_bytes)
        if is_url(name)
        else Source(name, max_line_bytes=max_line_bytes)
        for index, name in enumerate(names)
    ]


@contextlib.contextmanager
def partitioned(
    names: Sequence[str],
    settings: FoldSettings,
    *,
    budget: Budget | None,
    client: Client | None = None,
    sources: Sequence[Source] | None = None,
    pieces: Sequence[Piece] | None = None,
    on_line: Callable[[int, int], None] | None = None,
    states: Mapping[str, tuple[object, ...] | None] | None = None,
) -> Iterator[Outcome]:
    """Replay ``names`` in partitions: on ``client``'s cluster, or spilled on this machine.

    ``sources`` are the already opened sources of ``names`` (the command
    line opens them to check them and to read standard input); without
    them they are opened here. ``budget`` bounds memory on this machine,
    or each worker's share on a cluster (None: no bound but the workers'
    own). On a cluster, ``pieces`` are the inputs already cut into byte
    ranges (``inputs.plan_pieces``). ``states``: the inputs' ``input_states``
    taken before any was read (by default here); an input changed once all
    are read raises ``InputError``. Yields the outcome; its files go away
    when the block ends.
    """
    if states is None:
        states = input_states(names)
    if client is not None:
        from .cluster import on_cluster

        with on_cluster(client, names, settings, budget=budget, pieces=pieces) as outcome:
            check_unchanged(states)  # every input was read (routed) by now
            yield outcome
        return
    opened = list(sources) if sources is not None else _sources(names, settings.max_line_bytes)
    try:
        spill_budget = budget if budget is not None else Budget(2**62, include_logs=True)
        with spilling(opened, settings, spill_budget, on_line=on_line) as outcome:
            check_unchanged(states)  # every input was read (routed) by now
            yield outcome
    finally:
        if sources is None:
            for source in opened:
                source.close()


def replay_partitioned(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    client: Client | None = None,
    *,
    memory_limit: int | str | None = None,
    include_logs: bool = True,
    max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
    input_format: str = "envelope",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    on_problem: Callable[[str, LineProblem], None] | None = None,
) -> ReplayResult:
    """Replay JSONL logs of any size into the whole-log projection (specification section 6).

    ``paths`` (one, or a sequence; each a ``str`` or a ``pathlib.Path``)
    are files, ``.gz`` files, or, with the ``[dask]`` extra, fsspec URLs
    and glob patterns (``s3://bucket/2026-*/*.jsonl.gz``). With a Dask
    ``client`` the replay runs on its cluster; without one it runs here,
    spilling partitions to a temporary folder so that memory stays within
    ``memory_limit`` (bytes, or a string as Dask's ``memory_limit`` takes:
    ``"512MiB"``, ``"2GB"``, ``"auto"``; on a cluster, each fold's share).
    The result equals ``replay()`` of the same events (its ``to_json()``
    bytes too); ``include_logs=False`` leaves the per-event logs out (None
    in the result, absent from its ``to_json()``), as ``connector-sync
    replay --no-logs`` does.

    Invalid lines are passed to ``on_problem(name, problem)`` in input
    order, with their true file and line number. Raises ``InputError`` when
    an input cannot be read.
    """
    given = _checked_paths(paths)
    if client is not None and not callable(getattr(client, "submit", None)):
        raise TypeError(f"client must be a dask.distributed Client, not {type(client).__name__}")
    check_problem_sink(on_problem)
    checked_line_limit(max_line_bytes)
    names = expand_inputs([os.fspath(path) for path in given])
    settings = FoldSettings(
        input_format=input_format,
        include_logs=include_logs,
        max_reconnect_cycles=max_reconnect_cycles,
        max_line_bytes=max_line_bytes,
    )
    budget = _budget(memory_limit, include_logs=include_logs)
    chunks: list[bytes] = []
    with partitioned(names, settings, budget=budget, client=client) as outcome:
        if on_problem is not None:
            for name, problem in outcome.problems():
                on_problem(name, problem)
        outcome.write_json(chunks.append)
    return _as_result(b"".join(chunks), include_logs=include_logs)


def _as_result(canonical: bytes, *, include_logs: bool) -> ReplayResult:
    """The ``ReplayResult`` whose section 6 form is ``canonical``."""
    from ..models.results import ReplayResult

    data: dict[str, Any] = json.loads(canonical)  # exact integers of any size
    links = data["external_links"]
    data["external_links"] = {
        "event_count": data["event_count"],
        "duplicates_dropped": data["duplicates_dropped"],
        "ignored_event_count": data["ignored_event_count"],
        "anomalies": [],
        "links": links["links"],
        "reverse_index": links["reverse_index"],
        "link_anomalies": links["anomalies"],
    }
    if not include_logs:
        for state in data["connectors"].values():
            state["transition_log"] = None
        for state in data["sync"].values():
            state["outcome_log"] = None
            state["deliveries"] = None
    return ReplayResult.model_validate(data)
