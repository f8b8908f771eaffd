"""Fold one group of partitions with the replay engine, into pieces of the canonical JSON.

The engine reads the group's partition files as ordinary inputs (in the
input format of the replay) and reports problems by partition and line; the
result is cut into *fragments*: the canonical JSON of each connector state,
each link, each anomaly, keyed by what orders it in the whole projection, so
``merge`` can write the projection of all groups without holding it.

Everything in the section 6 form is ordered by a key (connector_id, link
key, aggregate, (kind, event_id, message)) except the link index's
anomalies, which are in fold order: when a replay has more than one group,
each of those anomalies gets the replay order of its event, read back from
the group's lines (``_fold_order``; only when the group has such anomalies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from ..contract.lifecycle import checked_include_logs, checked_reconnect_cycles
from ..contract.patterns import event_id_key
from ..contract.projection import ReplayData, canonical_dumps, has_anomalies
from ..io import LineProblem, LineSink, Source
from ..reducing.anomalies import AnomalyData, anomaly_order
from . import _engine_calls

__all__ = [
    "FoldSettings",
    "GroupResult",
    "Problem",
    "fold_group",
    "reading_source",
    "report_too_long",
]

Problem = tuple[int, int, int, str, str, str]
"""(partition, line in the partition, order within the line, field, code, message)."""

Placed = tuple[tuple[tuple[int, int], ...], str, str | None, str, str | None]
"""An anomaly and where its event is: (places, kind, event_id, message, connector).

``places`` holds (partition file, line there): none when the engine cannot
say, one, or every line of the event_id when the engine names its first line
(``outcome`` keeps the first in input order, as the engine does over the
whole input)."""

OrderKey = tuple[int, int, str]
"""Replay order of an event: (lamport_clock, UTC instant in microseconds, event_id)."""


@dataclass(frozen=True)
class FoldSettings:
    """What every fold of one replay shares."""

    input_format: str = "envelope"
    include_logs: bool = True
    max_reconnect_cycles: int = 3
    max_line_bytes: int = 1024 * 1024
    locate: bool = False
    """Find the input line of each anomaly's event (``replay``'s table and report)."""

    def __post_init__(self) -> None:
        """Refuse a reconnect limit or logs flag no engine takes before any task starts."""
        checked_reconnect_cycles(self.max_reconnect_cycles)
        checked_include_logs(self.include_logs)


@dataclass
class GroupResult:
    """A group's share of the projection, as fragments of canonical JSON, and its report."""

    summary: tuple[int, int, int, int] = (0, 0, 0, 0)
    """(lines read, accepted, rejected, problems)."""
    problems: list[Problem] = field(default_factory=list)
    counts: tuple[int, int, int] = (0, 0, 0)
    """(event_count, duplicates_dropped, ignored_event_count)."""
    connectors: list[tuple[str, bytes]] = field(default_factory=list)
    sync: list[tuple[str, bytes]] = field(default_factory=list)
    links: list[tuple[tuple[str, str, str], bytes]] = field(default_factory=list)
    reverse_index: list[tuple[tuple[str, str], list[list[str]]]] = field(default_factory=list)
    link_anomalies: list[tuple[OrderKey | None, bytes]] = field(default_factory=list)
    anomalies: list[tuple[tuple[str, str, str], bytes]] = field(default_factory=list)
    anomalous: bool = False
    """Whether this group's share records any anomaly (``--fail-on anomalies``)."""
    placed: list[Placed] = field(default_factory=list)
    """With ``FoldSettings.locate``: every anomaly of the group, in the order the
    command line's ``collect`` lists them, with the line of its event."""


def _fragment(value: Any) -> bytes:
    """Canonical JSON of one value, without the final newline."""
    return canonical_dumps(value)[:-1]


def _result(
    data: dict[str, Any], summary: _engine_calls.RunSummary, settings: FoldSettings
) -> GroupResult:
    from ..contract.projection import ReplayData

    anomalous = has_anomalies(data)
    form = ReplayData(data).to_dict(include_logs=settings.include_logs)
    links = form["external_links"]
    return GroupResult(
        summary=(summary.lines_read, summary.accepted, summary.rejected, summary.problems),
        counts=(form["event_count"], form["duplicates_dropped"], form["ignored_event_count"]),
        connectors=[(cid, _fragment(state)) for cid, state in form["connectors"].items()],
        sync=[(cid, _fragment(state)) for cid, state in form["sync"].items()],
        links=[
            (
                (link["external_provider"], link["external_ref_type"], link["external_ref_id"]),
                _fragment(link),
            )
            for link in links["links"]
        ],
        reverse_index=[
            (
                (entry["internal_aggregate_type"], entry["internal_aggregate_id"]),
                [list(ref) for ref in entry["external_refs"]],
            )
            for entry in links["reverse_index"]
        ],
        link_anomalies=[(None, _fragment(item)) for item in links["anomalies"]],
        anomalies=[(anomaly_order(item), _fragment(item)) for item in form["anomalies"]],
        anomalous=anomalous,
    )


def _collecting(problems: list[Problem], partition: Callable[[str], int]) -> LineSink:
    """A problem sink appending to ``problems``, each problem's partition told by its file name."""

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        problems.append(
            (
                partition(name),
                problem.line,
                len(problems),
                problem.field,
                problem.code,
                problem.message,
            )
        )

    return on_problem


def fold_group(paths: Sequence[str], settings: FoldSettings, *, alone: bool) -> GroupResult:
    """Fold the partition files ``paths`` (one group) with the engine.

    Problems are reported as (index of the file in ``paths``, line there,
    ...). ``alone`` says this group is the whole replay, so its link
    anomalies need no replay order to be merged with another group's.
    """
    index = {path: at for at, path in enumerate(paths)}
    problems: list[Problem] = []
    on_problem = _collecting(problems, index.__getitem__)
    sources = [Source(path, max_line_bytes=settings.max_line_bytes) for path in paths]
    try:
        data, summary = _engine_calls.fold_sources(
            sources,
            input_format=settings.input_format,
            include_logs=settings.include_logs,
            max_reconnect_cycles=settings.max_reconnect_cycles,
            on_problem=on_problem,
            locate=settings.locate,
        )
    finally:
        for source in sources:
            source.close()
    with _engine_calls.no_gc():
        result = _result(data.data, summary, settings)
        if settings.locate:
            # Every line accepted, and each one a different event: no event_id
            # is named by two lines, so the engine placed each on its only line.
            once = summary.rejected == 0 and data.data["event_count"] == summary.accepted
            rejected = {(file, line) for file, line, *_ in problems}
            result.placed = _placed(
                data, index, paths, settings, each_line_once=once, rejected=rejected
            )
    result.problems = problems
    anomalies: list[AnomalyData] = data.data["external_links"]["link_anomalies"]
    if anomalies and not alone:
        order = _fold_order(paths, settings, {item["event_id"] for item in anomalies})
        result.link_anomalies = [
            (order[item["event_id"]] if item["event_id"] is not None else None, fragment)
            for item, (_, fragment) in zip(anomalies, result.link_anomalies, strict=True)
        ]
    return result


def report_too_long(count: int, settings: FoldSettings) -> GroupResult:
    """The engine's report and anomalies for ``count`` lines over the length limit.

    Problems name partition ``routing.TOO_LONG`` and the k-th such line.
    """
    from .routing import TOO_LONG

    problems: list[Problem] = []
    on_problem = _collecting(problems, lambda _: TOO_LONG)
    data, summary = _engine_calls.report_too_long(
        count,
        max_line_bytes=settings.max_line_bytes,
        include_logs=settings.include_logs,
        max_reconnect_cycles=settings.max_reconnect_cycles,
        on_problem=on_problem,
        locate=settings.locate,
    )
    result = _result(data.data, summary, settings)
    result.problems = problems
    if settings.locate:
        result.placed = _placed(data, dict.fromkeys(data.sources, TOO_LONG), [], settings)
    return result


def _placed(
    data: ReplayData,
    index: dict[str, int],
    paths: Sequence[str],
    settings: FoldSettings,
    *,
    each_line_once: bool = False,
    rejected: AbstractSet[tuple[int, int]] = frozenset(),
) -> list[Placed]:
    """The group's anomalies in the command line's order, each with its partition line(s).

    The order and the pairing of anomalies with places are those of
    ``cli.render.collect`` over a whole-log result (each connector's and
    sync state's anomalies by connector_id, then the link index's, then the
    stream's; the k-th anomaly with a given (kind, event_id, message) gets
    the k-th place the engine found for it): every anomaly sharing that
    identity is in this group, since all copies of an event_id are.

    The engine places an anomaly (other than a ``malformed_envelope``, which
    it places on its own line) on the first valid line of its event_id in
    its input, or the first line when only ``rejected`` lines (file, line)
    name it. The group's files are not in input order, so when the group
    has several files every such line of those event_ids is listed, unless
    ``each_line_once`` (no event_id is named by two lines of the group: the
    engine's place is the only one).
    """
    places: dict[tuple[str, str | None, str], list[tuple[str | None, int | None]]] = {}
    for item, source, line in data.located_anomalies():
        key = (str(item["kind"]), item["event_id"], str(item["message"]))
        places.setdefault(key, []).append((source, line))
    form = data.to_dict(include_logs=False)
    found: list[Placed] = []
    first_lines: list[tuple[int, str | None]] = []

    def add(item: dict[str, Any], connector: str | None) -> None:
        key = (str(item["kind"]), item["event_id"], str(item["message"]))
        pending = places.get(key)
        source, line = pending.pop(0) if pending else (None, None)
        at = index.get(source) if source is not None else None
        place = ((at, line),) if at is not None and line is not None else ()
        if (
            place
            and len(paths) > 1
            and not each_line_once
            and key[0] != "malformed_envelope"
            and key[1]
        ):
            first_lines.append((len(found), key[1]))
        found.append((place, *key, connector))

    for cid in sorted({*form["connectors"], *form["sync"]}):
        for part in (form["connectors"].get(cid, {}), form["sync"].get(cid, {})):
            for item in part.get("anomalies", ()):
                add(item, cid)
    for item in (*form["external_links"]["anomalies"], *form["anomalies"]):
        add(item, None)
    if first_lines:
        every = _event_lines(paths, settings, {eid for _, eid in first_lines})
        for at, eid in first_lines:
            lines = every.get(eid, [])
            valid = [line for line in lines if line not in rejected]
            found[at] = (tuple(valid or lines) or found[at][0], *found[at][1:])
    return found


def _id_keys(wanted: set[str | None]) -> frozenset[bytes] | None:
    """The keys ``may_name`` rules lines out by; None when ``wanted`` holds None (a
    line naming no event id is wanted, and only parsing it can tell)."""
    if None in wanted:
        return None
    return frozenset(event_id_key(eid).encode() for eid in wanted if eid is not None)


def _wanted_lines(
    path: str, settings: FoldSettings, keys: frozenset[bytes] | None
) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) of each line of a partition file that may name a ``keys`` id
    (every line when ``keys`` is None; None for a line over the length limit)."""
    source = reading_source(path, settings)
    try:
        if keys is None:
            yield from enumerate(source.lines(), start=1)
        else:
            yield from _engine_calls.lines_may_naming(source, keys)
    finally:
        source.close()


def _event_lines(
    paths: Sequence[str], settings: FoldSettings, wanted: set[str | None]
) -> dict[str | None, list[tuple[int, int]]]:
    """(file, line) of each line of the group naming a ``wanted`` event_id, as the engine
    reads it: a valid line's, or the one a line that is none still names
    (``named_event_id``, by which the engine places anomalies on such a line)."""
    found: dict[str | None, list[tuple[int, int]]] = {}
    keys = _id_keys(wanted)
    for at, path in enumerate(paths):
        for number, raw in _wanted_lines(path, settings, keys):
            eid = None if raw is None else _engine_calls.named_event_id(raw)
            if eid in wanted:
                found.setdefault(eid, []).append((at, number))
    return found


def _fold_order(
    paths: Sequence[str], settings: FoldSettings, wanted: set[str | None]
) -> dict[str | None, OrderKey]:
    """The replay order of the folded copy of each event_id in ``wanted``.

    Reads the group's lines again, as the engine reads them, and settles
    copies of one event_id with the rule the engine uses
    (``_engine_calls.copy_winners``).
    """
    from ..reducing.facts import EPOCH, MICROSECOND

    keys = _id_keys(wanted)
    copies: list[bytes] = []
    for path in paths:
        for _, raw in _wanted_lines(path, settings, keys):
            if raw is None:
                continue
            eid = _engine_calls.line_event_id(raw)
            if eid is not None and eid in wanted:
                copies.append(raw)
    _, winners = _engine_calls.copy_winners(copies)
    return {
        eid: (key[0], (key[1] - EPOCH) // MICROSECOND, key[2]) for eid, (_, key) in winners.items()
    }


def reading_source(path: str, settings: FoldSettings) -> Source:
    """A partition file read as the engine reads it: CloudEvents are mapped to envelopes."""
    if settings.input_format == "cloudevents":
        from ..interop.formats import CloudEventsSource

        return CloudEventsSource(path, max_line_bytes=settings.max_line_bytes)
    return Source(path, max_line_bytes=settings.max_line_bytes)
