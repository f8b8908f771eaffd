"""The compiled listing of located anomalies says what the Python listing says.

``replay`` lists every anomaly of a valid line on standard error as
``FILE:LINE: anomaly KIND [connector ID]: MESSAGE``, in file and line order
(``render.located_lines`` of ``ReplayData.placed_anomalies()``). A log can
have an anomaly on every other line, so ``render.replay_located_lines``
asks the compiled core's ``located_lines`` for the same list in one call.
These tests draw results (any text in names, kinds and messages, places
by event_id or by the anomaly itself, several anomalies on one line, lines
already reported, inputs missing from the files' order) and hold the two
listings equal, then check that the compiled one refuses malformed data
instead of guessing.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts._engine import native
from connector_sync_contracts._engine.native import PURE_PYTHON_ENV
from connector_sync_contracts.cli.render import (
    ROOT_CAUSES,
    located_lines,
    replay_located_lines,
    replay_located_text,
)
from connector_sync_contracts.contract.projection import ReplayData
from tests.support.engines import needs_native
from tests.support.soak import examples

# Any code point, lone surrogates and controls included: messages quote logs.
_TEXT = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None), max_size=12
)
_KINDS = st.sampled_from(["invalid_transition", "duplicate_delivery", *ROOT_CAUSES]) | _TEXT
_EVENT_IDS = st.none() | st.just("") | st.sampled_from(["e1", "e2", "e3"]) | _TEXT


@st.composite
def _results(draw: st.DrawFn) -> tuple[ReplayData, set[tuple[str, int]], list[str]]:
    """A result's anomalies and places, lines already reported, and the files' order."""
    sources = draw(st.lists(_TEXT, min_size=1, max_size=3))
    # Few lines, so anomalies share lines; now and then a large line number.
    lines = st.integers(1, 4) | st.integers(1, 2**64 - 1)
    places: dict[object, tuple[int, int]] = {}
    at_line: list[tuple[str, int]] = []

    def anomalies() -> list[dict[str, Any]]:
        items = draw(
            st.lists(
                st.fixed_dictionaries({"kind": _KINDS, "event_id": _EVENT_IDS, "message": _TEXT}),
                max_size=6,
            )
        )
        for item in items:
            how = draw(st.sampled_from(["event", "itself", "nowhere"]))
            place = (draw(st.integers(0, len(sources) - 1)), draw(lines))
            if how == "event" and item["event_id"]:
                places.setdefault(item["event_id"], place)
            elif how == "itself":
                places[id(item)] = place
            at_line.append((sources[place[0]], place[1]))
        return items

    cids = draw(st.lists(_TEXT, max_size=4, unique=True))
    connectors = {cid: {"anomalies": anomalies()} for cid in cids if draw(st.booleans())}
    sync = {cid: {"anomalies": anomalies()} for cid in cids if draw(st.booleans())}
    data = {
        "connectors": connectors,
        "sync": sync,
        "external_links": {"link_anomalies": anomalies()},
        "anomalies": anomalies(),
    }
    reported = set(draw(st.lists(st.sampled_from(at_line), max_size=3))) if at_line else set()
    files = draw(st.permutations(sources))[: draw(st.integers(0, len(sources)))]
    files += draw(st.lists(_TEXT, max_size=2))
    return ReplayData(data, sources=sources, places=places), reported, files


@needs_native
@settings(max_examples=examples(300, 5000), deadline=None)
@given(_results())
def test_the_compiled_listing_is_the_python_listing(
    drawn: tuple[ReplayData, set[tuple[str, int]], list[str]],
) -> None:
    result, reported, files = drawn
    expected = located_lines(result.placed_anomalies(), reported, files)
    assert native.anomaly_listing() is not None
    assert replay_located_lines(result, reported, files) == expected


@needs_native
@settings(max_examples=examples(300, 5000), deadline=None)
@given(_results(), st.integers(1, 4))
def test_the_joined_listing_is_the_listing_joined(
    drawn: tuple[ReplayData, set[tuple[str, int]], list[str]], chunk: int
) -> None:
    """The command line prints the compiled listing joined, ``chunk`` lines a str,
    unless a line holds a newline of its own: then it must get the lines."""
    result, reported, files = drawn
    lines = located_lines(result.placed_anomalies(), reported, files)
    text = replay_located_text(result, reported, files, chunk)
    if any("\n" in line for line in lines):
        assert text is None
    else:
        assert text == ["\n".join(lines[k : k + chunk]) for k in range(0, len(lines), chunk)]


def test_the_joined_listing_needs_the_core_and_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    result = ReplayData(
        {
            "connectors": {},
            "sync": {},
            "external_links": {"link_anomalies": []},
            "anomalies": [],
        }
    )
    with pytest.raises(ValueError, match="chunk"):
        replay_located_text(result, set(), [], 0)
    monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    assert replay_located_text(result, set(), [], 4096) is None


def test_without_the_core_the_python_listing_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    assert native.anomaly_listing() is None
    item = {"kind": "invalid_transition", "event_id": "e1", "message": "no"}
    data = {
        "connectors": {"c1": {"anomalies": [item]}},
        "sync": {},
        "external_links": {"link_anomalies": []},
        "anomalies": [],
    }
    result = ReplayData(data, sources=["a.jsonl"], places={"e1": (0, 7)})
    assert replay_located_lines(result, set(), ["a.jsonl"]) == [
        "a.jsonl:7: anomaly invalid_transition [connector c1]: no"
    ]


def _call(groups: Any, places: Any = None, sources: Any = None, ranks: Any = None) -> Any:
    listing = native.anomaly_listing()
    assert listing is not None
    return listing(
        groups,
        {"e1": (0, 1)} if places is None else places,
        ["a.jsonl"] if sources is None else sources,
        [0] if ranks is None else ranks,
        set(),
        ROOT_CAUSES,
    )


_ITEM: dict[str, Any] = {"kind": "invalid_transition", "event_id": "e1", "message": "m"}


@needs_native
@pytest.mark.parametrize(
    ("groups", "places", "sources", "ranks", "error"),
    [
        ([("c1", ["not a dict"])], None, None, None, TypeError),
        ([("c1", [{**_ITEM, "kind": 3}])], None, None, None, TypeError),
        ([("c1", [{"kind": "k", "event_id": "e1"}])], None, None, None, KeyError),
        ([("c1", [_ITEM])], {"e1": (1, 1)}, None, None, ValueError),
        ([("c1", [_ITEM])], {"e1": (-1, 1)}, None, None, ValueError),
        ([("c1", [_ITEM])], {"e1": (0, -1)}, None, None, OverflowError),
        ([("c1", [_ITEM])], {"e1": (0, 2**64)}, None, None, OverflowError),
        ([("c1", [_ITEM])], {"e1": [0, 1]}, None, None, TypeError),
        ([("c1", [_ITEM])], None, [b"a.jsonl"], None, TypeError),
        ([("c1", [_ITEM])], None, None, [0, 1], ValueError),
        ([("c1", [_ITEM])], None, None, [-1], OverflowError),
        ([(3, [_ITEM])], None, None, None, TypeError),
        ([("c1", [_ITEM], "extra")], None, None, None, TypeError),
        ([("c1", 5)], None, None, None, TypeError),
    ],
)
def test_the_compiled_listing_refuses_malformed_data(
    groups: Any, places: Any, sources: Any, ranks: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        _call(groups, places, sources, ranks)


@needs_native
def test_anomalies_of_one_line_keep_their_report_order() -> None:
    items = [{"kind": f"k{n}", "event_id": None, "message": str(n)} for n in range(40)]
    places: dict[object, tuple[int, int]] = {
        id(item): (0, 3 - n % 3) for n, item in enumerate(items)
    }
    lines = _call([("c1", items)], places)
    expected = [f"a.jsonl:{3 - n % 3}: anomaly k{n} [connector c1]: {n}" for n in range(40)]
    assert lines == sorted(expected, key=lambda text: int(text.split(":")[1]))
