"""Dedup and replay-order rules (dedup.py) through every engine but the incremental one.

Event objects run them too: the core reads an Event from its instance
dictionary, and compares copies of an event_id by reading both again
(``objects.c``).

See ``DedupRules``'s docstring for why ``Projection.apply`` does not run them.
"""

from __future__ import annotations

from tests.reducing.rules.base import (
    ApiCompiled,
    ApiPython,
    EventsCompiled,
    LinesCompiled,
    LinesPython,
    StreamCompiled,
    StreamCompiledReread,
    StreamPython,
)
from tests.reducing.rules.dedup import DedupRules


class TestDedupRulesApiPython(ApiPython, DedupRules):
    """DedupRules on ``replay()``, pure Python."""


class TestDedupRulesApiCompiled(ApiCompiled, DedupRules):
    """DedupRules on ``replay()``, compiled core."""


class TestDedupRulesEventsCompiled(EventsCompiled, DedupRules):
    """DedupRules on ``replay()`` of Event objects, compiled core."""


class TestDedupRulesStreamPython(StreamPython, DedupRules):
    """DedupRules on the command line's stream replay, pure Python."""


class TestDedupRulesStreamCompiled(StreamCompiled, DedupRules):
    """DedupRules on the command line's stream replay, compiled core."""


class TestDedupRulesLinesPython(LinesPython, DedupRules):
    """DedupRules on ``replay_lines``, pure Python."""


class TestDedupRulesLinesCompiled(LinesCompiled, DedupRules):
    """DedupRules on ``replay_lines``, compiled core."""


class TestDedupRulesStreamCompiledReread(StreamCompiledReread, DedupRules):
    """DedupRules on the compiled stream replay, every copy decided in Python read again."""
