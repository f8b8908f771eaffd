"""``replay_partitioned`` gives the projection ``replay`` gives: on a cluster and spilled.

Its ``to_json()`` is compared with the bytes of the single-process
``connector-sync replay --format json``, and the problems it reports with
what that command prints on standard error (true file and line, in input
order).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from connector_sync_contracts import replay_partitioned
from connector_sync_contracts.io import LineProblem
from tests.support.cli import Problem, Run, parse_problems
from tests.support.tangles import LINE_LIMIT

if TYPE_CHECKING:
    from distributed import Client


def _problems(found: list[tuple[str, LineProblem]]) -> list[Problem]:
    return [Problem(name, p.line, p.field, p.code, p.message) for name, p in found]


# On the cluster with the logs: test_faults and test_cluster replay that case.
@pytest.mark.parametrize(
    ("where", "include_logs"), [("cluster", False), ("spilled", True), ("spilled", False)]
)
def test_replay_partitioned_is_the_single_process_replay(
    where: str,
    include_logs: bool,
    request: pytest.FixtureRequest,
    reference: dict[str, Run],
    tangled_files: list[Path],
) -> None:
    client: Client | None = request.getfixturevalue("cluster") if where == "cluster" else None
    found: list[tuple[str, LineProblem]] = []
    result = replay_partitioned(
        [str(path) for path in tangled_files],
        client,
        memory_limit="64kB",
        include_logs=include_logs,
        max_line_bytes=LINE_LIMIT,
        on_problem=lambda name, problem: found.append((name, problem)),
    )
    expected = reference["logs" if include_logs else "no-logs"]
    assert result.to_json(include_logs=include_logs) == expected.stdout
    assert _problems(found) == parse_problems(expected.err)


def test_cloudevents_on_the_cluster(
    cluster: Client, reference: dict[str, Run], cloudevent_files: list[Path]
) -> None:
    result = replay_partitioned(
        [path.as_uri() for path in cloudevent_files],  # file:// URLs, read through fsspec
        cluster,
        input_format="cloudevents",
        max_line_bytes=LINE_LIMIT,
    )
    assert result.to_json() == reference["cloudevents"].stdout
