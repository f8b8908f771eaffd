"""Kinds of log the benchmark measures, each derived from the generated log.

``connector-sync generate`` writes only one shape of line: ASCII strings
without escapes, exactly the known fields, no anomalies. Real logs are not
like that, so the benchmark also measures logs derived from the generated
one by the transforms below. Each is a pure function of one line (bytes,
without its newline) that returns the lines to write in its place: exactly
one for every kind except ``anomalous``, which may drop a line or add a
copy. Only the standard library and orjson are used, so the same input
always gives the same bytes, and every line stays valid JSON and a valid
event (docs/specification.md); the benchmark checks that with
``connector-sync validate`` whenever it derives a log.

- ``ascii``: nothing, the generated log;
- ``non-ascii``: ``aggregate_id`` gets `` · `` and NON_ASCII (Zurich with an
  umlaut, an en dash, Tokyo in kanji, a check mark) appended, and a
  free-text reason (degradation, revocation, rejection, failure), where the
  event has one, gets NON_ASCII in parentheses;
- ``forward-compatible``: unknown envelope fields (a ``trace`` object right
  after ``event_type``, ``tenant_region`` at the end) and unknown payload
  fields (``latency_samples_ms``, a list of numbers, the last of 16-17
  significant digits as producers write doubles; ``observed_by``, an
  object), as a newer producer would write them;
- ``escapes``: ``aggregate_id`` ends in `` (\\"re-sent\\" via eu\\/west,
  caf\\u00e9)\\n``, written as those escapes in the raw JSON text;
- ``anomalous``: 10 of the 1,000 connectors (number % 101 == 37: 37, 138,
  ..., 946, all four providers) get anomalies; other lines are unchanged.

Fields with a pattern (event_id, correlation_id, UUIDs, timestamps, URLs)
are never touched, except that ``anomalous`` gives each copy it adds a new
ULID event_id.

The anomalies, by connector number n with n % 101 == 37, style (n // 101) % 3:

- 0, lost provisioning: its ``ConnectorProvisioned`` line is dropped, so
  every later connector event of it is an ``invalid_transition``;
- 1, swapped state: one in four of its healthy ``ConnectorHealthChecked``
  lines becomes a ``ConnectorProvisioned`` (health fields removed):
  provisioned is never allowed after the first state, so each is an
  ``invalid_transition`` that is not applied;
- 2, redelivered outcome: one in four of its terminal sync outcomes
  (accepted, rejected, dead-lettered) is written twice, the copy with a new
  ULID event_id (same time prefix), ``causation_id`` = the original's event_id:
  a ``duplicate_delivery``.
"""

from __future__ import annotations

import hashlib
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import orjson

__all__ = ["KINDS", "NON_ASCII", "Transform", "derive", "is_anomalous_connector", "transform_lines"]

Transform = Callable[[bytes], list[bytes]]
"""One line in (without newline), the lines to write instead out."""

NON_ASCII: Final = "Z\u00fcrich \u2013 \u6771\u4eac \u2713"
"""The non-ASCII text (Latin-1, a general punctuation dash, CJK, a symbol)."""

_REASONS: Final = ("degradation_reason", "revocation_reason", "rejection_reason", "failure_reason")

_ESCAPED_RAW: Final = rb" (\"re-sent\" via eu\/west, caf\u00e9)\n"
"""The escapes as they appear in the raw JSON text (orjson never writes ``\\/`` or ``\\u00e9``)."""
_ESCAPED_TEXT: Final = ' ("re-sent" via eu/west, café)\n'
"""The same text once decoded."""

_ANOMALOUS_MOD: Final = 101
_ANOMALOUS_REST: Final = 37
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TERMINAL_SYNC: Final = frozenset({"SyncIngestAccepted", "SyncIngestRejected", "SyncDeadLettered"})


def ascii_kind(line: bytes) -> list[bytes]:
    """The generated line, unchanged."""
    return [line]


def non_ascii(line: bytes) -> list[bytes]:
    """Append non-ASCII text to ``aggregate_id`` and to the free-text reason, if any.

    Both stay non-empty strings without a pattern; orjson writes them as raw
    UTF-8 (no ``\\u`` escapes).
    """
    data = orjson.loads(line)
    data["aggregate_id"] = f"{data['aggregate_id']} · {NON_ASCII}"
    payload = data["payload"]
    for name in _REASONS:
        if isinstance(payload.get(name), str):
            payload[name] = f"{payload[name]} ({NON_ASCII})"
    return [orjson.dumps(data)]


def forward_compatible(line: bytes) -> list[bytes]:
    """Add the unknown envelope and payload fields a newer producer would write.

    Envelope: ``trace`` (an object: span id, sampled flag) right after
    ``event_type`` and ``tenant_region`` (a string) at the end. Payload:
    ``latency_samples_ms`` (a list of integers and floats, the last one a
    double of 16-17 significant digits, different on every line) and
    ``observed_by`` (an object with a string and a number). The contract
    ignores unknown fields unless asked to be strict.
    """
    data = orjson.loads(line)
    event_id = str(data["event_id"])
    payload = dict(data["payload"])
    # A computed mean, written as every producer writes a double: 16-17 digits.
    mean = zlib.crc32(event_id.encode()) / 2**32 * 250
    payload["latency_samples_ms"] = [12, 48.5, 190, 7.25, mean]
    payload["observed_by"] = {"agent": "edge-collector", "build": 4127}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = payload if key == "payload" else value
        if key == "event_type":
            out["trace"] = {"span": event_id[-16:].lower(), "sampled": True}
    out["tenant_region"] = "eu-west-1"
    return [orjson.dumps(out)]


def escapes(line: bytes) -> list[bytes]:
    """Put ``\\"``, ``\\/``, ``\\u00e9`` and ``\\n`` into ``aggregate_id``, as raw escapes.

    The rest of the line keeps its bytes. The generated ``aggregate_id`` is
    plain ASCII without escapes, so its raw text is exactly what orjson
    writes for it; the result is checked by decoding it again.
    """
    data = orjson.loads(line)
    aggregate = data["aggregate_id"]
    needle = b'"aggregate_id":' + orjson.dumps(aggregate)
    if not isinstance(aggregate, str) or line.count(needle) != 1:
        raise ValueError(f"escapes: no single plain aggregate_id in {line[:120]!r}")
    out = line.replace(needle, needle[:-1] + _ESCAPED_RAW + b'"')
    if orjson.loads(out)["aggregate_id"] != aggregate + _ESCAPED_TEXT:
        raise ValueError(f"escapes: aggregate_id did not decode as expected in {out[:160]!r}")
    return [out]


def _connector_number(cid: object) -> int | None:
    if not isinstance(cid, str):
        return None
    tail = cid.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def is_anomalous_connector(connector_id: str) -> bool:
    """Whether ``anomalous`` gives this connector anomalies (number % 101 == 37)."""
    number = _connector_number(connector_id)
    return number is not None and number % _ANOMALOUS_MOD == _ANOMALOUS_REST


def _one_in_four(event_id: str) -> bool:
    return zlib.crc32(event_id.encode()) % 4 == 0


def _redelivered_id(event_id: str) -> str:
    """A new ULID for a copy: the original's time prefix and 80 bits from a hash."""
    bits = int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=10).digest(), "big")
    return event_id[:10] + "".join(_CROCKFORD[(bits >> s) & 31] for s in range(75, -1, -5))


def anomalous(line: bytes) -> list[bytes]:
    """Give 1% of connectors anomalies (see the module docstring); other lines are unchanged."""
    data = orjson.loads(line)
    payload = data["payload"]
    number = _connector_number(payload.get("connector_id"))
    if number is None or number % _ANOMALOUS_MOD != _ANOMALOUS_REST:
        return [line]
    style = (number // _ANOMALOUS_MOD) % 3
    event_type = data["event_type"]
    if style == 0:
        return [] if event_type == "ConnectorProvisioned" else [line]
    if style == 1:
        if (
            event_type == "ConnectorHealthChecked"
            and payload.get("health_status") == "healthy"
            and _one_in_four(data["event_id"])
        ):
            data["event_type"] = "ConnectorProvisioned"
            payload.pop("health_status")
            payload.pop("latency_ms", None)
            return [orjson.dumps(data)]
        return [line]
    if event_type in _TERMINAL_SYNC and _one_in_four(data["event_id"]):
        copy = dict(data)
        copy["event_id"] = _redelivered_id(data["event_id"])
        copy["causation_id"] = data["event_id"]
        return [line, orjson.dumps(copy)]
    return [line]


KINDS: Final[dict[str, Transform]] = {
    "ascii": ascii_kind,
    "non-ascii": non_ascii,
    "forward-compatible": forward_compatible,
    "escapes": escapes,
    "anomalous": anomalous,
}
"""Every kind, in the order the benchmark reports them."""


def transform_lines(kind: str, lines: list[bytes]) -> list[bytes]:
    """Apply one kind's transform to each line (without newlines), in order."""
    transform = KINDS[kind]
    return [out for line in lines for out in transform(line)]


def derive(kind: str, source: Path, target: Path) -> int:
    """Write ``kind``'s log derived from ``source`` to ``target``; return its line count.

    Streams line by line, so memory stays flat at any size.
    """
    transform = KINDS[kind]
    count = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        for raw in reader:
            for out in transform(raw.rstrip(b"\n")):
                writer.write(out + b"\n")
                count += 1
    return count


def main(argv: list[str]) -> int:
    """``python bench/kinds.py KIND SOURCE TARGET``: derive one log, print its line count."""
    if len(argv) != 3 or argv[0] not in KINDS:
        print(f"usage: kinds.py {{{','.join(KINDS)}}} SOURCE TARGET", file=sys.stderr)
        return 2
    print(derive(argv[0], Path(argv[1]), Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
