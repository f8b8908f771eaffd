"""``connector-sync generate``: a synthetic, realistic JSONL log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

import click

from .common import examples, plural, write_out
from .files import writing
from .progress import Progress

__all__ = ["generate"]

_MOST: Final = 10**12
"""The most of anything ``generate`` writes: a million million lines (about 700 TB).
Beyond it a count is a typo, and Python's ranges overflow at 2**63."""


@click.command(
    short_help="Write a synthetic, realistic JSONL log (same options, same bytes).",
    epilog=examples(
        "connector-sync generate --events 5000 --connectors 20 -o log.jsonl",
        "connector-sync generate --conflicts 5 --invalid 5 | connector-sync validate -",
        "connector-sync generate --seed 7 | gzip > log.jsonl.gz",
    ),
)
@click.option(
    "--events",
    type=click.IntRange(min=0, max=_MOST),
    default=1000,
    show_default=True,
    metavar="N",
    help="Valid events to write (duplicates, conflicting copies and invalid lines come on top).",
)
@click.option(
    "--connectors",
    type=click.IntRange(min=1, max=_MOST),
    default=10,
    show_default=True,
    metavar="K",
    help="Connectors the events are spread over (providers take turns: github, jira, slack ...).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    metavar="S",
    help="Random seed: the same options and seed always give the same bytes.",
)
@click.option("--shuffle", is_flag=True, help="Emit lines in a seeded random order.")
@click.option(
    "--duplicates",
    type=click.IntRange(min=0, max=_MOST),
    default=0,
    metavar="N",
    help="Exact duplicate lines to add.",
)
@click.option(
    "--invalid",
    type=click.IntRange(min=0, max=_MOST),
    default=0,
    metavar="N",
    help="Invalid lines to add: a recent line broken one way (malformed JSON, missing "
    "fields, credentials in a URL ...). Most keep their event_id, so replay also counts "
    "them among that event's copies: its duplicates_dropped and conflicting_duplicate "
    "counts need not equal --duplicates and --conflicts.",
)
@click.option(
    "--conflicts",
    type=click.IntRange(min=0, max=_MOST),
    default=0,
    metavar="N",
    help="Conflicting copies to add: an earlier event_id on other content "
    "(every other one another connector's event).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write here instead of standard output (to a temporary file renamed at the end); "
    "'-' is standard output.",
)
def generate(
    events: int,
    connectors: int,
    seed: int,
    shuffle: bool,
    duplicates: int,
    invalid: int,
    conflicts: int,
    output: str | None,
) -> None:
    """Write a synthetic, realistic JSONL log; the same options give the same bytes.

    On a terminal, standard error shows the progress and a final summary.
    """
    if events == 0 and duplicates + invalid + conflicts:
        raise click.UsageError(
            "--duplicates, --invalid and --conflicts copy or alter generated events: "
            "give --events 1 or more"
        )
    from .._tooling.synthetic import GeneratorOptions, generate_lines

    options = GeneratorOptions(
        events=events,
        connectors=connectors,
        seed=seed,
        shuffle=shuffle,
        duplicates=duplicates,
        invalid=invalid,
        conflicts=conflicts,
    )
    total = options.total
    progress = Progress(total_lines=total, verb="writing")
    started = time.monotonic()
    try:
        if output is None or output == "-":
            _write_lines(write_out, generate_lines(options), progress)
        else:
            with writing(output, what="output") as sink:
                _write_lines(sink.write, generate_lines(options), progress)
    finally:
        progress.close()
    if progress.enabled:
        seconds = time.monotonic() - started
        where = output if output not in (None, "-") else "standard output"
        copies = plural(conflicts, "conflicting copy", "conflicting copies")
        noise = f"{plural(duplicates, 'duplicate')}, {copies}, {invalid:,} invalid"
        click.echo(
            f"wrote {plural(total, 'line')} ({plural(events, 'event')}, {noise}) "
            f"for {plural(connectors, 'connector')} to {where} in {seconds:,.1f} s",
            err=True,
        )


def _write_lines(
    write: Callable[[bytes], object], lines: Iterator[bytes], progress: Progress
) -> None:
    # About a megabyte per write: few system calls, even to an unbuffered stdout.
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= 1 << 20:
            write(b"\n".join(chunk) + b"\n")
            progress.advance(0, len(chunk))
            chunk, size = [], 0
    if chunk:
        write(b"\n".join(chunk) + b"\n")
        progress.advance(0, len(chunk))
