"""``validate --strict`` of a line that is valid but for what strict adds.

A newer producer's log carries fields this version does not know on every
line; ``--strict`` reports each of them (``unknown_field``) and a payload
``project_uuid`` that is not the envelope's. The compiled core tells such
lines apart (it takes them when not strict), and their problems are then
worded without the models validating the line again
(``LineChecker.strict_problems``): the same problems, in the same order and
words, as the model path's ``explain``, which these tests hold them to.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import (
    CONNECTOR_EVENT_TYPES,
    CONNECTOR_PROVISIONED,
    EXTERNAL_REFERENCE_LINKED,
    PAYLOAD_MODELS,
    SYNC_DEAD_LETTERED,
    SYNC_EVENT_TYPES,
    SYNC_INGEST_ACCEPTED,
    SYNC_RETRY_SCHEDULED,
)
from connector_sync_contracts._engine import native
from connector_sync_contracts._engine.runner import _checker
from tests.support.cli import PROGRAM, run_env
from tests.support.factories import PROJECT_UUID, envelope

_TYPES = sorted({*CONNECTOR_EVENT_TYPES, *SYNC_EVENT_TYPES, EXTERNAL_REFERENCE_LINKED})
_OTHER_UUID = "0b6c2a49-1f3e-4d5a-9c7b-2e8f4a6d1c03"
_SPELLINGS = (
    lambda u: u,
    lambda u: u.upper(),
    lambda u: u.replace("-", ""),
)
"""Spellings of one UUID the models read alike."""

_keys = st.one_of(
    st.sampled_from(["schema_note", "Payload", "event-id", "trace id", "x" * 70, "caf\u00e9"]),
    st.text(min_size=1, max_size=12),
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _strict_only_lines(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope with unknown fields and, maybe, a project_uuid of its own."""
    event_type = draw(st.sampled_from(_TYPES))
    event = envelope(event_type, seq=draw(st.integers(1, 50)))
    payload = event["payload"]
    model = PAYLOAD_MODELS[event_type]
    for key, value in draw(st.dictionaries(_keys, _values, max_size=4)).items():
        if key not in event:
            event[key] = value
    for key, value in draw(st.dictionaries(_keys, _values, max_size=4)).items():
        if key not in model.model_fields:
            payload[key] = value
    if "project_uuid" in model.model_fields:
        outer, inner = draw(st.sampled_from([PROJECT_UUID, _OTHER_UUID])), PROJECT_UUID
        event["project_uuid"] = draw(st.sampled_from(_SPELLINGS))(str(outer))
        payload["project_uuid"] = draw(st.sampled_from(_SPELLINGS))(str(inner))
    if draw(st.booleans()):  # members in another order
        event = dict(reversed(list(event.items())))
    return event


needs_native = pytest.mark.skipif(native.scanner() is None, reason="the compiled core is not built")


@needs_native
@settings(max_examples=300, deadline=None)
@given(_strict_only_lines())
def test_strict_problems_are_the_model_paths(event: dict[str, Any]) -> None:
    raw = json.dumps(event, ensure_ascii=False).encode()
    scanner = native.scanner()
    assert scanner is not None
    # The lines this holds for: taken by the core when not strict, deferred when strict.
    assert scanner.probe(raw, False) is not None
    checker = _checker(strict=True)
    problems = checker.strict_problems(7, json.loads(raw))
    assert problems == checker.explain(7, json.loads(raw))
    if problems:  # and the core leaves every line with one to Python when strict
        assert scanner.probe(raw, True) is None


def _lines() -> list[bytes]:
    first = envelope(CONNECTOR_PROVISIONED, seq=1)
    newer = {
        **first,
        "trace": {"span": [1, 2.5, None]},
        "payload": {**first["payload"], "tier": "gold"},
    }
    mismatch = envelope(CONNECTOR_PROVISIONED, seq=2)
    mismatch["project_uuid"] = _OTHER_UUID.upper()
    both_broken = envelope(SYNC_INGEST_ACCEPTED, seq=3)
    both_broken["payload"] = {**both_broken["payload"], "extra": 1, "delivery_id": ""}
    return [
        json.dumps(newer).encode(),
        json.dumps(mismatch).encode(),
        json.dumps(both_broken).encode(),  # an unknown field beside a model problem
        json.dumps(envelope(SYNC_RETRY_SCHEDULED, seq=4)).encode(),
        json.dumps(
            {**envelope(SYNC_DEAD_LETTERED, seq=5), "\u6771": "\u4eac"}, ensure_ascii=False
        ).encode(),
    ]


def test_validate_strict_says_what_the_pure_python_engine_says(tmp_path: Path) -> None:
    log = tmp_path / "newer-producer.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in _lines()))
    runs = [
        subprocess.run(
            [*PROGRAM, "validate", "--strict", str(log)],
            capture_output=True,
            env={**run_env(), native.PURE_PYTHON_ENV: pure},
            check=False,
        )
        for pure in ("0", "1")
    ]
    compiled, python = runs
    assert compiled.returncode == python.returncode == 1, compiled.stderr.decode()
    assert compiled.stdout == python.stdout
    assert compiled.stderr == python.stderr
    codes = [line.split(": ")[2] for line in python.stdout.decode().splitlines()]
    assert codes.count("unknown_field") == 4
    assert codes.count("project_uuid_mismatch") == 1
    assert "min_length" in codes
