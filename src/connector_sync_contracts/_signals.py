"""Signal handlers set for the length of a block, where that is ours to do."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["handling"]

Handler = Callable[[int, FrameType | None], Any]


@contextmanager
def handling(
    handler: Handler, signums: Iterable[int], *, replaces: Callable[[Any], bool]
) -> Iterator[None]:
    """Handle each of ``signums`` with ``handler`` while the block runs, then put back
    the handlers it replaced.

    Only a signal whose current handler ``replaces`` accepts is taken over,
    and only in the main thread (the only one Python lets set a handler):
    elsewhere the block runs with the handlers as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for signum in signums:
        if replaces(signal.getsignal(signum)):
            saved[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)
