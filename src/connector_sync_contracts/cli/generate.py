"""``connector-sync generate``: a synthetic, realistic JSONL log."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from .common import fail

__all__ = ["generate"]


@click.command()
@click.option("--events", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--connectors", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shuffle", is_flag=True, help="Emit lines in a seeded random order.")
@click.option(
    "--duplicates", type=click.IntRange(min=0), default=0, help="Exact duplicate lines to add."
)
@click.option("--invalid", type=click.IntRange(min=0), default=0, help="Invalid lines to add.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here instead of standard output.",
)
def generate(
    events: int,
    connectors: int,
    seed: int,
    shuffle: bool,
    duplicates: int,
    invalid: int,
    output: str | None,
) -> None:
    """Write a synthetic, realistic JSONL log; the same options give the same bytes."""
    from .._tooling.synthetic import GeneratorOptions, generate_lines

    options = GeneratorOptions(
        events=events,
        connectors=connectors,
        seed=seed,
        shuffle=shuffle,
        duplicates=duplicates,
        invalid=invalid,
    )
    try:
        with _output(output) as sink:
            write = sink.write
            for line in generate_lines(options):
                write(line + b"\n")
    except OSError as exc:
        fail(f"cannot write output: {exc}")


@contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    if path is None:
        stream = sys.stdout.buffer
        yield stream
        stream.flush()
    else:
        with Path(path).open("wb") as handle:
            yield handle
