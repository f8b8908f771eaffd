"""The ``connector-sync`` command's entry point: a Ctrl-C while it loads ends it as later.

The command takes a tenth of a second to import; a Ctrl-C meanwhile printed
Python's ``KeyboardInterrupt`` traceback and killed the process by the
signal. Here it prints the one line the command prints for Ctrl-C and exits
130, as ``cli.Program`` does once the command runs.
"""

from __future__ import annotations

import os
import sys

# Only what Python has loaded before any module of ours: ``signal`` (not loaded at
# start) is imported inside main()'s guard, and the annotations' modules only for
# type checkers, so a Ctrl-C can land in this module's own lines only briefly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import NoReturn

__all__ = ["main"]

_SIGINT = 2
"""SIGINT's number on every platform Python runs on."""


def main() -> None:
    """Load and run ``connector-sync``; Ctrl-C while it loads exits 130 with one line."""
    # Installed first, then put back unless Python's own handler was there (SIGINT
    # ignored, or a caller's handler): asking first (signal.getsignal, which looks
    # the handler up in an enum) left a window where Ctrl-C was Python's traceback.
    try:
        import signal

        previous = signal.signal(signal.SIGINT, _interrupted_while_loading)
    except KeyboardInterrupt:
        # Ctrl-C that Python's own handler took while ours was being put in place:
        # while ``signal`` loads, or in the enum code signal.signal runs around the
        # install (tests saw both).
        _interrupted_while_loading(_SIGINT, None)
    loading = previous is signal.default_int_handler
    if not loading:  # None: a handler not set from Python, which cannot be set back
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    from .cli import main as command

    if loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    command()


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> NoReturn:
    sys.stderr.write("connector-sync: interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # nothing is open or written yet: no cleanup to wait for
