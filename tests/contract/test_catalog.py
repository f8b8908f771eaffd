"""The contract's tables: one catalogue row per event type, and every table derived from it."""

from __future__ import annotations

import re

from connector_sync_contracts import (
    CONNECTOR_EVENT_TYPES,
    PAYLOAD_MODELS,
    SYNC_EVENT_TYPES,
    SYNC_OUTCOMES,
    ConnectorState,
    Family,
    SyncOutcome,
)
from connector_sync_contracts.contract.catalog import (
    CATALOG,
    CONNECTOR_TARGET_STATES,
    EVENT_FAMILIES,
)
from connector_sync_contracts.contract.patterns import EVENT_ID_PATTERN, ULID_ALPHABET
from connector_sync_contracts.reducing.facts import ConnectorFact, LinkFact, SyncFact


def test_every_event_type_has_exactly_one_row() -> None:
    names = [row.event_type for row in CATALOG]
    assert len(names) == len(set(names)) == 11
    assert list(PAYLOAD_MODELS) == names
    assert list(EVENT_FAMILIES) == names


def test_each_row_says_what_its_family_needs() -> None:
    for row in CATALOG:
        assert PAYLOAD_MODELS[row.event_type].__name__ == row.model
        if row.family is Family.SYNC:
            assert isinstance(row.outcome, SyncOutcome)
            assert row.target is None
        elif row.family is Family.CONNECTOR:
            assert row.outcome is None
        else:
            assert row.target is None
            assert row.outcome is None


def test_derived_tables_agree_with_the_rows() -> None:
    assert len(CONNECTOR_EVENT_TYPES) == 5
    assert len(SYNC_EVENT_TYPES) == 5
    assert set(SYNC_OUTCOMES.values()) == set(SyncOutcome)
    # Every connector event but the health check targets one state; the check targets by status.
    assert set(CONNECTOR_EVENT_TYPES) - set(CONNECTOR_TARGET_STATES) == {"ConnectorHealthChecked"}
    assert set(CONNECTOR_TARGET_STATES.values()) == set(ConnectorState) - {ConnectorState.HEALTHY}


def test_the_ulid_pattern_is_built_from_the_one_alphabet() -> None:
    assert len(ULID_ALPHABET) == 32
    assert not set("ILOU") & set(ULID_ALPHABET)
    ulid = re.compile(EVENT_ID_PATTERN)
    for char in ULID_ALPHABET + ULID_ALPHABET.lower():
        assert ulid.match(char * 26), char
    for char in "ILOUilou-_":
        assert not ulid.match(char * 26), char


def test_every_role_names_a_payload_field_and_a_fact_attribute() -> None:
    facts = {
        Family.CONNECTOR: ConnectorFact,
        Family.SYNC: SyncFact,
        Family.LINK: LinkFact,
    }
    for row in CATALOG:
        assert set(row.roles) <= set(PAYLOAD_MODELS[row.event_type].model_fields), row.event_type
        assert set(row.roles.values()) <= set(facts[row.family].__struct_fields__), row.event_type
        # Every family names its partition key.
        assert row.roles.get("connector_id") == "connector_id"
