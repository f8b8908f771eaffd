"""The scanner a thread shares for one item at a time (``validate_event``, ``Projection.apply``).

Making a scanner costs a few hundred microseconds, which a short-lived
``Projection`` or a single check would pay each time; a scan holds its
scanner's scratch space, so each thread has its own; and a scanner keeps the
strings of the records it made, so a fresh one replaces it after a bounded
number of reads.
"""

from __future__ import annotations

import threading

import pytest

from connector_sync_contracts import Projection, validate_event
from connector_sync_contracts._engine import native
from tests.support.engines import engine, needs_native
from tests.support.factories import envelope

pytestmark = needs_native


def test_one_scanner_a_thread_replaced_after_its_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_SHARED_READS", 3)
    monkeypatch.setattr(native, "_threads", threading.local())
    first = [native.shared_scanner() for _ in range(3)]
    assert first[0] is not None
    assert all(s is first[0] for s in first)
    assert native.shared_scanner() is not first[0]  # the fourth read: a fresh scanner
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(native.shared_scanner()))
    thread.start()
    thread.join()
    assert other[0] is not None
    assert other[0] is not first[0]


def test_projections_and_checks_share_it_and_the_switch_still_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(native, "_threads", threading.local())
    event = envelope("ConnectorProvisioned", seq=1)
    with engine("compiled"):
        for _ in range(3):
            projection = Projection()
            projection.apply(event)
            assert projection.result().event_count == 1
        assert validate_event(event).valid
        assert native._threads.reads == 4  # one scanner made for all four reads
    with engine("python"):
        assert native.shared_scanner() is None
