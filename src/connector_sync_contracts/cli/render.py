"""Readable renderings: the replay table and its anomaly report, the focus, the golden diff.

The table fits the terminal: every column at 100 columns and more, shorter
headers and fewer columns (provider, latency, replays, lifecycle events,
in that order) down to 80. A legend says what the columns mean. The
anomaly report counts anomalies per kind, root causes (``malformed_*``)
before what they cause downstream, and shows the first example of each
kind, at its file and line when the engine can say where it came from.

Text from a log (connector ids, providers, anomaly messages) is untrusted:
``common.printable`` writes its control and direction-changing characters
as escapes, so a line can never drive the terminal, and the table pads cells
by their width on screen (``wcwidth``), so wide CJK and emoji ids line up.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, Final, NamedTuple

import orjson

from ..contract.projection import ReplayData
from ..contract.words import plural
from ..validation.paths import json_path
from .common import printable

__all__ = [
    "RESTATED",
    "ROOT_CAUSES",
    "Located",
    "PlacedAnomaly",
    "LocationTable",
    "anomaly_text",
    "collect",
    "first_differences",
    "focus",
    "locate",
    "listed",
    "located_lines",
    "replay_located_lines",
    "replay_located_text",
    "table",
    "terminal_width",
]

ROOT_CAUSES: Final = ("malformed_envelope", "malformed_payload")
"""Anomaly kinds that are causes (a line that could not be read), listed before their effects."""

RESTATED: Final = (*ROOT_CAUSES, "semantic_violation", "retry_budget_exceeded")
"""Anomaly kinds that restate a problem already reported for their line: the root
causes, and a broken semantic rule (the line is reported, yet applied)."""

_MIN_WIDTH: Final = 40
_EXAMPLE_INDENT: Final = 6


def _width(text: str) -> int:
    """Columns ``text`` (already printable) takes on a terminal."""
    if text.isascii():  # printable ASCII: one column a character
        return len(text)
    # Imported here: only a table needs it, and it costs JSON output ~10 ms of start.
    from wcwidth import wcswidth

    columns = wcswidth(text)
    return columns if columns >= 0 else len(text)


def _cut(text: str, width: int) -> str:
    """``text`` (printable) in at most ``width`` terminal columns: a longer one keeps its
    start and its end around ``...``, where ids differ most."""
    if _width(text) <= width:
        return text
    keep = max(width - 3, 0)
    if text.isascii():
        tail = keep // 2
        return text[: keep - tail] + "..." + (text[-tail:] if tail else "")
    from wcwidth import wcwidth

    def fitting(chars: Iterable[str], room: int) -> list[str]:
        taken: list[str] = []
        for char in chars:
            room -= max(wcwidth(char), 0)
            if room < 0:
                break
            taken.append(char)
        return taken

    end = fitting(reversed(text), keep // 2)
    start = fitting(text, keep - _width("".join(end)))
    return "".join(start) + "..." + "".join(reversed(end))


def terminal_width() -> int:
    """Columns of the terminal standard output goes to (``COLUMNS`` wins; 80 otherwise)."""
    return max(_MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def focus(data: dict[str, Any], connectors: Iterable[str]) -> dict[str, Any]:
    """The section 6 form narrowed to some connectors (their links included); changed in place."""
    wanted = set(connectors)
    data["connectors"] = {k: v for k, v in data["connectors"].items() if k in wanted}
    data["sync"] = {k: v for k, v in data["sync"].items() if k in wanted}
    links = data["external_links"]
    links["links"] = [link for link in links["links"] if link["connector_id"] in wanted]
    keys = {
        (link["external_provider"], link["external_ref_type"], link["external_ref_id"])
        for link in links["links"]
    }
    links["reverse_index"] = [
        {**entry, "external_refs": [ref for ref in entry["external_refs"] if tuple(ref) in keys]}
        for entry in links["reverse_index"]
        if any(tuple(ref) in keys for ref in entry["external_refs"])
    ]
    return data


# ------------------------------------------------------------------ anomalies


class Located(NamedTuple):
    """One anomaly of a replay, with where it is shown from and where it came from.

    A named tuple: a replay can have an anomaly on every other line, and a
    tuple is made several times faster than a frozen dataclass.
    """

    kind: str
    event_id: str | None
    message: str
    connector: str | None
    """The connector it belongs to; None for stream-level and link anomalies."""
    source: str | None = None
    """File (``-`` for standard input) of the line that caused it, when known."""
    line: int | None = None
    """1-based line number of that line, when known."""

    @property
    def where(self) -> str | None:
        """``file:line`` as it can be printed (``printable``), or None when the engine
        could not say."""
        if self.source is None or self.line is None:
            return None
        return printable(f"{self.source}:{self.line}")


Key = tuple[str, str | None, str]
"""An anomaly's identity in a result: (kind, event_id, message)."""
LocationTable = dict[Key, list[tuple[str | None, int | None]]]
"""Anomaly identity -> the (file, line) of each anomaly with that identity."""


def locate(result: object) -> LocationTable:
    """(kind, event_id, message) -> the (file, line) of each such anomaly, when the engine tells.

    Reads ``result.located_anomalies()`` when the engine's result offers it:
    each anomaly with the source name and line number of the line that
    caused it. Without it, or for an anomaly it cannot place, the report
    simply shows no location.
    """
    method: Callable[[], Sequence[tuple[Any, str | None, int | None]]] | None = getattr(
        result, "located_anomalies", None
    )
    found: LocationTable = {}
    if method is None:
        return found
    for item, source, line in method():
        key = (str(item["kind"]), item["event_id"], str(item["message"]))
        found.setdefault(key, []).append((source, line))
    return found


def collect(data: dict[str, Any], ids: Sequence[str], where: LocationTable) -> list[Located]:
    """Every anomaly of the shown connectors, then link and stream anomalies, with locations."""
    pending = {key: iter(places) for key, places in where.items()}
    nowhere = iter(())
    found: list[Located] = []

    def add(item: dict[str, Any], connector: str | None) -> None:
        kind, event_id, message = str(item["kind"]), item["event_id"], str(item["message"])
        source, line = next(pending.get((kind, event_id, message), nowhere), (None, None))
        found.append(Located(kind, event_id, message, connector, source, line))

    for cid in ids:
        for part in (data["connectors"].get(cid, {}), data["sync"].get(cid, {})):
            for item in part.get("anomalies", ()):
                add(item, cid)
    for item in (*data["external_links"]["anomalies"], *data["anomalies"]):
        add(item, None)
    return found


def _kind_order(counts: Counter[str]) -> list[str]:
    """Root causes first, then the other kinds, most frequent first."""
    roots = [kind for kind in ROOT_CAUSES if kind in counts]
    others = sorted((k for k in counts if k not in ROOT_CAUSES), key=lambda k: (-counts[k], k))
    return roots + others


def _first(items: list[Located]) -> Located:
    """The example of a kind: the earliest line when lines are known, else the first listed."""
    placed = [item for item in items if item.where is not None]
    if placed:
        return min(placed, key=lambda item: (item.source or "", item.line or 0))
    return items[0]


def anomaly_text(item: dict[str, Any]) -> str:
    """``kind: message (event ID)``; an anomaly without an event says so without ``None``."""
    event = f" (event {item['event_id']})" if item.get("event_id") else ""
    return f"{item['kind']}: {printable(item['message'])}{event}"


PlacedAnomaly = tuple[str, str | None, str, str | None, str | None, int | None]
"""(kind, event_id, message, connector, source, line): the fields of ``Located``."""


def located_lines(
    found: Iterable[PlacedAnomaly], reported: set[tuple[str, int]], files: Sequence[str]
) -> list[str]:
    """Standard error's report of the anomalies, as a linter lists findings.

    Each anomaly placed on a line, but those that restate the line's
    reported problem (``RESTATED``: a root cause, a broken semantic rule)
    and those on a line in ``reported`` (the command line passes none: an
    anomaly of an applied event, such as the ``invalid_transition`` of a
    line reported for a semantic rule, is a finding of its own), in the
    order of ``files`` and then of lines (anomalies of one line in the
    order given). ``found`` holds ``Located`` items or plain tuples
    of the same fields (``ReplayData.placed_anomalies``): a log can have an
    anomaly on every other line, so nothing is made per anomaly but its text.
    """
    order = {name: index for index, name in reversed(list(enumerate(files)))}
    unknown = len(order)
    keyed: list[tuple[int, PlacedAnomaly]] = []
    append = keyed.append
    for item in found:
        source, line = item[4], item[5]
        if source is None or line is None or (reported and (source, line) in reported):
            continue
        # One int per place, (file order, line < 2**64), sorts faster than a tuple key.
        append((order.get(source, unknown) << 64 | line, item))
    keyed.sort(key=itemgetter(0))
    return list(listed(item for _, item in keyed))


def listed(found: Iterable[PlacedAnomaly]) -> Iterator[str]:
    """``located_lines``' line of each anomaly of ``found`` placed on a line, in the order
    given, but those that restate the line's reported problem (``RESTATED``).

    The text is made printable by ``echo_lines``.
    """
    for kind, _, message, connector, source, line in found:
        if source is None or line is None or kind in RESTATED:
            continue
        subject = f" [connector {connector}]" if connector else ""
        yield f"{source}:{line}: anomaly {kind}{subject}: {message}"


def replay_located_lines(
    result: ReplayData, reported: set[tuple[str, int]], files: Sequence[str]
) -> list[str]:
    """``located_lines(result.placed_anomalies(), reported, files)``, made by the compiled core.

    A log can have an anomaly on every other line, and the Python listing
    makes a tuple, a place and a sort key object for each of them: on a
    log with 314k anomalies it took longer than the fold that found them.
    The compiled core's ``located_lines`` reads the result's anomaly lists
    and places directly and returns the same strs (tests hold the two
    equal). Without the core, or with the pure-Python engine chosen, this
    is ``located_lines`` itself.
    """
    lines = _compiled_listing(result, reported, files, 0)
    return located_lines(result.placed_anomalies(), reported, files) if lines is None else lines


def replay_located_text(
    result: ReplayData, reported: set[tuple[str, int]], files: Sequence[str], chunk: int
) -> list[str] | None:
    """``replay_located_lines``' lines joined by newlines, ``chunk`` lines a str.

    Made by the compiled core without a str per line (a log can have an
    anomaly on every other line). None without the core, or when a line
    holds a newline of its own (a file or connector name can): only the
    list of lines tells those lines apart, and they are escaped one by one.
    """
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    return _compiled_listing(result, reported, files, chunk)


def _compiled_listing(
    result: ReplayData, reported: set[tuple[str, int]], files: Sequence[str], chunk: int
) -> list[str] | None:
    """The compiled core's listing (``chunk`` > 0: joined), or None without the core."""
    from .._engine.native import anomaly_listing

    listing = anomaly_listing()
    if listing is None:
        return None
    order = {name: index for index, name in reversed(list(enumerate(files)))}
    ranks = [order.get(name, len(order)) for name in result.sources]
    places = result.places if type(result.places) is dict else dict(result.places)
    made: list[str] | None = listing(
        result.anomaly_groups(),
        places,
        list(result.sources),
        ranks,
        set(reported),
        RESTATED,
        chunk,
    )
    return made


def _report(found: list[Located], width: int) -> list[str]:
    by_kind: dict[str, list[Located]] = {}
    for item in found:
        by_kind.setdefault(item.kind, []).append(item)
    counts = Counter({kind: len(items) for kind, items in by_kind.items()})
    order = _kind_order(counts)
    total = sum(counts.values())
    lines = [
        "",
        f"{plural(total, 'anomaly', 'anomalies')} of {plural(len(order), 'kind')}, "
        "root causes first (--format json lists every one):",
    ]
    placed = any(item.where is not None for item in found)
    rows = [("KIND", "COUNT", "FIRST AT" if placed else "")]
    rows.extend(
        (kind, f"{counts[kind]:,}", (_first(by_kind[kind]).where or "-") if placed else "")
        for kind in order
    )
    kind_width = max(len(row[0]) for row in rows)
    count_width = max(len(row[1]) for row in rows)
    for kind, count, at in rows:
        lines.append(f"  {kind.ljust(kind_width)}  {count.rjust(count_width)}  {at}".rstrip())
    lines.extend(["", "first of each kind:"])
    wrap = max(20, width - _EXAMPLE_INDENT)
    for kind in order:
        item = _first(by_kind[kind])
        context = [part for part in (item.where, _subject(item)) if part]
        if item.where is None and kind in ROOT_CAUSES:
            context.append("(its line is reported on stderr)")
        lines.append(f"  {kind}" + (f"  {'  '.join(context)}" if context else ""))
        for piece in textwrap.wrap(printable(item.message), wrap, break_on_hyphens=False) or [""]:
            lines.append(" " * _EXAMPLE_INDENT + piece)
    return lines


def _subject(item: Located) -> str:
    parts = []
    if item.connector:
        parts.append(f"connector {printable(item.connector)}")
    if item.event_id:
        parts.append(f"event {item.event_id}")
    return ", ".join(parts)


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class _Column:
    title: str
    short: str
    drop_rank: int
    """0: always shown; 1, 2 ...: dropped in this order when the terminal is narrow."""
    numeric: bool


_COLUMNS: Final = (
    _Column("CONNECTOR", "CONNECTOR", 0, False),
    _Column("PROVIDER", "PROVIDER", 1, False),
    _Column("STATE", "STATE", 0, False),
    _Column("HEALTH", "HEALTH", 0, False),
    _Column("LATENCY", "LAT", 2, True),
    _Column("LIFECYCLE", "EVENTS", 4, True),
    _Column("ACCEPT", "ACC", 0, True),
    _Column("REJECT", "REJ", 0, True),
    _Column("RETRY", "RETRY", 0, True),
    _Column("DEAD", "DEAD", 0, True),
    _Column("REPLAY", "RPL", 3, True),
    _Column("PENDING", "PEND", 0, True),
    _Column("ANOMALIES", "ANOM", 0, True),
)

_LEGEND: Final = (
    ("STATE", "lifecycle state after the last applied transition"),
    (
        "HEALTH",
        "status of the last health check; a later revoke keeps it, so a revoked "
        "connector can show healthy",
    ),
    ("LATENCY", "latency of the last health check"),
    ("LIFECYCLE", "the connector's lifecycle events after dedup, applied or not"),
    ("ACCEPT", "applied sync outcomes per kind: accepted, rejected, retries, dead letters"),
    ("REPLAY", "applied replays"),
    ("PENDING", "deliveries still retrying at the end"),
    ("ANOMALIES", "anomalies recorded for the connector"),
)
"""(column, what it means), in the order the legend lists them."""

_OUTCOME_TITLES: Final = ("ACCEPT", "REJECT", "RETRY", "DEAD")


def _text(value: Any) -> str:
    """A state or status as shown in the table: its value, or '-' when there is none."""
    if value is None:
        return "-"
    return str(getattr(value, "value", value))


def _cells(cid: str, state: dict[str, Any], sync: dict[str, Any]) -> dict[str, str]:
    # Outcome kinds are str enums, so either spelling of a key finds its count.
    count = (sync.get("outcome_counts") or {}).get
    latency = state.get("last_latency_ms")
    anomalies = len(state.get("anomalies", ())) + len(sync.get("anomalies", ()))
    return {
        "CONNECTOR": printable(cid),
        "PROVIDER": printable(state.get("provider") or "-"),
        "STATE": _text(state.get("current_state")),
        "HEALTH": _text(state.get("last_health_status")),
        "LATENCY": f"{latency:,.0f} ms" if latency is not None else "-",
        "LIFECYCLE": f"{state.get('event_count', 0):,}",
        "ACCEPT": f"{count('accepted', 0):,}",
        "REJECT": f"{count('rejected', 0):,}",
        "RETRY": f"{count('retry_scheduled', 0):,}",
        "DEAD": f"{count('dead_lettered', 0):,}",
        "REPLAY": f"{count('replay_completed', 0):,}",
        "PENDING": f"{sync.get('pending_retries', 0):,}",
        "ANOMALIES": f"{anomalies:,}",
    }


class _Cells(NamedTuple):
    """One column's cells, top to bottom, and the terminal columns each takes."""

    texts: list[str]
    widths: list[int] | None
    """None: every cell is ASCII and takes as many columns as it has characters."""

    @classmethod
    def measure(cls, texts: list[str]) -> _Cells:
        if all(map(str.isascii, texts)):
            return cls(texts, None)
        return cls(texts, list(map(_width, texts)))

    def widest(self) -> int:
        return max(self.widths if self.widths is not None else map(len, self.texts), default=0)

    def under(self, header: str, width: int, *, right: bool) -> list[str]:
        """The (ASCII) header, a dashed rule and every cell, each padded to ``width``."""
        pad = str.rjust if right else str.ljust
        top = [pad(header, width), "-" * width]
        if self.widths is None:
            return [*top, *(pad(text, width) for text in self.texts)]
        fills = [" " * (width - taken) for taken in self.widths]
        if right:
            return [*top, *(fill + text for fill, text in zip(fills, self.texts, strict=True))]
        return [*top, *(text + fill for fill, text in zip(fills, self.texts, strict=True))]


def _layout(rows: list[dict[str, str]], width: int) -> tuple[list[_Column], bool, list[str]]:
    """The widest layout that fits: all columns, then short headers, then fewer columns.

    Each cell is measured once; a layout's width is its columns' widths and
    the two spaces between them (the dashed rule under the headers is that
    long, and no line is longer), so only the layout chosen is rendered,
    column by column.
    """
    cells = {
        column.title: _Cells.measure([row[column.title] for row in rows]) for column in _COLUMNS
    }
    widest = {title: column.widest() for title, column in cells.items()}
    columns = list(_COLUMNS)
    short = False
    while True:
        headers = [column.short if short else column.title for column in columns]
        widths = [
            max(len(header), widest[column.title])
            for header, column in zip(headers, columns, strict=True)
        ]
        if sum(widths) + 2 * (len(widths) - 1) <= width:
            break
        if not short:
            short = True
            continue
        optional = [column for column in columns if column.drop_rank]
        if not optional:
            break
        columns.remove(min(optional, key=lambda column: column.drop_rank))
    # Still too wide with no column left to drop: the connector ids are cut to fit.
    over = sum(widths) + 2 * (len(widths) - 1) - width
    if over > 0 and columns[0].title == "CONNECTOR":
        room = max(widths[0] - over, len(headers[0]))
        if room < widths[0]:
            cut = [_cut(text, room) for text in cells["CONNECTOR"].texts]
            cells["CONNECTOR"] = _Cells.measure(cut)
            widths[0] = room
    shown = [
        cells[column.title].under(header, width, right=column.numeric)
        for header, width, column in zip(headers, widths, columns, strict=True)
    ]
    return columns, short, ["  ".join(line).rstrip() for line in zip(*shown, strict=True)]


def _legend(columns: list[_Column], short: bool, width: int, report: bool) -> list[str]:
    shown = {column.title: column.short if short else column.title for column in columns}
    terms = []
    for title, text in _LEGEND:
        if title not in shown:
            continue
        if title == "ANOMALIES" and report:
            text += " (by kind below)"
        if title == "ACCEPT":
            terms.append((" ".join(shown[name] for name in _OUTCOME_TITLES), text))
        else:
            terms.append((shown[title], text))
    term_width = max(len(term) for term, _ in terms)
    lines = ["", "legend:"]
    indent = " " * (term_width + 4)
    for term, text in terms:
        lines.extend(
            textwrap.wrap(
                text,
                width - 1,
                initial_indent=f"  {term.ljust(term_width)}  ",
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
        )
    hidden = [column.title for column in _COLUMNS if column.title not in shown]
    if hidden:
        lines.append(f"  (a wider terminal also shows {', '.join(hidden)})")
    return lines


def table(
    data: dict[str, Any],
    connectors: Iterable[str] | None = None,
    *,
    width: int = 80,
    where: LocationTable | None = None,
) -> str:
    """The readable per-connector view of a replay's section 6 form (logs not needed).

    ``connectors`` narrows it to those ids; ``width`` is the terminal's; ``where``
    places anomalies at their file and line (see ``locate``).
    """
    connector_states: dict[str, dict[str, Any]] = data["connectors"]
    syncs: dict[str, dict[str, Any]] = data["sync"]
    ids = sorted(set(connector_states) | set(syncs))
    if connectors is not None:
        wanted = set(connectors)
        ids = [cid for cid in ids if cid in wanted]
    rows = [_cells(cid, connector_states.get(cid, {}), syncs.get(cid, {})) for cid in ids]
    columns, short, lines = _layout(rows, width)
    links = data["external_links"]
    lines.append("")
    lines.extend(
        textwrap.wrap(
            f"events {data['event_count']:,}, duplicates dropped {data['duplicates_dropped']:,}, "
            f"other families {data['ignored_event_count']:,}, links {len(links['links']):,}, "
            f"stream anomalies {len(data['anomalies']):,}",
            width - 1,
        )
    )
    found = collect(data, ids, where or {})
    lines.extend(_legend(columns, short, width, bool(found)))
    if found:
        lines.extend(_report(found, width))
    return "\n".join(lines) + "\n"


def _same_value(a: Any, b: Any) -> bool:
    """JSON equality of two leaves: a number is a number however it is written (``950``,
    ``950.0``), compared exactly when read as ``Decimal``; ``true`` is no number, and
    ``"1"`` no ``1``."""
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return a == b
    return type(a) is type(b) and a == b


_CLIP: Final = 80
"""Longest value a difference shows, in characters."""
_ENDED: Final = object()
"""What an exhausted container's pieces give ``_json_pieces``."""


class _Raw(str):
    """JSON text written as it is, between the values of a container."""

    __slots__ = ()


def _members(obj: dict[str, Any]) -> Iterator[Any]:
    yield _Raw("{")
    for index, (key, item) in enumerate(obj.items()):
        yield _Raw(("," if index else "") + _scalar(key) + ":")
        yield item
    yield _Raw("}")


def _items(array: list[Any]) -> Iterator[Any]:
    yield _Raw("[")
    for index, item in enumerate(array):
        if index:
            yield _Raw(",")
        yield item
    yield _Raw("]")


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)  # exactly, at any size
    try:
        return orjson.dumps(value).decode()  # a string or a float, as orjson writes them
    except TypeError:  # a lone surrogate, which JSON text may escape: escaped again
        return json.dumps(value)


def _json_pieces(value: Any) -> Iterator[str]:
    """``value`` as compact JSON text (orjson's), piece by piece, without recursion."""
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        item = next(stack[-1], _ENDED)
        if item is _ENDED:
            stack.pop()
        elif type(item) is _Raw:
            yield item
        elif isinstance(item, dict):
            stack.append(_members(item))
        elif isinstance(item, list):
            stack.append(_items(item))
        else:
            yield _scalar(item)


def _clipped(value: Any) -> str:
    """``value`` as JSON text, at most 80 characters: a longer one ends in ``...``.

    Written only as far as it is shown, so a consumer's value of any size,
    nesting or integer (beyond 64 bits too, written exactly) costs little.
    """
    text = ""
    for piece in _json_pieces(value):
        text += piece
        if len(text) > _CLIP:
            return text[: _CLIP - 3] + "..."
    return text


def first_differences(expected: Any, actual: Any, limit: int = 10) -> list[str]:
    """Up to ``limit`` differences between a golden output and a consumer's, by JSON path.

    Leaves are compared as JSON values (``_same_value``).
    """
    found: list[str] = []

    def walk(a: Any, b: Any, where: tuple[str | int, ...]) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys()):
                if key not in b:
                    found.append(f"{json_path((*where, key))}: missing in your output")
                elif key not in a:
                    found.append(f"{json_path((*where, key))}: not in the golden output")
                else:
                    walk(a[key], b[key], (*where, key))
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{json_path(where)}: golden has {len(a)} items, yours has {len(b)}")
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, (*where, index))
        elif not _same_value(a, b):
            found.append(f"{json_path(where)}: golden {_clipped(a)}, yours {_clipped(b)}")

    walk(expected, actual, ())
    return found
