"""What the partitioned-replay tests share: tangled logs, their single-process replays, a cluster.

The reference for every comparison is the single-process ``connector-sync
replay`` of the same files, run once per session. The Dask cluster (two
worker processes, one thread each) is started once for the whole session:
starting one costs seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.cli import Run, run_cli
from tests.support.tangles import LINE_LIMIT, as_cloudevents, split, tangle

if TYPE_CHECKING:
    from distributed import Client

GENERATED = ("--events", "4000", "--connectors", "24", "--seed", "14", "--shuffle")
"""A small realistic log, with exact duplicates and invalid lines added by the generator."""


@pytest.fixture(scope="session")
def tangled_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A generated log with every hard case of partitioned replay planted (``tangle``)."""
    path = tmp_path_factory.mktemp("generated") / "log.jsonl"
    run = run_cli("generate", *GENERATED, "--duplicates", "80", "--invalid", "60", "-o", path)
    assert run.code == 0, run.explain()
    return tangle(path.read_bytes().splitlines(), seed=3)


@pytest.fixture(scope="session")
def tangled_files(
    tmp_path_factory: pytest.TempPathFactory, tangled_lines: list[bytes]
) -> list[Path]:
    """The tangled log split over three files, the last one gzip-compressed."""
    return split(tangled_lines, tmp_path_factory.mktemp("tangled"))


@pytest.fixture(scope="session")
def cloudevent_files(
    tmp_path_factory: pytest.TempPathFactory, tangled_lines: list[bytes]
) -> list[Path]:
    """The tangled log as structured CloudEvents, split the same way."""
    return split(as_cloudevents(tangled_lines), tmp_path_factory.mktemp("cloudevents"))


def replay_args(*extra: str) -> tuple[str, ...]:
    """``replay --format json`` with the tangled logs' line limit, then ``extra``."""
    return ("replay", "--format", "json", "--max-line-bytes", str(LINE_LIMIT), *extra)


@pytest.fixture(scope="session")
def reference(tangled_files: list[Path], cloudevent_files: list[Path]) -> dict[str, Run]:
    """The single-process replays every partitioned one is compared with, by case."""
    runs = {
        "logs": run_cli(*replay_args(), *tangled_files),
        "no-logs": run_cli(*replay_args("--no-logs"), *tangled_files),
        "cloudevents": run_cli(*replay_args("--input-format", "cloudevents"), *cloudevent_files),
    }
    for run in runs.values():
        assert run.code == 1, run.explain()  # the tangled logs hold invalid lines
    return runs


@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    """A local Dask cluster of two worker processes, and a client of it.

    One per test module, closed at its end: the scheduler runs on a thread
    of this process, and Hypothesis fails a test of a later module when
    that thread moves the global ``random`` state while it draws an example
    (a late cancel of a released future did, once).
    """
    from distributed import Client, LocalCluster

    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken, and Dask warns then
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,  # type: ignore[no-untyped-call]
    ):
        yield client
