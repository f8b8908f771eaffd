"""Connector lifecycle rules (connector.py) through every engine."""

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
from tests.reducing.rules.connector import ConnectorRules


class TestConnectorRulesApiPython(ApiPython, ConnectorRules):
    """ConnectorRules on ``replay()``, pure Python."""


class TestConnectorRulesApiCompiled(ApiCompiled, ConnectorRules):
    """ConnectorRules on ``replay()``, compiled core."""


class TestConnectorRulesStreamPython(StreamPython, ConnectorRules):
    """ConnectorRules on the command line's stream replay, pure Python."""


class TestConnectorRulesStreamCompiled(StreamCompiled, ConnectorRules):
    """ConnectorRules on the command line's stream replay, compiled core."""


class TestConnectorRulesLinesPython(LinesPython, ConnectorRules):
    """ConnectorRules on ``replay_lines``, pure Python."""


class TestConnectorRulesLinesCompiled(LinesCompiled, ConnectorRules):
    """ConnectorRules on ``replay_lines``, compiled core."""


class TestConnectorRulesIncrementalPython(IncrementalPython, ConnectorRules):
    """ConnectorRules on ``Projection.apply``, one event at a time, pure Python."""


class TestConnectorRulesIncrementalCompiled(IncrementalCompiled, ConnectorRules):
    """ConnectorRules on ``Projection.apply``, one event at a time, compiled core."""


class TestConnectorRulesIncrementalEvents(IncrementalEvents, ConnectorRules):
    """ConnectorRules on ``Projection.apply`` of Events, one at a time, compiled core."""
