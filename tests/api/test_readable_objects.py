"""The library's objects read well: in ``str()``, ``repr()``, f-strings and JSON.

Issue 13, item 9: what a user sees printing an enum, a result or a
projection in a REPL or a log line is short and in the contract's words.
"""

from __future__ import annotations

from enum import Enum

import pytest

from connector_sync_contracts import (
    ActorType,
    ConnectorState,
    Family,
    HealthStatus,
    Layer,
    ReconnectStrategy,
    SyncOutcome,
)

VALUE_ENUMS: tuple[type[Enum], ...] = (
    ActorType,
    ConnectorState,
    Family,
    HealthStatus,
    Layer,
    ReconnectStrategy,
    SyncOutcome,
)


@pytest.mark.parametrize("enum", VALUE_ENUMS, ids=lambda e: e.__name__)
def test_str_and_format_of_every_public_enum_is_its_value(enum: type[Enum]) -> None:
    for member in enum:
        assert str(member) == member.value
        assert f"{member}" == member.value
        assert f"{member:>20}" == f"{member.value:>20}"
        assert "%s" % member == member.value  # noqa: UP031 - the old style reads the same
        # repr still names the member, for debugging.
        assert repr(member).startswith(f"<{enum.__name__}.{member.name}:")
        # Still a str: compares equal to, and hashes like, its value.
        assert member == member.value
        assert hash(member) == hash(member.value)


def test_a_state_reads_as_it_is_written_in_events() -> None:
    assert f"connector is {ConnectorState.HEALTHY}" == "connector is healthy"
    assert str(HealthStatus.UNREACHABLE) == "unreachable"
