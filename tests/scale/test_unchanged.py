"""An input that changes while a replay reads it fails the replay (exit 2), in every mode.

``input_states`` is taken before the first line is read (on a cluster, as
the inputs are cut into byte ranges) and ``check_unchanged`` compares once
every input was read. Here: what counts as a change, for a local path and
a ``file://`` URL alike; the command line's in-memory and spilled replays
are held to it in ``tests/cli/test_safety.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from connector_sync_contracts.errors import InputError
from connector_sync_contracts.scale.inputs import check_unchanged, input_states


def _append(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"{}\n")


def _overwrite_same_size(path: Path) -> None:
    stamp = path.stat().st_mtime_ns
    path.write_bytes(path.read_bytes().upper())
    os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))  # a coarse clock ticks too


def _replace(path: Path) -> None:
    fresh = path.with_suffix(".new")
    fresh.write_bytes(path.read_bytes())
    fresh.replace(path)


CHANGES: dict[str, Callable[[Path], None]] = {
    "appended": _append,
    "written over": _overwrite_same_size,
    "replaced": _replace,
    "removed": Path.unlink,
}


@pytest.mark.parametrize("url", [False, True])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_an_input_is_found(tmp_path: Path, change: str, url: bool) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"a":1}\n')
    name = log.as_uri() if url else str(log)
    states = input_states([name])
    check_unchanged(states)  # read, not changed: nothing to say
    CHANGES[change](log)
    with pytest.raises(InputError, match=r"changed while it was replayed") as caught:
        check_unchanged(states)
    assert str(caught.value).startswith(f"{name} changed while it was replayed")


def test_standard_input_and_pipes_are_not_looked_at_again(tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    states = input_states(["-", str(fifo)])
    assert states == {str(fifo): None}
    check_unchanged(states)
