"""The compiled core under hostile conditions: colliding hashes, empty strings, bad specs.

Every hash table of the core (the dedup table, the delivery map, the
interned strings) is keyed with a random SipHash key, so nobody can choose
inputs that collide. The code that tells colliding entries apart would then
hardly ever run; ``scanner(weak_bits=N)`` keeps only N bits of every hash so
that it runs all the time. A replay with weak hashes must equal the normal
one byte for byte. These tests also run under ``make sanitize``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector_sync_contracts._engine import native as _accel
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.io import Source
from connector_sync_contracts.reducing.anomalies import SHARED_MESSAGE_KINDS, from_native
from tests.support.engines import needs_native
from tests.support.variants import busy_lines

_HOOKS = (_accel._link_fact, from_native, SHARED_MESSAGE_KINDS)
"""What ``_accel.scanner`` hands a new Scanner after its spec and key."""

pytestmark = needs_native


def _replay_json(path: Path, **scanner_options: Any) -> bytes:
    """``connector-sync replay --format json`` of path with a scanner made with these options."""
    made = _accel.scanner(**scanner_options)
    assert made is not None
    original = _accel.scanner
    _accel.scanner = lambda **_: made
    source = Source(str(path))
    try:
        result, _ = replay_sources([source], on_problem=lambda *_: None)
    finally:
        _accel.scanner = original
        source.close()
    return result.to_json()


@pytest.fixture(scope="module")
def busy_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Duplicates, conflicts, invalid lines, many deliveries, unusual lines, shuffled."""
    options = GeneratorOptions(
        events=3000, connectors=40, seed=7, shuffle=True, duplicates=300, invalid=60
    )
    lines = busy_lines(options, seed=7, conflicts=slice(0, 200, 7))
    path = tmp_path_factory.mktemp("hardening") / "busy.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@pytest.mark.parametrize("weak_bits", [1, 2, 3, 8])
def test_colliding_hashes_change_nothing(busy_log: Path, weak_bits: int) -> None:
    expected = _replay_json(busy_log)
    assert _replay_json(busy_log, key=bytes(16), weak_bits=weak_bits) == expected
    assert _replay_json(busy_log, key=b"\xff" * 16, weak_bits=weak_bits) == expected


def test_the_key_is_random_and_checked() -> None:
    with pytest.raises(ValueError, match="16"):
        _accel.scanner(key=b"short")
    with pytest.raises(ValueError, match="weak_bits"):
        _accel.scanner(weak_bits=64)
    first, second = _accel.scanner(), _accel.scanner()
    assert first is not None
    assert second is not None
    line = next(iter(generate_lines(GeneratorOptions(events=1))))
    # Two scanners hash the same line differently: their keys are fresh.
    assert first.ident(line) != second.ident(line)
    fixed = [_accel.scanner(key=bytes(16)) for _ in range(2)]
    assert fixed[0] is not None
    assert fixed[1] is not None
    assert fixed[0].ident(line) == fixed[1].ident(line)


def test_empty_strings_offered_from_python_are_kept_and_compared() -> None:
    """Python may hand the core empty strings; the first one interned must be safe (F3)."""
    scanner = _accel.scanner(weak_bits=1)
    assert scanner is not None
    for number in range(3):
        values = ("ConnectorProvisioned", "c-1", "", "", "", 0, -1, None, -1, 0)
        scanner.offer(f"e{number}", number, 0, number, 0, number, True, "connector", values)
    retry = ("SyncRetryScheduled", "c-1", "", "", 1, 3, 0, 0)
    scanner.offer("s1", 9, 0, 9, 0, 9, True, "sync", retry)
    assert scanner.settle() == ([], 0)
    assert scanner.start_fold() == 4
    group = scanner.next_group(True, 3, 7)
    assert group is not None
    assert group[:2] == ("partition", "c-1")
    connector = _accel.connector_state("c-1", group[2])
    assert (connector["connector_type"], connector["provider"]) == ("", "")
    sync = _accel.sync_state("c-1", group[3])
    assert sync["deliveries"][0]["delivery_id"] == ""
    assert scanner.next_group(True, 3, 7) is None


@pytest.mark.parametrize("weak_bits", [0, 1])
def test_copies_of_an_item_are_compared_by_reading_the_list_again(weak_bits: int) -> None:
    """A kept item gets its identity only when a copy of its event_id arrives.

    Both are then read again from the list the scanner was given, so the
    records one scanner keeps come from that one list.
    """
    seen: dict[str, dict[str, Any]] = {}
    for line in generate_lines(GeneratorOptions(events=40, connectors=2)):
        event = json.loads(line)
        seen.setdefault(event["event_id"], event)
    items = list(seen.values())[:20]
    items.append(dict(items[3]))  # an identical copy
    items.append({**items[5], "node_id": "elsewhere"})  # a differing copy
    items.append(json.loads(json.dumps(items[7])))  # identical, not the same objects
    scanner = _accel.scanner(weak_bits=weak_bits)
    assert scanner is not None
    assert scanner.scan_objects(items, None, True, 0, 1, 0, 10)[1] == []
    with pytest.raises(ValueError, match="one list"):
        scanner.scan_objects(list(items), None, True, 0, 1, 10, len(items))
    with pytest.raises(ValueError, match="one list"):
        scanner.scan_objects(items, None, True, 0, 2, 10, len(items))
    assert scanner.scan_objects(items, None, True, 0, 1, 10, len(items)) == (len(items), [])
    assert scanner.settle() == ([items[5]["event_id"]], 2)


def test_events_of_two_projects_keep_their_own_project_uuid() -> None:
    """The last project UUID read is remembered; an Event of another project is read anew."""
    from connector_sync_contracts import CONNECTOR_PROVISIONED, Event
    from tests.support.factories import envelope

    other = "0f0e0d0c-0b0a-4908-8706-050403020100"
    first, second = envelope(CONNECTOR_PROVISIONED, seq=1), envelope(CONNECTOR_PROVISIONED, seq=2)
    items = [
        Event.model_validate(first),
        Event.model_validate(second | {"project_uuid": other}),
        Event.model_validate(first),  # identical to the first
        Event.model_validate(second),  # the second event, of the first project
    ]
    scanner = _accel.scanner()
    assert scanner is not None
    assert scanner.scan_objects(items, Event, True, 0, 1, 0, len(items)) == (len(items), [])
    assert scanner.settle() == ([items[1].event_id], 1)


def test_an_events_envelope_is_not_validated_again() -> None:
    """An Event's envelope was validated when it was made: Python takes it as it is.

    The core reads only what a record is made of (event_id, event_type,
    timestamp, lamport_clock, payload); the mapping with the same values is
    still checked field by field, and deferred to the models. Its payload is
    read and checked either way, and copies are still compared in full.
    """
    from connector_sync_contracts import CONNECTOR_PROVISIONED, Event, replay
    from tests.support.engines import engine
    from tests.support.factories import envelope

    raw = envelope(CONNECTOR_PROVISIONED, seq=1)
    made = Event.model_validate(raw)
    # model_construct skips validation: a schema_version no producer may write.
    odd = Event.model_construct(**{**dict(made), "schema_version": "2.x"})
    bad_payload = Event.model_construct(
        **{**dict(made), "payload": {**raw["payload"], "connector_id": 5}}
    )
    bad_id = Event.model_construct(**{**dict(made), "event_id": "not-an-id"})
    items: list[Any] = [odd, {**raw, "schema_version": "2.x"}, bad_payload, bad_id]
    scanner = _accel.scanner()
    assert scanner is not None
    assert scanner.scan_objects(items, Event, False, 0, 1, 0, len(items))[1] == [1, 2, 3]
    with engine("compiled"):
        compiled = replay([odd]).to_json()
    with engine("python"):
        assert replay([odd]).to_json() == compiled
    # A copy that differs in a field the record does not need still conflicts.
    copies = [made, Event.model_validate({**raw, "node_id": "elsewhere"})]
    scanner = _accel.scanner()
    assert scanner is not None
    assert scanner.scan_objects(copies, Event, True, 0, 1, 0, 2) == (2, [])
    assert scanner.settle() == ([made.event_id], 0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("ConnectorProvisioned", "c", "t", "p", "m", 0, 5, None, -1, 0), "out of range"),
        (("ConnectorProvisioned", "c", "t", "p", "m", 0, -1, None, -1, 1 << 20), "out of range"),
        (("NoSuchType", "c", "t", "p", "m", 0, -1, None, -1, 0), "NoSuchType"),
        (("SyncRetryScheduled", "c", "t", "p", "m", 0, -1, None, -1, 0), "SyncRetryScheduled"),
    ],
)
def test_offer_refuses_values_outside_the_spec(values: tuple[Any, ...], message: str) -> None:
    scanner = _accel.scanner()
    assert scanner is not None
    with pytest.raises(ValueError, match=message):
        scanner.offer("e", 0, 0, 0, 0, 0, True, "connector", values)
    with pytest.raises(ValueError, match="event_id"):
        scanner.offer("x" * 37, 0, 0, 0, 0, 0, True, "other", None)
    with pytest.raises(ValueError, match="record kind"):
        scanner.offer("e", 0, 0, 0, 0, 0, True, "mystery", None)


def _spec_with(change: Any) -> dict[str, Any]:
    spec = json.loads(_accel.SPEC_FILE.read_text())
    change(spec)
    assert isinstance(spec, dict)
    return {**spec, **_accel._PYTHON_PARTS}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.update(format=s["format"] + 1), id="format"),
        pytest.param(lambda s: s.pop("event_types"), id="no-event-types"),
        pytest.param(lambda s: s["event_types"][0].update(family="nope"), id="family"),
        pytest.param(lambda s: s["event_types"][0]["fields"][0].update(kind="?"), id="kind"),
        pytest.param(lambda s: s["states"].append(s["states"][0]), id="repeated-state"),
        pytest.param(lambda s: s.update(ulid_alphabet="short"), id="alphabet"),
        # Refused part-way: what was loaded (every type and field before) is freed.
        pytest.param(lambda s: s["event_types"][-1]["fields"][-1].update(kind="?"), id="late"),
        pytest.param(
            lambda s: s["event_types"][-1]["fields"].extend(
                {**s["event_types"][-1]["fields"][-1], "name": f"x{k}"} for k in range(64)
            ),
            id="too-many-fields",
        ),
        pytest.param(
            lambda s: s["event_types"].extend(
                {**s["event_types"][0], "name": f"X{k}"} for k in range(64)
            ),
            id="too-many-types",
        ),
    ],
)
def test_a_spec_the_core_cannot_follow_is_refused(change: Any) -> None:
    native = pytest.importorskip("connector_sync_contracts._engine.native._native")
    with pytest.raises(ValueError, match="compiled-core spec"):
        native.Scanner(_spec_with(change), bytes(16), *_HOOKS)
    with pytest.raises(ValueError, match="compiled-core spec"):
        native.load_spec(_spec_with(change))


def test_a_scanner_takes_the_spec_dict_or_the_loaded_spec_only() -> None:
    """Scanners copy a spec loaded once (``load_spec``) and read alike either way."""
    native = pytest.importorskip("connector_sync_contracts._engine.native._native")
    spec = _accel._spec()
    loaded = native.load_spec(spec)
    for wrong in (object(), [spec], "spec"):
        with pytest.raises(TypeError, match="spec"):
            native.Scanner(wrong, bytes(16), *_HOOKS)
    with pytest.raises(TypeError, match="spec dict"):
        native.load_spec([spec])
    lines = list(generate_lines(GeneratorOptions(events=300, connectors=4, invalid=20, seed=2)))
    block = b"\n".join(lines) + b"\n"
    parsed = native.Scanner(spec, bytes(16), *_HOOKS)
    copies = [native.Scanner(loaded, bytes(16), *_HOOKS) for _ in range(3)]
    del loaded  # each copy owns what it holds
    for copy in copies:
        assert copy.scan(block, False, 1 << 20, False, 0, 1, -1, True) == parsed.scan(
            block, False, 1 << 20, False, 0, 1, -1, True
        )
        assert [copy.probe(line, True, True) for line in lines] == [
            parsed.probe(line, True, True) for line in lines
        ]


def test_fields_with_one_pattern_and_limit_share_one_check() -> None:
    """A value that passed one field's pattern check is not checked again for another.

    A connector's endpoint URL, on each of its lifecycle events, is matched
    once. The check, and its
    bit in the table of checked strings, is shared only by fields whose
    pattern and length limit are both the same.
    """
    native = pytest.importorskip("connector_sync_contracts._engine.native._native")
    from connector_sync_contracts.contract.patterns import cached_check

    made: list[tuple[str, int | None]] = []

    def make_check(pattern: str, max_length: int | None) -> Any:
        made.append((pattern, max_length))
        return cached_check(pattern, max_length)

    spec = {**_accel._spec(), "make_check": make_check}
    native.Scanner(spec, bytes(16), *_HOOKS)
    fields = [
        (field["pattern"], field.get("max_length"))
        for fields in (spec["envelope"], *(t["fields"] for t in spec["event_types"]))
        for field in fields
        if "pattern" in field
    ]
    assert len(fields) > len(set(fields))
    assert sorted(made, key=repr) == sorted(set(fields), key=repr)


def _add_fields(spec: dict[str, Any]) -> None:
    fields = spec["event_types"][0]["fields"]
    for name, kind in (("x_flag", "bool"), ("x_later", "defer")):
        fields.append({"kind": kind, "name": name, "nullable": True, "optional": True, "role": ""})


@pytest.mark.parametrize(
    ("extra", "taken"),
    [
        ({}, True),
        ({"x_flag": True}, True),
        ({"x_flag": False}, True),
        ({"x_flag": None}, True),
        ({"x_flag": "yes"}, False),
        ({"x_flag": 1}, False),
        ({"x_later": None}, True),
        ({"x_later": [1, 2]}, False),
        ({"x_later": "anything"}, False),
    ],
)
def test_bool_and_defer_fields_from_a_newer_model(extra: dict[str, Any], taken: bool) -> None:
    """A bool field is checked in C; a field of a type the core cannot check defers its line."""
    native = pytest.importorskip("connector_sync_contracts._engine.native._native")
    spec = _spec_with(_add_fields)
    scanner = native.Scanner(spec, bytes(16), *_HOOKS)
    event_type = spec["event_types"][0]["name"]
    line = next(
        line
        for line in generate_lines(GeneratorOptions(events=40, connectors=2))
        if json.loads(line)["event_type"] == event_type
    )
    event = json.loads(line)
    event["payload"].update(extra)
    text = json.dumps(event).encode()
    assert (scanner.probe(text, True) is not None) is taken
    assert (scanner.scan_objects([event], None, False, 0, 1, 0, 1)[1] == []) is taken


def test_the_spec_derivation_knows_bool_and_never_fails_on_a_new_type() -> None:
    """Adding an optional field of any type is a model line and ``make regen``."""
    from pydantic import BaseModel, Field

    from connector_sync_contracts._engine.native.spec import field_rule

    class Newer(BaseModel):
        flag: bool | None = Field(default=None)
        tags: list[str] | None = Field(default=None)

    assert field_rule("flag", Newer.model_fields["flag"])["kind"] == "bool"
    tags = field_rule("tags", Newer.model_fields["tags"])
    assert (tags["kind"], tags["optional"], tags["nullable"]) == ("defer", True, True)


@needs_native
@pytest.mark.parametrize("url_length", [200, 300, 600, 1_500])
@pytest.mark.parametrize("payload_first", [False, True])
def test_an_escaped_string_survives_a_longer_escaped_string_after_it(
    url_length: int, payload_first: bool
) -> None:
    """Strings decoded early in a line stay intact however long the later ones are.

    Every decoded string of a line lives in one scratch buffer; if a long escaped
    string made that buffer move, an earlier one (here ``acme\\/api#42``) would be
    read from freed memory. A fresh scanner starts with the smallest buffer. A
    payload written before its event_type is decoded twice: skipped, then read.
    """
    url = "https://hooks.example.com/" + "p/" * (url_length // 2)
    event: dict[str, Any] = {
        "event_id": "ffffffff-ffff-ffff-ffff-fffffffffffe",
        "event_type": "ExternalReferenceLinked",
        "aggregate_id": "conn-github-1",
        "payload": {
            "link_id": "link-0001",
            "connector_id": "conn-github-1",
            "external_provider": "github",
            "external_ref_type": "pull_request",
            "external_ref_id": "acme/api#42",
            "external_ref_url": url,
            "internal_aggregate_type": "work_package",
            "internal_aggregate_id": "WP01",
            "mission_id": "mission-042",
            "linked_by": "svc-linker",
            "recorded_at": "2026-11-25T14:46:51Z",
        },
        "timestamp": "2024-07-05T17:38:22.123-14:00",
        "node_id": "node-a",
        "lamport_clock": 315768772,
        "project_uuid": "0b5c3f5e-6d0a-4c56-9a53-2f7e4f1c9d10",
        "correlation_id": "00000000000000000000000000c15459",
    }
    if payload_first:
        event = {"payload": event.pop("payload"), **event}
    line = json.dumps(event).replace("/", "\\/").encode()
    for _ in range(3):
        scanner = _accel.scanner()
        assert scanner is not None
        probed = scanner.probe(line, False)
        assert probed is not None
        kind, (link, _) = probed[3:]
        assert kind == "link"
        assert link.external_ref_id == "acme/api#42"
        assert link.external_ref_url == url
