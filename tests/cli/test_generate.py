"""``connector-sync generate``: seeded, deterministic synthetic logs and their options."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.support.cli import Run, parse_problems, parse_summary, run_cli

from .conftest import VALID_CONNECTORS, VALID_EVENTS

EVENTS = 120
CONNECTORS = 4
SEED = 5


def _generate(*options: str) -> Run:
    run = run_cli("generate", "--events", str(EVENTS), "--connectors", str(CONNECTORS), *options)
    assert run.code == 0, run.explain()
    assert run.stderr == b""
    return run


@pytest.fixture(scope="module")
def plain() -> list[bytes]:
    """The lines of the unshuffled, noise-free log for ``SEED``."""
    return _generate("--seed", str(SEED)).stdout.splitlines()


def test_same_seed_gives_the_same_bytes() -> None:
    options = ("--seed", "9", "--shuffle", "--duplicates", "7", "--invalid", "4")
    first, second = _generate(*options), _generate(*options)
    assert first.stdout == second.stdout
    assert _generate("--seed", "10", *options[2:]).stdout != first.stdout


def test_a_log_without_conflicts_keeps_the_bytes_it_had() -> None:
    """``--conflicts`` came later: logs written without it (benchmarks') did not change."""
    run = _generate("--seed", "9", "--shuffle", "--duplicates", "7", "--invalid", "4")
    assert hashlib.sha256(run.stdout).hexdigest() == (
        "e1c9bfc91095f37c34243ae5895b6758b981e2eab61d25d90a895af7ed12f7df"
    )


def test_conflicts_reuse_earlier_event_ids_on_other_content(tmp_path: Path) -> None:
    conflicts = 10
    run = _generate("--seed", str(SEED), "--conflicts", str(conflicts), "--shuffle")
    lines = [orjson.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == EVENTS + conflicts
    copies: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        copies.setdefault(str(line["event_id"]), []).append(line)
    conflicted = {eid: found for eid, found in copies.items() if len(found) > 1}
    assert sum(len(found) - 1 for found in conflicted.values()) == conflicts
    assert all(found[0] != other for found in conflicted.values() for other in found[1:])
    # Some copies are another connector's event; the others differ in node_id only.
    assert any(len({line["aggregate_id"] for line in found}) > 1 for found in conflicted.values())
    assert any(
        {line["node_id"] for line in found} >= {"node-replica"}
        and len({line["aggregate_id"] for line in found}) == 1
        for found in conflicted.values()
    )
    path = tmp_path / "conflicts.jsonl"
    path.write_bytes(run.stdout)
    checked = run_cli("validate", path)
    assert checked.code == 0, checked.explain()  # every copy is a valid line
    replayed = run_cli("replay", "--format", "json", path)
    document = orjson.loads(replayed.stdout)
    assert document["event_count"] == EVENTS
    assert document["duplicates_dropped"] == 0
    assert sorted(
        a["event_id"] for a in document["anomalies"] if a["kind"] == "conflicting_duplicate"
    ) == sorted(conflicted)


def test_events_and_connectors(valid_lines: list[bytes]) -> None:
    assert len(valid_lines) == VALID_EVENTS
    envelopes = [orjson.loads(line) for line in valid_lines]
    assert len({e["event_id"] for e in envelopes}) == VALID_EVENTS
    assert len({e["payload"]["connector_id"] for e in envelopes}) == VALID_CONNECTORS
    # A realistic mix: every family shows up.
    kinds = {e["event_type"] for e in envelopes}
    assert {"ConnectorProvisioned", "ConnectorHealthChecked", "SyncIngestAccepted"} <= kinds


@pytest.mark.parametrize(
    "option", ["--events", "--connectors", "--duplicates", "--invalid", "--conflicts"]
)
def test_a_count_beyond_a_million_million_is_a_usage_error(option: str) -> None:
    run = run_cli("generate", option, str(2**63))
    assert run.code == 2, run.explain()
    assert run.err.startswith(f"connector-sync: error: Invalid value for '{option}': ")
    assert "1000000000000" in run.err


def test_many_connectors_cost_only_the_ones_the_events_name() -> None:
    # Each connector is made when first drawn: this once made a million million.
    run = run_cli("generate", "--events", "3", "--connectors", str(10**12))
    assert run.code == 0, run.explain()
    assert len(run.stdout.splitlines()) == 3
    checked = run_cli("validate", "-", stdin=run.stdout)
    assert checked.code == 0, checked.explain()


@pytest.mark.parametrize("noise", ["--duplicates", "--invalid", "--conflicts"])
def test_noise_without_events_is_a_usage_error(noise: str) -> None:
    # It wrote an event that --events 0 did not ask for, to copy or alter it.
    run = run_cli("generate", "--events", "0", noise, "3")
    assert run.code == 2, run.explain()
    assert "give --events 1 or more" in run.err
    assert run.stdout == b""


def test_zero_events_is_an_empty_log() -> None:
    run = run_cli("generate", "--events", "0")
    assert run.code == 0, run.explain()
    assert run.stdout == b""


def test_shuffle_permutes_the_same_lines(tmp_path: Path, plain: list[bytes]) -> None:
    shuffled = _generate("--seed", str(SEED), "--shuffle").stdout.splitlines()
    assert shuffled != plain
    assert sorted(shuffled) == sorted(plain)
    a = tmp_path / "plain.jsonl"
    b = tmp_path / "shuffled.jsonl"
    a.write_bytes(b"\n".join(plain) + b"\n")
    b.write_bytes(b"\n".join(shuffled) + b"\n")
    first = run_cli("replay", "--format", "json", a)
    assert first.code == 0, first.explain()
    assert run_cli("replay", "--format", "json", b).stdout == first.stdout


def test_duplicates_are_exact_copies(tmp_path: Path, plain: list[bytes]) -> None:
    duplicates = 9
    lines = _generate("--seed", str(SEED), "--duplicates", str(duplicates)).stdout.splitlines()
    assert len(lines) == EVENTS + duplicates
    counts = Counter(lines)
    assert set(counts) == set(plain)
    assert sum(n - 1 for n in counts.values()) == duplicates
    path = tmp_path / "dups.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    run = run_cli("replay", "--format", "json", path)
    assert run.code == 0, run.explain()
    document = orjson.loads(run.stdout)
    assert document["duplicates_dropped"] == duplicates
    assert document["event_count"] == EVENTS


def test_invalid_lines_are_each_rejected(tmp_path: Path) -> None:
    invalid = 12
    run = _generate("--seed", str(SEED), "--invalid", str(invalid), "--shuffle")
    lines = run.stdout.splitlines()
    assert len(lines) == EVENTS + invalid
    path = tmp_path / "invalid.jsonl"
    path.write_bytes(run.stdout)
    checked = run_cli("validate", path)
    assert checked.code == 1, checked.explain()
    summary = parse_summary(checked.err)
    assert (summary.lines_read, summary.rejected) == (EVENTS + invalid, invalid)
    assert len({p.line for p in parse_problems(checked.out)}) == invalid


def test_output_option_writes_the_same_bytes(tmp_path: Path, plain: list[bytes]) -> None:
    target = tmp_path / "out.jsonl"
    run = run_cli(
        "generate",
        "--events",
        str(EVENTS),
        "--connectors",
        str(CONNECTORS),
        "--seed",
        str(SEED),
        "-o",
        target,
    )
    assert run.code == 0, run.explain()
    assert run.stdout == b""
    assert target.read_bytes() == b"".join(line + b"\n" for line in plain)
