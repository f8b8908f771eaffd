"""``connector-sync generate``: a synthetic, realistic JSONL log."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import click

from .common import write_out
from .files import writing

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
    type=click.Path(dir_okay=False),
    help="Write here instead of standard output (to a temporary file renamed at the end).",
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
    if output is None:
        _write_lines(write_out, generate_lines(options))
        return
    with writing(output, what="output") as sink:
        _write_lines(sink.write, generate_lines(options))


def _write_lines(write: Callable[[bytes], object], lines: Iterator[bytes]) -> None:
    # About a megabyte per write: few system calls, even to an unbuffered stdout.
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= 1 << 20:
            write(b"\n".join(chunk) + b"\n")
            chunk, size = [], 0
    if chunk:
        write(b"\n".join(chunk) + b"\n")
