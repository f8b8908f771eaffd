"""Sync delivery rules (sync.py) through every engine."""

from __future__ import annotations

from tests.reducing.rules.base import (
    ApiCompiled,
    ApiPython,
    IncrementalCompiled,
    IncrementalEvents,
    IncrementalPython,
    LinesCompiled,
    LinesPython,
    StreamCompiled,
    StreamPython,
)
from tests.reducing.rules.sync import SyncRules


class TestSyncRulesApiPython(ApiPython, SyncRules):
    """SyncRules on ``replay()``, pure Python."""


class TestSyncRulesApiCompiled(ApiCompiled, SyncRules):
    """SyncRules on ``replay()``, compiled core."""


class TestSyncRulesStreamPython(StreamPython, SyncRules):
    """SyncRules on the command line's stream replay, pure Python."""


class TestSyncRulesStreamCompiled(StreamCompiled, SyncRules):
    """SyncRules on the command line's stream replay, compiled core."""


class TestSyncRulesLinesPython(LinesPython, SyncRules):
    """SyncRules on ``replay_lines``, pure Python."""


class TestSyncRulesLinesCompiled(LinesCompiled, SyncRules):
    """SyncRules on ``replay_lines``, compiled core."""


class TestSyncRulesIncrementalPython(IncrementalPython, SyncRules):
    """SyncRules on ``Projection.apply``, one event at a time, pure Python."""


class TestSyncRulesIncrementalCompiled(IncrementalCompiled, SyncRules):
    """SyncRules on ``Projection.apply``, one event at a time, compiled core."""


class TestSyncRulesIncrementalEvents(IncrementalEvents, SyncRules):
    """SyncRules on ``Projection.apply`` of Events, one at a time, compiled core."""
