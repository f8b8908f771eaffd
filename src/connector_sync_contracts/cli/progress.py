"""The progress display on standard error, drawn only when standard error is a terminal.

A background thread redraws one line five times a second, after a short
delay (``CONNECTOR_SYNC_PROGRESS_DELAY`` seconds, 0.5 by default) so that
quick runs print nothing extra. While reading, the bar follows the bytes of
the inputs as stored: a ``.gz`` file advances by compressed bytes read.
When every input has been read, the label changes to the next phase
(``folding`` for replay) with its elapsed time, so the bar never sits still
at 99 % while the work goes on. Any other output goes through ``printing()``,
which clears the line first, as rich does, so a problem line never glues
onto the bar.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final, TextIO

from ..io import Source

__all__ = ["DELAY_ENV", "Progress"]

DELAY_ENV: Final = "CONNECTOR_SYNC_PROGRESS_DELAY"
"""Seconds before the bar first appears (default 0.5; 0 shows it at once)."""

_DEFAULT_DELAY: Final = 0.5
_INTERVAL: Final = 0.2
_BAR: Final = 24
_SPINNER: Final = "|/-\\"
_CLEAR: Final = "\r\x1b[K"


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get(DELAY_ENV, _DEFAULT_DELAY)))
    except ValueError:
        return _DEFAULT_DELAY


class Progress:
    """A one-line progress display on ``stream`` (standard error), only on a terminal.

    ``sources`` are the inputs being read (their stored bytes make the
    bar); ``total_lines`` is used instead when lines are written rather than
    read (``generate``). ``then`` names the phase that follows reading.
    """

    def __init__(
        self,
        sources: Sequence[Source] = (),
        *,
        total_lines: int | None = None,
        verb: str = "reading",
        then: str | None = None,
        enabled: bool | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.sources = list(sources)
        self.total_lines = total_lines
        self.lines = 0
        self.label = verb
        self._reading = True
        self._then = then
        self._phase_done: int | None = None
        self._phase_total: int | None = None
        self.started = time.monotonic()
        self._phase_started = self.started
        self._delay = _delay()
        self._shown = False
        self._ticks = 0
        self._last_draw = float("-inf")
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not self.enabled:
            return
        self.follow(self.sources)
        self._thread = threading.Thread(target=self._run, name="connector-sync-progress")
        self._thread.daemon = True
        self._thread.start()

    def follow(self, sources: Sequence[Source]) -> None:
        """Measure these sources (call again when the inputs were replaced, e.g. adapted)."""
        self.sources = list(sources)
        if self.enabled:
            for source in self.sources:
                source.on_pass_end = self._source_read

    def advance(self, nbytes: int, lines: int) -> None:
        """Count lines read or written (bytes come from the sources themselves).

        Redraws now when the last drawing is older than the redraw interval,
        so a busy run shows its progress even if the drawing thread waits.
        """
        self.lines += lines
        if self.enabled and lines:
            now = time.monotonic()
            if now - self._last_draw >= _INTERVAL and now - self.started >= self._delay:
                self.draw()

    def phase(self, label: str) -> None:
        """Show ``label`` with its elapsed time from now on (reading is over)."""
        with self._lock:
            self.label = label
            self._reading = False
            self._phase_done = self._phase_total = None
            self._phase_started = time.monotonic()
        if self.enabled and time.monotonic() - self.started >= self._delay:
            self.draw()

    def step(self, label: str, done: int, total: int) -> None:
        """A phase after reading reports how far it is: ``done`` of ``total`` units.

        The hook for an engine that says how its fold advances
        (``on_phase(label, done, total)``); drawn at most five times a second.
        """
        if self.label != label or self._reading:
            self.phase(label)
        self._phase_done, self._phase_total = done, total
        now = time.monotonic()
        due = now - self._last_draw >= _INTERVAL and now - self.started >= self._delay
        if self.enabled and due:
            self.draw()

    @contextmanager
    def printing(self) -> Iterator[None]:
        """Write other output inside this block: the bar is cleared first and redrawn later."""
        if not self.enabled:
            yield
            return
        with self._lock:
            if self._shown:
                self.stream.write(_CLEAR)
                self.stream.flush()
                self._shown = False
            yield

    def draw(self) -> None:
        """Draw the line now (the background thread calls this five times a second).

        Nothing is drawn before the first line was read: standard input is
        still being spooled then, maybe from a command that draws its own.
        """
        with self._lock:
            if self._stop.is_set() or (self._reading and not self.lines):
                return
            text = self.text(time.monotonic())
            self.stream.write("\r" + text[: self._columns() - 1] + "\x1b[K")
            self.stream.flush()
            self._shown = True
            self._ticks += 1
            self._last_draw = time.monotonic()

    def text(self, now: float) -> str:
        """What the line says at ``now``."""
        elapsed = max(now - self.started, 1e-9)
        if not self._reading:
            done, total = self._phase_done, self._phase_total
            if done is not None and total:
                part = min(done / total, 1.0)
                filled = int(part * _BAR)
                where = f"[{'#' * filled}{'.' * (_BAR - filled)}] {part:6.1%}"
            else:
                where = _SPINNER[self._ticks % len(_SPINNER)]
            return (
                f"{self.label} {where} {now - self._phase_started:,.1f} s "
                f"({self.lines:,} lines read in {self._phase_started - self.started:,.1f} s)"
            )
        share = self._share()
        rate = f"{self.lines:,} lines, {self.lines / elapsed:,.0f} lines/s"
        if share is None:
            return f"{self.label} [working] {rate}"
        filled = int(share * _BAR)
        return f"{self.label} [{'#' * filled}{'.' * (_BAR - filled)}] {share:6.1%} {rate}"

    def _share(self) -> float | None:
        if self.total_lines is not None:
            return min(self.lines / self.total_lines, 1.0) if self.total_lines else 1.0
        sizes = [source.size() for source in self.sources]
        total = sum(size for size in sizes if size is not None)
        if not self.sources or None in sizes or total == 0:
            return None
        return min(sum(source.bytes_read for source in self.sources) / total, 1.0)

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        return max(20, columns) if columns else 80  # a terminal of unknown size says 0

    def _source_read(self, source: Source) -> None:
        if source.passes != 1:
            return  # replay reads some lines again later: that is not reading progress
        # An input was read: show how far the whole read is, then the next phase, if any.
        if time.monotonic() - self.started >= self._delay:
            self.draw()
        if self._then is not None and all(s.passes for s in self.sources):
            self.phase(self._then)

    def _run(self) -> None:
        if self._stop.wait(self._delay):
            return
        while not self._stop.is_set():
            if time.monotonic() - self._last_draw >= _INTERVAL / 2:
                self.draw()
            if self._stop.wait(_INTERVAL):
                return

    def close(self) -> None:
        """Stop redrawing and erase the line, when one was drawn."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        with self._lock:
            if self._shown:
                self.stream.write(_CLEAR)
                self.stream.flush()
                self._shown = False
        for source in self.sources:
            if source.on_pass_end == self._source_read:
                source.on_pass_end = None
