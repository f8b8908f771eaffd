"""``connector-sync conformance``: run the bundled kit, or judge a consumer's output."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from .common import EXIT_CLEAN, EXIT_PROBLEMS, fail
from .render import first_differences

__all__ = ["conformance"]


@click.command()
@click.option(
    "--against",
    type=click.Path(dir_okay=False),
    help="A consumer's reducer output (JSON) to compare with the golden of its stream.",
)
@click.option(
    "--stream",
    "stream_id",
    metavar="ID",
    help="Manifest id of the replay stream --against refers to (default: the one that matches).",
)
def conformance(against: str | None, stream_id: str | None) -> None:
    """Run the bundled conformance kit and print a pass/fail table.

    With --against FILE, compare a consumer's replay output for one of the
    kit's streams with the committed golden output instead.
    """
    from ..conformance import load_manifest

    manifest = load_manifest()
    streams = {f.id: f for f in manifest.fixtures if f.expected_result == "replay"}
    if against is not None:
        try:
            actual = orjson.loads(Path(against).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            fail(f"cannot read {against}: {exc}")
        if stream_id is not None and stream_id not in streams:
            fail(f"unknown stream {stream_id!r}; streams: {', '.join(sorted(streams))}")
        candidates = [streams[stream_id]] if stream_id else list(streams.values())
        best: tuple[int, str, list[str]] | None = None
        for fixture in candidates:
            golden = orjson.loads(fixture.golden_bytes())
            differences = first_differences(golden, actual, limit=1000)
            if best is None or len(differences) < best[0]:
                best = (len(differences), fixture.id, differences)
        assert best is not None
        count, chosen, differences = best
        if count == 0:
            click.echo(f"PASS  {against} matches the golden output of {chosen}")
            return
        click.echo(f"FAIL  {against} differs from the golden output of {chosen}:")
        for line in differences[:20]:
            click.echo(f"  {line}")
        if count > 20:
            click.echo(f"  ... and {count - 20} more differences")
        sys.exit(EXIT_PROBLEMS)
    failures = 0
    rows: list[tuple[str, str, str, str, str]] = []
    for fixture in manifest.fixtures:
        if fixture.expected_result == "replay":
            ok = fixture.replay_json() == fixture.golden_bytes()
            expected, got = "golden output", "identical" if ok else "differs"
        else:
            result = fixture.validate()
            codes = sorted(result.codes)
            if fixture.expected_result == "valid":
                ok = result.valid
            else:
                ok = not result.valid and codes == [fixture.expected_violation]
            expected = fixture.expected_violation or "valid"
            got = ",".join(codes) or "valid"
        failures += not ok
        rows.append(("PASS" if ok else "FAIL", fixture.id, fixture.expected_result, expected, got))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"\n{len(rows) - failures} passed, {failures} failed")
    sys.exit(EXIT_PROBLEMS if failures else EXIT_CLEAN)
