"""I/O on threads of its own: the disk works while the main thread routes or folds.

A spilled replay reads its input once to route it, writes every line to a
partition file, and reads each group of files back to fold it. Done on the
main thread, each read waits for the routing or folding before it, and
makes it wait in turn; on a disk slower than memory that adds up. Here:

- ``ahead`` runs a reading iterator (``Source.blocks()``) on a thread, a few
  blocks ahead of its consumer;
- ``Behind`` runs calls (remove a folded file, have the kernel read the next
  group's files) on a thread, behind the caller.

File reads and system calls release the GIL, so the main thread goes on
meanwhile. The threads do nothing but I/O: the routing and the fold stay on
the main thread, in input order, so the output is the same bytes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Final, Generic, TypeVar

__all__ = ["Behind", "ahead"]

T = TypeVar("T")

_POLL: Final = 0.5
"""Seconds between looks at the stop flag while a queue stays full."""


class _End:
    """Queued after the last item; holds what ended the producer (None: exhausted)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def _put(into: queue.Queue[T], item: T, stop: threading.Event) -> bool:
    """Put ``item`` when there is room; False (not put) once ``stop`` is set."""
    while not stop.is_set():
        try:
            into.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _drain(queued: queue.Queue[T]) -> None:
    while True:
        try:
            queued.get_nowait()
        except queue.Empty:
            return


def ahead(
    items: Iterator[T], *, depth: int = 2, name: str = "connector-sync-read"
) -> Generator[T, None, None]:
    """Yield ``items``, produced on a thread of its own up to ``depth`` items ahead.

    An exception of the producer is raised here, after the items before it.
    Leaving the loop early (``break``, an error, Ctrl-C) stops the producer
    and closes ``items`` (on its thread) before the generator returned here
    finishes closing.
    """
    made: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(made, item, stop):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(made, _End(exc), stop)
        else:
            _put(made, _End(None), stop)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's files are closed on the thread that read them

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = made.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        _drain(made)
        thread.join()


class Behind(Generic[T]):
    """Calls ``work(item)`` for each ``put`` item on a thread of its own, in order.

    At most ``depth`` items wait; ``put`` blocks while the queue is full.
    ``close`` waits until every item is done and raises the first error
    ``work`` raised (a full disk, say); after such an error ``work`` is
    called no more and ``put`` raises it. ``abort`` (the caller failed or
    was interrupted) stops the thread after the item in hand: what still
    waits is not done. Items must not change once put: pass copies.
    """

    def __init__(
        self, work: Callable[[T], object], *, depth: int = 4, name: str = "connector-sync-write"
    ) -> None:
        self._work = work
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item`` for ``work``; raise ``work``'s error if it already failed."""
        if self._error is None and _put(self._queue, item, self._stop):
            return
        self._raise()

    def close(self) -> None:
        """Wait until every queued item is done; raise ``work``'s first error, if any."""
        if self._thread.is_alive():
            _put(self._queue, _End(None), self._stop)
            self._thread.join()
        if self._error is not None:
            self._raise()

    def abort(self) -> None:
        """Stop the thread: it finishes the item in hand and takes no other."""
        self._stop.set()
        with contextlib.suppress(queue.Full):  # full: the thread is not waiting for one
            self._queue.put_nowait(_End(None))  # wakes the thread if it waits for an item
        self._thread.join()

    def _raise(self) -> None:
        if self._error is None:
            raise RuntimeError("the background writer was stopped")
        raise self._error

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if isinstance(item, _End):
                return
            try:
                self._work(item)
            except BaseException as exc:  # raised in the caller's thread
                self._error = exc
                self._stop.set()
                return
