"""The link index the compiled core writes as JSON is the one the objects make.

``connector-sync replay --format json`` asks the compiled fold for the link
index as its canonical JSON (``replay_sources(render_links=True)``): no
object is made per link, and the text arrives as ``JSONText`` values,
written apart from the rest of the document (``canonical_pieces``). These
tests hold that text, and the pieces together, to the bytes
``canonical_dumps`` writes for the same index made as objects, by
``replay()`` of the same events, over strings that need every kind of
escape, times with and without microseconds, and empty indexes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector_sync_contracts import replay
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.contract.catalog import EXTERNAL_REFERENCE_LINKED
from connector_sync_contracts.contract.projection import (
    LINK_INDEX_INDENT,
    JSONText,
    canonical_dumps,
    canonical_pieces,
)
from connector_sync_contracts.io import LineProblem, Source, parse_line
from tests.support.engines import ENGINES, Engine, engine, require_native
from tests.support.factories import envelope, payload_for
from tests.support.soak import examples

TEXT = st.text(
    # Any character a JSON string can carry (no lone surrogate): control
    # characters, quotes and backslashes (escaped), DEL, U+2028 and astral
    # characters (written as they are).
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "/", "\x00", "\x1f", "\b", "\t", "\n", "\f", "\r", "\x7f"]),
        st.sampled_from(["é", "\u2028", "\u0300", "😀", "中"]),
        st.characters(exclude_categories=["Cs"]),
    ),
    min_size=1,
    # Past 16 bytes: the writer looks for bytes to escape 16 and 8 at a time.
    max_size=40,
)
"""A non-empty string with the characters that JSON writers treat differently."""

TIMES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0999-12-31T23:59:59.999999+00:00",
            "9999-12-31T23:59:59Z",
            "2026-11-25T08:00:00.000000Z",
            "2026-11-25T08:00:00.5-05:30",
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(timezone(timedelta(hours=-3))),
    ).map(lambda moment: moment.isoformat()),
)
"""recorded_at as producers write it: any offset, with and without a fraction."""


@st.composite
def link_lines(draw: st.DrawFn) -> list[bytes]:
    """Link events whose strings need escapes; keys repeat so links conflict and absorb."""
    providers = draw(st.lists(TEXT, min_size=1, max_size=3))
    lines = []
    for seq in range(1, draw(st.integers(0, 12)) + 1):
        payload = payload_for(
            EXTERNAL_REFERENCE_LINKED,
            at=seq,
            link_id=draw(st.one_of(TEXT, st.just(f"link-{seq}"))),
            external_provider=draw(st.sampled_from(providers)),
            external_ref_type=draw(st.sampled_from(["issue", "pull_request"])),
            external_ref_id=draw(st.one_of(TEXT, st.sampled_from(["R-1", "R-2"]))),
            internal_aggregate_type=draw(st.one_of(TEXT, st.just("work_package"))),
            internal_aggregate_id=draw(st.one_of(TEXT, st.sampled_from(["WP1", "WP2"]))),
            mission_id=draw(TEXT),
            linked_by=draw(TEXT),
            recorded_at=draw(TIMES),
        )
        event = envelope(EXTERNAL_REFERENCE_LINKED, payload, seq=seq)
        lines.append(json.dumps(event, ensure_ascii=draw(st.booleans())).encode())
    return lines


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each drawn log is written (rewritten for every example)."""
    return tmp_path_factory.mktemp("link-json") / "log.jsonl"


def _no_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
    raise AssertionError(f"{name}:{problem.line}: {problem.field}: {problem.message}")


@contextmanager
def _source(path: Path) -> Iterator[Source]:
    source = Source(str(path))
    try:
        yield source
    finally:
        source.close()


def _rendered_json(path: Path, engine_name: Engine, include_logs: bool) -> tuple[bytes, Any]:
    """The CLI's JSON of the log at ``path``, and the link index's values as handed over."""
    with engine(engine_name), _source(path) as source:
        result, _ = replay_sources(
            [source], include_logs=include_logs, on_problem=_no_problem, render_links=True
        )
    data = result.to_dict(include_logs=include_logs)
    whole = canonical_dumps(data)
    # The command line writes it in pieces: the link index's text apart.
    assert b"".join(canonical_pieces(data)) == whole
    return whole, data["external_links"]["links"]


def _api_json(lines: list[bytes], include_logs: bool) -> bytes:
    events = []
    for line in lines:
        parsed = parse_line(line)
        assert not isinstance(parsed, LineProblem), parsed
        events.append(parsed)
    return replay(events).to_json(include_logs=include_logs)


@pytest.mark.parametrize("engine_name", ENGINES)
@settings(
    max_examples=examples(60, 1500),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=link_lines(), include_logs=st.booleans())
@example(lines=[], include_logs=True)
def test_rendered_link_index_is_the_canonical_json_of_its_objects(
    log_path: Path, engine_name: Engine, lines: list[bytes], include_logs: bool
) -> None:
    log_path.write_bytes(b"".join(line + b"\n" for line in lines))
    rendered, _ = _rendered_json(log_path, engine_name, include_logs)
    assert rendered == _api_json(lines, include_logs)


def test_compiled_core_hands_over_the_link_index_as_json(log_path: Path) -> None:
    """The compiled core's index is text (no object per link), indented where it goes."""
    require_native()
    lines = [
        json.dumps(
            envelope(
                EXTERNAL_REFERENCE_LINKED,
                payload_for(
                    EXTERNAL_REFERENCE_LINKED,
                    at=seq,
                    link_id=f"link-{seq}",
                    external_ref_id=f"R-{seq}",
                ),
                seq=seq,
            )
        ).encode()
        for seq in range(1, 4)
    ]
    random.Random(5).shuffle(lines)
    log_path.write_bytes(b"".join(line + b"\n" for line in lines))
    rendered, links = _rendered_json(log_path, "compiled", include_logs=False)
    assert isinstance(links, JSONText)
    assert rendered == _api_json(lines, include_logs=False)
    # The value starts on the line of its key, LINK_INDEX_INDENT spaces in.
    key = b"\n" + b" " * LINK_INDEX_INDENT + b'"links": [\n'
    assert key + b" " * (LINK_INDEX_INDENT + 2) + b"{\n" in rendered


@pytest.mark.parametrize("engine_name", ENGINES)
def test_link_strings_looked_up_in_batches_keep_their_values(
    log_path: Path, engine_name: Engine
) -> None:
    """Many links, long strings and repeats: every engine gives the same index.

    The compiled core interns a link's strings in batches (of 64 strings, or
    64 kB of their text) after reading them; each string's text must survive
    until its batch is looked up, whether it was escaped in its line (decoded
    into a buffer the next line reuses) or read from an object, and a string
    repeated inside one batch must get one id (so link_id_reused and
    conflicting_link are found as the Python fold finds them).
    """
    lines = []
    for seq in range(1, 301):
        long = seq % 7 == 0  # 70 kB strings: a batch flushed by its text's size
        payload = payload_for(
            EXTERNAL_REFERENCE_LINKED,
            at=seq,
            link_id=("L" * 70_000 if long else f'link-\u00e9\\"{seq % 50}') + str(seq % 60),
            external_ref_id=f"R-\n{seq % 40}" + ("x" * 70_000 if long else ""),
            internal_aggregate_id=f"WP{seq % 3}\u00e9",
            mission_id=f"mission\t{seq}",
        )
        event = envelope(EXTERNAL_REFERENCE_LINKED, payload, seq=seq)
        lines.append(json.dumps(event, ensure_ascii=seq % 2 == 0).encode())
    log_path.write_bytes(b"".join(line + b"\n" for line in lines))
    python, _ = _rendered_json(log_path, "python", include_logs=True)
    assert b"link_id_reused" in python
    assert b"conflicting_link" in python
    assert _rendered_json(log_path, engine_name, include_logs=True)[0] == python
    with engine(engine_name):
        assert _api_json(lines, include_logs=True) == python
        assert replay([json.loads(line) for line in lines]).to_json(include_logs=True) == python
