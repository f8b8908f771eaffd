"""The section 6 JSON form of a projection, as plain data (specification section 6).

The canonical bytes (sorted keys, 2-space indent, final newline) and the
shape of a whole-log result are part of the contract. The frozen results'
``to_dict()``/``to_json()`` and the command line's replay both end here, so
the form is defined once: the same keys, the same omission of the
per-event logs, the same canonical bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import orjson

from .lifecycle import checked_include_logs

__all__ = [
    "LOG_FIELDS",
    "JSONText",
    "ReplayData",
    "canonical_dumps",
    "canonical_pieces",
    "drop_logs",
    "drop_state_logs",
    "has_anomalies",
    "section6_form",
]

LOG_FIELDS: Final = frozenset({"transition_log", "outcome_log", "deliveries"})
"""Per-event logs that ``include_logs=False`` (the CLI's ``--no-logs``) leaves out."""
LINK_INDEX_INDENT: Final = 4
"""How far ``canonical_dumps`` indents the lines of the section 6 form's
``external_links`` keys (``links``, ``reverse_index``): two levels deep."""

# The final newline is written by orjson itself: appending it to the result
# would copy the whole text once more (a large projection is 100 MB).
_CANONICAL: Final = (
    orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
)


def canonical_dumps(data: Any) -> bytes:
    """Serialize JSON-ready data canonically: sorted keys, 2-space indent, final newline.

    Aware datetimes are written as RFC 3339 UTC (``...Z``, microseconds when
    present) and enum members as their values, exactly as pydantic's JSON
    mode writes them, so model dumps and plain data give the same bytes.
    Integers of any size are written exactly (a sum over many events may
    exceed 64 bits; specification section 8).
    """
    try:
        return orjson.dumps(data, option=_CANONICAL, default=_json_text)
    except TypeError:
        # orjson stops at 64-bit integers: write the larger ones as JSON integers
        # it copies verbatim, then try again.
        return orjson.dumps(_exact_integers(data), option=_CANONICAL, default=_json_text)


class JSONText:
    """A value that arrives as its canonical JSON text, written as it is.

    The compiled fold writes the link index of a whole log (``links`` and
    ``reverse_index`` of ``external_links``) as the JSON canonical_dumps
    would write for their objects, indented for their place
    (``LINK_INDEX_INDENT``), so that no object is made per link.
    """

    __slots__ = ("text",)

    def __init__(self, text: bytes | memoryview) -> None:
        self.text = text
        """The JSON, UTF-8 (the compiled fold's text as a read-only view, not a copy)."""


def _json_text(value: Any) -> Any:
    """orjson's ``default``: a ``JSONText`` as its text; nothing else."""
    if isinstance(value, JSONText):
        text = value.text
        return orjson.Fragment(text if isinstance(text, bytes) else bytes(text))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_RENDERED: Final = ("links", "reverse_index")
"""The ``external_links`` keys whose value may arrive as ``JSONText``, in the
order canonical_dumps writes them (sorted)."""
_HOLE: Final = orjson.Fragment(b"\x00")
"""Where canonical_pieces leaves a ``JSONText`` out. orjson writes a control
character in a string or key as its escape, so no other raw NUL is in its output."""


def canonical_pieces(data: Any) -> list[bytes | memoryview]:
    """``canonical_dumps(data)`` in pieces, whose concatenation is its bytes.

    The link index of a whole log can arrive as its JSON (``JSONText`` values
    of ``external_links``' ``links`` and ``reverse_index``: a hundred MB for
    a million links). Each is a piece of its own, not copied into the
    document to be written out again.
    """
    links = data.get("external_links") if isinstance(data, dict) else None
    if not isinstance(links, dict):
        return [canonical_dumps(data)]
    texts = {key: value for key in _RENDERED if isinstance(value := links.get(key), JSONText)}
    if not texts:
        return [canonical_dumps(data)]
    holes = {**links, **dict.fromkeys(texts, _HOLE)}
    around = canonical_dumps({**data, "external_links": holes}).split(b"\x00")
    if len(around) != len(texts) + 1:
        raise ValueError("canonical_pieces: a raw NUL byte outside the link index's text")
    pieces: list[bytes | memoryview] = [around[0]]
    for text, after in zip(texts.values(), around[1:], strict=True):
        pieces += [text.text, after]
    return pieces


_INT64_RANGE: Final = range(-(2**63), 2**64)


def _exact_integers(data: Any) -> Any:
    """``data`` with each integer orjson cannot write (past 64 bits) as a ``Fragment``.

    Only the containers that hold one are rebuilt: each child container is
    first tried with orjson (in C), so a projection of a million deliveries
    with a few sums past 64 bits costs a few dumps of its parts, not a
    Python walk over every value.
    """
    if isinstance(data, bool):
        return data
    if isinstance(data, int) and data not in _INT64_RANGE:
        return orjson.Fragment(str(data).encode())
    if isinstance(data, dict):
        return {key: _exact_part(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_exact_part(value) for value in data]
    return data


def _exact_part(value: Any) -> Any:
    """``_exact_integers(value)``, a container orjson writes as it is left as it is."""
    if isinstance(value, (dict, list, tuple)):
        try:
            orjson.dumps(value, default=_json_text)
        except TypeError:
            return _exact_integers(value)
        return value
    return _exact_integers(value)


def drop_logs(data: Any, *, unkept_only: bool = False) -> None:
    """Remove the ``LOG_FIELDS`` keys from every per-connector state in ``data``, in place.

    ``data`` is a whole-log result in the section 6 shape: the states are
    the values of its ``connectors`` and ``sync`` maps, and nothing else is
    touched (a connector whose id is ``deliveries`` stays). ``unkept_only=True``
    removes only the logs that are None: those a replay with
    ``include_logs=False`` did not keep. They are left out, as the CLI's
    ``--no-logs`` leaves them out, never written as null.
    """
    if not isinstance(data, dict):
        return
    for part in ("connectors", "sync"):
        states = data.get(part)
        if isinstance(states, dict):
            for state in states.values():
                drop_state_logs(state, unkept_only=unkept_only)


def drop_state_logs(state: Any, *, unkept_only: bool = False) -> None:
    """``drop_logs`` of one per-connector state (a connector's or a sync state's dict)."""
    if isinstance(state, dict):
        for key in LOG_FIELDS:
            if key in state and (not unkept_only or state[key] is None):
                del state[key]


def section6_form(data: dict[str, Any], *, include_logs: bool) -> dict[str, Any]:
    """The section 6 JSON form of a ``ReplayResult``-shaped dict (changed in place).

    The external link index keeps only ``links``, ``reverse_index`` and its
    anomalies (``link_anomalies`` in the model), and ``include_logs=False``
    drops the per-event logs (logs that were not kept are dropped anyway).
    """
    drop_logs(data, unkept_only=checked_include_logs(include_logs))
    links = data["external_links"]
    data["external_links"] = {
        "links": links["links"],
        "reverse_index": links["reverse_index"],
        "anomalies": links["link_anomalies"],
    }
    return data


def has_anomalies(data: dict[str, Any]) -> bool:
    """Whether a whole-log result (as ``Engine.result_data`` gives it) records any anomaly.

    Stream-level, per-connector, per-delivery and link anomalies all count.
    """
    if data["anomalies"] or data["external_links"]["link_anomalies"]:
        return True
    return any(
        state["anomalies"] for part in (data["connectors"], data["sync"]) for state in part.values()
    )


def all_anomalies(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every anomaly of whole-log result data: stream-level, per connector, then links'."""
    found: list[dict[str, Any]] = list(data["anomalies"])
    for part in ("connectors", "sync"):
        for cid in sorted(data[part]):
            found.extend(data[part][cid]["anomalies"])
    found.extend(data["external_links"]["link_anomalies"])
    return found


class ReplayData:
    """A whole-log replay result as plain data: the fields of ``results.ReplayResult``.

    What the command line's replay produces. ``to_dict`` and ``to_json``
    give exactly what ``ReplayResult.to_dict``/``to_json`` give for the same
    log, without building the pydantic models.
    """

    __slots__ = ("data", "places", "sources")

    def __init__(
        self,
        data: dict[str, Any],
        *,
        sources: Sequence[str] = (),
        places: Mapping[object, tuple[int, int]] | None = None,
    ) -> None:
        self.data = data
        """The result's fields (as ``Engine.result_data`` gives them)."""
        self.sources = tuple(sources)
        """The names of the inputs, in the order replay read them."""
        self.places: Mapping[object, tuple[int, int]] = places or {}
        """Where anomalies come from: event_id (or ``id()`` of an anomaly without one)
        -> (index in ``sources``, 1-based line number)."""

    def located_anomalies(self) -> list[tuple[dict[str, Any], str | None, int | None]]:
        """Every anomaly of the result with the input and line of the event that caused it.

        Stream-level anomalies first, then each connector's lifecycle and
        delivery anomalies (by connector_id), then the link index's; the
        place is ``(None, None)`` when it is not known (the result of a
        library call, or an event whose copies were all read again).
        """
        located: list[tuple[dict[str, Any], str | None, int | None]] = []
        for item in all_anomalies(self.data):
            place = self.place(item)
            if place is None:
                located.append((item, None, None))
            else:
                located.append((item, self.sources[place[0]], place[1]))
        return located

    def place(self, item: Mapping[str, Any]) -> tuple[int, int] | None:
        """(index in ``sources``, line) of one anomaly of ``data``, or None when not known.

        A ``malformed_envelope`` anomaly is placed by identity, on the line
        that could not be read (another, valid, line may hold its event).
        Any other anomaly has the place of the event it names; else its own
        (an anomaly of a line without a usable event_id).
        """
        if item["kind"] == "malformed_envelope":
            own = self.places.get(id(item))
            if own is not None:
                return own
        event_id = item["event_id"]
        place = self.places.get(event_id) if event_id else None
        return self.places.get(id(item)) if place is None else place

    def anomaly_groups(self) -> list[tuple[str | None, Sequence[dict[str, Any]]]]:
        """The anomalies in report order, as (connector_id, anomalies) lists.

        Each connector's (by connector_id) lifecycle, then delivery
        anomalies, then the link index's, then stream-level ones; the
        connector_id is None for the last two. A connector state without
        anomalies has no group (a log of many connectors sorts only those
        with some).
        """
        data = self.data
        connectors, sync = data["connectors"], data["sync"]
        groups: list[tuple[str | None, Sequence[dict[str, Any]]]] = []
        having = {cid for part in (connectors, sync) for cid, s in part.items() if s["anomalies"]}
        for cid in sorted(having):
            for part in (connectors, sync):
                state = part.get(cid)
                if state is not None and state["anomalies"]:
                    groups.append((cid, state["anomalies"]))
        groups.append((None, data["external_links"]["link_anomalies"]))
        groups.append((None, data["anomalies"]))
        return groups

    def placed_anomalies(
        self,
    ) -> list[tuple[str, str | None, str, str | None, str | None, int | None]]:
        """Every anomaly as (kind, event_id, message, connector_id, input, line).

        In report order (``anomaly_groups``); ``connector_id`` is None for
        the link index's and stream-level anomalies, and the input and line
        are None where ``place`` does not know them. What the command line
        lists on standard error, without matching the anomalies of
        ``located_anomalies`` back to the result's.
        """
        sources = self.sources
        place = self.place
        placed: list[tuple[str, str | None, str, str | None, str | None, int | None]] = []
        for connector, items in self.anomaly_groups():
            for item in items:
                where = place(item)
                source, line = (None, None) if where is None else (sources[where[0]], where[1])
                placed.append(
                    (item["kind"], item["event_id"], item["message"], connector, source, line)
                )
        return placed

    def to_dict(self, *, include_logs: bool = True) -> dict[str, Any]:
        """The section 6 form; ``include_logs=False`` drops the per-event logs.

        Lists, dicts and plain values as in ``ReplayResult.to_dict()``, except
        that datetimes and enum members are left as they are:
        ``canonical_dumps`` writes them exactly as pydantic's JSON mode does.
        """
        # Copies of the per-connector states: dropping logs must not change self.data.
        return self._form(include_logs, dict)

    def spend_to_dict(self, *, include_logs: bool = True) -> dict[str, Any]:
        """``to_dict``, made of this result's own per-connector states: they lose their logs.

        For a caller that, once it has the form, reads only what reports read
        (the anomalies and their places, which stay): copying every state
        first cost a tenth of a second per 100,000 connectors.
        """
        return self._form(include_logs, lambda state: state)

    def _form(
        self, include_logs: bool, state_of: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        data = dict(self.data)
        for part in ("connectors", "sync"):
            data[part] = {cid: state_of(state) for cid, state in data[part].items()}
        return section6_form(data, include_logs=include_logs)

    def to_json(self, *, include_logs: bool = True) -> bytes:
        """Canonical JSON bytes of ``to_dict()``."""
        return canonical_dumps(self.to_dict(include_logs=include_logs))
