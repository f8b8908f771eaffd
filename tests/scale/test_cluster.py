"""On the Dask cluster, inputs cut into many byte ranges replay as one process replays them.

The default range is 64 MiB, so the tangled logs would be one task per
file; here the ranges are 64 kB, so each uncompressed file is cut into
many ranges read by separate tasks (the gzip file stays one task), and
lines and problems come back in their true places.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connector_sync_contracts.scale.budget import Budget
from connector_sync_contracts.scale.fold import FoldSettings
from connector_sync_contracts.scale.inputs import plan_pieces
from tests.support.cli import Run, parse_problems
from tests.support.tangles import LINE_LIMIT

if TYPE_CHECKING:
    from distributed import Client

RANGE = 64_000


def test_many_byte_ranges_on_the_cluster_are_the_single_process_replay(
    cluster: Client, reference: dict[str, Run], tangled_files: list[Path]
) -> None:
    from connector_sync_contracts.scale.cluster import on_cluster

    names = [str(path) for path in tangled_files]
    pieces = plan_pieces(names, RANGE)
    assert len(pieces) > 10
    settings = FoldSettings(max_line_bytes=LINE_LIMIT)
    chunks: list[bytes] = []
    with on_cluster(
        cluster, names, settings, budget=Budget(256_000, include_logs=True), pieces=pieces
    ) as outcome:
        problems = [(name, p.line, p.code, p.message) for name, p in outcome.problems()]
        outcome.write_json(chunks.append)
    expected = reference["logs"]
    assert b"".join(chunks) == expected.stdout
    assert problems == [(p.file, p.line, p.code, p.message) for p in parse_problems(expected.err)]


def test_ctrl_c_silences_dask_before_the_local_cluster_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closed mid-task by Ctrl-C, the scheduler logs at CRITICAL (which ``silence_logs``
    lets through) every message it can no longer send, with tracebacks: 70-370 lines
    after "interrupted" (found by an outside run, with a small ``--memory-limit``).
    Dask's loggers are silenced before the cluster closes, and only when interrupted."""
    import logging

    import distributed

    from connector_sync_contracts.scale.cluster import local_cluster

    loud: list[bool] = []
    close = distributed.LocalCluster.close

    def closing(self: distributed.LocalCluster, *args: Any, **kwargs: Any) -> Any:
        loud.append(logging.getLogger("distributed.scheduler").isEnabledFor(logging.CRITICAL))
        return close(self, *args, **kwargs)

    monkeypatch.setattr(distributed.LocalCluster, "close", closing)
    names = ["asyncio", "distributed", *logging.root.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        with local_cluster(1, None):
            pass
        assert loud == [True]  # a replay that ends well keeps Dask's logs as they were
        with pytest.raises(KeyboardInterrupt), local_cluster(1, None):
            raise KeyboardInterrupt
        assert loud[1:] == [False]
    finally:  # the levels the cluster found (loggers made meanwhile keep theirs)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("failures", [1, 2])
def test_a_local_cluster_that_fails_to_start_is_started_once_more(
    monkeypatch: pytest.MonkeyPatch, failures: int
) -> None:
    """A worker that dies while the cluster starts (killed then) fails the start with
    "Nanny failed to start": found by an outside run as a traceback and exit 1. The
    cluster is started once more; a second failure is an I/O error naming why."""
    import distributed

    from connector_sync_contracts.errors import ClusterUnavailableError
    from connector_sync_contracts.scale.cluster import local_cluster

    real = distributed.LocalCluster
    starts: list[int] = []

    def starting(*args: Any, **kwargs: Any) -> Any:
        starts.append(1)
        if len(starts) <= failures:
            raise RuntimeError("Nanny failed to start.")
        return real(*args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(distributed, "LocalCluster", starting)
    if failures == 1:
        with local_cluster(1, None) as client:
            assert client.submit(sum, [1, 2]).result() == 3
    else:
        with (
            pytest.raises(ClusterUnavailableError, match="did not start, twice: Nanny failed"),
            local_cluster(1, None),
        ):
            pass
    assert len(starts) == 2


def test_a_schedulers_client_logs_only_errors_while_it_is_used(cluster: Client) -> None:
    # Found by an outside run: a worker killed early made Dask's client log "Couldn't
    # gather 1 keys, rescheduling" on stderr, which must be the in-memory replay's.
    from connector_sync_contracts.scale.cluster import connect

    log = logging.getLogger("distributed.client")
    before = log.level
    log.setLevel(logging.WARNING)  # what Dask's own configuration sets
    try:
        with connect(cluster.scheduler_info()["address"]):
            assert not log.isEnabledFor(logging.WARNING)
            assert log.isEnabledFor(logging.ERROR)
        assert log.isEnabledFor(logging.WARNING)  # given back when the replay ends
    finally:
        log.setLevel(before)
