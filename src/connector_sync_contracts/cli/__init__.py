"""The ``connector-sync`` command line (also ``python -m connector_sync_contracts``).

One module per command (``validate``, ``replay``, ``generate``, ``schema``,
``conformance``, ``asyncapi``), what they share (``common``: exit codes,
errors, options, sources, progress) and the readable renderings
(``render``: the replay table, the golden diff). Exit codes: 0 clean, 1 data
problems found, 2 usage or I/O error. Problems are printed one per line as
``file:line: field: code: message``.

May import: everything else in the package; nothing imports this package.
Commands import heavy modules (the models, the tooling) inside their bodies,
so ``validate`` and ``replay`` start without pydantic.
"""

from __future__ import annotations

import click

from .._engine.native import engine
from ..contract.version import CONTRACT_VERSION
from .asyncapi import asyncapi
from .conformance import conformance
from .generate import generate
from .replay import replay
from .schema import schema
from .validate import validate

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    CONTRACT_VERSION,
    prog_name="connector-sync",
    message=f"%(prog)s %(version)s; engine: {engine()}",
)
def main() -> None:
    """Validate and replay connector lifecycle and sync delivery event logs (JSONL).

    Exit codes: 0 clean, 1 data problems found, 2 usage or I/O error.
    """


for _command in (asyncapi, conformance, generate, replay, schema, validate):
    main.add_command(_command)
