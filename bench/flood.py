"""Hash flooding: what event ids chosen to collide cost the compiled core.

Usage: .venv/bin/python bench/flood.py [--events 50000] [--bits 10] [--repeat 3] [--out bench/out]

The compiled core finds event ids, strings and delivery keys in open-addressing
tables, by a SipHash-1-3 of the bytes under a 128-bit key. The CLI and the
library draw a fresh random key for every scanner, so nobody who writes a log
can know where its keys land. This script measures what happens when someone
does know the key:

1. It writes a generated log of ``--events`` events (100 connectors, shuffled).
2. It writes the *chosen* log: the same lines, each event_id replaced by a
   fresh UUID whose hash under the fixed test key (16 zero bytes) has its low
   ``--bits`` bits all zero, found by brute force through ``Scanner.ident``.
   Every such id starts its probe in the same 1/2**bits of the dedup table.
3. It replays (``replay_sources``, as ``connector-sync replay --no-logs``) each
   log with a scanner keyed with the test key (the attacker knew the key) and
   with a random key (what the CLI does), and, on the ordinary log, with
   scanners that keep only ``weak_bits`` bits of every hash: every table then
   holds at most 2**weak_bits distinct hashes, the most an attacker who knew
   the key and had unlimited time could force.

It prints the fastest of ``--repeat`` runs for each case. Each result's
canonical JSON is checked equal to the random-key replay of the same log, so a
case that is fast because it is wrong stops the script. Timing never goes in
a test; figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arguments import at_least, folder

from connector_sync_contracts._engine import native as accel
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.io import Source

TEST_KEY = bytes(16)


def chosen_ids(count: int, bits: int, seed: int) -> list[str]:
    """``count`` distinct UUIDs whose hash under TEST_KEY has ``bits`` low zero bits.

    The core hashes a UUID as its 32 lower-case hex digits (no dashes).
    """
    probe = accel.scanner(key=TEST_KEY)
    if probe is None:
        raise SystemExit("the compiled core is not built (or CONNECTOR_SYNC_PURE_PYTHON=1)")
    mask = (1 << bits) - 1
    found: list[str] = []
    counter = seed << 64
    while len(found) < count:
        counter += 1
        digits = f"{counter:032x}"
        if probe.ident(digits.encode()) & mask == 0:
            found.append(str(uuid.UUID(digits)))
    return found


def write_logs(out: Path, events: int, bits: int) -> tuple[Path, Path]:
    """The ordinary log and the chosen-id log, reused while their options are the same."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"flood-{events}-{bits}"
    ordinary, chosen = out / f"{stem}-ordinary.jsonl", out / f"{stem}-chosen.jsonl"
    if ordinary.exists() and chosen.exists():
        return ordinary, chosen
    options = GeneratorOptions(events=events, connectors=100, seed=5, shuffle=True)
    lines = list(generate_lines(options))
    started = time.perf_counter()
    ids = chosen_ids(len(lines), bits, seed=5)
    print(
        f"found {len(ids)} ids with {bits} colliding bits in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    replaced = []
    for line, event_id in zip(lines, ids, strict=True):
        event = json.loads(line)
        event["event_id"] = event_id
        replaced.append(json.dumps(event, separators=(",", ":")).encode())
    ordinary.write_bytes(b"".join(line + b"\n" for line in lines))
    chosen.write_bytes(b"".join(line + b"\n" for line in replaced))
    return ordinary, chosen


def replay_with(path: Path, **options: Any) -> tuple[float, bytes]:
    """Seconds and canonical JSON of a --no-logs replay of path with this scanner."""
    made = accel.scanner(**options)
    assert made is not None
    original: Callable[..., Any] = accel.scanner
    accel.scanner = lambda **_: made
    source = Source(str(path))
    try:
        started = time.perf_counter()
        result, _ = replay_sources([source], include_logs=False, on_problem=lambda *_: None)
        seconds = time.perf_counter() - started
    finally:
        accel.scanner = original
        source.close()
    return seconds, result.to_json()


def _bits(value: str) -> int:
    bits = at_least(1)(value)
    if bits > 16:
        raise argparse.ArgumentTypeError(f"{value!r}: at most 16 (each id costs 2**bits tries)")
    return bits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=at_least(1), default=50_000, help="(50000)")
    parser.add_argument(
        "--bits",
        type=_bits,
        default=10,
        help="hash bits each chosen id shares (10; 1-16: an id costs about 2**bits tries)",
    )
    parser.add_argument("--repeat", type=at_least(1), default=3, help="runs of each case (3)")
    parser.add_argument("--out", type=folder, default=Path("bench/out"), help="(bench/out)")
    args = parser.parse_args(argv)
    ordinary, chosen = write_logs(args.out, args.events, args.bits)
    cases: list[tuple[str, Path, dict[str, Any]]] = [
        ("ordinary ids", ordinary, {}),
        ("ordinary ids", ordinary, {"key": TEST_KEY}),
        (f"ids chosen for {args.bits} bits under the test key", chosen, {}),
        (f"ids chosen for {args.bits} bits under the test key", chosen, {"key": TEST_KEY}),
        *[("ordinary ids", ordinary, {"key": TEST_KEY, "weak_bits": b}) for b in (16, 12, 8)],
    ]
    expected = {path: replay_with(path)[1] for path in (ordinary, chosen)}
    print(f"{'log':<44} {'scanner':<28} {'seconds':>8} {'µs/line':>8}")
    for label, path, options in cases:
        best = float("inf")
        for _ in range(args.repeat):
            seconds, output = replay_with(path, **options)
            if hashlib.sha256(output).digest() != hashlib.sha256(expected[path]).digest():
                raise SystemExit(f"{label} {options}: a different projection")
            best = min(best, seconds)
        scanner = "random key" if "key" not in options else "test key"
        if "weak_bits" in options:
            scanner += f", {options['weak_bits']} hash bits"
        print(f"{label:<44} {scanner:<28} {best:8.3f} {best / args.events * 1e6:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
