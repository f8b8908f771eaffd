"""Faults on a cluster: a worker killed mid-replay changes nothing; workers that keep
dying are an I/O error that says so.

A worker plugin kills its own worker process (SIGKILL, as the kernel's
out-of-memory killer would) when the first fold task starts executing on
it. The nanny starts a new worker, the scheduler reruns the lost tasks
(the fold, and the routing tasks whose results died with the worker), and
the replay's output must be byte for byte the single-process one.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connector_sync_contracts import ClusterUnavailableError, replay_partitioned
from tests.support.cli import Run, parse_problems
from tests.support.tangles import LINE_LIMIT

if TYPE_CHECKING:
    from distributed import Client

pytest.importorskip("distributed")

from distributed.diagnostics.plugin import WorkerPlugin

_PLUGIN = "kill-on-first-fold"


class KillOnFirstFold(WorkerPlugin):
    """Kills the worker it runs in when a fold task starts there, once per ``marker`` file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """On the first fold task to start executing anywhere, kill this worker process."""
        if finish != "executing" or not str(key).startswith("_fold_blobs"):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # a worker was killed already: let the replay finish
        os.write(fd, f"{os.getpid()} {key}\n".encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_replay_does_not_change_the_output(
    cluster: Client, reference: dict[str, Run], tangled_files: list[Path], tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    pids_before = set(cluster.run(os.getpid).values())
    cluster.register_plugin(KillOnFirstFold(str(marker)), name=_PLUGIN)
    try:
        found = []
        result = replay_partitioned(
            [str(path) for path in tangled_files],
            cluster,
            memory_limit="64kB",  # many fold tasks: the killed one is one of several
            max_line_bytes=LINE_LIMIT,
            on_problem=lambda name, problem: found.append((name, problem.line, problem.code)),
        )
    finally:
        cluster.unregister_worker_plugin(_PLUGIN)  # type: ignore[no-untyped-call]
        cluster.wait_for_workers(2, timeout=120)
    killed_pid = int(marker.read_text().split()[0])
    assert killed_pid in pids_before
    assert killed_pid not in set(cluster.run(os.getpid).values())
    expected = reference["logs"]
    assert result.to_json() == expected.stdout
    assert found == [(p.file, p.line, p.code) for p in parse_problems(expected.err)]


class KillOnEveryFold(WorkerPlugin):
    """Kills the worker it runs in whenever a fold task starts there."""

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """On every fold task that starts executing, kill this worker process."""
        if finish == "executing" and str(key).startswith("_fold_blobs"):
            os.kill(os.getpid(), signal.SIGKILL)


def test_workers_that_keep_dying_are_an_io_error_that_says_why(
    cluster: Client, tangled_files: list[Path]
) -> None:
    # As when every worker runs out of memory on one fold: Dask gives up on the task
    # after its allowed failures; the replay says so instead of a KilledWorker trace.
    cluster.register_plugin(KillOnEveryFold(), name=_PLUGIN)
    try:
        with pytest.raises(ClusterUnavailableError) as raised:
            replay_partitioned(
                [str(path) for path in tangled_files], cluster, max_line_bytes=LINE_LIMIT
            )
    finally:
        cluster.unregister_worker_plugin(_PLUGIN)  # type: ignore[no-untyped-call]
        cluster.wait_for_workers(2, timeout=120)
    message = str(raised.value)
    assert message.startswith("Dask workers died 4 times running one task (_fold_blobs-")
    assert message.endswith(
        "killed, or ran out of memory (give each worker more, or run more of them)"
    )
