"""Arguments every entry point checks alike: a bad reconnect limit or logs flag, paths as ``Path``.

``max_reconnect_cycles`` is refused with the same error by ``replay()`` of
mappings and of lines, ``reduce_connector_events``, ``Projection`` and
``replay_partitioned`` (spilled, before anything is read), in every engine,
over the range the command line's ``--max-reconnect-cycles`` takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from connector_sync_contracts import (
    Projection,
    reduce_connector_events,
    reduce_sync_events,
    replay,
    replay_lines,
    replay_partitioned,
)
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.contract.limits import INT64_MAX
from tests.support.engines import ENGINES, Engine, engine

LINES = list(generate_lines(GeneratorOptions(events=60, connectors=3, seed=4)))


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("arguments") / "log.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in LINES))
    return path


def _entry_points(log: Path) -> dict[str, Callable[[Any], object]]:
    dicts = [orjson.loads(line) for line in LINES]
    return {
        "replay": lambda cycles: replay(dicts, max_reconnect_cycles=cycles),
        "replay_lines": lambda cycles: replay_lines(LINES, max_reconnect_cycles=cycles),
        "reduce_connector_events": lambda cycles: reduce_connector_events(
            dicts, max_reconnect_cycles=cycles
        ),
        "Projection": lambda cycles: Projection(max_reconnect_cycles=cycles),
        "replay_partitioned": lambda cycles: replay_partitioned(
            [log], memory_limit="64kB", max_reconnect_cycles=cycles
        ),
    }


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize(
    ("cycles", "error", "message"),
    [
        (-1, ValueError, f"max_reconnect_cycles must be 0..{INT64_MAX}, not -1"),
        (INT64_MAX + 1, ValueError, f"max_reconnect_cycles must be 0..{INT64_MAX}, not "),
        (True, TypeError, "max_reconnect_cycles must be an int, not bool"),
        (3.0, TypeError, "max_reconnect_cycles must be an int, not float"),
        ("3", TypeError, "max_reconnect_cycles must be an int, not str"),
    ],
)
def test_a_reconnect_limit_no_engine_takes_is_refused_by_every_entry_point(
    name: Engine, log: Path, cycles: object, error: type[Exception], message: str
) -> None:
    with engine(name):
        for entry, call in _entry_points(log).items():
            with pytest.raises(error, match="^" + re.escape(message)) as raised:
                call(cycles)
            assert raised.type is error, entry


def _logs_entry_points(log: Path) -> dict[str, Callable[[Any], object]]:
    return {
        "replay_lines": lambda flag: replay_lines(LINES, include_logs=flag),
        "Projection": lambda flag: Projection(include_logs=flag),
        "replay_partitioned": lambda flag: replay_partitioned(
            [log], memory_limit="64kB", include_logs=flag
        ),
    }


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("flag", ["no", "false", 0, 1, None])
def test_an_include_logs_that_is_not_a_bool_is_refused_by_every_entry_point(
    name: Engine, log: Path, flag: object
) -> None:
    """``include_logs="no"`` is truthy: taken, it would keep the logs it meant to leave out."""
    message = f"include_logs must be a bool, not {type(flag).__name__}"
    with engine(name):
        for entry, call in _logs_entry_points(log).items():
            with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
                call(flag)
            assert call(False) is not None, entry


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_a_result_written_with_an_include_logs_that_is_not_a_bool_is_refused(flag: Any) -> None:
    dicts = [orjson.loads(line) for line in LINES]
    message = f"include_logs must be a bool, not {type(flag).__name__}"
    for result in (replay(dicts), reduce_connector_events(dicts), reduce_sync_events(dicts)):
        for write in (result.to_dict, result.to_json):
            with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
                write(include_logs=flag)
        written = result.to_json(include_logs=False)
        assert b"transition_log" not in written
        assert b"outcome_log" not in written
        assert b"transition_log" in result.to_json() or b"outcome_log" in result.to_json()


@pytest.mark.parametrize("name", ENGINES)
def test_the_largest_reconnect_limit_is_taken_by_every_entry_point(name: Engine, log: Path) -> None:
    with engine(name):
        for call in _entry_points(log).values():
            call(INT64_MAX)


def test_replay_partitioned_takes_paths_as_path_objects(log: Path) -> None:
    expected = replay_partitioned(str(log), memory_limit="64kB").to_json()
    assert replay_partitioned(log, memory_limit="64kB").to_json() == expected
    assert replay_partitioned([log], memory_limit="64kB").to_json() == expected


def test_replay_partitioned_checks_the_reconnect_limit_before_reading(tmp_path: Path) -> None:
    """An argument error comes before any input is opened (a 20 GB log is not routed first)."""
    with pytest.raises(ValueError, match=r"^max_reconnect_cycles must be"):
        replay_partitioned(
            [tmp_path / "missing.jsonl"], memory_limit="64kB", max_reconnect_cycles=-1
        )


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize(
    ("call", "given"),
    [
        (replay, "a mapping"),
        (replay, "an event"),
        (replay, "a text"),
        (reduce_connector_events, "a mapping"),
        (replay_lines, "bytes"),
        (replay_lines, "a text"),
        (replay, "None"),
        (replay_lines, "None"),
        (reduce_connector_events, "a number"),
    ],
)
def test_one_event_or_one_text_where_a_batch_belongs_is_a_type_error(
    name: Engine, call: Callable[[Any], object], given: str
) -> None:
    # Found by an outside run: replay(one_mapping) read the mapping's keys as ten
    # events and reported each as malformed, which hid the mistake.
    from connector_sync_contracts import Event

    first = orjson.loads(LINES[0])
    value = {
        "a mapping": first,
        "an event": Event.model_validate(first),
        "a text": LINES[0].decode(),
        "bytes": b"".join(line + b"\n" for line in LINES),
        # Not iterable at all: Python's own "'NoneType' object is not iterable" named neither.
        "None": None,
        "a number": 7,
    }[given]
    with engine(name), pytest.raises(TypeError, match=r"must be an iterable of .*, not "):
        call(value)


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("call", [replay, reduce_connector_events])
def test_an_open_file_where_events_belong_points_to_replay_lines(
    name: Engine, call: Callable[[Any], object], tmp_path: Path
) -> None:
    # Found by an outside run: replay(open(path, "rb")) read each line as a
    # non-object and returned an empty projection, without an error.
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in LINES))
    with engine(name), log.open("rb") as handle, pytest.raises(TypeError) as caught:
        call(handle)
    assert "not a file (BufferedReader): replay_lines(file)" in str(caught.value)


@pytest.mark.parametrize("name", ENGINES)
def test_a_line_where_an_envelope_belongs_is_reported_as_the_bytes_it_is(name: Engine) -> None:
    with engine(name):
        result = replay([LINES[0], bytearray(LINES[1]), LINES[2].decode()])  # type: ignore[list-item]
    assert [a.message for a in result.anomalies] == [
        "$: not_an_object: expected a JSON object, got bytearray (text is not read as JSON "
        "here: replay_lines reads JSONL lines)",
        "$: not_an_object: expected a JSON object, got bytes (text is not read as JSON "
        "here: replay_lines reads JSONL lines)",
        "$: not_an_object: expected a JSON object, got string",
    ]


@pytest.mark.parametrize(
    ("arguments", "error", "said"),
    [
        ({"paths": b"log.jsonl"}, TypeError, "paths must be a str, a path or a sequence"),
        ({"paths": [b"log.jsonl"]}, TypeError, "each path must be a str or a path, not bytes"),
        ({"paths": 7}, TypeError, "paths must be a str, a path or a sequence of them, not int"),
        ({"memory_limit": True}, TypeError, "memory_limit must be bytes (an int) or a string"),
        ({"memory_limit": 1.5}, TypeError, "memory_limit must be bytes (an int) or a string"),
        ({"client": object()}, TypeError, "client must be a dask.distributed Client, not object"),
        ({"on_problem": 5}, TypeError, "on_problem must be callable, not int"),
    ],
    ids=["bytes", "bytes-in-a-list", "int", "bool-limit", "float-limit", "client", "on-problem"],
)
def test_replay_partitioned_refuses_a_wrong_argument_before_reading(
    tmp_path: Path, arguments: dict[str, Any], error: type[Exception], said: str
) -> None:
    # Found by an outside run: a bytes path failed deep inside with "not int", a
    # bool limit was a ValueError, a client without submit an AttributeError, and
    # on_problem=5 failed only at the first problem, after the whole replay.
    call: dict[str, Any] = {"paths": [tmp_path / "missing.jsonl"], "memory_limit": "64kB"}
    with pytest.raises(error, match=re.escape(said)):
        replay_partitioned(**(call | arguments))


def test_replay_lines_refuses_an_on_problem_that_cannot_be_called() -> None:
    with pytest.raises(TypeError, match=r"^on_problem must be callable, not int$"):
        replay_lines(LINES, on_problem=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("families", "error", "said"),
    [
        ("sync", TypeError, "families must be a set of Family members, not str"),
        ({"bogus"}, ValueError, "families must be Family members (connector, "),
        (set(), ValueError, "families must name at least one of connector, "),
    ],
)
def test_a_projection_of_families_it_does_not_know_is_refused(
    families: Any, error: type[Exception], said: str
) -> None:
    with pytest.raises(error, match=re.escape(said)):
        Projection(families=families)


def test_a_projection_takes_families_by_member_or_value() -> None:
    from connector_sync_contracts import Family

    made = []
    for families in ({Family.SYNC}, {"sync"}, frozenset({Family.SYNC})):
        projection = Projection(families=families)
        for line in LINES:
            projection.apply(orjson.loads(line))
        made.append(projection.result())
    assert made[0].sync
    assert not made[0].connectors
    assert made[1].to_json() == made[0].to_json() == made[2].to_json()


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_validate_event_refuses_a_strict_that_is_not_a_bool(flag: Any) -> None:
    from connector_sync_contracts import validate_event

    with pytest.raises(TypeError, match=r"^strict must be a bool, not "):
        validate_event(orjson.loads(LINES[0]), strict=flag)
