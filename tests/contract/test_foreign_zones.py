"""A datetime whose tzinfo is Python code is written without orjson calling it.

orjson writes a datetime of a tzinfo other than ``datetime.timezone`` and
``zoneinfo.ZoneInfo`` by calling its ``utcoffset``, and crashes the
interpreter (a segmentation fault) when that raises. A validated ``Event``
never holds a datetime (its payload's are written as their text), but one
made with ``Event.model_construct``, or whose payload dict was changed, may:
``canonical_json``, ``replay()``, ``Projection.apply`` and
``to_structured_json`` of it crashed. They now raise the tzinfo's own error,
in both engines, and write a well-behaved one as they always did.

Each case runs in a child interpreter, so a crash fails the test instead of
ending the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone, tzinfo
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo

import orjson
import pytest

from connector_sync_contracts.contract.canonical import canonical_bytes, zoned_text

_EXAMPLE: Final = resources.files("connector_sync_contracts") / "examples" / "example_day.jsonl"

_CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    from connector_sync_contracts import Event, Projection, canonical_json, replay
    from connector_sync_contracts.interop.cloudevents import to_structured_json

    class Raising(dt.tzinfo):
        def utcoffset(self, moment):
            raise RuntimeError("no offset here")
        def dst(self, moment):
            return None
        def tzname(self, moment):
            return "raising"

    line, call, where = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
    valid = Event.model_validate_json(line)
    moment = dt.datetime(2026, 11, 24, tzinfo=Raising())
    fields = dict(valid.__dict__)
    if where == "payload":
        fields["payload"] = {**valid.payload, "observed": [{"at": moment}]}
    else:
        fields["causation_id"] = moment
    event = Event.model_construct(**fields)

    def project():
        projection = Projection()
        projection.apply(event)
        return projection.result()

    calls = {
        "canonical_json": lambda: canonical_json(event),
        "replay": lambda: replay([event, valid]),
        "apply": project,
        "to_structured_json": lambda: to_structured_json(event),
    }
    try:
        calls[call]()
    except RuntimeError as exc:
        print("raised", exc)
    else:
        print("returned")
    """
)


@pytest.mark.parametrize("pure", ["0", "1"])
@pytest.mark.parametrize("where", ["payload", "envelope"])
@pytest.mark.parametrize("call", ["canonical_json", "replay", "apply", "to_structured_json"])
def test_a_tzinfo_that_raises_is_raised_not_a_crash(call: str, where: str, pure: str) -> None:
    line = _EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    env = {**os.environ, "CONNECTOR_SYNC_PURE_PYTHON": pure}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, line, call, where],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "raised no offset here"


class _Fixed(tzinfo):
    """A well-behaved tzinfo of Python code: a fixed offset."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes

    def utcoffset(self, moment: datetime | None) -> timedelta:
        return timedelta(minutes=self.minutes)

    def dst(self, moment: datetime | None) -> None:
        return None

    def tzname(self, moment: datetime | None) -> str:
        return f"fixed {self.minutes}"


@pytest.mark.parametrize("minutes", [0, 330, -480])
def test_a_tzinfo_of_python_code_is_written_as_its_offset(minutes: int) -> None:
    """RFC 3339 with its own offset, a zero one ``Z``: as a ``datetime.timezone``'s."""
    moment = datetime(2026, 11, 24, 8, 30, 5, 120, tzinfo=_Fixed(minutes))
    same = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert canonical_bytes({"at": [moment]}) == canonical_bytes({"at": [same]})
    assert zoned_text(moment, 0) == orjson.dumps(same).decode()[1:-1]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 24, tzinfo=timezone.utc),
        datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(1850, 1, 1, tzinfo=ZoneInfo("Europe/Amsterdam")),  # an offset with seconds
        datetime(2026, 11, 24, 1, 2, 3, 4),
        date(2026, 11, 24),
    ],
)
def test_a_date_or_time_orjson_writes_itself_is_written_as_it_writes_it(value: date) -> None:
    """Dates and times pass through Python now: their bytes are orjson's own, unchanged."""
    data = {"payload": {"at": value, "more": [value]}}
    expected = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    assert canonical_bytes(data) == expected
