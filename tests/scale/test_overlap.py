"""The I/O threads of a spilled replay: nothing lost, nothing reordered, errors raised, stops.

``ahead`` reads the input on a thread, and ``Behind`` removes and prefetches
partition files on one. A replay's bytes depend on every block handed over
in order, and on a failure (an unreadable disk) reaching the caller instead
of vanishing with the thread.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.errors import InputError
from connector_sync_contracts.io import Source
from connector_sync_contracts.scale import spill
from connector_sync_contracts.scale.api import replay_partitioned
from connector_sync_contracts.scale.budget import Budget
from connector_sync_contracts.scale.fold import FoldSettings
from connector_sync_contracts.scale.overlap import Behind, ahead
from connector_sync_contracts.scale.spill import spilling
from tests.support.tangles import LINE_LIMIT


def _threads_named(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


@given(st.lists(st.binary(max_size=20), max_size=50), st.integers(1, 4))
def test_ahead_yields_every_item_in_order(items: list[bytes], depth: int) -> None:
    assert list(ahead(iter(items), depth=depth, name="test-ahead")) == items
    assert _threads_named("test-ahead") == []


def test_ahead_runs_the_producer_on_its_own_thread() -> None:
    def produce() -> Iterator[str]:
        for _ in range(3):
            yield threading.current_thread().name

    assert list(ahead(produce(), name="test-ahead-thread")) == ["test-ahead-thread"] * 3


def test_a_producer_error_is_raised_after_the_items_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError(errno.EIO, "Input/output error")

    seen: list[int] = []

    def consume() -> None:
        for item in ahead(produce(), name="test-ahead-error"):
            seen.append(item)

    with pytest.raises(OSError, match="Input/output error"):
        consume()
    assert seen == [1, 2]
    assert _threads_named("test-ahead-error") == []


def test_leaving_early_stops_the_producer_and_closes_it_on_its_thread() -> None:
    closed_on: list[str] = []
    made: list[int] = []

    def produce() -> Iterator[int]:
        try:
            for n in range(1_000_000):
                made.append(n)
                yield n
        finally:
            closed_on.append(threading.current_thread().name)

    items = ahead(produce(), depth=2, name="test-ahead-early")
    assert next(items) == 0
    items.close()
    assert closed_on == ["test-ahead-early"]  # a file is closed where it was read
    # The one item taken, the depth queued, one waiting for room, and at most one
    # more made as the queue is emptied on the way out: then the producer stops.
    assert len(made) <= 2 + 3
    assert _threads_named("test-ahead-early") == []


@given(st.lists(st.tuples(st.integers(0, 5), st.binary(max_size=10)), max_size=60))
def test_behind_does_every_item_in_order(items: list[tuple[int, bytes]]) -> None:
    done: list[tuple[int, bytes]] = []
    writer: Behind[tuple[int, bytes]] = Behind(done.append, depth=3, name="test-behind")
    for item in items:
        writer.put(item)
    writer.close()
    assert done == items
    assert _threads_named("test-behind") == []


def test_a_work_error_reaches_the_caller_and_stops_the_work() -> None:
    done: list[int] = []

    def work(item: int) -> None:
        if item == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(item)

    writer: Behind[int] = Behind(work, depth=1, name="test-behind-error")

    def write_all() -> None:
        for item in range(100):
            writer.put(item)  # raises once the thread met the error
        writer.close()

    with pytest.raises(OSError, match="No space left") as raised:
        write_all()
    assert raised.value.errno == errno.ENOSPC
    assert done == [0, 1, 2]  # nothing after the failed item was written
    with pytest.raises(OSError, match="No space left"):
        writer.close()  # and it stays failed
    assert _threads_named("test-behind-error") == []


def test_an_error_on_the_last_item_is_raised_by_close() -> None:
    def work(item: int) -> None:
        if item == 2:
            raise OSError(errno.EFBIG, "File too large")

    writer: Behind[int] = Behind(work, name="test-behind-last")
    for item in range(3):
        writer.put(item)
    with pytest.raises(OSError, match="File too large"):
        writer.close()


def test_abort_drops_what_waits_and_stops_the_thread() -> None:
    started = threading.Event()
    release = threading.Event()
    done: list[int] = []

    def work(item: int) -> None:
        started.set()
        assert release.wait(timeout=30)
        done.append(item)

    writer: Behind[int] = Behind(work, depth=8, name="test-behind-abort")
    for item in range(5):
        writer.put(item)
    assert started.wait(timeout=30)  # item 0 in hand, items 1-4 waiting

    def let_go_once_stopping() -> None:
        writer._stop.wait(timeout=30)  # abort has begun: the item in hand may finish
        release.set()

    helper = threading.Thread(target=let_go_once_stopping)
    helper.start()
    writer.abort()
    helper.join()
    assert done == [0]
    assert _threads_named("test-behind-abort") == []


def test_abort_of_an_idle_writer_returns() -> None:
    writer: Behind[int] = Behind(lambda item: None, name="test-behind-idle")
    writer.abort()
    assert _threads_named("test-behind-idle") == []


def test_an_input_gone_before_its_turn_is_reported_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing looks at a file when it reaches it: one removed meanwhile is an
    ``InputError`` naming it, as when it cannot be read, and the spill folder goes too."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    options = GeneratorOptions(events=300, connectors=5, seed=3)
    lines = b"\n".join(generate_lines(options)) + b"\n"
    first.write_bytes(lines)
    second.write_bytes(lines)
    sources = [Source(str(first)), Source(str(second))]

    def remove_the_second(_bytes: int, _lines: int) -> None:
        second.unlink(missing_ok=True)

    folder = tmp_path / "spill"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    budget = Budget(64_000, include_logs=True)
    with (
        pytest.raises(InputError, match=f"cannot read {second}: no such file"),
        spilling(sources, FoldSettings(), budget, on_line=remove_the_second),
    ):
        pass
    assert list(folder.iterdir()) == []


def _released(
    files: list[Path], monkeypatch: pytest.MonkeyPatch, *, memory: int
) -> tuple[bytes, dict[int, list[tuple[int, int]]]]:
    """A spilled replay of ``files`` on a machine of ``memory`` bytes: its JSON, and
    the pages released from the page cache, as (offset, length), by inode."""
    released: dict[int, list[tuple[int, int]]] = {}
    advise = os.posix_fadvise

    def record(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_DONTNEED:
            released.setdefault(os.fstat(fd).st_ino, []).append((offset, length))
        advise(fd, offset, length, advice)

    with monkeypatch.context() as patch:
        patch.setattr(spill, "system_memory", lambda: memory)
        patch.setattr(spill, "_RELEASE_EVERY", 4096)
        patch.setattr(os, "posix_fadvise", record)
        result = replay_partitioned(files, memory_limit="8MB", max_line_bytes=LINE_LIMIT)
    return result.to_json(), released


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no page cache advice (POSIX)")
def test_inputs_that_outgrow_memory_leave_the_page_cache_as_they_are_routed(
    tangled_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the inputs and their partition files are more than the machine's memory,
    each input's pages are released from the page cache as it is read, so the
    partition files stay cached for the fold; the replay is the same."""
    plenty, kept = _released(tangled_files, monkeypatch, memory=2**50)
    scarce, released = _released(tangled_files, monkeypatch, memory=1)
    assert scarce == plenty
    inputs = {os.stat(path).st_ino: path for path in tangled_files}
    assert not set(kept) & set(inputs), "inputs that fit stay cached"
    assert set(inputs) <= set(released), "every input, the .gz one too"
    for inode, path in inputs.items():
        calls = released[inode]
        assert calls[-1] == (0, 0), "the whole file once it is routed"
        ahead = [length for _, length in calls[:-1]]
        assert ahead == sorted(ahead), "what was read so far, as the reading goes on"
        assert all(0 < length <= os.path.getsize(path) for length in ahead)
        if os.path.getsize(path) > 2 * 4096 and not path.name.endswith(".gz"):
            assert ahead, f"{path.name} is released while it is routed"
