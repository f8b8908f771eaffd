"""Logs the CLI tests share, built once per session (generating costs a process run)."""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from connector_sync_contracts import CONNECTOR_EVENT_TYPES, SYNC_RETRY_SCHEDULED
from tests.support.cli import run_cli

VALID_EVENTS: Final = 300
"""Events in the shared valid log (small: every test run re-reads it)."""
VALID_CONNECTORS: Final = 6
VALID_SEED: Final = 11
SHUFFLE_SEED: Final = 20261125


def _envelope(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(raw)
    return data


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def corrupt(raw: bytes) -> bytes:
        data = _envelope(raw)
        change(data)
        return orjson.dumps(data)

    return corrupt


def _set(field: str, value: object) -> Callable[[bytes], bytes]:
    def change(data: dict[str, Any]) -> None:
        data[field] = value

    return _edit(change)


def _set_payload(**fields: object) -> Callable[[bytes], bytes]:
    def change(data: dict[str, Any]) -> None:
        data["payload"].update(fields)

    return _edit(change)


def _drop(field: str, *, payload: bool = False) -> Callable[[bytes], bytes]:
    def change(data: dict[str, Any]) -> None:
        del (data["payload"] if payload else data)[field]

    return _edit(change)


def _lamport(literal: bytes) -> Callable[[bytes], bytes]:
    """Write the lamport_clock value as this raw JSON text (orjson cannot emit it)."""

    def corrupt(raw: bytes) -> bytes:
        changed, count = re.subn(rb'"lamport_clock":[0-9]+', b'"lamport_clock":' + literal, raw)
        assert count == 1
        return changed

    return corrupt


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def corrupt(raw: bytes) -> bytes:
        assert old in raw
        return raw.replace(old, new, 1)

    return corrupt


def _nested(depth: int) -> Callable[[bytes], bytes]:
    """Add an unknown field holding ``depth - 1`` nested arrays: the line nests ``depth`` deep."""
    inner = b"[" * (depth - 1) + b"]" * (depth - 1)
    return _replace(b'{"event_id"', b'{"deep":' + inner + b',"event_id"')


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


@dataclass(frozen=True)
class Corruption:
    """One way to break a line, and the one problem ``validate`` must report for it."""

    name: str
    field: str
    code: str
    corrupt: Callable[[bytes], bytes]
    event_types: frozenset[str] | None = None
    """Event types the corrupted line must have (None: any)."""


CORRUPTIONS: Final = (
    Corruption("truncated_json", "$", "invalid_json", _truncate),
    Corruption("missing_envelope_field", "$.node_id", "required", _drop("node_id")),
    Corruption(
        "missing_payload_field",
        "$.payload.mission_id",
        "required",
        _drop("mission_id", payload=True),
    ),
    Corruption(
        "credentials_in_url",
        "$.payload.endpoint_url",
        "pattern",
        _set_payload(endpoint_url="https://deploy:s3cret@hooks.example.com/in"),
        CONNECTOR_EVENT_TYPES,
    ),
    Corruption(
        "naive_timestamp", "$.timestamp", "pattern", _set("timestamp", "2026-11-24T12:00:00")
    ),
    Corruption(
        "naive_recorded_at",
        "$.payload.recorded_at",
        "pattern",
        _set_payload(recorded_at="2026-11-24T12:00:00"),
    ),
    Corruption("boolean_lamport_clock", "$.lamport_clock", "type", _set("lamport_clock", True)),
    Corruption("string_lamport_clock", "$.lamport_clock", "type", _set("lamport_clock", "7")),
    Corruption("negative_lamport_clock", "$.lamport_clock", "minimum", _set("lamport_clock", -1)),
    Corruption("event_id_not_an_id", "$.event_id", "pattern", _set("event_id", "not-an-id")),
    Corruption(
        "event_id_with_letter_u",
        "$.event_id",
        "pattern",
        _set("event_id", "01M85DMC9V6PZWKTE62SGJWXMU"),
    ),
    Corruption(
        "unknown_event_type", "$.event_type", "unknown_event_type", _set("event_type", "Nope")
    ),
    Corruption("payload_not_an_object", "$.payload", "type", _set("payload", [1, 2])),
    Corruption(
        "retry_budget_rule",
        "$.payload.retry_attempt",
        "retry_attempt_exceeds_max_retries",
        _set_payload(retry_attempt=9, max_retries=5),
        frozenset({SYNC_RETRY_SCHEDULED}),
    ),
    Corruption(
        "duplicate_envelope_key",
        "$.node_id",
        "duplicate_key",
        _replace(b'{"event_id"', b'{"node_id":"node-x","event_id"'),
    ),
    Corruption(
        "duplicate_payload_key",
        "$.payload.mission_id",
        "duplicate_key",
        _replace(b'"payload":{', b'"payload":{"mission_id":"mission-x",'),
    ),
    Corruption("nan", "$.lamport_clock", "non_finite_number", _lamport(b"NaN")),
    Corruption("negative_infinity", "$.lamport_clock", "non_finite_number", _lamport(b"-Infinity")),
    Corruption("float_overflow", "$.lamport_clock", "non_finite_number", _lamport(b"1e400")),
    Corruption("nul_byte", "$", "nul_byte", _replace(b'"node-', b'"node\x00-')),
    Corruption("invalid_utf8", "$", "invalid_utf8", _replace(b'"node-', b'"node\xff-')),
    Corruption(
        "integer_beyond_64_bits",
        "$.lamport_clock",
        "integer_out_of_range",
        _lamport(b"18446744073709551616"),
    ),
    Corruption(
        "integer_with_5000_digits", "$.lamport_clock", "integer_out_of_range", _lamport(b"9" * 5000)
    ),
    Corruption("nested_65_deep", "$", "too_deep", _nested(65)),
    Corruption("nested_5000_deep", "$", "too_deep", _nested(5000)),
    Corruption("json_array", "$", "not_an_object", lambda raw: b"[" + raw + b"]"),
    Corruption("json_string", "$", "not_an_object", lambda raw: b'"an event"'),
    Corruption("json_null", "$", "not_an_object", lambda raw: b"null"),
    Corruption("blank_line", "$", "blank_line", lambda raw: b""),
    Corruption("whitespace_line", "$", "blank_line", lambda raw: b" \t "),
)
"""Every corruption the line-numbered error tests plant, with its expected report."""


@dataclass(frozen=True)
class CorruptedLog:
    """A generated log with ``CORRUPTIONS`` planted on known lines."""

    path: Path
    lines: list[bytes]
    """Every line as written (no line endings)."""
    planted: dict[int, Corruption]
    """1-based line number -> the corruption planted there."""

    def line_of(self, name: str) -> int:
        """Line number holding the corruption called ``name``."""
        return next(number for number, c in self.planted.items() if c.name == name)


def write_lines(path: Path, lines: list[bytes]) -> Path:
    """Write ``lines`` as a JSONL file (each followed by a newline)."""
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def gzip_file(path: Path) -> Path:
    """A ``.gz`` copy of ``path`` next to it (fixed mtime: identical bytes every run)."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return target


@pytest.fixture(scope="session")
def cli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the session's shared logs."""
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="session")
def valid_log(cli_dir: Path) -> Path:
    """A clean generated log, produced by the real ``generate`` command."""
    path = cli_dir / "valid.jsonl"
    run = run_cli(
        "generate",
        "--events",
        str(VALID_EVENTS),
        "--connectors",
        str(VALID_CONNECTORS),
        "--seed",
        str(VALID_SEED),
        "--output",
        path,
    )
    assert run.code == 0, run.explain()
    return path


@pytest.fixture(scope="session")
def valid_lines(valid_log: Path) -> list[bytes]:
    """The lines of ``valid_log``."""
    return valid_log.read_bytes().splitlines()


@pytest.fixture(scope="session")
def shuffled_log(cli_dir: Path, valid_lines: list[bytes]) -> Path:
    """``valid_log`` with its lines in a seeded random order."""
    lines = list(valid_lines)
    random.Random(SHUFFLE_SEED).shuffle(lines)
    assert lines != valid_lines
    return write_lines(cli_dir / "shuffled.jsonl", lines)


@pytest.fixture(scope="session")
def corrupted_log(cli_dir: Path, valid_lines: list[bytes]) -> CorruptedLog:
    """``valid_log`` with every corruption planted once, clean lines in between."""
    lines = list(valid_lines)
    planted: dict[int, Corruption] = {}
    index = 2
    for corruption in CORRUPTIONS:
        wanted = corruption.event_types
        while wanted is not None and _envelope(lines[index])["event_type"] not in wanted:
            index += 1
        lines[index] = corruption.corrupt(lines[index])
        planted[index + 1] = corruption
        index += 3
    assert index < len(lines), "the valid log is too short for every corruption"
    return CorruptedLog(write_lines(cli_dir / "corrupted.jsonl", lines), lines, planted)
