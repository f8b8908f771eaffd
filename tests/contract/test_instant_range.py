"""``utc_instant_in_range``: a date-time whose UTC instant leaves years 1..9999 is refused.

Its quick answer (True for any year from 0002 to 9998, since an offset
moves an instant by less than 100 hours) must be the full computation's
answer for every string: date-times at the edges of the range with every
kind of offset, and text that is not a date-time at all.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts.contract.patterns import _shifted_in_range, utc_instant_in_range

_YEARS = st.sampled_from(["0000", "0001", "0002", "5000", "9998", "9999", "1999", "99a9", "9"])
_OFFSETS = st.sampled_from(["Z", "z", "+00:00", "-00:01", "+00:01", "+23:59", "-23:59", "+99:59"])


@st.composite
def _date_times(draw: st.DrawFn) -> str:
    year = draw(_YEARS)
    month, day = draw(st.sampled_from([("01", "01"), ("12", "31"), ("02", "30"), ("13", "01")]))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59", "12:30:00.5", "24:00:00"]))
    text = f"{year}-{month}-{day}T{clock}{draw(_OFFSETS)}"
    return text + draw(st.sampled_from(["", "\n", "x"]))


@settings(max_examples=2000, deadline=None)
@given(value=_date_times() | st.text(max_size=30))
def test_the_quick_answer_is_the_full_computation(value: str) -> None:
    assert utc_instant_in_range(value) == _shifted_in_range(value)


@pytest.mark.parametrize(
    ("value", "in_range"),
    [
        ("9999-12-31T23:30:00-01:00", False),
        ("0001-01-01T00:30:00+01:00", False),
        ("9999-12-31T23:30:00+01:00", True),
        ("9998-12-31T23:30:00-99:59", True),
        ("0002-01-01T00:00:00+99:59", True),
    ],
)
def test_instants_past_the_edges_are_out_of_range(value: str, in_range: bool) -> None:
    assert utc_instant_in_range(value) is in_range
