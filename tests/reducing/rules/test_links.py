"""Link index rules (links.py) through every engine."""

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
from tests.reducing.rules.links import LinkRules


class TestLinkRulesApiPython(ApiPython, LinkRules):
    """LinkRules on ``replay()``, pure Python."""


class TestLinkRulesApiCompiled(ApiCompiled, LinkRules):
    """LinkRules on ``replay()``, compiled core."""


class TestLinkRulesStreamPython(StreamPython, LinkRules):
    """LinkRules on the command line's stream replay, pure Python."""


class TestLinkRulesStreamCompiled(StreamCompiled, LinkRules):
    """LinkRules on the command line's stream replay, compiled core."""


class TestLinkRulesLinesPython(LinesPython, LinkRules):
    """LinkRules on ``replay_lines``, pure Python."""


class TestLinkRulesLinesCompiled(LinesCompiled, LinkRules):
    """LinkRules on ``replay_lines``, compiled core."""


class TestLinkRulesIncrementalPython(IncrementalPython, LinkRules):
    """LinkRules on ``Projection.apply``, one event at a time, pure Python."""


class TestLinkRulesIncrementalCompiled(IncrementalCompiled, LinkRules):
    """LinkRules on ``Projection.apply``, one event at a time, compiled core."""


class TestLinkRulesIncrementalEvents(IncrementalEvents, LinkRules):
    """LinkRules on ``Projection.apply`` of Events, one at a time, compiled core."""
