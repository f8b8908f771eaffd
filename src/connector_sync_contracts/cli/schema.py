"""``connector-sync schema``: print, write, check or compare the committed JSON Schemas."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from ..contract.projection import canonical_dumps
from ..io import os_error_reason
from .common import EXIT_CLEAN, EXIT_PROBLEMS, examples, fail, plural, say, warn, write_out

__all__ = ["schema"]


@click.command(
    short_help="Print, write, check or compare the committed JSON Schemas.",
    epilog=examples(
        "connector-sync schema --list",
        "connector-sync schema ConnectorHealthChecked",
        "connector-sync schema --compat 2.7.0",
    ),
)
@click.argument("name", required=False)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False),
    help="Write every schema file into this folder instead of printing.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff when the committed schemas differ from the models.",
)
@click.option("--list", "list_names", is_flag=True, help="List the schema names.")
@click.option(
    "--compat",
    "compat_dir",
    metavar="VERSION|DIR",
    help="Classify every change against a baseline as additive or breaking; exit 1 on a "
    "breaking change unless the major version moved. The baseline is a shipped version "
    "(e.g. 2.7.0) or a folder of schema files.",
)
@click.option(
    "--candidate",
    "candidate_dir",
    type=click.Path(exists=True, file_okay=False),
    help="With --compat: compare the schemas in this folder (e.g. a proposed change) "
    "instead of this package's.",
)
def schema(
    name: str | None,
    write_dir: str | None,
    check: bool,
    list_names: bool,
    compat_dir: str | None = None,
    candidate_dir: str | None = None,
) -> None:
    """Print the JSON Schema NAME (an event type, or Event for the envelope).

    Without NAME, print every schema as one JSON object keyed by name. The
    options instead list, write, drift-check or compare the whole set; only
    one of NAME, --list, --check, --write and --compat can be given.
    """
    from .. import schemas

    actions = [
        label
        for label, given in (
            ("NAME", name is not None),
            ("--list", list_names),
            ("--check", check),
            ("--write", write_dir is not None),
            ("--compat", compat_dir is not None),
        )
        if given
    ]
    if len(actions) > 1:
        raise click.UsageError(f"{' and '.join(actions)} cannot be combined; choose one")
    if candidate_dir is not None and compat_dir is None:
        raise click.UsageError("--candidate needs --compat VERSION|DIR")
    if compat_dir is not None:
        _compat_gate(compat_dir, Path(candidate_dir) if candidate_dir else None)
    if list_names:
        for known in schemas.schema_names():
            say(known)
        return
    if check:
        problems = schemas.check_schemas()
        for problem in problems:
            say(problem.rstrip("\n"))
        if problems:
            verb = "differs" if len(problems) == 1 else "differ"
            click.echo(f"{plural(len(problems), 'schema file')} {verb} from the models", err=True)
            sys.exit(EXIT_PROBLEMS)
        click.echo("schemas are up to date", err=True)
        return
    if write_dir is not None:
        try:
            Path(write_dir).mkdir(parents=True, exist_ok=True)
            changed = schemas.write_schemas(Path(write_dir))
        except OSError as exc:
            where = exc.filename if exc.filename is not None else write_dir
            fail(f"cannot write schemas to {where}: {os_error_reason(exc)}")
        ours = {schemas.schema_file_name(n) for n in schemas.schema_names()}
        removed = [name for name in changed if name not in ours]
        written = len(changed) - len(removed)
        click.echo(f"{plural(written, 'schema file')} written to {write_dir}", err=True)
        if removed:
            which = "it" if len(removed) == 1 else "them"
            click.echo(
                f"{plural(len(removed), 'stale schema file')} removed from {write_dir} "
                f"({', '.join(removed)}): an earlier version of this package wrote {which}, "
                f"and no model defines {which} now",
                err=True,
            )
        _warn_of_others(Path(write_dir), ours)
        return
    if name is None:
        bundle = {known: schemas.load_schema(known) for known in schemas.schema_names()}
        write_out(canonical_dumps(bundle))
        return
    if name not in schemas.schema_names():
        fail(f"unknown schema {name!r}; try --list")
    write_out(schemas.render_schema(name))


def _compat_gate(baseline: str, candidate_dir: Path | None) -> NoReturn:
    from ..compat import check_compatibility
    from ..errors import SchemaSetError

    try:
        report = check_compatibility(baseline, candidate_dir)
    except SchemaSetError as exc:
        fail(f"not a schema set: {exc}")
    except OSError as exc:
        fail(f"cannot read schemas: {exc}")
    for change in report.changes:
        say(str(change))
    baseline = report.baseline_version or "unknown version"
    click.echo(
        f"{len(report.breaking):,} breaking, {plural(len(report.additive), 'additive change')} "
        f"against baseline {baseline} (current {report.current_version})",
        err=True,
    )
    if report.breaking and report.major_moved:
        click.echo("breaking changes are allowed: the major version moved", err=True)
    sys.exit(EXIT_CLEAN if report.passes else EXIT_PROBLEMS)


def _warn_of_others(folder: Path, ours: set[str]) -> None:
    """Name the ``*.json`` files in ``folder`` other than ``ours`` (this package's schema
    files): ``--write`` leaves them, and ``--compat`` would read the folder with them."""
    try:
        others = sorted(path.name for path in folder.glob("*.json") if path.name not in ours)
    except OSError:
        return
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        warn(
            f"{folder} also holds {plural(len(others), 'other .json file')} ({shown}), "
            f"left as they are; --compat {folder} reads every .json file in it as a schema "
            "of the set"
        )
