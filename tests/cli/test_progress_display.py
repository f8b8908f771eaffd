"""What the progress line says, drawn into a stand-in terminal (no process, no clock waits).

The pseudo-terminal tests (``test_progress``) show the bar as a user sees
it; these pin down its wording: the reading bar by stored bytes (a ``.gz``
file by compressed bytes), the phase that follows reading, with its own
bar when the engine reports how far the fold is, and the clearing before
other output.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from connector_sync_contracts.cli.progress import DELAY_ENV, Progress
from connector_sync_contracts.io import Source


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DELAY_ENV, "0")


def _log(tmp_path: Path, lines: int) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(b'{"n": %d}\n' % n for n in range(lines)))
    return path


def test_the_bar_follows_compressed_bytes_of_a_gzip_input(tmp_path: Path) -> None:
    plain = _log(tmp_path, 20000)
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    source = Source(str(packed))
    terminal = Terminal()
    progress = Progress([source], stream=terminal)
    try:
        assert source.size() == packed.stat().st_size  # compressed, known before reading
        for block in source.blocks():
            assert block is not None
            progress.advance(len(block), bytes(block).count(b"\n"))
        assert source.bytes_read == packed.stat().st_size
        assert progress.text(0.0).startswith("reading [########################] 100.0% ")
        assert "20,000 lines" in progress.text(0.0)
    finally:
        progress.close()
        source.close()
    assert "\rreading [" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")


def test_reading_then_the_next_phase_with_its_own_bar(tmp_path: Path) -> None:
    source = Source(str(_log(tmp_path, 100)))
    terminal = Terminal()
    progress = Progress([source], then="folding", stream=terminal)
    try:
        for block in source.blocks():
            assert block is not None
            progress.advance(len(block), 100)
        # Reading over: the label changed, and the line says so at once.
        assert "\rfolding " in terminal.getvalue()
        assert "100 lines read in" in progress.text(progress.started + 1)
        progress.step("folding", 5, 20)
        assert "folding [######..................]  25.0% " in progress.text(progress.started + 1)
        progress.step("settling", 1, 4)
        assert progress.label == "settling"
    finally:
        progress.close()
        source.close()


def test_other_output_clears_the_line_first() -> None:
    terminal = Terminal()
    progress = Progress(total_lines=10, verb="writing", stream=terminal)
    try:
        progress.advance(0, 5)
        assert terminal.getvalue().startswith("\rwriting [############............]  50.0%")
        with progress.printing():
            terminal.write("a problem\n")
        # The bar, then the clearing, then the line (the bar may be redrawn after it).
        assert "\x1b[K\r\x1b[Ka problem\n" in terminal.getvalue()
    finally:
        progress.close()


def test_nothing_is_drawn_off_a_terminal(tmp_path: Path) -> None:
    stream = io.StringIO()
    progress = Progress(total_lines=10, stream=stream)
    progress.advance(0, 10)
    progress.phase("folding")
    with progress.printing():
        stream.write("x\n")
    progress.close()
    assert stream.getvalue() == "x\n"
