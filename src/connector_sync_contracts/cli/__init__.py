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

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from .._engine.native import engine
from ..contract.version import CONTRACT_VERSION
from . import asyncapi, conformance, generate, replay, schema, validate
from .common import EXIT_INTERRUPTED, EXIT_OUTPUT_CLOSED, EXIT_USAGE, examples

__all__ = ["Program", "main"]


class Program(click.Group):
    """The ``connector-sync`` group, with the exit codes and error style the README promises.

    A usage error is one ``connector-sync: error: ...`` line and exit 2;
    Ctrl-C is one ``connector-sync: interrupted`` line and exit 130; a
    closed standard output (``... | head``) ends the command quietly with
    exit 141. ``main(args, standalone_mode=False)`` is click's, unchanged.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn Ctrl-C and a closed stdout into their exit codes."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            if sys.stderr.isatty():
                sys.stderr.write("\r\x1b[K")
            sys.stderr.write("connector-sync: interrupted\n")
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(EXIT_OUTPUT_CLOSED) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Parse ``args`` and run; in standalone mode, exit with the promised codes."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except SystemExit as exc:
            code = exc.code
        except _NO_ARGS as exc:
            # ``connector-sync`` alone: the help is the answer, not an error message.
            sys.stderr.write(exc.ctx.get_help() + "\n" if exc.ctx is not None else "")
            code = EXIT_USAGE
        except click.exceptions.UsageError as exc:
            sys.stderr.write(f"connector-sync: error: {exc.format_message()}\n")
            if exc.ctx is not None:
                sys.stderr.write(f"Try '{exc.ctx.command_path} --help' for help.\n")
            code = EXIT_USAGE
        except click.ClickException as exc:
            sys.stderr.write(f"connector-sync: error: {exc.format_message()}\n")
            code = EXIT_USAGE
        except click.Abort:
            sys.stderr.write("connector-sync: interrupted\n")
            code = EXIT_INTERRUPTED
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
            code = EXIT_OUTPUT_CLOSED
        sys.exit(code if isinstance(code, int) else 0 if code is None else EXIT_USAGE)


_NO_ARGS: tuple[type[click.exceptions.UsageError], ...] = tuple(
    getattr(click.exceptions, name)
    for name in ("NoArgsIsHelpError",)  # click >= 8.2; older versions print the help and exit
    if hasattr(click.exceptions, name)
)


def _quiet_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush stays silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


@click.group(
    cls=Program,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples(
        "connector-sync generate --events 5000 -o log.jsonl",
        "connector-sync validate log.jsonl",
        "connector-sync replay log.jsonl",
    ),
)
@click.version_option(
    CONTRACT_VERSION,
    "-V",
    "--version",
    prog_name="connector-sync",
    message=f"%(prog)s %(version)s; engine: {engine()}",
    help="Show the version and the engine (compiled core or pure Python), and exit.",
)
def main() -> None:
    """Validate and replay connector lifecycle and sync delivery event logs (JSONL).

    Exit codes: 0 clean, 1 data problems found, 2 usage or I/O error. Run
    'connector-sync COMMAND --help' for a command's options and examples.
    """


# Each command lives in the module of its name (``cli.replay.replay`` ...).
for _module in (asyncapi, conformance, generate, replay, schema, validate):
    main.add_command(getattr(_module, _module.__name__.rpartition(".")[2]))
