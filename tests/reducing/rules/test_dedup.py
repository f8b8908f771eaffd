"""Dedup and replay-order rules (dedup.py) through every engine but the incremental one.

See ``DedupRules``'s docstring for why ``Projection.apply`` does not run them.
"""

from __future__ import annotations

from tests.reducing.rules.base import (
    ApiCompiled,
    ApiPython,
    LinesCompiled,
    LinesPython,
    StreamCompiled,
    StreamPython,
)
from tests.reducing.rules.dedup import DedupRules


class TestDedupRulesApiPython(ApiPython, DedupRules):
    """DedupRules on ``replay()``, pure Python."""


class TestDedupRulesApiCompiled(ApiCompiled, DedupRules):
    """DedupRules on ``replay()``, compiled core."""


class TestDedupRulesStreamPython(StreamPython, DedupRules):
    """DedupRules on the command line's stream replay, pure Python."""


class TestDedupRulesStreamCompiled(StreamCompiled, DedupRules):
    """DedupRules on the command line's stream replay, compiled core."""


class TestDedupRulesLinesPython(LinesPython, DedupRules):
    """DedupRules on ``replay_lines``, pure Python."""


class TestDedupRulesLinesCompiled(LinesCompiled, DedupRules):
    """DedupRules on ``replay_lines``, compiled core."""
