"""Results assembled from the fold's data equal validated ones, field for field.

``replay`` and the reducers build their frozen results without validating
the fold's data again (``results.*_from_data``). That is only sound while
the result is exactly what ``model_validate`` of the same data gives: same
values, same types (enum members, tuples, UTC datetimes), same fields set,
same JSON. A pydantic upgrade that changes how models are built fails here.

Every test runs with both model makers: the compiled core's ``instances``
and the pure-Python ``_made``.
"""

from __future__ import annotations

import gc
import json
from importlib import resources
from typing import Any, Final

import pytest
from hypothesis import given, settings
from pydantic import BaseModel

from connector_sync_contracts import Event
from connector_sync_contracts.contract.catalog import ALL_FAMILIES, Family
from connector_sync_contracts.contract.lifecycle import SyncOutcome
from connector_sync_contracts.models.results import (
    ConnectorProjection,
    DeliveryState,
    LinkIndex,
    ReplayResult,
    SyncProjection,
    connector_projection_from_data,
    link_index_from_data,
    replay_result_from_data,
    sync_projection_from_data,
)
from connector_sync_contracts.reducing.api import Projection
from tests.support.engines import ENGINES, Engine, engine, needs_native
from tests.support.soak import examples
from tests.support.strategies import logs

EXAMPLE: Final = resources.files("connector_sync_contracts") / "examples" / "example_day.jsonl"


def _example_events() -> list[Event]:
    return [Event.model_validate(json.loads(line)) for line in EXAMPLE.read_text().splitlines()]


def _same(built: Any, validated: Any) -> None:
    """Equal in every nested model's fields, types and fields set, and in JSON."""
    _same_fields(built, validated)
    assert built.to_json() == validated.to_json()
    assert built.to_json(include_logs=False) == validated.to_json(include_logs=False)


def _same_fields(built: Any, validated: Any) -> None:
    assert type(built) is type(validated)
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert list(vars(built)) == list(vars(validated))
    for name in type(validated).model_fields:
        mine, theirs = getattr(built, name), getattr(validated, name)
        assert type(mine) is type(theirs), name
        if isinstance(theirs, dict):
            assert list(mine) == list(theirs), name
            for key in theirs:
                assert type(key) is type(next(k for k in mine if k == key)), name
            pairs = list(zip(mine.values(), theirs.values(), strict=True))
        elif isinstance(theirs, tuple):
            pairs = list(zip(mine, theirs, strict=True))
        else:
            pairs = [(mine, theirs)]
        for a, b in pairs:
            if isinstance(b, BaseModel):
                _same_fields(a, b)
            else:
                assert type(a) is type(b), name


def _folded(log: list[dict[str, Any]], families: frozenset[Family]) -> Projection:
    projection = Projection(families=families)
    projection._load(log)
    return projection


@pytest.mark.parametrize("maker", ENGINES)
@settings(max_examples=examples(60, 1000), deadline=None)
@given(logs())
def test_a_replay_result_built_from_data_equals_the_validated_one(
    maker: Engine, log: list[dict[str, Any]]
) -> None:
    projection = _folded(log, ALL_FAMILIES)
    data = projection._engine.result_data(
        event_count=len(projection._dedup.winners),
        duplicates_dropped=projection._dedup.duplicates_dropped,
        stream_anomalies=[*projection._envelope_anomalies, *projection._dedup.anomalies()],
    )
    with engine(maker):
        built = replay_result_from_data(data)
    _same(built, ReplayResult.model_validate(data))


@pytest.mark.parametrize("maker", ENGINES)
@settings(max_examples=examples(40, 600), deadline=None)
@given(logs())
def test_each_projection_built_from_data_equals_the_validated_one(
    maker: Engine, log: list[dict[str, Any]]
) -> None:
    counts = {"event_count": 3, "duplicates_dropped": 1, "ignored_event_count": 2}
    connectors, syncs = _folded(log, ALL_FAMILIES)._engine.states()
    data: dict[str, Any] = {**counts, "anomalies": [], "connectors": connectors}
    with engine(maker):
        built_connectors = connector_projection_from_data(data)
    _same(built_connectors, ConnectorProjection.model_validate(data))
    data = {**counts, "anomalies": [], "sync": syncs}
    with engine(maker):
        built_syncs = sync_projection_from_data(data)
    _same(built_syncs, SyncProjection.model_validate(data))
    links = _folded(log, frozenset({Family.LINK}))._engine.links.data((3, 1, 2), [])
    with engine(maker):
        built_links = link_index_from_data(links)
    _same(built_links, LinkIndex.model_validate(links))


@pytest.mark.parametrize("maker", ENGINES)
def test_model_construct_agrees_with_the_fast_path(maker: Engine) -> None:
    """The fast path does what ``model_construct`` does for these models."""
    fields: dict[str, Any] = {
        "delivery_id": "d-1",
        "source_event_fingerprint": "sha256:ab",
        "status": SyncOutcome.ACCEPTED,
        "attempts": 2,
        "last_event_id": "01J0000000000000000000000A",
    }
    data: dict[str, Any] = {
        "connector_id": "c",
        "outcome_counts": {"accepted": 1},
        "ingested_items": 1,
        "replayed_items": 0,
        "pending_retries": 0,
        "outcome_log": None,
        "deliveries": (fields,),
        "anomalies": [],
    }
    projection = {
        "event_count": 1,
        "duplicates_dropped": 0,
        "ignored_event_count": 0,
        "anomalies": [],
        "sync": {"c": data},
    }
    with engine(maker):
        built, again = sync_projection_from_data(projection), sync_projection_from_data(projection)
    delivery, other = built.sync["c"].deliveries, again.sync["c"].deliveries
    assert delivery is not None
    assert other is not None
    expected = DeliveryState.model_construct(**fields)
    assert delivery[0] == expected
    assert vars(delivery[0]) == vars(expected)
    assert delivery[0].model_fields_set == expected.model_fields_set
    assert delivery[0].model_fields_set is not other[0].model_fields_set
    assert delivery[0].__pydantic_extra__ is None
    assert delivery[0].__pydantic_private__ is None


def _compiled_maker() -> Any:
    """The compiled core's ``instances``."""
    from connector_sync_contracts._engine.native import model_maker

    with engine("compiled"):
        instances = model_maker()
    assert instances is not None
    return instances


LEAVES: Final = {"kind": "x", "event_id": None, "message": "m"}
"""Fields of leaves only (str and None)."""


@needs_native
def test_the_compiled_maker_refuses_what_is_not_a_dict() -> None:
    """``instances`` takes dicts only, and leaves nothing half made behind an error."""
    instances = _compiled_maker()
    fine = dict(LEAVES)
    with pytest.raises(TypeError, match="sequence of dicts"):
        instances(DeliveryState, [fine, [("kind", "x")]])
    with pytest.raises(TypeError, match="sequence of dicts"):
        instances(DeliveryState, 3)
    assert instances(DeliveryState, ()) == ()


def _untracked(obj: Any) -> bool:
    return not gc.is_tracked(obj)


@needs_native
def test_a_compiled_replay_leaves_its_acyclic_results_to_reference_counting() -> None:
    """Log entries and deliveries hold only leaves: the cyclic collector does not track them.

    A service that replays a large log would otherwise pay for the
    collector visiting every one of them, at once and at every full
    collection after.
    """
    from connector_sync_contracts import replay

    with engine("compiled"):
        result = replay(_example_events())
    states = [state for state in result.sync.values() if state.deliveries]
    assert states
    for state in states:
        assert state.deliveries is not None
        assert state.outcome_log
        assert _untracked(state.deliveries)
        for delivery in state.deliveries:
            assert _untracked(delivery)
            assert _untracked(vars(delivery))
            assert _untracked(delivery.model_fields_set)
        assert _untracked(state.outcome_log)
        assert all(_untracked(entry) for entry in state.outcome_log)
    logs = [state.transition_log for state in result.connectors.values() if state.transition_log]
    assert logs
    assert all(_untracked(log) for log in logs)
    assert all(_untracked(entry) for log in logs for entry in log)


@needs_native
def test_deliveries_made_by_the_compiled_fold_are_what_model_construct_makes() -> None:
    """The fold makes the library's deliveries itself; each is an ordinary model of its own."""
    from connector_sync_contracts import replay

    with engine("compiled"):
        result = replay(_example_events())
    with engine("python"):
        expected = replay(_example_events())
    made = [d for state in result.sync.values() for d in state.deliveries or ()]
    assert len(made) > 1
    assert made == [d for state in expected.sync.values() for d in state.deliveries or ()]
    for delivery in made:
        assert type(delivery) is DeliveryState
        assert delivery == DeliveryState.model_construct(**vars(delivery))
        assert delivery.model_fields_set == set(vars(delivery))
        assert delivery.__pydantic_extra__ is None
        assert delivery.__pydantic_private__ is None
    first, second = made[0], made[1]
    assert first.model_fields_set is not second.model_fields_set
    changed = first.model_copy(update={"attempts": first.attempts + 1})
    assert changed.attempts == first.attempts + 1
    assert first.model_fields_set == set(DeliveryState.model_fields)


@needs_native
def test_the_compiled_maker_keeps_tracking_a_model_that_could_be_in_a_cycle() -> None:
    """Only a model whose fields are all leaves (untracked objects, enum members) is untracked."""
    instances = _compiled_maker()
    leaves = dict(LEAVES)

    class Holder:
        pass

    held = [{**leaves, "message": []}, {**leaves, "event_id": Holder()}, leaves]
    mutable, instance, plain = instances(DeliveryState, held)
    for model in (mutable, instance):
        assert gc.is_tracked(model)
        assert gc.is_tracked(vars(model))
    assert _untracked(plain)
    made = instances(DeliveryState, [leaves, {**leaves, "status": SyncOutcome.ACCEPTED}])
    assert all(_untracked(model) for model in made)
    assert _untracked(made)
    tracked = instances(DeliveryState, held[:1])
    assert gc.is_tracked(tracked)
