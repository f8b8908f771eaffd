"""``connector-sync asyncapi``: print (or check) the AsyncAPI 3.0 document."""

from __future__ import annotations

import sys

import click

from .common import EXIT_PROBLEMS, examples, say, write_out

__all__ = ["asyncapi"]


@click.command(
    short_help="Print the AsyncAPI 3.0 document of every event type.",
    epilog=examples(
        "connector-sync asyncapi > asyncapi.json",
        "connector-sync asyncapi --self-contained > connector-sync.asyncapi.json",
        "connector-sync asyncapi --check",
    ),
)
@click.option(
    "--self-contained",
    is_flag=True,
    help="Inline every JSON Schema under components.schemas, so the document's $refs "
    "resolve when it is saved alone (the committed one refers to ../schemas/*.json).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff when the committed document differs from the registry.",
)
def asyncapi(self_contained: bool, check: bool) -> None:
    """Print the AsyncAPI 3.0 document of every event type (one message per type).

    The committed document refers to the schema files beside it
    (../schemas/NAME.json); --self-contained prints one file with the schemas
    inlined.
    """
    from .. import asyncapi as document

    if check and self_contained:
        raise click.UsageError("--check and --self-contained cannot be combined; choose one")
    if check:
        from .._tooling.drift import drift_diff

        diff = drift_diff(
            document.DOCUMENT_FILE, document.committed_text(), document.render_document()
        )
        if diff is not None:
            say(diff.rstrip("\n"))
            click.echo(f"{document.DOCUMENT_FILE} differs from the registry", err=True)
            sys.exit(EXIT_PROBLEMS)
        click.echo(f"{document.DOCUMENT_FILE} is up to date", err=True)
        return
    write_out(document.render_document(self_contained=self_contained))
