"""The compiled router and the Python router route every JSON line alike.

A partitioned replay routes with the compiled core when it is built
(``route.c``) and with msgspec otherwise, and the two may meet in one
replay (a cluster whose workers were installed differently). They must give
every line that is JSON, with no repeated key, the same partition and the
same check keys. Lines that are not JSON may land anywhere: they are no
event, and are reported from whichever partition holds them; but every line
is routed exactly once, and none is lost, by either router.

The lines come from Hypothesis: envelopes and CloudEvents with the members
routing reads present, missing, of another type, escaped (``\\u`` and
``\\/``), non-ASCII, in any order, with unknown members (some named like
the ones routing reads, nested deeper), and event ids of every spelling.
"""

from __future__ import annotations

import json
from array import array
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine.native import block_router
from connector_sync_contracts.contract.catalog import EVENT_FAMILIES
from connector_sync_contracts.interop.cloudevents import build_type
from connector_sync_contracts.scale.routing import TOO_LONG, Router
from tests.support.factories import ulid
from tests.support.soak import examples

pytestmark = pytest.mark.skipif(block_router() is None, reason="the compiled core is not built")

PARTITIONS = 7
BUCKETS = 4
LIMIT = 2000

_TYPES = sorted(EVENT_FAMILIES)
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12
) | st.sampled_from(["", "github", "jira-00042", "héllo", "a/b", 'q"uote', "back\\slash"])
_ids = (
    st.integers(0, 2**80).map(ulid)
    | st.uuids().map(str)
    | st.uuids().map(lambda u: str(u).upper())
    | st.sampled_from(["", "-", "--", "0", "z" * 40, "01H-X", "a_b", "+12", " 12", "١٢"])
    | _text
)
_scalar = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
_value = st.recursive(
    _scalar | _text,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["connector_id", "payload", "x", "event_type"]), inner, max_size=3
        )
    ),
    max_leaves=6,
)
_member = _text | _value


_names = st.sampled_from(
    ["c-1", "c-2", "gh-7", "github", "pr", "acme/api#42", "ümlaut", 'q"x', "a\\b"]
)


@st.composite
def _line_object(draw: st.DrawFn, cloudevents: bool) -> dict[str, Any]:
    """An envelope or CloudEvent: well formed for routing half the time, anything else otherwise."""
    identity, kind, top = (
        ("id", "type", "data") if cloudevents else ("event_id", "event_type", "payload")
    )
    usual = draw(st.booleans())
    event_type = draw(st.sampled_from(_TYPES) if usual else st.sampled_from(_TYPES) | _text)
    payload: dict[str, Any] = {}
    for name in (
        "connector_id",
        "external_provider",
        "external_ref_type",
        "external_ref_id",
        "link_id",
    ):
        if usual or draw(st.integers(0, 4)):
            payload[name] = draw(_names if usual else _text | _names | _value)
    extra = st.lists(st.sampled_from(["extra", "nested", "count"]), max_size=2, unique=True)
    for name in draw(extra):
        payload[name] = draw(_value)
    members: dict[str, Any] = {
        identity: draw(
            st.integers(0, 2**80).map(ulid) | st.uuids().map(str) if usual else _ids | _value
        ),
        kind: build_type(event_type) if cloudevents and draw(st.booleans()) else event_type,
        top: payload if usual or draw(st.integers(0, 6)) else draw(_value),
    }
    others = st.lists(
        st.sampled_from(["timestamp", "unknown", "aggregate_id"]), max_size=3, unique=True
    )
    for name in draw(others):
        members[name] = draw(_member)
    for name in [identity, kind, top]:
        if not usual and not draw(st.integers(0, 12)):
            del members[name]
    order = draw(st.permutations(list(members)))
    return {name: members[name] for name in order}


def _escape_key(text: str, name: str) -> str:
    """``text`` with the key ``name`` written with one ``\\u`` escape (read alike by JSON)."""
    return text.replace(f'"{name}":', f'"\\u{ord(name[0]):04x}{name[1:]}":', 1)


@st.composite
def _lines(draw: st.DrawFn, cloudevents: bool) -> list[bytes]:
    lines = []
    for obj in draw(st.lists(_line_object(cloudevents), min_size=1, max_size=6)):
        text = json.dumps(
            obj,
            ensure_ascii=draw(st.booleans()),
            separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
        )
        if draw(st.booleans()):
            text = text.replace("/", "\\/")
        if draw(st.integers(0, 5)) == 0:
            text = _escape_key(
                text, draw(st.sampled_from(["payload", "data", "connector_id", "event_type"]))
            )
        if draw(st.integers(0, 8)) == 0:
            text = " " + text + " \r"
        line = text.encode("utf-8", "surrogatepass")
        if draw(st.integers(0, 10)) == 0:
            cut = draw(st.integers(0, len(line)))
            line = line[:cut] + draw(st.sampled_from([b"", b"}", b"\xff", b',"event_type":"x"}']))
        lines.append(line)
    return lines


def _delivering(
    *,
    compiled: bool,
    cloudevents: bool = False,
    stage_bytes: int = 256 * 1024,
    into: list[bytearray] | None = None,
) -> tuple[Router, list[bytearray]]:
    """A router of the test's shape whose sink appends partition p's lines to ``delivered[p]``.

    ``delivered`` is ``into`` when given (several routers filling one list), else a new list.
    """
    delivered = into if into is not None else [bytearray() for _ in range(PARTITIONS)]

    def sink(p: int, data: memoryview) -> None:
        delivered[p].extend(data)

    router = Router(
        PARTITIONS,
        BUCKETS,
        sink=sink,
        cloudevents=cloudevents,
        max_line_bytes=LIMIT,
        stage_bytes=stage_bytes,
        compiled=compiled,
    )
    return router, delivered


def _is_json_without_repeats(line: bytes) -> bool:
    """What the Python router reads as JSON (msgspec), with no key repeated anywhere."""
    try:
        msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec raises either on bad UTF-8
        return False

    def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("repeated key")
        return dict(pairs)

    try:
        json.loads(line, object_pairs_hook=no_repeats)
    except ValueError:
        return False
    return True


def _route(
    lines: list[bytes], *, compiled: bool, cloudevents: bool
) -> tuple[list[int], list[list[int]], bytes]:
    """Each line's partition and check values, and every delivered byte by partition."""
    delivered = [bytearray() for _ in range(PARTITIONS)]
    routing: list[int] = []
    values: list[list[int]] = []
    for line in lines:
        router, _ = _delivering(
            compiled=compiled, cloudevents=cloudevents, stage_bytes=64, into=delivered
        )
        router.route_block(line + b"\n")
        routed = router.take()
        assert len(routed.routing) == 1
        routing.append(routed.routing[0])
        found = array("Q")
        for bucket in routed.ids:
            found.frombytes(bytes(bucket))
        values.append(sorted(found))
    return routing, values, b"|".join(map(bytes, delivered))


@settings(max_examples=examples(300, 20000), deadline=None)
@given(data=st.data(), cloudevents=st.booleans())
def test_the_compiled_and_python_routers_route_every_json_line_alike(
    data: st.DataObject, cloudevents: bool
) -> None:
    lines = data.draw(_lines(cloudevents))
    compiled = _route(lines, compiled=True, cloudevents=cloudevents)
    python = _route(lines, compiled=False, cloudevents=cloudevents)
    for at, line in enumerate(lines):
        if _is_json_without_repeats(line):
            assert (compiled[0][at], compiled[1][at]) == (python[0][at], python[1][at]), line


@settings(max_examples=examples(100, 5000), deadline=None)
@given(data=st.data(), cloudevents=st.booleans(), stage=st.integers(1, 900))
def test_every_line_is_routed_once_and_delivered_whole(
    data: st.DataObject, cloudevents: bool, stage: int
) -> None:
    at_limit = b"{}" + b" " * (LIMIT - 2) + b"\r"  # the \r is not counted
    lines = [*data.draw(_lines(cloudevents)), b"", b"x" * (LIMIT + 1), at_limit]
    for compiled in (True, False):
        router, delivered = _delivering(
            compiled=compiled, cloudevents=cloudevents, stage_bytes=stage
        )
        block = b"\n".join(lines)  # the last line without its newline
        assert router.route_block(block) == len(lines)
        routed = router.take()
        assert len(routed.routing) == len(lines)
        kept = [line for line, p in zip(lines, routed.routing, strict=True) if p != TOO_LONG]
        assert routed.routing.count(TOO_LONG) == 1  # the line over the limit, not the \r one
        for p in range(PARTITIONS):
            mine = [line for line, q in zip(lines, routed.routing, strict=True) if q == p]
            assert bytes(delivered[p]) == b"".join(line + b"\n" for line in mine)
        assert routed.line_bytes == sum(len(line) + 1 for line in kept)


@pytest.mark.parametrize(
    "line",
    [
        # the event id after the payload (producers that sort or shuffle members)
        b'{"event_type":"ConnectorDegraded","payload":{"connector_id":"gh-7","x":1},'
        b'"event_id":"01KJKBJ3YXSKQJYHJJ10F2ATR3"}',
        b'{"payload":{"connector_id":"gh-7"},"event_id":"01KJKBJ3YXSKQJYHJJ10F2ATR3",'
        b'"event_type":"ConnectorDegraded"}',
        # routing members with escapes: \u (a surrogate pair too), \/ and \"
        b'{"event_id":"01KJKBJ3YXSKQJYHJJ10F2ATR3","event_type":"ConnectorDegraded",'
        b'"payload":{"connector_id":"slack-0251-\\ud83d\\ude80\\u00e9\\/\\"q"}}',
        b'{"event_id":"01KJKBJ3YXSKQJYHJJ10F2ATR3","event_type":"ExternalReferenceLinked",'
        b'"payload":{"external_provider":"git\\u0068ub","external_ref_type":"pull\\/request",'
        b'"external_ref_id":"acme\\/api#\\u00e9","link_id":"lnk-1"}}',
        b'{"payload":{"external_ref_id":"\\ud83d\\ude80","external_provider":"p",'
        b'"external_ref_type":"t"},"event_type":"ExternalReferenceLinked","event_id":"01H"}',
    ],
)
def test_the_compiled_router_decides_usual_producer_lines_itself(
    line: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A line the compiled router leaves to Python costs a Python call: lines
    # that real producers write (members in any order, escapes in the routing
    # members) are decided in C, as the Python router decides them.
    router, _ = _delivering(compiled=True)
    left: list[bytes] = []
    python_route = router.slow_route

    def counted(found: bytes) -> tuple[int, list[int]]:
        left.append(found)
        return python_route(found)

    monkeypatch.setattr(router, "slow_route", counted)
    router.route_block(line + b"\n")
    assert left == []
    assert (
        _route([line], compiled=True, cloudevents=False)[:2]
        == _route([line], compiled=False, cloudevents=False)[:2]
    )


def test_a_router_that_freed_its_stage_delivers_every_line_and_routes_again() -> None:
    # A spilled replay frees the staging buffer once routing ends (it is not needed
    # while the groups fold); the lines staged are delivered first, and a router
    # asked to route again stages anew.
    first = [b'{"event_id":"01H1","event_type":"ConnectorDegraded","payload":{"connector_id":"a"}}']
    later = [b'{"event_id":"01H2","event_type":"ConnectorDegraded","payload":{"connector_id":"b"}}']
    router, delivered = _delivering(compiled=True)
    router.route_block(b"\n".join(first) + b"\n")
    router.done_routing()
    assert sorted(b"".join(map(bytes, delivered)).splitlines()) == first
    router.route_block(b"\n".join(later) + b"\n")
    router.take()
    assert sorted(b"".join(map(bytes, delivered)).splitlines()) == sorted(first + later)


def test_lines_with_a_repeated_member_or_bad_utf8_are_routed_without_loss() -> None:
    lines = [
        # invalid UTF-8 after escapes: msgspec raises UnicodeDecodeError, not DecodeError
        b' {"type":"x","timestamp":"00\\"\\u001f\\u001f\xc2,"event_type":"x"}',
        b'{"event_id":"01H","event_type":"ConnectorProvisioned","event_type":"SyncDeadLettered",'
        b'"payload":{"connector_id":"a"}}',
        b'{"event_id":"01H","event_type":"ConnectorProvisioned","payload":{"connector_id":"a",'
        b'"connector_id":"b"}}',
        b'{"event_id":"01H","payload":{"connector_id":"a"},"payload":{"connector_id":"b"}}',
    ]
    for compiled in (True, False):
        router, delivered = _delivering(compiled=compiled)
        assert router.route_block(b"\n".join(lines)) == len(lines)
        router.take()
        assert sorted(b"".join(map(bytes, delivered)).splitlines()) == sorted(lines)


@settings(max_examples=examples(200, 10000), deadline=None)
@given(data=st.data(), cloudevents=st.booleans())
def test_check_keys_reads_again_the_keys_routing_kept(
    data: st.DataObject, cloudevents: bool
) -> None:
    # The spilling replay reads a partition's check keys again to find the copies of a
    # tied event_id (``untangle``): a key read otherwise would leave the copies unfound.
    lines = data.draw(_lines(cloudevents))
    routing, values, _ = _route(lines, compiled=False, cloudevents=cloudevents)
    router, _ = _delivering(compiled=False, cloudevents=cloudevents)
    ids, links = router.check_keys([line + b"\n" for line in lines])
    read = list(zip(ids, links, strict=True))
    assert read == [router.line_keys(line) for line in lines]
    for line, partition, kept, keys in zip(lines, routing, values, read, strict=True):
        if partition != TOO_LONG:
            expected = sorted(key << 16 | partition for key in keys if key is not None)
            assert kept == expected, line


@settings(max_examples=examples(200, 10000), deadline=None)
@given(data=st.data(), cloudevents=st.booleans(), final_newline=st.booleans())
def test_keyed_lines_finds_in_c_the_lines_python_finds(
    data: st.DataObject, cloudevents: bool, final_newline: bool
) -> None:
    # ``untangle`` reads tied partitions again for the lines of a few check keys:
    # the compiled core passes over a line it reads without a wanted key. Every
    # line with a wanted key must still be found, with its place and its keys.
    lines = data.draw(_lines(cloudevents))
    # The last line without its newline, unless that would leave it out (empty).
    block = b"\n".join(lines) + (b"\n" if final_newline or not lines[-1] else b"")
    compiled, _ = _delivering(compiled=True, cloudevents=cloudevents)
    python, _ = _delivering(compiled=False, cloudevents=cloudevents)
    keys = [key for line in lines for key in python.line_keys(line) if key is not None]
    wanted = set(data.draw(st.lists(st.sampled_from(keys), max_size=3))) if keys else set()
    wanted |= data.draw(st.sets(st.integers(0, 2**48 - 1), max_size=2))
    found = compiled.keyed_lines(block, wanted)
    assert found == python.keyed_lines(block, wanted)
    count, keyed = found
    assert count == len(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    expected = []
    for at, line in enumerate(lines):
        key, link = python.line_keys(line)
        if key in wanted or link in wanted:
            raw = block[starts[at] : starts[at + 1]]
            expected.append((at, starts[at], raw, key, link))
    assert keyed == expected


def test_keyed_lines_refuses_a_torn_key_list() -> None:
    from connector_sync_contracts._engine.native import lines_keyed

    native = lines_keyed()
    assert native is not None
    router, _ = _delivering(compiled=True, cloudevents=False)
    with pytest.raises(ValueError, match="64-bit"):
        native(b"{}\n", router._names, router._routes.types, b"\x00" * 12)
