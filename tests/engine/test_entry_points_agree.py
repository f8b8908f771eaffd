"""Every entry point gives the same bytes for the same JSON text (specification section 8).

The command line, ``replay_lines()`` of the lines, ``replay()`` of the
parsed mappings and ``replay()`` of ``Event`` objects built from them, each
under the compiled and the pure-Python engine, must agree byte for byte on
logs written the way real producers write them: non-ASCII text, escapes,
fields from a newer producer, signed zeros and exponents, the largest
integers, lower-case RFC 3339 letters, values beyond the input limits
inside unknown fields, duplicates and invalid lines.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connector_sync_contracts import Event, replay, replay_lines
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.contract.projection import canonical_dumps
from connector_sync_contracts.io import LineProblem, Source, parse_line
from tests.support.engines import ENGINES, NATIVE_AVAILABLE, Engine, engine
from tests.support.variants import BEYOND_LIMITS, VALID_VARIANTS, vary


def _log(seed: int, valid_share: float, beyond_share: float) -> list[bytes]:
    options = GeneratorOptions(
        events=1500, connectors=12, seed=seed, duplicates=40, invalid=30, shuffle=True
    )
    lines = vary(list(generate_lines(options)), VALID_VARIANTS, seed, valid_share)
    return vary(lines, BEYOND_LIMITS, seed + 1, beyond_share)


def _stream(path: Path, lines: list[bytes], include_logs: bool) -> bytes:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    source = Source(str(path))
    try:
        result, summary = replay_sources(
            [source], include_logs=include_logs, on_problem=lambda *_: None
        )
    finally:
        source.close()
    assert summary.lines_read == len(lines)
    return result.to_json(include_logs=include_logs)


def _library(lines: list[bytes], include_logs: bool) -> tuple[bytes, bytes]:
    """``replay()`` of mappings and of Events; lines that are not JSON become their anomaly."""
    mappings: list[Any] = []
    unreadable: list[dict[str, Any]] = []
    for line in lines:
        try:
            mappings.append(json.loads(line))
        except ValueError:
            problem = parse_line(line)
            assert isinstance(problem, LineProblem)
            message = f"{problem.field}: {problem.code}: {problem.message}"
            unreadable.append({"event_id": None, "kind": "malformed_envelope", "message": message})
    events: list[Any] = []
    for mapping in mappings:
        try:
            events.append(Event.model_validate(mapping))
        except ValidationError:
            events.append(mapping)
    outputs = []
    for items in (mappings, events):
        data = replay(items).to_dict(include_logs=include_logs)
        data["anomalies"] = sorted(
            [*data["anomalies"], *unreadable],
            key=lambda a: (a["kind"], a["event_id"] or "", a["message"]),
        )
        outputs.append(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False))
    return outputs[0].encode(), outputs[1].encode()


def _canonical(text: bytes) -> bytes:
    """The bytes ``to_json`` writes for the JSON ``text``."""
    return canonical_dumps(json.loads(text))


@pytest.mark.parametrize(
    ("seed", "valid_share", "beyond_share"),
    [(1, 0.6, 0.0), (2, 0.3, 0.05), (3, 1.0, 0.02)],
    ids=["real-producers", "with-limit-breaches", "every-line-varied"],
)
def test_the_cli_engines_and_the_library_give_the_same_projection(
    tmp_path: Path, seed: int, valid_share: float, beyond_share: float
) -> None:
    lines = _log(seed, valid_share, beyond_share)
    rng = random.Random(seed)
    for include_logs in (True, False):
        outputs = {}
        for name in ("compiled", "python") if NATIVE_AVAILABLE else ("python",):
            with engine(name):
                outputs[f"cli {name}"] = _stream(tmp_path / "log.jsonl", lines, include_logs)
                outputs[f"replay_lines {name}"] = replay_lines(
                    lines, include_logs=include_logs
                ).to_json(include_logs=include_logs)
                mappings, events = _library(lines, include_logs)
                outputs[f"replay(mappings) {name}"] = _canonical(mappings)
                outputs[f"replay(Events) {name}"] = _canonical(events)
        reference = outputs["cli python"]
        assert {name: out == reference for name, out in outputs.items()} == dict.fromkeys(
            outputs, True
        )
        rng.shuffle(lines)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("variant", sorted(BEYOND_LIMITS))
def test_a_value_beyond_the_limits_is_the_same_anomaly_everywhere(
    tmp_path: Path, engine_name: Engine, variant: str
) -> None:
    lines = list(generate_lines(GeneratorOptions(events=20, connectors=2, seed=5)))
    broken = vary(lines[:1], {variant: BEYOND_LIMITS[variant]}, 0, 1.0)[0]
    with engine(engine_name):
        stream = json.loads(_stream(tmp_path / "log.jsonl", [*lines[1:], broken], True))
        mappings, events = _library([*lines[1:], broken], True)
        from_lines = replay_lines([*lines[1:], broken]).to_dict()
    assert stream == json.loads(mappings) == json.loads(events) == from_lines
    assert [a["kind"] for a in stream["anomalies"]] == ["malformed_envelope"]
