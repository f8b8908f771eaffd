"""Write the seed corpus (``fuzz/corpus/``) and the dictionary (``fuzz/scanner.dict``).

Seeds are the bundled example day and generated logs (the same bytes as
``connector-sync generate --events 50 --seed 1``), each behind a header that
picks the harness's options (see ``fuzz_scanner.Plan``), plus a few single
lines, hostile lines and the example day as structured CloudEvents. The
dictionary holds every key, event type and enum value of the committed spec,
and the CloudEvents attributes, so mutations can swap one for another.

The output is deterministic; ``python fuzz/make_corpus.py`` rewrites it.
Known crashers (see ``FINDINGS.md``) are not seeds: libFuzzer would stop on
them before fuzzing anything else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from connector_sync_contracts import Event
from connector_sync_contracts._engine import native as _accel
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.interop._attributes import compiled_plan
from connector_sync_contracts.interop.cloudevents import build_source, to_structured_json

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "src/connector_sync_contracts/examples/example_day.jsonl"


def header(
    flags: int = 0,
    limit: int = 0,
    cycles: int = 3,
    cuts: tuple[int, ...] = (),
    *,
    strict: bool = False,
    weak: int = 0,
    place: bool = False,
    render: bool = False,
) -> bytes:
    """The 8 option bytes the harness reads (``fuzz_scanner.Plan``): at most four cuts."""
    assert len(cuts) <= 4, cuts
    extra = strict | weak << 1 | place << 3 | render << 4
    return bytes([flags, limit, cycles, *cuts]).ljust(7, b"\x00") + bytes([extra])


def generated(
    events: int, seed: int, *, duplicates: int = 0, invalid: int = 0, shuffle: bool = False
) -> bytes:
    """A generated log (``connector-sync generate`` with these options), newline-terminated."""
    options = GeneratorOptions(
        events=events, seed=seed, duplicates=duplicates, invalid=invalid, shuffle=shuffle
    )
    return b"".join(line + b"\n" for line in generate_lines(options))


def seeds() -> dict[str, bytes]:
    """Name -> seed input."""
    day = EXAMPLE.read_bytes()
    gen = generated(events=50, seed=1)
    lines = gen.splitlines()
    by_type: dict[str, bytes] = {}
    for line in generated(events=200, seed=1).splitlines():
        by_type.setdefault(json.loads(line)["event_type"], line)
    out = {
        "day-whole": header() + day,
        "day-cut-raw": header(cuts=(40, 90, 91, 200), weak=3) + day,
        "day-cut-snapped": header(flags=2 | 4, cuts=(30, 120, 220)) + day,
        "day-validate-memoryview": header(flags=1 | 8, cuts=(128,)) + day,
        "day-small-limit": header(flags=2, limit=80, cuts=(64, 128)) + day,
        "day-offers": header(flags=32 | 64 | 16, cycles=1, cuts=(100,)) + day,
        "gen50-seed1": header() + gen,
        "gen50-seed1-cut": header(flags=2 | 32, cuts=(17, 60, 61, 150), strict=True, weak=1) + gen,
        "gen50-seed1-crlf-no-final-newline": header(cuts=(128,)) + gen.replace(b"\n", b"\r\n")[:-2],
        "gen40-dups-invalid": header(flags=64, cuts=(90,))
        + generated(events=40, seed=2, duplicates=6, invalid=6),
        "gen40-shuffled": header(flags=32) + generated(events=40, seed=3, shuffle=True),
        # The link index as its JSON text, anomalies placed: replay --format json.
        "gen50-seed1-rendered": header(flags=16, cuts=(100,), place=True, render=True) + gen,
    }
    for event_type, line in sorted(by_type.items()):
        out[f"one-{event_type}"] = header(flags=32) + line
    # Every "/" escaped, and long escaped strings after short ones: the
    # decoded strings of one line share a scratch buffer (FINDINGS.md F4).
    escaped = [
        json.dumps(json.loads(line), ensure_ascii=True).replace("/", "\\/").encode()
        for line in by_type.values()
    ]
    link = json.loads(by_type["ExternalReferenceLinked"])
    link["payload"]["external_ref_url"] += "/p" * 600
    link = {"payload": link.pop("payload"), **link}
    escaped.append(json.dumps(link).replace("/", "\\/").encode())
    out["escaped-solidus"] = header(flags=32) + b"\n".join(escaped) + b"\n"
    hostile = [
        b"",
        b"\n\n\r\n",
        b"{}",
        b"[]",
        b'{"a":' * 70 + b"1" + b"}" * 70,
        b'{"x": NaN}',
        b'{"n": 123456789012345678901234567890}',
        b'{"k": 1, "k": 2}',
        b'"\xff\xfe"\x00',
    ]
    out["hostile"] = header(flags=64, cuts=(10, 40)) + b"\n".join(hostile) + b"\n" + lines[0]
    # Structured CloudEvents (the harness maps every block with map_cloudevents),
    # with a source that percent-encodes and a clock written as a JSON integer.
    events = [to_structured_json(Event.model_validate_json(line)) for line in day.splitlines()]
    odd = json.loads(events[0])
    odd["source"] = build_source("n:1/é", "b%2")
    odd["lamportclock"] = int(odd["lamportclock"])
    events.append(json.dumps(odd).encode())
    out["day-cloudevents"] = header(cuts=(100, 180)) + b"\n".join(events) + b"\n"
    return out


def dictionary() -> list[str]:
    """libFuzzer dictionary entries: spec keys, event types and enum values, JSON-quoted."""
    spec = _accel._spec()
    words: set[str] = set()
    fields = list(spec["envelope"])
    for event_type in spec["event_types"]:
        words.add(event_type["name"])
        fields += event_type["fields"]
    for field in fields:
        words.add(field["name"])
        words.update(field.get("values") or ())
    # CloudEvents attributes, and what the mapping checks their values against.
    for name, _, _, _, args in compiled_plan():
        words.add(name.decode())
        words.update(arg.decode().strip('"') for arg in args)
    tokens = [json.dumps(w) for w in sorted(words)]
    tokens += [
        '":"',
        '","',
        '":{',
        "},",
        '""',
        "null",
        "true",
        "-0",
        "1e308",
        "\\u0000",
        "\\r\\n",
        "\\/",
        "%3A",
        "%C3%A9",
        ".v2.7.0",
    ]
    # Integer edges: 2^63 - 1 and past it, 2^64 - 1 and past it.
    tokens += ["9223372036854775807", "9223372036854775808", "18446744073709551615"]
    tokens += ["18446744073709551616", "-9223372036854775808", "-1", "\\u00e9", "\\ud83d\\ude00"]
    # Float edges: the largest double and past it, exponents that overflow or
    # underflow, and the 17 digits producers write (checked without converting).
    tokens += ["1.7976931348623159e308", "e309", "e-400", "e1000000000000000000"]
    tokens += ["0.30000000000000004"]
    return [f"kw{i}={json.dumps(t)}" for i, t in enumerate(tokens)]


def main() -> None:
    """Rewrite fuzz/corpus/ and fuzz/scanner.dict."""
    corpus = HERE / "corpus"
    corpus.mkdir(exist_ok=True)
    for old in corpus.iterdir():
        old.unlink()
    for name, data in seeds().items():
        digest = hashlib.sha1(data).hexdigest()[:10]
        (corpus / f"{name}-{digest}").write_bytes(data)
    (HERE / "scanner.dict").write_text("\n".join(dictionary()) + "\n")
    print(f"{len(list(corpus.iterdir()))} seeds in {corpus}")


if __name__ == "__main__":
    main()
