"""``connector-sync asyncapi``: print (or check) the AsyncAPI 3.0 document."""

from __future__ import annotations

import sys

import click

from .common import EXIT_PROBLEMS, write_out

__all__ = ["asyncapi"]


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff when the committed document differs from the registry.",
)
def asyncapi(check: bool) -> None:
    """Print the AsyncAPI 3.0 document of every event type (one message per type)."""
    from .. import asyncapi as document

    if check:
        from .._tooling.drift import drift_diff

        diff = drift_diff(
            document.DOCUMENT_FILE, document.committed_text(), document.render_document()
        )
        if diff is not None:
            click.echo(diff.rstrip("\n"))
            click.echo(f"{document.DOCUMENT_FILE} differs from the registry", err=True)
            sys.exit(EXIT_PROBLEMS)
        click.echo(f"{document.DOCUMENT_FILE} is up to date", err=True)
        return
    write_out(document.render_document())
