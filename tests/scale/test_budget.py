"""``--memory-limit`` reads sizes as Dask's ``memory_limit`` does, without importing Dask."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_sync_contracts import replay_partitioned
from connector_sync_contracts.cli.partitioned import should_spill
from connector_sync_contracts.io import Source
from connector_sync_contracts.scale.budget import (
    Budget,
    fits_in_memory,
    parse_bytes,
    parse_memory_limit,
    resident_bytes,
)
from connector_sync_contracts.scale.plan import pack_groups

SIZES = ["100", "8MB", "512MiB", "2GB", "5.4 kB", "1kiB", "1e6", "1e6 kB", "MB", "3 gib", "7b"]


@pytest.mark.parametrize("text", SIZES)
def test_a_size_is_read_as_dask_reads_it(text: str) -> None:
    dask_utils = pytest.importorskip("dask.utils")
    assert parse_bytes(text) == dask_utils.parse_bytes(text)


@pytest.mark.parametrize("text", ["5 foos", "lots", "MiBMiB"])
def test_what_dask_rejects_is_rejected(text: str) -> None:
    dask_utils = pytest.importorskip("dask.utils")
    with pytest.raises(ValueError, match="Could not interpret"):
        dask_utils.parse_bytes(text)
    with pytest.raises(ValueError, match="Could not interpret"):
        parse_bytes(text)


def test_zero_is_no_limit_and_a_fraction_is_a_share_of_memory() -> None:
    assert parse_memory_limit("0") is None
    half = parse_memory_limit("0.5")
    assert half is not None
    assert half == parse_memory_limit("auto") or abs(half - (parse_memory_limit("auto") or 0)) <= 1


def test_a_budget_too_small_for_one_connector_still_has_a_partition_size() -> None:
    budget = Budget(1, include_logs=True)
    assert budget.partition_bytes == 1
    assert not budget.fits(2)


def test_link_partitions_are_packed_by_what_their_lines_cost_to_fold() -> None:
    # Link lines cost several times more fold memory a byte than connector lines; a
    # group packed by raw bytes could gather the links of many partitions and pass the
    # budget (a 10M log at 600MB peaked at 542 MB, 415 MB packed by cost).
    budget = Budget(600 * 10**6, include_logs=False)
    sizes = [100, 200, 10, 20]
    assert budget.weighted(sizes, 2) == [100, 200, int(10 * Budget.LINK_FACTOR), 120]
    assert budget.weighted(sizes, 0) == sizes  # one partition space: nothing apart
    assert Budget.LINK_FACTOR > 2.5 / 0.47  # the measured ratio, with a margin
    # 700 bytes of input fit 800 by bytes, but the links' 100 bytes cost 600.
    sizes = [300, 300, 50, 50]
    assert [group.partitions for group in pack_groups(sizes, [], 800)] == [(0, 1, 2, 3)]
    weighted = pack_groups(budget.weighted(sizes, 2), [], 800)
    assert sorted(group.partitions for group in weighted) == [(0, 1), (2, 3)]


@pytest.mark.parametrize("given", ["1e-12", "0.00000000001", "0.5B", "0.9 B"])
def test_a_positive_limit_under_one_byte_is_refused_not_read_as_no_limit(given: str) -> None:
    # Dask reads it as 0 bytes, which would be no limit at all.
    with pytest.raises(ValueError, match="is less than one byte; give 0 for no limit"):
        parse_memory_limit(given)
    with pytest.raises(ValueError, match="is less than one byte"):
        replay_partitioned([], memory_limit=given)


@pytest.mark.parametrize("given", ["0", "0.0", "0B", "0e5"])
def test_zero_in_any_spelling_is_no_limit(given: str) -> None:
    assert parse_memory_limit(given) is None


def test_the_in_memory_replay_spills_by_what_it_builds(tmp_path: Path) -> None:
    # Found by an outside tester: --no-logs spilled at the limit a replay with logs
    # needs (twice as slow, for a replay that fitted), and with the logs a limit
    # 20 % under the replay's peak did not spill.
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"x" * (10 * 2**20 - 1) + b"\n")
    sources = [Source(str(log))]
    limit = resident_bytes() + 13 * 2**20  # room for 8 MiB (no logs), not for 18 MiB
    assert not should_spill(sources, limit, False, include_logs=False)
    assert should_spill(sources, limit, False, include_logs=True)
    assert not should_spill(sources, None, False, include_logs=True)  # no limit: never
    assert fits_in_memory(10 * 2**20, limit, include_logs=False)
    assert not fits_in_memory(10 * 2**20, limit, include_logs=True)
