"""The compiled fold's anomalies become the same data the Python steps make.

``from_native`` turns each ``(kind, event_id, *parameters)`` the compiled
fold reports into the anomaly its builder in ``reducing/anomalies.py``
makes, every time it is asked (the compiled fold asks once per parameters
for a kind that names only states, types and rule codes, and keeps the
message: ``test_anomaly_messages_fold.py``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts.contract.rules import SEMANTIC_RULES
from connector_sync_contracts.reducing.anomalies import (
    NATIVE_ANOMALIES,
    from_native,
)

_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_CODES = st.sampled_from([rule.code for rule in SEMANTIC_RULES] + ["no_such_rule"])
_STATE = st.none() | _WORDS

_PARAMETERS: dict[str, Any] = {
    "identity_changed": st.tuples(_WORDS, _WORDS, _WORDS, _WORDS),
    "invalid_transition": st.tuples(_WORDS, _STATE, _WORDS),
    "previous_state_mismatch": st.tuples(_STATE, _STATE),
    "reconnect_loop": st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
    "semantic_violation": st.tuples(_CODES),
    "retry_budget_exceeded": st.tuples(_CODES),
    "duplicate_delivery": st.tuples(
        _WORDS, _WORDS, st.sampled_from(["replay", "retry", "terminal"]), _WORDS
    ),
    "retry_after_terminal": st.tuples(_WORDS, _WORDS, _WORDS),
    "retry_attempt_regressed": st.tuples(_WORDS, _WORDS, st.integers(0, 99), st.integers(0, 99)),
    "conflicting_outcome": st.tuples(_WORDS, _WORDS, _WORDS, _WORDS),
    "link_id_reused": st.tuples(_WORDS, _WORDS, _WORDS, _WORDS),
    "conflicting_link": st.tuples(_WORDS, _WORDS, _WORDS, _WORDS, _WORDS, _WORDS, _WORDS),
    "malformed_payload": st.tuples(_WORDS),
}


def test_every_kind_the_fold_reports_is_drawn_here() -> None:
    assert set(_PARAMETERS) == set(NATIVE_ANOMALIES)


@st.composite
def reports(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(sorted(_PARAMETERS)))
    return (kind, *draw(_PARAMETERS[kind]))


@given(
    found=st.lists(reports(), min_size=1, max_size=8),
    repeats=st.lists(st.integers(0, 7), max_size=12),
)
def test_from_native_gives_what_each_builder_makes_every_time(
    found: list[tuple[Any, ...]], repeats: list[int]
) -> None:
    # The same parameters again and again, each time for another event.
    order = [*range(len(found)), *(n % len(found) for n in repeats)]
    for number, at in enumerate(order):
        kind, *params = found[at]
        event_id = f"01J{number:023d}"
        expected = NATIVE_ANOMALIES[kind](event_id, *params)
        assert from_native((kind, event_id, *params)) == expected
        assert list(from_native((kind, event_id, *params))) == ["kind", "event_id", "message"]
