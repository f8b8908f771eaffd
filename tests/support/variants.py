"""Ways real producers write the same events: the JSON text varies, the contract does not.

Each variant takes one JSON line of a valid envelope (as the synthetic
generator writes it) and returns the line as another producer might write
it: non-ASCII text, JSON escapes, fields from a newer producer, signed
zeros and exponents, the largest integers, lower-case RFC 3339 letters.
Every variant keeps the event valid, except the ``beyond_limits`` ones,
which make it invalid the way section 8 of the specification says.
The text is written by hand (not by a JSON library), so escapes and number
spellings are exactly the ones named.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any, Final

from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines

__all__ = [
    "BEYOND_LIMITS",
    "VALID_VARIANTS",
    "Variant",
    "busy_lines",
    "vary",
]

Variant = Callable[[dict[str, Any], random.Random], str]
"""(envelope, random source) -> the JSON text of a line."""

_REASONS: Final = ("degradation_reason", "revocation_reason", "rejection_reason", "failure_reason")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text_field(envelope: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A free-text field of the event: a reason when the payload has one, else aggregate_id."""
    payload = envelope["payload"]
    for name in _REASONS:
        if name in payload:
            return payload, name
    return envelope, "aggregate_id"


def non_ascii(envelope: dict[str, Any], rng: random.Random) -> str:
    """A non-ASCII string: accents, CJK, an emoji outside the BMP."""
    holder, name = _text_field(envelope)
    holder[name] = f"{holder[name]} \u2013 Zürich 東京 ✓ {rng.choice(['é', 'ß', '😀'])}"
    return _dump(envelope)


def escapes(envelope: dict[str, Any], rng: random.Random) -> str:
    """One string written with JSON escapes (``\\"``, ``\\/``, ``\\u00e9``, ``\\n``, a pair)."""
    holder, name = _text_field(envelope)
    marker = "\x00MARK\x00"
    holder[name] = f"{holder[name]}{marker}"
    escape = rng.choice(['\\"quoted\\"', "a\\/b", "caf\\u00e9", "two\\nlines", "\\ud83d\\ude00"])
    return _dump(envelope).replace("\\u0000MARK\\u0000", escape)


def newer_producer(envelope: dict[str, Any], rng: random.Random) -> str:
    """Unknown envelope and payload fields, nested, as a newer producer adds them."""
    envelope["trace"] = {"span": f"s-{rng.randrange(10**6)}", "sampled": True, "tags": [1, 2.5]}
    envelope["tenant_region"] = rng.choice(["eu-west-1", "us-east-2"])
    envelope["payload"]["x_labels"] = {"team": "integrations", "tier": None, "weights": [0, -1]}
    return _dump(envelope)


def numbers(envelope: dict[str, Any], rng: random.Random) -> str:
    """Signed zeros and exponents where the contract takes them, big integers where it may."""
    payload = envelope["payload"]
    text = _dump(envelope)
    if "latency_ms" in payload:
        spelled = rng.choice(["-0.0", "-0", "0e0", "1.5E+2", "2e1", "12.50"])
        text = text.replace(
            f'"latency_ms":{_dump(payload["latency_ms"])}', f'"latency_ms":{spelled}'
        )
    unknown = rng.choice(["18446744073709551615", "-9223372036854775808", "1e308", "-0.0"])
    return text[:-1] + f',"x_big":{unknown}}}'


def largest_integers(envelope: dict[str, Any], rng: random.Random) -> str:
    """The largest integer a contract field takes: 2**63 - 1."""
    del rng
    payload = envelope["payload"]
    for name in ("ingested_count", "replayed_count", "total_attempts"):
        if name in payload:
            payload[name] = 2**63 - 1
    envelope["lamport_clock"] = 2**63 - 1 - envelope["lamport_clock"] % 1000
    return _dump(envelope)


def lower_case_time(envelope: dict[str, Any], rng: random.Random) -> str:
    """RFC 3339 with a lower-case ``t`` and ``z`` (section 5.6 allows them)."""
    del rng
    stamp = envelope["timestamp"]
    envelope["timestamp"] = stamp.replace("T", "t").replace("Z", "z")
    return _dump(envelope)


VALID_VARIANTS: Final[dict[str, Variant]] = {
    "non-ascii": non_ascii,
    "escapes": escapes,
    "newer-producer": newer_producer,
    "numbers": numbers,
    "largest-integers": largest_integers,
    "lower-case-time": lower_case_time,
}
"""Variants that keep every event valid."""


def _beyond(value: str) -> Variant:
    def variant(envelope: dict[str, Any], rng: random.Random) -> str:
        del rng
        return _dump(envelope)[:-1] + f',"x_newer":{{"v":[1,{value}]}}}}'

    return variant


BEYOND_LIMITS: Final[dict[str, Variant]] = {
    "integer-above-2**64-1": _beyond("18446744073709551616"),
    "integer-below-minus-2**63": _beyond("-9223372036854775809"),
    "1e400": _beyond("1e400"),
    "NaN": _beyond("NaN"),
    "lone-surrogate": _beyond('"\\ud800"'),
    "nested-65-deep": _beyond("[" * 62 + "]" * 62),
}
"""Variants that make the whole event invalid, inside an unknown field (section 8)."""


def vary(lines: list[bytes], variants: dict[str, Variant], seed: int, share: float) -> list[bytes]:
    """``lines`` with about ``share`` of them rewritten by a variant chosen per line.

    Lines that are not a JSON object with a payload object (the generator's
    invalid lines) are kept as they are.
    """
    rng = random.Random(seed)
    names = sorted(variants)
    out = []
    for line in lines:
        try:
            envelope = json.loads(line)
        except ValueError:
            envelope = None
        if (
            isinstance(envelope, dict)
            and isinstance(envelope.get("payload"), dict)
            and rng.random() < share
        ):
            out.append(variants[rng.choice(names)](envelope, rng).encode())
        else:
            out.append(line)
    return out


def busy_lines(options: GeneratorOptions, *, seed: int, conflicts: slice) -> list[bytes]:
    """Generated lines, a fifth of them rewritten by the valid variants, then a
    conflicting copy (the same event_id, another lamport_clock) of each event
    among ``lines[conflicts]``."""
    lines = vary(list(generate_lines(options)), VALID_VARIANTS, seed=seed, share=0.2)
    for line in lines[conflicts]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("lamport_clock", 0), int):
            event["lamport_clock"] = event.get("lamport_clock", 0) + 1
            lines.append(json.dumps(event).encode())
    return lines
