"""Whole-log replay rules (replay.py) through every engine."""

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
from tests.reducing.rules.replay import ReplayRules


class TestReplayRulesApiPython(ApiPython, ReplayRules):
    """ReplayRules on ``replay()``, pure Python."""


class TestReplayRulesApiCompiled(ApiCompiled, ReplayRules):
    """ReplayRules on ``replay()``, compiled core."""


class TestReplayRulesStreamPython(StreamPython, ReplayRules):
    """ReplayRules on the command line's stream replay, pure Python."""


class TestReplayRulesStreamCompiled(StreamCompiled, ReplayRules):
    """ReplayRules on the command line's stream replay, compiled core."""


class TestReplayRulesLinesPython(LinesPython, ReplayRules):
    """ReplayRules on ``replay_lines``, pure Python."""


class TestReplayRulesLinesCompiled(LinesCompiled, ReplayRules):
    """ReplayRules on ``replay_lines``, compiled core."""


class TestReplayRulesIncrementalPython(IncrementalPython, ReplayRules):
    """ReplayRules on ``Projection.apply``, one event at a time, pure Python."""


class TestReplayRulesIncrementalCompiled(IncrementalCompiled, ReplayRules):
    """ReplayRules on ``Projection.apply``, one event at a time, compiled core."""


class TestReplayRulesIncrementalEvents(IncrementalEvents, ReplayRules):
    """ReplayRules on ``Projection.apply`` of Events, one at a time, compiled core."""
