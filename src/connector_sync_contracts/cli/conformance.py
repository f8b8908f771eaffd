"""``connector-sync conformance``: run the bundled kit, or judge a consumer's output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import click

from ..contract.limits import MAX_DEPTH
from ..contract.projection import LOG_FIELDS, drop_logs
from ..io import os_error_reason, read_small
from ..validation.input import repeated_keys
from .common import EXIT_CLEAN, EXIT_PROBLEMS, examples, fail, say
from .render import first_differences

__all__ = ["conformance"]

_PROJECTION_KEYS = frozenset({"connectors", "sync", "external_links"})
_AGAINST_LIMIT = 64 * 2**20
"""The largest output ``--against`` reads (64 MiB; a stream's golden is under 100 kB)."""


class _NotJsonError(ValueError):
    """What JSON parsers disagree on, in a consumer's output: said, not guessed."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        key = repeated_keys(pairs)[0]
        raise _NotJsonError(f"key {key!r} appears more than once in one object")
    return found


def _constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not a JSON number")


def _without_wording(data: Any) -> Any:
    """``data`` with the message of every anomaly (an object in an ``anomalies`` list)
    replaced by one marker when it is a string: the kind, the event and the presence
    of a message are compared, not its words, which the specification leaves open."""
    if isinstance(data, dict):
        return {
            key: [_worded(item) for item in value]
            if key == "anomalies" and isinstance(value, list)
            else _without_wording(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_without_wording(item) for item in data]
    return data


def _worded(anomaly: Any) -> Any:
    if isinstance(anomaly, dict) and isinstance(anomaly.get("message"), str):
        return {**anomaly, "message": _ANY_WORDS}
    return anomaly


_ANY_WORDS = "<any message>"


def _integer(text: str) -> int | Decimal:
    """An integer as written, exactly: one longer than ``int()`` reads from text (its
    digit limit, ``sys.set_int_max_str_digits``) as a ``Decimal``, which compares with
    integers by value."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


class _TooDeepError(ValueError):
    """JSON nested deeper than any replay output is."""


def _read_json(data: bytes) -> Any:
    """A replay output as JSON values: every number exact (a fraction as a ``Decimal``,
    not a double that would make ``16.0000000000000001`` equal ``16``), a repeated
    key and ``NaN`` refused, and nesting deeper than ``MAX_DEPTH`` (far deeper than
    a replay output nests) refused before anything walks it."""
    too_deep = _TooDeepError(f"it is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            data,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=Decimal,
            parse_int=_integer,
        )
    except RecursionError:
        raise too_deep from None
    containers: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while containers:
        item, depth = containers.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_DEPTH:
            raise too_deep
        containers.extend(
            (child, depth + 1) for child in children if isinstance(child, (dict, list))
        )
    return value


def _states(data: Any) -> Iterator[tuple[Any, Any]]:
    """(connector_id, state) of each per-connector state of a replay output, its
    ``connectors`` and ``sync`` keyed by connector_id or written as a list of states."""
    if not isinstance(data, dict):
        return
    for part in ("connectors", "sync"):
        states = data.get(part) or {}
        if isinstance(states, dict):
            yield from states.items()
        elif isinstance(states, list):
            yield from ((s.get("connector_id") if isinstance(s, dict) else None, s) for s in states)


def _has_logs(data: Any) -> bool:
    """Whether a per-connector state of ``data`` holds one of the per-event logs
    (``LOG_FIELDS``)."""
    return any(isinstance(state, dict) and LOG_FIELDS & state.keys() for _, state in _states(data))


def _identity(projection: dict[str, Any]) -> set[str]:
    """What names a replay output's stream: its connector ids and its links' event ids
    (connectors written as a list of states, not keyed by id, are still named)."""
    found = {f"connector:{cid}" for cid, _ in _states(projection) if isinstance(cid, str)}
    links = projection.get("external_links") or {}
    if isinstance(links, dict):
        for link in links.get("links") or ():
            if isinstance(link, dict) and isinstance(link.get("event_id"), str):
                found.add(f"link:{link['event_id']}")
    return found


@click.command(
    short_help="Run the bundled conformance kit, or judge a consumer's replay output.",
    epilog=examples(
        "connector-sync conformance",
        "connector-sync conformance --against my_projection.json",
        "connector-sync conformance --against my_projection.json "
        "--stream mixed-replay-multi-connector",
    ),
)
@click.option(
    "--against",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A consumer's reducer output (JSON) to compare with the golden of its stream.",
)
@click.option(
    "--stream",
    "stream_id",
    metavar="ID",
    help="Manifest id of the replay stream --against refers to (default: the one that matches).",
)
@click.option(
    "--messages",
    type=click.Choice(["any", "exact"]),
    default=None,
    help="With --against: any (the default): an anomaly's message must be a string, in any "
    "words (the specification does not fix them); exact: also in this package's words.",
)
def conformance(against: str | None, stream_id: str | None, messages: str | None = None) -> None:
    """Run the bundled conformance kit and print a pass/fail table.

    With --against FILE ('-' is stdin), compare a consumer's replay output
    for one of the kit's streams with the committed golden output instead,
    as JSON values: key order, spacing and the spelling of a number (950,
    950.0, 9.5e2) do not matter, its value does, exactly (not as a double);
    strings, date-times included, must be the
    golden's (UTC with Z); an anomaly's message may be worded otherwise
    unless --messages exact; an output without any per-event log (--no-logs)
    is compared without them. Exit 1 on any failure or difference.
    """
    from ..conformance import load_manifest

    if against is None:
        for given, option in ((stream_id, "--stream"), (messages, "--messages")):
            if given is not None:
                raise click.UsageError(f"{option} needs --against FILE")
    manifest = load_manifest()
    streams = {f.id: f for f in manifest.fixtures if f.expected_result == "replay"}
    if against is not None:
        try:
            actual = _read_json(
                read_small(sys.stdin.buffer if against == "-" else against, _AGAINST_LIMIT)
            )
        except OSError as exc:
            fail(f"cannot read {against}: {os_error_reason(exc)}")
        except _TooDeepError as exc:
            fail(f"{against} is not a replay output: {exc}")
        except ValueError as exc:  # not JSON, not UTF-8, a repeated key, NaN
            fail(f"cannot read {against}: not JSON ({exc})")
        if not isinstance(actual, dict) or not _PROJECTION_KEYS & actual.keys():
            fail(
                f"{against} is not a replay output: expected a JSON object with "
                f"{', '.join(sorted(_PROJECTION_KEYS))} (specification section 6)"
            )
        if stream_id is not None and stream_id not in streams:
            known = any(f.id == stream_id for f in manifest.fixtures)
            what = "not a replay stream (a fixture of one envelope)" if known else "unknown stream"
            fail(f"{what}: {stream_id!r}; replay streams: {', '.join(sorted(streams))}")
        goldens = {
            fixture.id: _read_json(fixture.golden_bytes())
            for fixture in ([streams[stream_id]] if stream_id else streams.values())
        }
        if messages != "exact":
            actual = _without_wording(actual)
            goldens = {sid: _without_wording(golden) for sid, golden in goldens.items()}
        # An output written without the logs (replay --no-logs, section 6) is
        # judged against the golden without them: everything else must match.
        logs = _has_logs(actual)
        if not logs:
            for golden in goldens.values():
                drop_logs(golden)
        compared = "" if logs else " (without the logs: your output has none, as --no-logs)"
        if stream_id is None:
            overlap = {
                sid: len(_identity(golden) & _identity(actual)) for sid, golden in goldens.items()
            }
            if not any(overlap.values()):
                fail(
                    f"{against} matches no stream of the kit (no connector, delivery or link "
                    f"of it is in any golden output); name one with --stream: "
                    f"{', '.join(sorted(streams))}"
                )
            most = max(overlap.values())
            goldens = {sid: golden for sid, golden in goldens.items() if overlap[sid] == most}
        best: tuple[int, str, list[str]] | None = None
        for sid, golden in goldens.items():
            differences = first_differences(golden, actual, limit=1000)
            if best is None or len(differences) < best[0]:
                best = (len(differences), sid, differences)
        assert best is not None
        count, chosen, differences = best
        if count == 0:
            say(f"PASS  {against} matches the golden output of {chosen}{compared}")
            return
        say(f"FAIL  {against} differs from the golden output of {chosen}{compared}:")
        for line in differences[:20]:
            say(f"  {line}")
        if count > 20:
            say(f"  ... and {count - 20} more differences")
        sys.exit(EXIT_PROBLEMS)
    failures = 0
    rows: list[tuple[str, str, str]] = []
    details: dict[int, str] = {}
    for fixture in manifest.fixtures:
        if fixture.expected_result == "replay":
            ok = fixture.replay_json() == fixture.golden_bytes()
            expected, got = "replay: the golden output", "a different output"
        else:
            result = fixture.validate()
            codes = sorted(result.codes)
            if fixture.expected_result == "valid":
                ok = result.valid
                expected = "valid"
            else:
                ok = not result.valid and codes == [fixture.expected_violation]
                expected = f"invalid: {fixture.expected_violation}"
            got = f"invalid: {', '.join(codes)}" if codes else "valid"
        failures += not ok
        if not ok:
            details[len(rows)] = got
        rows.append(("PASS" if ok else "FAIL", fixture.id, expected))
    header = ("RESULT", "FIXTURE", "EXPECTED")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    for row in (header, tuple("-" * w for w in widths)):
        say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for index, row in enumerate(rows):
        say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index in details:
            say(f"{'':{widths[0] + 4}}got: {details[index]}")
    say(f"\n{len(rows) - failures:,} passed, {failures:,} failed")
    sys.exit(EXIT_PROBLEMS if failures else EXIT_CLEAN)
