"""What unusual lines cost the CLI: invalid lines, CloudEvents input, other families'
lines, redelivered copies.

``bench/run.py`` measures valid envelope logs. Four other inputs are common
in practice and take another side of the engine:

- ``invalid``: the generated log with ``--invalid K`` lines added by
  ``connector-sync generate`` (malformed JSON, missing fields, credentials
  in a URL ...): each is decided and explained in Python;
- ``cloudevents``: the valid log, each line mapped to a structured-mode
  CloudEvent with ``to_structured_json`` and read with
  ``--input-format cloudevents``: each line is mapped to an envelope in
  Python, then decided by the compiled core;
- ``shared stream``: the valid log with another family's event after every
  second line (a copy of that line with a new event_id and an event type of
  no payload model here: ``MissionCreated``, ``GitCommitRecorded``,
  ``BuildObserved``, ``WorkPackageStatusChanged`` in turn), as a log that
  carries a whole platform's events: each is kept as an ignored event and
  reported as a problem (``unknown_event_type``);
- ``redelivered``: the valid log with an exact copy of every line
  (``generate --duplicates N``, shuffled in among the rest), as an
  at-least-once delivery writes it: each copy is compared with the line
  of its event_id held before it, which is read again from the file.

For each log, and for the valid log beside them, it runs the floor (read
the file and ``orjson.loads`` every line), ``validate`` and
``replay --no-logs --format json``, each in a fresh process, fastest of
``--repeat``; it prints the seconds, the ratio to the floor of the same
log, and what each unusual line cost beyond a valid line (for invalid
lines this includes loading the model path once, about 0.3 s: use enough
of them).

    .venv/bin/python bench/unusual.py [--events 200000] [--invalid-percent 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Final

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arguments import at_least, between, folder
from run import _CHILD, Report, _byte_compile, _child_report, _fastest_in_turns, _warm

from connector_sync_contracts import Event
from connector_sync_contracts.interop.cloudevents import to_structured_json


def _generate(out: Path, events: int, invalid: int, duplicates: int = 0) -> Path:
    if not out.exists():
        command = [sys.executable, "-m", "connector_sync_contracts", "generate"]
        options = ["--events", str(events), "--connectors", "1000", "--shuffle", "--seed", "7"]
        if invalid:
            options += ["--invalid", str(invalid)]
        if duplicates:
            options += ["--duplicates", str(duplicates)]
        subprocess.run([*command, *options, "-o", str(out)], check=True, capture_output=True)
    return out


def _cloudevents(valid: Path, out: Path) -> Path:
    if not out.exists():
        partial = out.with_name(out.name + ".partial")
        with valid.open("rb") as source, partial.open("wb") as target:
            for line in source:
                target.write(to_structured_json(Event.model_validate(orjson.loads(line))) + b"\n")
        partial.replace(out)
    return out


_OTHER_TYPES: Final = (
    "MissionCreated",
    "GitCommitRecorded",
    "BuildObserved",
    "WorkPackageStatusChanged",
)
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _shared_stream(valid: Path, out: Path) -> tuple[Path, int]:
    """The valid log with another family's event after every second line; and how many."""
    added = 0
    if not out.exists():
        partial = out.with_name(out.name + ".partial")
        with valid.open("rb") as source, partial.open("wb") as target:
            for number, line in enumerate(source):
                target.write(line)
                if number % 2:
                    event = orjson.loads(line)
                    # Its own ULID: the original's time prefix, the rest from the line's digest.
                    digest = int.from_bytes(hashlib.sha256(line).digest()[:10], "big")
                    tail = "".join(_CROCKFORD[digest >> (5 * k) & 31] for k in range(16))
                    event["event_id"] = event["event_id"][:10] + tail
                    event["event_type"] = _OTHER_TYPES[added % len(_OTHER_TYPES)]
                    target.write(orjson.dumps(event) + b"\n")
                    added += 1
        partial.replace(out)
    else:
        with valid.open("rb") as source:
            added = sum(1 for _ in source) // 2
    return out, added


def _measure(run: str, fmt: str, log: Path, repeat: int) -> Report:
    command = [sys.executable, "-c", _CHILD, run, str(log), fmt]
    return _fastest_in_turns([(run, lambda: _child_report(command))], repeat, 0)[run]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=at_least(1), default=200_000, help="(200000)")
    parser.add_argument(
        "--invalid-percent", type=between(0, 100), default=2.0, help="of the invalid log (2)"
    )
    parser.add_argument("--repeat", type=at_least(1), default=3, help="runs of each (3)")
    parser.add_argument("--out", type=folder, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(_byte_compile())
    invalid = round(args.events * args.invalid_percent / 100)
    valid = _generate(args.out / f"unusual-{args.events}.jsonl", args.events, 0)
    logs = [
        ("valid", "envelope", valid, 0),
        (
            f"invalid ({args.invalid_percent:g}%)",
            "envelope",
            _generate(args.out / f"unusual-{args.events}-{invalid}.jsonl", args.events, invalid),
            invalid,
        ),
        (
            "cloudevents",
            "cloudevents",
            _cloudevents(valid, args.out / f"unusual-{args.events}.ce.jsonl"),
            0,
        ),
        (
            "shared stream",
            "envelope",
            *_shared_stream(valid, args.out / f"unusual-{args.events}-shared.jsonl"),
        ),
        (
            "redelivered",
            "envelope",
            _generate(
                args.out / f"unusual-{args.events}-redelivered.jsonl", args.events, 0, args.events
            ),
            args.events,
        ),
    ]
    print(f"\n{args.events:,} valid events, 1,000 connectors, shuffled; fastest of {args.repeat}")
    print("| log | lines | floor s | validate s (x floor) | replay s (x floor) | extra per line |")
    print("|---|---|---|---|---|---|")
    base: dict[str, float] = {}
    for name, fmt, log, unusual in logs:
        _warm(log)
        floor = _measure("floor", fmt, log, args.repeat)["seconds"]
        seconds = {
            run: _measure(run, fmt, log, args.repeat)["seconds"] for run in ("validate", "replay")
        }
        if name == "valid":
            base = seconds
        # What an unusual line cost beyond a valid one: every line, for CloudEvents.
        count = unusual or args.events
        extra = (
            ", ".join(f"{run} {(seconds[run] - base[run]) / count * 1e6:.0f} us" for run in seconds)
            if name != "valid"
            else ""
        )
        lines = args.events + unusual
        print(
            f"| {name} | {lines:,} | {floor:.2f} | {seconds['validate']:.2f} "
            f"({seconds['validate'] / floor:.2f}) | {seconds['replay']:.2f} "
            f"({seconds['replay'] / floor:.2f}) | {extra} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
