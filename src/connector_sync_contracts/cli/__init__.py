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

import errno
import io
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, Final

import click

from .._engine.native import engine
from .._signals import handling
from ..contract.version import CONTRACT_VERSION
from . import asyncapi, conformance, generate, replay, schema, validate
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_CLOSED,
    EXIT_USAGE,
    examples,
    line_cut_short,
    quiet_stdout,
    to_devnull,
)

__all__ = ["Program", "main"]


class Program(click.Group):
    """The ``connector-sync`` group, with the exit codes and error style the README promises.

    A usage error is one ``connector-sync: error: ...`` line and exit 2;
    Ctrl-C is one ``connector-sync: interrupted`` line and exit 130; SIGTERM
    and SIGHUP (``kill``, ``timeout``, a closed terminal, an orchestrator)
    end it the same way, cleaning up as after Ctrl-C, with exit 143 and 129;
    a closed standard output (``... | head``) ends the command quietly with
    exit 141. ``main(args, standalone_mode=False)`` is click's, unchanged.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn Ctrl-C, SIGTERM, SIGHUP and a closed stdout into exit codes."""
        try:
            with _terminating_as_interrupted():
                return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            _interrupt_handled()
            if sys.stderr.isatty():
                sys.stderr.write("\r\x1b[K")
            cut = line_cut_short()
            if isinstance(exc, _Terminated):
                sys.stderr.write(f"{cut}connector-sync: terminated by {exc.name}\n")
                raise click.exceptions.Exit(128 + exc.signum) from None
            sys.stderr.write(f"{cut}connector-sync: interrupted\n")
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            quiet_stdout()
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
        _stand_in_for_closed_streams()
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except SystemExit as exc:
            code = exc.code
        except _NO_ARGS as exc:
            # ``connector-sync`` alone: the help is the answer, not an error message.
            _tell(exc.ctx.get_help() + "\n" if exc.ctx is not None else "")
            code = EXIT_USAGE
        except click.exceptions.UsageError as exc:
            _tell(f"connector-sync: error: {exc.format_message()}\n")
            if exc.ctx is not None:
                _tell(f"Try '{exc.ctx.command_path} --help' for help.\n")
            code = EXIT_USAGE
        except click.ClickException as exc:
            _tell(f"connector-sync: error: {exc.format_message()}\n")
            code = EXIT_USAGE
        except click.Abort:
            _interrupt_handled()
            _tell("connector-sync: interrupted\n")
            code = EXIT_INTERRUPTED
        except BrokenPipeError:  # the help or the version into a closed pipe
            quiet_stdout()
            code = EXIT_OUTPUT_CLOSED
        except OSError as exc:  # no command made a sentence of it: standard error full, say
            from ..io import os_error_reason

            _tell(f"connector-sync: error: {os_error_reason(exc)}\n")
            code = EXIT_USAGE
        except Exception:  # a bug: exit 2, never 1, which would say the data has problems
            _tell(traceback.format_exc())
            _tell(f"connector-sync: error: {_INTERNAL_ERROR}\n")
            code = EXIT_USAGE
        try:
            sys.stdout.flush()
        except KeyboardInterrupt:
            # Ctrl-C while the rest of the output was written, after the command
            # ended (found by an outside run as a traceback): the same one line.
            _interrupt_handled()
            _tell("connector-sync: interrupted\n")
            code = EXIT_INTERRUPTED
        except BrokenPipeError:
            quiet_stdout()
            code = EXIT_OUTPUT_CLOSED
        except OSError as exc:  # a full disk under a redirected output, say
            from ..io import os_error_reason

            quiet_stdout()
            _tell(f"connector-sync: error: cannot write standard output: {os_error_reason(exc)}\n")
            code = EXIT_USAGE
        if not _tell("") and code == 0:
            code = EXIT_USAGE  # what it had to say was lost
        sys.exit(code if isinstance(code, int) else 0 if code is None else EXIT_USAGE)


_INTERNAL_ERROR: Final = (
    "internal error (a bug in connector-sync; please report it with the traceback above)"
)


def _tell(text: str) -> bool:
    """Write ``text`` to standard error; False when it could not be written (a full or
    closed one: standard error then goes to /dev/null, so that the interpreter's
    last flush stays silent, and the exit code is all that tells)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        to_devnull(2)
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - standard error, kept open
        return False
    return True


class _Closed(io.RawIOBase):
    """What a standard stream closed when the command started reads and writes: reading
    or writing it fails as a closed descriptor does (``EBADF``), naming the stream."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def readable(self) -> bool:
        """It can be asked to read (and fails)."""
        return True

    def writable(self) -> bool:
        """It can be asked to write (and fails)."""
        return True

    def _closed(self) -> OSError:
        return OSError(errno.EBADF, f"{self._name} is closed")

    def readinto(self, buffer: Any) -> int:
        """Fail: the stream is closed."""
        raise self._closed()

    def write(self, data: Any) -> int:
        """Fail: the stream is closed."""
        raise self._closed()

    def fileno(self) -> int:
        """Fail: the stream has no descriptor."""
        raise self._closed()


def _stand_in_for_closed_streams() -> None:
    """Python gives a standard stream closed when it started as None; the command
    reads and writes one that fails as a closed descriptor does, so that using it
    is an I/O error (exit 2) rather than an ``AttributeError``."""
    for name, what in (
        ("stdin", "standard input"),
        ("stdout", "standard output"),
        ("stderr", "standard error"),
    ):
        if getattr(sys, name) is None:
            # write_through: nothing is held back for the interpreter's last flush.
            stand_in = io.TextIOWrapper(_Closed(what), encoding="utf-8", write_through=True)  # type: ignore[type-var]
            setattr(sys, name, stand_in)


_NO_ARGS: tuple[type[click.exceptions.UsageError], ...] = tuple(
    getattr(click.exceptions, name)
    for name in ("NoArgsIsHelpError",)  # click >= 8.2; older versions print the help and exit
    if hasattr(click.exceptions, name)
)


def _interrupt_handled() -> None:
    """Let CPython forget a Ctrl-C that went through ``exec``, now that it is handled.

    CPython notes a ``KeyboardInterrupt`` that leaves code run by ``exec`` of
    a string (``dataclasses`` makes its methods so, in an import the command
    makes lazily) and, under ``python -m``, ends the process by SIGINT once it
    has exited, whatever its exit code: the promised 130 became a death by
    signal. Every such ``exec`` clears the note when it starts, so an empty
    one clears it for good.
    """
    exec("")


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is so that it unwinds as after Ctrl-C:
    every ``finally`` and context manager runs (spill folders, output files, a cluster)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def _raise_terminated(signum: int, _: FrameType | None) -> None:
    raise _Terminated(signum)


_TERMINATING: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextmanager
def _terminating_as_interrupted() -> Iterator[None]:
    """Handle SIGTERM and SIGHUP like Ctrl-C while a command runs, where that is ours to do.

    Only in the main thread, and only for a signal left to its default
    action: a program that runs the command in-process and set its own
    handler keeps it. The previous handlers are put back afterwards.
    """
    with handling(_raise_terminated, _TERMINATING, replaces=lambda now: now is signal.SIG_DFL):
        yield


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
