"""The optional compiled core (``csc.h`` and its ``.c`` files), configured by the contract.

``_native`` knows no event type, field, state or outcome by name. Its spec is
derived by ``spec`` from the pydantic models and the tables in ``contract``
and committed as ``spec.json`` (kept current by ``make schema-check``): this
module loads it, so the command line starts without importing pydantic.

The extension is optional: when it was not built (no C compiler where the
package was installed) or ``CONNECTOR_SYNC_PURE_PYTHON=1`` is set,
``scanner()`` returns ``None`` and every entry point uses the pure-Python
engine, which gives the same results more slowly.

This module also turns what the compiled fold reports into the plain data of
``ReducedConnectorState`` and ``ReducedSyncState`` (``connector_state``,
``sync_state``), and a reducer fact into what ``Scanner.offer`` takes
(``record_values``).
"""

from __future__ import annotations

import functools
import gc
import operator
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol, overload

import orjson

from ...contract.canonical import line_canonical_json
from ...contract.catalog import RECIPES, SYNC_OUTCOMES, Family
from ...contract.lifecycle import ConnectorState, HealthStatus, SyncOutcome
from ...contract.patterns import URL_PATTERN, cached_check
from ...reducing.anomalies import SHARED_MESSAGE_KINDS, from_native
from ...reducing.facts import (
    EPOCH,
    MICROSECOND,
    ConnectorFact,
    Fact,
    LinkFact,
    MalformedFact,
    SyncFact,
    fact_from_roles,
    fact_from_values,
)
from ...reducing.steps import DELIVERY_FIELDS

try:  # pragma: no cover - depends on how the package was installed
    from . import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _native = None

__all__ = [
    "PURE_PYTHON_ENV",
    "SPEC_FILE",
    "BlockRouter",
    "CloudEventsPlan",
    "Scanner",
    "anomaly_listing",
    "block_router",
    "byte_positions",
    "copy_taken_whole",
    "key_ties",
    "lines_keyed",
    "lines_naming",
    "model_maker",
    "connector_state",
    "engine",
    "in_use",
    "instant_us",
    "no_gc",
    "record_values",
    "rule_codes",
    "scanner",
    "sync_state",
    "taken_order",
    "type_at",
    "unchecked_record",
    "url_check",
]

PURE_PYTHON_ENV: Final = "CONNECTOR_SYNC_PURE_PYTHON"
"""Set to ``1`` to use the pure-Python engine even when the extension is built."""

SPEC_FILE: Final = Path(__file__).with_name("spec.json")
"""The compiled core's spec, derived from the models by ``spec`` and committed."""

_STATES: Final = tuple(ConnectorState)
_HEALTH: Final = tuple(HealthStatus)
_OUTCOME_VALUES: Final = tuple(outcome.value for outcome in SyncOutcome)
"""The outcomes' values in the core's order (``.value`` of an enum member is a property call)."""
_FAMILIES: Final = (Family.CONNECTOR, Family.SYNC, Family.LINK)
_SYNC_TYPES: Final = {outcome: event_type for event_type, outcome in SYNC_OUTCOMES.items()}


CloudEventsPlan = tuple[tuple[bytes, str, bool, tuple[bytes, ...], tuple[bytes, ...]], ...]
"""What ``Scanner.map_cloudevents`` maps by: one row (attribute, kind, required,
envelope fields, constants) per attribute (``interop/cloudevents.py``)."""


class Scanner(Protocol):
    """The compiled scanner's interface (see ``module.c``)."""

    @overload
    def scan(
        self,
        block: bytes | memoryview,
        keep: bool,
        limit: int,
        strict: bool,
        source: int,
        first_line: int,
        offset: int = -1,
        reports: Literal[False] = False,
        /,
    ) -> tuple[int, list[tuple[int, int, int]]]: ...

    @overload
    def scan(
        self,
        block: bytes | memoryview,
        keep: bool,
        limit: int,
        strict: bool,
        source: int,
        first_line: int,
        offset: int,
        reports: Literal[True],
        /,
    ) -> tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
        """Check a block of whole lines; return the line count and the deferred lines.

        ``offset``: where the block starts in the file registered with
        ``reread_from`` for ``source`` (or -1): kept lines then get their
        identity only when a copy of their event_id arrives. ``reports``:
        a valid envelope of an unknown event type and a valid event that
        breaks semantic rules are taken (kept, when ``keep``) rather than
        deferred, and listed apart as ``(index, start, end, code)`` for
        ``reports.reported_problems``.
        """

    def map_cloudevents(
        self, block: bytes | memoryview, limit: int, plan: CloudEventsPlan, /
    ) -> tuple[int, bytes, list[tuple[int, int, int, int]]]:
        """Map the structured CloudEvents of a block of whole lines to envelope lines.

        Returns the line count, the envelope lines (each ended by ``\\n``)
        and the declined lines as ``(index, start, end, at)``: the line's
        place in the block, and where its envelope line belongs in the
        mapped bytes. A declined line is mapped by Python, which explains
        what is wrong with it; ``plan`` is ``interop._attributes.compiled_plan()``.
        """

    def reread_from(self, source: int, how: int | Callable[[int, int], bytes | None], /) -> bool:
        """Read kept lines of ``source`` again from the file descriptor ``how`` (open
        until ``settle()``), or with ``how(offset, length)`` for lines held in memory;
        -1: never. False where lines cannot be read again."""

    def rereads(self) -> tuple[int, ...]:
        """How many lines of each source were read again."""

    def scan_objects(
        self,
        items: list[Any],
        event_type: type | None,
        keep: bool,
        source: int,
        first: int,
        start: int,
        stop: int,
        /,
    ) -> tuple[int, list[int]]:
        """Check ``items[start:stop]`` like lines; return ``stop`` and the deferred indexes.

        Item ``i`` is line ``first + i``. Kept records are compared with
        their copies by reading ``items`` again, so one scanner keeps records
        from one list, which must not change until ``settle()``.
        """

    def probe(
        self, line: bytes, strict: bool, reports: bool = False, /
    ) -> tuple[str, int, int, str, Any] | None:
        """(event_id, lamport, instant_us, kind, values) of an accepted line, or None.

        ``reports``: a line ``scan(..., reports=True)`` keeps and reports (an
        event type with no model, a broken semantic rule) is taken too."""

    def probe_object(
        self, item: object, event_type: type | None, reports: bool = True, /
    ) -> tuple[str, int, int, str, Any] | None:
        """``probe(line, False, reports)`` of one mapping or ``event_type``
        instance, read as ``scan_objects`` reads it (which keeps what
        ``reports`` takes): None when it is deferred, as is an item given while
        another is read (from Python code the reading runs, such as a tzinfo's
        ``utcoffset``)."""

    def ident(self, line: bytes, /) -> int:
        """The keyed hash identical copies of a line share.

        Copies written with their members in another order at any depth,
        other white space, strings escaped otherwise (``\\u00e9`` or the
        character, ``\\/`` or ``/``) or the event_id spelled otherwise share it
        too (they have one canonical JSON); numbers count as written.
        """

    def offer(
        self,
        event_id: str,
        lamport: int,
        instant_us: int,
        ident: int,
        source: int,
        line: int,
        dedup: bool,
        kind: str,
        values: Any,
        /,
    ) -> None:
        """Keep a record built by Python."""

    def reserve(self, events: int, /) -> None:
        """Size the dedup table for about ``events`` records at once (bounded)."""

    def settle(self) -> tuple[list[str], int]:
        """Event ids with differing copies (removed) and identical copies dropped."""

    def copy_places(self) -> dict[str, tuple[tuple[int, int, int, int], ...]] | None:
        """Where the copies of each event id ``settle`` returned were read, as
        ((source, line, offset, length), ...) (offset and length -1 when not
        known); once, None before ``settle``."""

    def start_fold(self, place: bool = False, /) -> int:
        """Group records by partition; return the number of records kept.

        ``place``: note where the event of each anomaly folded is (``fold_places``).
        """

    def fold_places(self) -> tuple[dict[object, tuple[int, int]], bool]:
        """{event_id: (source, line)} of the events of the anomalies folded since
        ``start_fold(True)``, where known: the first line of the event_id, as
        ``locate`` finds it; and whether every one's was known. Handed over
        once (then ``({}, False)``)."""

    def locate(self, event_ids: list[str], /) -> dict[str, tuple[int, int]]:
        """{event_id: (source, line)} for the kept records of those ids whose place is known."""

    def next_group(
        self,
        keep_logs: bool,
        max_cycles: int,
        families: int,
        delivery_model: Any = None,
        link_indent: int = -1,
        /,
    ) -> tuple[Any, ...] | None:
        """The next folded group, or None at the end.

        ``("partition", connector_id, connector part, sync part, ignored)``,
        or last ``("stream", ignored, stream anomalies, links)``: links is
        None when ``families`` leaves the link family out, else (each link's
        data in key order, the reverse index as (aggregate type, aggregate
        id, keys), the link anomalies). Each anomaly is the dict ``from_native``
        makes of ``(kind, event_id, *parameters)``. A sync part's deliveries are a list
        of dicts, or with ``delivery_model`` a tuple of that model's
        instances made from them. With ``link_indent >= 0`` the links' data
        and the reverse index are instead each the text ``canonical_dumps``
        writes for it as a value on a line indented by ``link_indent``
        spaces (``LINK_INDEX_INDENT``): no object is made per link. The
        text is a read-only buffer (``memoryview`` reads it), not a copy.
        """


class BlockRouter(Protocol):
    """The compiled router of a partitioned replay (``route.c``; see ``scale/routing.py``)."""

    def __call__(
        self,
        block: bytes | memoryview,
        partitions: int,
        spaces: tuple[int, int, int],
        shift: int,
        max_line_bytes: int,
        names: tuple[bytes, ...],
        types: dict[bytes, int],
        slow: Any,
        stage: bytearray,
        fill: Any,
        flush: Any,
        routing: bytearray,
        ids: list[bytearray],
        /,
    ) -> tuple[int, int]:
        """Route a block's lines through ``stage`` to ``flush``, into ``routing`` and ``ids``.

        Returns (lines, line bytes).
        """


def in_use() -> bool:
    """Whether the compiled core is built and not switched off (``PURE_PYTHON_ENV``)."""
    return _native is not None and os.environ.get(PURE_PYTHON_ENV) != "1"


def block_router() -> BlockRouter | None:
    """The compiled block router, or None when the extension is unavailable or switched off."""
    if not in_use():
        return None
    made: BlockRouter = _native.route_block
    return made


def _compiled(name: str) -> Any:
    """The extension's function ``name``, or None when it is unavailable or switched off."""
    if not in_use():
        return None
    return getattr(_native, name)


def model_maker() -> Any:
    """The compiled ``instances(cls, dicts)`` (result models made without validation), or None."""
    return _compiled("instances")


def anomaly_listing() -> Any:
    """The compiled ``located_lines`` (cli/render.py's ``replay_located_lines``), or None."""
    return _compiled("located_lines")


def key_ties() -> Any:
    """The compiled ``key_ties`` (packed check values -> tied partitions), or None."""
    return _compiled("key_ties")


def byte_positions() -> Any:
    """The compiled ``byte_positions`` (where the k-th occurrences of a byte are), or None."""
    return _compiled("byte_positions")


def lines_keyed() -> Any:
    """The compiled ``lines_keyed`` (lines that may hold a wanted check key), or None."""
    return _compiled("lines_keyed")


def lines_naming() -> Any:
    """The compiled ``lines_naming`` (``may_name`` of scale/_engine_calls.py per line), or None."""
    return _compiled("lines_naming")


@functools.cache
def _spec() -> dict[str, Any]:
    """The committed spec as JSON data, read once per process."""
    spec: dict[str, Any] = orjson.loads(SPEC_FILE.read_bytes())
    spec.update(_PYTHON_PARTS)
    return spec


@functools.cache
def _loaded_spec() -> object:
    """The spec loaded by the core once per process (``load_spec``): each new
    scanner copies it, in microseconds, instead of parsing ``_spec()``."""
    return _native.load_spec(_spec())


def url_check() -> Callable[[str], str | None] | None:
    """The compiled check of ``URL_PATTERN`` (the pattern only), or None when not built.

    It returns its argument when the whole string matches, else None.
    """
    if _native is None:
        return None
    check: Callable[[str], str | None] = _native.url_check
    return check


def _make_check(pattern: str, max_length: int | None) -> Callable[[str], str | None]:
    """The check the core runs on a field's strings with this pattern.

    URL_PATTERN gets the compiled ``url_check``, which the core runs without
    a call (its length limit the core checks before any pattern); every
    other pattern a ``cached_check``.
    """
    compiled = url_check()
    if pattern == URL_PATTERN and compiled is not None:
        return compiled
    return cached_check(pattern, max_length)


_PYTHON_PARTS: Final[dict[str, Any]] = {
    "make_check": _make_check,
    # The core hands these members out in results (logs, states), and the
    # plain names in anomaly parameters.
    "state_members": list(ConnectorState),
    "outcome_members": list(SyncOutcome),
    # The keys of each delivery's dict, which the core makes in this order.
    "delivery_fields": list(DELIVERY_FIELDS),
}
"""What the spec holds beyond its JSON: Python objects the core uses as they are."""


@functools.cache
def _type_spec(event_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(field names, semantic rule codes) of an event type, in the spec's order."""
    found = next(t for t in _spec()["event_types"] if t["name"] == event_type)
    return (
        tuple(f["name"] for f in found["fields"]),
        tuple(r["code"] for r in found["rules"]),
    )


def rule_codes(event_type: str) -> tuple[str, ...]:
    """The semantic rule codes of an event type in the core's order (bit k: the k-th)."""
    return _type_spec(event_type)[1]


@functools.cache
def type_at(index: int) -> str:
    """The name of the spec's event type at ``index`` (the core's own numbering)."""
    return str(_spec()["event_types"][index]["name"])


_LINK_ATTRS: Final = LinkFact.__struct_fields__[1:]
"""``LinkFact``'s attributes after event_id, in its positional order."""
_LINK_TIME: Final = _LINK_ATTRS.index("recorded_at")


@functools.cache
def _link_layout(event_type: str) -> Any:
    """Picks ``LinkFact``'s attributes, in order, out of the core's values of an event type.

    Derived from the catalogue's roles exactly as ``fact_from_values`` reads
    them; None when they do not give every attribute (``fact_from_values``
    then decides, and raises as it would).
    """
    recipe = RECIPES[event_type]
    names = _type_spec(event_type)[0]
    where = {recipe.roles[name]: i for i, name in enumerate(names) if name in recipe.roles}
    if set(where) != set(_LINK_ATTRS):
        return None
    return operator.itemgetter(*(where[attr] for attr in _LINK_ATTRS))


def _link_fact(event_id: str, event_type: str, values: tuple[Any, ...]) -> LinkFact:
    """The link fact of a valid event from the core's values (the time in microseconds)."""
    layout = _link_layout(event_type)
    if layout is not None:
        row = layout(values)
        at = EPOCH + row[_LINK_TIME] * MICROSECOND
        # Positional, in _LINK_ATTRS's order (mypy cannot count starred rows).
        return LinkFact(event_id, *row[:_LINK_TIME], at, *row[_LINK_TIME + 1 :])  # type: ignore[call-arg]
    named = dict(zip(_type_spec(event_type)[0], values, strict=True))
    named["recorded_at"] = EPOCH + named["recorded_at"] * MICROSECOND
    fact = fact_from_values(RECIPES[event_type], event_id, named, ())
    assert isinstance(fact, LinkFact)
    return fact


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored after).

    A replay allocates many acyclic objects (facts, results); collections
    triggered by their count only cost time. Reference counting still frees
    everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def engine() -> str:
    """Which engine ``validate``/``replay`` use, in words (shown by ``--version``)."""
    if _native is None:
        return "pure Python (the compiled core was not built)"
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return f"pure Python ({PURE_PYTHON_ENV}=1)"
    return "compiled core"


def scanner(*, key: bytes | None = None, weak_bits: int = 0) -> Scanner | None:
    """A new compiled scanner, or None when the extension is unavailable or switched off.

    Its tables are keyed with ``key`` (16 bytes; a fresh random one by
    default, so nobody can choose keys that collide). ``weak_bits`` keeps only
    that many bits of every hash: tests use it so that different keys
    collide all the time and the code that tells them apart runs.
    """
    if not in_use():
        return None
    made: Scanner = _native.Scanner(
        _loaded_spec(),
        key if key is not None else os.urandom(16),
        _link_fact,
        from_native,
        SHARED_MESSAGE_KINDS,
        weak_bits,
    )
    return made


_SHARED_READS: Final = 1 << 17
"""Items a thread's shared scanner reads before a fresh one replaces it: a
scanner keeps the strings of the records it made, so its memory stays bounded."""

_threads = threading.local()


def shared_scanner() -> Scanner | None:
    """This thread's scanner for reading one item at a time (``validate_event``,
    ``Projection.apply``), or None when the core is not built or switched off.

    Made once a thread (a new scanner costs ~13 µs, more than a check of a valid
    event, which a short-lived ``Projection`` or a single check would pay each
    time; a scan holds its scanner's scratch space, so threads do not share
    one), and replaced after ``_SHARED_READS`` reads.
    """
    if not in_use():
        return None
    reads = getattr(_threads, "reads", _SHARED_READS)
    if reads >= _SHARED_READS:
        _threads.scanner = scanner()
        reads = 0
    _threads.reads = reads + 1
    found: Scanner | None = _threads.scanner
    return found


def copy_taken_whole(
    scanner: Scanner, raw: bytes, *, canonical: bool = False
) -> tuple[str, int, int, bytes, Any] | None:
    """One copy of an event as the core takes it whole, to settle copies without the
    models: (event_id, lamport, instant_us, canonical JSON, (kind, values)); None
    when the core does not take it (the models decide it).

    Such a copy's payload is valid (or of an event type with no model, or
    breaking a semantic rule, as the core's reports keep them), and its
    canonical JSON is written from its object (``line_canonical_json``), or
    is ``raw`` itself when ``canonical`` says it is canonical JSON already.
    """
    took = scanner.probe(raw, False, True)
    if took is None:
        return None
    eid, lamport, instant, kind, values = took
    text = raw if canonical else line_canonical_json(orjson.loads(raw), eid, instant)
    return eid, lamport, instant, text, (kind, values)


def unchecked_record(kind: str) -> bool:
    """``reducing.fold.unchecked`` of the fact a record of this kind stands for
    (``record_values``): of an event type with no payload model, or malformed."""
    return kind in ("other", "malformed")


def record_values(fact: Fact | None) -> tuple[str, Any]:
    """What ``Scanner.offer`` takes for a fact Python decided: (kind, values)."""
    if fact is None:
        return "other", None
    if isinstance(fact, MalformedFact):
        return "malformed", (fact, _FAMILIES.index(fact.family), fact.connector_id)
    if isinstance(fact, LinkFact):
        return "link", (fact, instant_us(fact.recorded_at))
    event_type = fact.event_type if isinstance(fact, ConnectorFact) else _SYNC_TYPES[fact.outcome]
    rules = _type_spec(event_type)[1]
    broken = sum(1 << rules.index(code) for code in fact.broken_rules)
    if isinstance(fact, ConnectorFact):
        return "connector", (
            event_type,
            fact.connector_id,
            fact.connector_type,
            fact.provider,
            fact.mission_id,
            instant_us(fact.recorded_at),
            _HEALTH.index(fact.health_status) if fact.health_status is not None else -1,
            float(fact.latency_ms) if fact.latency_ms is not None else None,
            _STATES.index(fact.previous_state) if fact.previous_state is not None else -1,
            broken,
        )
    assert isinstance(fact, SyncFact)
    return "sync", (
        event_type,
        fact.connector_id,
        fact.delivery_id,
        fact.fingerprint,
        fact.retry_attempt,
        fact.max_retries,
        fact.ingested_count or fact.replayed_count,
        broken,
    )


_RECORD_ROLES: Final = {
    "connector": (
        None,
        "connector_id",
        "connector_type",
        "provider",
        "mission_id",
        "recorded_at",
        "health_status",
        "latency_ms",
        "previous_state",
        None,
    ),
    "sync": (
        None,
        "connector_id",
        "delivery_id",
        "fingerprint",
        "retry_attempt",
        "max_retries",
        ("ingested_count", "replayed_count"),
        None,
    ),
}
"""The fact attribute (role) each place of a connector or sync record holds
(``record_values``'s order; the count is whichever of the two the type has)."""


def record_fact(event_id: str, kind: str, values: Any) -> Fact | None:
    """The fact a record of the core stands for: ``record_values``'s inverse, for a
    record ``probe`` or ``probe_object`` returned (of a valid event, or of one
    that breaks semantic rules: never a malformed one).

    Built by ``fact_from_roles`` from the roles the event type's catalogue row
    gives, so the fact is the one ``event_to_fact`` makes of the same event
    (a latency of -0.0 comes back 0.0: the core keeps zero unsigned, as the
    result writes it).
    """
    if kind == "other":
        return None
    if kind == "link":
        fact: Fact = values[0]
        return fact
    event_type = values[0]
    plan, rules = _record_plan(kind, event_type)
    attrs: dict[str, Any] = {}
    for at, role, read in plan:
        value = values[at]
        if read is not None:
            value = read(value)
        if value is not None:
            attrs[role] = value
    bits = values[-1]
    broken = tuple(code for bit, code in enumerate(rules) if bits >> bit & 1) if bits else ()
    return fact_from_roles(RECIPES[event_type], event_id, attrs, broken)


def _index_of(values: tuple[Any, ...]) -> Callable[[int], Any]:
    """A record's index into ``values`` read back (-1: absent, None)."""
    return lambda index: values[index] if index >= 0 else None


_RECORD_READS: Final[dict[str, Callable[[Any], Any]]] = {
    "recorded_at": lambda us: EPOCH + us * MICROSECOND,
    "health_status": _index_of(_HEALTH),
    "previous_state": _index_of(_STATES),
}
"""How a record holds the roles it does not hold as the fact does."""


@functools.cache
def _record_plan(
    kind: str, event_type: str
) -> tuple[tuple[tuple[int, str, Callable[[Any], Any] | None], ...], tuple[str, ...]]:
    """(place, role, read) of each role an event type's facts take from its records
    (``_RECORD_ROLES``), and the codes of its semantic rules by bit."""
    roles = set(RECIPES[event_type].roles.values())
    plan = []
    for at, names in enumerate(_RECORD_ROLES[kind]):
        for role in names if isinstance(names, tuple) else (names,):
            if role in roles:
                plan.append((at, role, _RECORD_READS.get(role)))
    return tuple(plan), _type_spec(event_type)[1]


def instant_us(value: datetime) -> int:
    """A datetime as microseconds since the Unix epoch (how the core keeps instants)."""
    return (value - EPOCH) // MICROSECOND


def taken_order(took: tuple[Any, ...]) -> tuple[int, datetime, str]:
    """The replay order (``sort_key``) of an envelope the core took, from what
    ``Scanner.probe``/``probe_object`` returned: (lamport_clock, the timestamp
    as the UTC datetime the models make of it, event_id in normal form)."""
    event_id, lamport, instant = took[:3]
    return lamport, EPOCH + instant * MICROSECOND, event_id


def _at(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + us * MICROSECOND


def connector_state(connector_id: str, part: tuple[Any, ...]) -> dict[str, Any]:
    """The plain data of ``ReducedConnectorState`` from what the compiled fold reports."""
    ctype, provider, mission, state, transition, checked, health, latency, events, log, found = part
    return {
        "connector_id": connector_id,
        "connector_type": ctype,
        "provider": provider,
        "mission_id": mission,
        "current_state": state,
        "last_transition_at": _at(transition),
        "last_health_check_at": _at(checked),
        "last_health_status": _HEALTH[health] if health is not None else None,
        "last_latency_ms": latency + 0.0 if latency is not None else None,
        "event_count": events,
        "transition_log": tuple(log) if log is not None else None,
        "anomalies": found,
    }


def sync_state(connector_id: str, part: tuple[Any, ...]) -> dict[str, Any]:
    """The plain data of ``ReducedSyncState`` from what the compiled fold reports."""
    counts, ingested, replayed, pending, log, deliveries, found = part
    return {
        "connector_id": connector_id,
        "outcome_counts": dict(zip(_OUTCOME_VALUES, counts, strict=True)),
        "ingested_items": ingested,
        "replayed_items": replayed,
        "pending_retries": pending,
        "outcome_log": tuple(log) if log is not None else None,
        "deliveries": tuple(deliveries) if deliveries is not None else None,
        "anomalies": found,
    }
