"""Copies of one event_id in several partitions are settled before the fold, not joined.

Conflicting copies that name different connectors used to tie their
partitions into one group, and a few hundred of them joined every
partition into one, holding the whole log in memory. ``untangle`` moves
each such copy into the partition of the copy the dedup keeps. What must
hold afterwards: every copy the engine reads of an event_id is in one
group, the routing map still traces every partition line to its input
line, nothing is lost or duplicated, and only the ties that must stay
(reused link_ids) still join partitions. That the output is unchanged is
``test_cli``'s comparison with the in-memory replay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from connector_sync_contracts.contract.catalog import EVENT_FAMILIES
from connector_sync_contracts.io import Source
from connector_sync_contracts.scale import _engine_calls
from connector_sync_contracts.scale import untangle as untangle_module
from connector_sync_contracts.scale.fold import FoldSettings, reading_source
from connector_sync_contracts.scale.plan import Tie, pack_groups
from connector_sync_contracts.scale.routing import TOO_LONG, Router, partition_spaces
from connector_sync_contracts.scale.spill import _Store, route_sources
from connector_sync_contracts.scale.untangle import untangle
from tests.support.cli import run_cli
from tests.support.engines import engine, needs_native
from tests.support.tangles import LINE_LIMIT, as_cloudevents

PARTITIONS = 16
BUCKETS = 4


def _routed(
    tmp_path: Path, lines: list[bytes], *, cloudevents: bool = False
) -> tuple[_Store, Router]:
    tmp_path.mkdir(exist_ok=True)
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    folder = tmp_path / "spill"
    folder.mkdir()
    store = _Store(folder, PARTITIONS, BUCKETS)
    router = Router(
        PARTITIONS, BUCKETS, sink=store.append, cloudevents=cloudevents, max_line_bytes=LINE_LIMIT
    )
    try:
        route_sources([Source(str(log), max_line_bytes=LINE_LIMIT)], store, router, 1 << 16, None)
    finally:
        store.close()
    return store, router


def _partition_lines(store: _Store) -> list[list[bytes]]:
    found = []
    for path in store.paths:
        data = Path(path).read_bytes() if Path(path).exists() else b""
        found.append([line + b"\n" for line in data.split(b"\n")[:-1]])
    return found


def _groups(store: _Store, ties: list[Tie]) -> dict[int, int]:
    """Each partition's group when ``ties`` are joined (every tied set a group of its own)."""
    groups = pack_groups(store.sizes, [tie.partitions for tie in ties], 0)
    return {p: at for at, group in enumerate(groups) for p in group.partitions}


@pytest.mark.parametrize("cloudevents", [False, True], ids=["envelopes", "cloudevents"])
def test_copies_end_in_one_group_and_every_line_is_traced_to_its_input_line(
    tmp_path: Path, tangled_lines: list[bytes], cloudevents: bool
) -> None:
    lines = as_cloudevents(tangled_lines) if cloudevents else tangled_lines
    store, router = _routed(tmp_path, lines, cloudevents=cloudevents)
    ties = store.ties()
    before = _groups(store, ties)
    settings = FoldSettings(
        input_format="cloudevents" if cloudevents else "envelope", max_line_bytes=LINE_LIMIT
    )
    left = untangle(ties, store.paths, store.sizes, store.routing, router, settings)

    # Conflicting copies naming different connectors no longer join their partitions.
    assert len(left) < len(ties)
    after = _groups(store, left)
    assert len(set(after.values())) > len(set(before.values()))

    # The k-th line of partition p is the k-th input line whose routing byte is p.
    held = _partition_lines(store)
    routing = store.routing.read_bytes()
    assert len(routing) == len(lines)
    taken = [0] * PARTITIONS
    for line, p in zip(lines, routing, strict=True):
        if p == TOO_LONG:
            continue
        assert held[p][taken[p]].rstrip(b"\n") == line
        taken[p] += 1
    assert taken == [len(found) for found in held]
    assert store.sizes == [sum(map(len, found)) for found in held]

    # Every copy the engine reads of one event_id is in one group.
    groups_of: dict[str, set[int]] = {}
    for p, path in enumerate(store.paths):
        if not store.sizes[p]:
            continue
        source = reading_source(path, settings)
        try:
            ids, _ = _engine_calls.copy_winners(source.lines())
        finally:
            source.close()
        for eid in ids:
            if eid is not None:
                groups_of.setdefault(eid, set()).add(after[p])
    assert groups_of
    assert all(len(groups) == 1 for groups in groups_of.values())


def test_a_reused_link_id_ties_only_partitions_of_link_lines(
    tmp_path: Path, tangled_lines: list[bytes]
) -> None:
    # The link index depends on a link_id's first use, so partitions whose links share
    # a link_id are folded together. Link lines have partitions of their own: joining
    # them never joins the connectors' partitions (a few hundred reused link_ids would
    # otherwise join every partition, and hold the whole log in memory).
    store, router = _routed(tmp_path, tangled_lines)
    connectors, first, links = partition_spaces(PARTITIONS)
    assert (connectors, first, links) == (8, 8, 8)
    for p, held in enumerate(_partition_lines(store)):
        for line in held:
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # not JSON: routed by its bytes, anywhere
            payload = event.get("payload") if isinstance(event, dict) else None
            if not isinstance(payload, dict) or event.get("event_type") not in EVENT_FAMILIES:
                continue
            if event["event_type"] == "ExternalReferenceLinked":
                assert first <= p < first + links, line
            elif isinstance(payload.get("connector_id"), str) and payload["connector_id"]:
                assert p < connectors, line
    left = untangle(
        store.ties(),
        store.paths,
        store.sizes,
        store.routing,
        router,
        FoldSettings(max_line_bytes=LINE_LIMIT),
    )
    assert left  # the tangled lines reuse link_ids across partitions
    assert all(p >= first for tie in left for p in tie.partitions)


def test_without_ties_nothing_is_read_or_moved(tmp_path: Path) -> None:
    store, router = _routed(tmp_path, [b'{"event_id":"01H"}'])
    sizes = list(store.sizes)
    assert untangle([], store.paths, store.sizes, store.routing, router, FoldSettings()) == []
    assert store.sizes == sizes


def test_a_tie_whose_lines_are_not_all_found_again_stays_joined(
    tmp_path: Path, tangled_lines: list[bytes]
) -> None:
    # A key routing kept that the lines do not give again (it cannot happen for a JSON
    # line without repeated keys): the partitions are joined, as before ``untangle``.
    store, router = _routed(tmp_path, tangled_lines)
    ghost = Tie(2**48 - 1, (0, 1))
    left = untangle(
        [*store.ties(), ghost],
        store.paths,
        store.sizes,
        store.routing,
        router,
        FoldSettings(max_line_bytes=LINE_LIMIT),
    )
    assert ghost in left


def _ingest(event_id: str, connector: str, *, recorded_at: str, rejected: bool) -> bytes:
    payload: dict[str, object] = {
        "delivery_id": "d2" if rejected else "d1",
        "source_event_fingerprint": "f2" if rejected else "f1",
        "connector_id": connector,
        "mission_id": "m",
        "recorded_at": recorded_at,
    }
    if rejected:
        payload |= {"rejection_reason": "r", "rejected_payload_ref": "ref"}
    else:
        payload |= {"ingest_batch_id": "b", "ingested_count": 1}
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "SyncIngestRejected" if rejected else "SyncIngestAccepted",
            "aggregate_id": connector,
            "payload": payload,
            "timestamp": "2024-11-22T01:00:00Z",
            "node_id": "n1",
            "lamport_clock": 2 if rejected else 1,
            "project_uuid": "7ff12229-4b4d-4474-a3ea-284d3bd03346",
            "correlation_id": event_id,
        }
    )


def test_copies_arriving_at_one_place_keep_their_input_order(tmp_path: Path) -> None:
    # Found by an outside sweep: two event_ids one check key apart (ULIDs that differ
    # in their last character share the key's 48 bits), each with a copy naming another
    # connector, both moved into one partition after its last line. They were written
    # in the order of their bytes, so the malformed copy was reported at the other's line.
    when = "2024-11-22T01:00:00Z"
    first, second = "01JD8QWDY6DA9C3TWZMK18474E", "01JD8QWDY6DA9C3TWZMK18474F"
    log = tmp_path / "log.jsonl"
    log.write_bytes(
        b"\n".join(
            [
                _ingest(first, "c1", recorded_at=when, rejected=False),
                _ingest(second, "c1", recorded_at=when, rejected=True),
                _ingest(second, "c2", recorded_at="2024-11-02 10:00:00", rejected=True),
                _ingest(first, "c3", recorded_at=when, rejected=False),
            ]
        )
        + b"\n"
    )
    expected = run_cli("replay", "--format", "json", log)
    assert expected.stderr.count(b"log.jsonl:") == 3  # the malformed copy, two conflicts
    assert b"log.jsonl:3: $.payload.recorded_at" in expected.stderr
    spilled = run_cli("replay", "--format", "json", "--memory-limit", "1kB", log)
    assert (spilled.code, spilled.stdout, spilled.stderr) == (
        expected.code,
        expected.stdout,
        expected.stderr,
    )


def test_copies_are_decided_a_bin_at_a_time_and_moved_as_if_at_once(
    tmp_path: Path, tangled_lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A log where most lines are conflicting copies naming other connectors held every
    # copy, and the model path's reading of every one, in memory at once (found by an
    # outside acceptance run: peak memory grew with the copies, past the budget).
    settings = FoldSettings(max_line_bytes=LINE_LIMIT)
    whole, router = _routed(tmp_path / "whole", tangled_lines)
    ties = whole.ties()
    left_whole = untangle(ties, whole.paths, whole.sizes, whole.routing, router, settings)

    decided: list[int] = []
    winners = untangle_module._winners

    def counted(lines: list[bytes], *args: Any) -> Any:
        decided.append(len(lines))
        return winners(lines, *args)

    monkeypatch.setattr(untangle_module, "_winners", counted)
    binned, router = _routed(tmp_path / "binned", tangled_lines)
    assert binned.ties() == ties
    left = untangle(ties, binned.paths, binned.sizes, binned.routing, router, settings, bin_bytes=1)
    assert len(decided) > 8
    assert max(decided) < sum(decided) / 4
    assert left == left_whole
    assert _partition_lines(binned) == _partition_lines(whole)
    assert binned.routing.read_bytes() == whole.routing.read_bytes()
    assert binned.sizes == whole.sizes
    assert sorted(path.name for path in (tmp_path / "binned" / "spill").iterdir()) == sorted(
        path.name for path in (tmp_path / "whole" / "spill").iterdir()
    )  # the copies and their bins are gone


@needs_native
def test_a_copy_of_no_family_never_beats_a_valid_copy_when_spilled(tmp_path: Path) -> None:
    # A copy of an event type with no payload model, in another partition (connector
    # c2) and earlier in replay order, is not known valid: the valid copy on c1 stays.
    when = "2024-11-22T01:00:00Z"
    eid = "01JD8QWDY6DA9C3TWZMK18474E"
    valid = _ingest(eid, "c1", recorded_at=when, rejected=False)
    other = valid.replace(b'"SyncIngestAccepted"', b'"SyncIngestPaused"', 1)
    other = other.replace(b'"c1"', b'"c2"').replace(b'"lamport_clock":1', b'"lamport_clock":0')
    neighbour = _ingest("01JD8QWDY6DA9C3TWZMK18474F", "c2", recorded_at=when, rejected=True)
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join([other, neighbour, valid]) + b"\n")
    expected = run_cli("replay", "--format", "json", log)
    kept = orjson.loads(expected.stdout)
    assert kept["ignored_event_count"] == 0
    assert kept["sync"]["c1"]["ingested_items"] == 1
    spilled = run_cli("replay", "--format", "json", "--memory-limit", "1kB", log)
    assert (spilled.code, spilled.stdout, spilled.stderr) == (
        expected.code,
        expected.stdout,
        expected.stderr,
    )
    for name in ("compiled", "python"):
        with engine(name):
            ids, winners = _engine_calls.copy_winners([other + b"\n", valid + b"\n"])
        assert ids == [eid, eid]
        assert winners[eid][0] == 1


@needs_native
@pytest.mark.parametrize("order", ["as-written", "reversed"])
def test_copies_are_settled_alike_by_the_compiled_core_and_the_models(
    tangled_lines: list[bytes], order: str
) -> None:
    # ``copy_winners`` reads a line the core takes whole without the models (as the
    # in-memory engine settles copies); the models read every other line, and all of
    # them without the core. The two must name the same winners, with the same keys.
    lines = tangled_lines if order == "as-written" else tangled_lines[::-1]
    with engine("compiled"):
        compiled = _engine_calls.copy_winners(lines)
    with engine("python"):
        models = _engine_calls.copy_winners(lines)
    assert compiled == models
    ids, winners = compiled
    assert len(winners) > 100
    assert len([eid for eid in ids if eid is not None]) > len(winners)  # copies among them
