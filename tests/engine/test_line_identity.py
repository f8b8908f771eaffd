"""A kept line's identity is made only when a copy of its event_id arrives.

Two copies of an event_id are identical duplicates when they have one
canonical JSON (specification section 2). The compiled core compares keyed
hashes of the lines (``store.c``'s ``line_identity``: members in any order at
any depth, strings by their decoded text, white space and the event_id's
spelling left out), and sends the copies whose hashes differ to the exact
settle in Python. For a file it
can read again, it hashes a kept line only when a copy of its event_id
arrives, reading the first copy again at its offset (``Scanner.reread_from``),
and never for the lines that have no copy. These tests hold

* equal identities to equal canonical JSON, and a copy written again by
  another writer to the first copy's identity;
* the path that reads lines again to the one that hashes every line at once:

* the same lines read again, the same identical and differing copies found,
  with lines crossing blocks of every size;
* a file that changed while it was replayed fails the replay (exit 2 in the
  CLI) when a line of it was read again, rather than comparing a copy with
  bytes that were never read the first time.

They also run under ``make sanitize``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector_sync_contracts import io as jsonl
from connector_sync_contracts import replay_lines
from connector_sync_contracts._engine import modelpath, runner
from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines
from connector_sync_contracts.errors import InputError
from connector_sync_contracts.io import Source
from tests.support.engines import engine, native_scanner, needs_native
from tests.support.variants import busy_lines

pytestmark = needs_native

LIMIT = 1 << 20


def _events(count: int) -> list[bytes]:
    return list(generate_lines(GeneratorOptions(events=count, connectors=3, seed=3)))


def _other_node(line: bytes) -> bytes:
    """The same event_id with other content: a conflicting copy."""
    event = json.loads(line)
    event["node_id"] = event["node_id"] + "-other"
    return json.dumps(event, separators=(",", ":")).encode()


def _eid(line: bytes) -> str:
    return str(json.loads(line)["event_id"])


def _other_digit(text: bytes, key: bytes) -> bytes:
    """``text`` with the first digit of the value after ``key`` changed (same length)."""
    at = text.index(key) + len(key)
    digit = b"1" if text[at : at + 1] != b"1" else b"2"
    return text[:at] + digit + text[at + 1 :]


def _reversed(value: Any) -> Any:
    """``value`` with the members of every object, at every depth, in reverse order."""
    if isinstance(value, dict):
        return {key: _reversed(item) for key, item in reversed(value.items())}
    if isinstance(value, list):
        return [_reversed(item) for item in value]
    return value


def _written_again(line: bytes) -> bytes:
    """The event of ``line`` as another writer writes it: the same canonical JSON,
    other bytes (members in reverse order at every depth, a space after every
    separator, the event_id in lower case, every ``/`` written ``\\/``)."""
    event = json.loads(line)
    event["event_id"] = event["event_id"].lower()
    # A "/" stands only inside strings in JSON text: there it may be written "\/".
    return json.dumps(_reversed(event), ensure_ascii=False).replace("/", "\\/").encode()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """A path to write, and the descriptors opened on it (closed after the test)."""
    fds: list[int] = []
    yield tmp_path / "log.jsonl", fds
    for fd in fds:
        os.close(fd)


def test_a_kept_line_is_read_again_only_when_a_copy_arrives(
    held: tuple[Path, list[int]],
) -> None:
    path, fds = held
    a, b, c = _events(3)
    first = a + b"\n" + b + b"\r\n" + c + b"\n"
    second = a + b"\n" + _other_node(b) + b"\n" + a + b"\n"
    path.write_bytes(first + second)
    fds.append(os.open(path, os.O_RDONLY))
    scanner = native_scanner()
    assert scanner is not None
    assert scanner.reread_from(0, fds[0]) is True
    assert scanner.scan(first, True, LIMIT, False, 0, 1, 0) == (3, [])
    assert scanner.rereads() == (0,), "no copy yet: no line is read again"
    assert scanner.scan(second, True, LIMIT, False, 0, 4, len(first)) == (3, [])
    # a's first copy at each of its two copies (each compared byte for byte with
    # the line held, which leaves it unhashed), b's once (its copy is longer).
    assert scanner.rereads() == (3,)
    assert scanner.settle() == ([_eid(b)], 2)
    # Where b's copies are, so that only those lines are read again to settle them:
    # (source, line, offset, length without the line end).
    changed = _other_node(b)
    assert scanner.copy_places() == {
        _eid(b): (
            (0, 2, len(a) + 1, len(b)),
            (0, 5, len(first) + len(a) + 1, len(changed)),
        )
    }
    assert path.read_bytes()[len(first) + len(a) + 1 :].startswith(changed + b"\n")
    assert scanner.copy_places() is None, "given once"


def test_a_line_that_changed_in_the_file_is_not_taken_for_its_copy(
    held: tuple[Path, list[int]],
) -> None:
    """What is read again decides only "identical or not": bytes that differ from the
    copy send the event_id to the exact settle, never the other way round."""
    path, fds = held
    a, b = _events(2)
    first = a + b"\n" + b + b"\n"
    path.write_bytes(first)
    fds.append(os.open(path, os.O_RDONLY))
    scanner = native_scanner()
    assert scanner is not None
    scanner.reread_from(0, fds[0])
    assert scanner.scan(first, True, LIMIT, False, 0, 1, 0) == (2, [])
    path.write_bytes(_other_digit(first, b'"lamport_clock":'))
    # The copy of a is the bytes read the first time, but not those in the file now.
    assert scanner.scan(a + b"\n", True, LIMIT, False, 0, 3, len(first)) == (1, [])
    assert scanner.settle() == ([_eid(a)], 0)


def test_copies_without_a_file_are_placed_by_line_only() -> None:
    a, b = _events(2)
    scanner = native_scanner()
    assert scanner is not None
    assert scanner.copy_places() is None, "nothing settled yet"
    block = a + b"\n" + b + b"\n" + _other_node(a) + b"\n" + b + b"\n"
    assert scanner.scan(block, True, LIMIT, False, 3, 10, -1) == (4, [])
    assert scanner.settle() == ([_eid(a)], 1)
    assert scanner.copy_places() == {_eid(a): ((3, 10, -1, -1), (3, 12, -1, -1))}


def test_without_a_file_every_line_is_hashed_as_it_is_read() -> None:
    a, b = _events(2)
    scanner = native_scanner()
    assert scanner is not None
    # An offset with no file registered for the source: identities made at once.
    block = a + b"\n" + b + b"\n" + a + b"\n"
    assert scanner.scan(block, True, LIMIT, False, 0, 1, 0) == (3, [])
    assert scanner.rereads() == ()
    assert scanner.settle() == ([], 1)
    assert scanner.reread_from(1, -1) is True
    with pytest.raises(ValueError, match="offset"):
        scanner.scan(block, True, LIMIT, False, 1, 1, -2)
    with pytest.raises(ValueError, match="fd"):
        scanner.reread_from(0, -2)


def _reader(text: bytes, calls: list[tuple[int, int]]) -> Any:
    """A ``reread_from`` reader of lines held in memory (``text``), noting each call."""

    def read(offset: int, length: int) -> bytes | None:
        calls.append((offset, length))
        return text[offset : offset + length]

    return read


def test_a_kept_line_held_in_memory_is_read_again_by_its_reader_when_a_copy_arrives() -> None:
    """Lines given in memory (``replay_lines`` of a list) have no file: the scanner
    reads a line again through a callable exactly as it does from a file (the same
    lines, as many times), and only for an event_id with a copy; it places the
    copies by offset, so the settle reads them alone."""
    a, b, c = _events(3)
    first = a + b"\n" + b + b"\r\n" + c + b"\n"
    changed = _other_node(b)
    second = a + b"\n" + changed + b"\n" + a + b"\n"
    calls: list[tuple[int, int]] = []
    scanner = native_scanner()
    assert scanner is not None
    assert scanner.reread_from(0, _reader(first + second, calls)) is True
    assert scanner.scan(first, True, LIMIT, False, 0, 1, 0) == (3, [])
    assert calls == [], "no copy yet: no line is read again"
    assert scanner.scan(second, True, LIMIT, False, 0, 4, len(first)) == (3, [])
    # As from a file, line for line: a at each of its two copies (compared byte
    # for byte, which leaves it unhashed), b once (its copy is longer).
    assert calls == [(0, len(a)), (len(a) + 1, len(b)), (0, len(a))]
    assert scanner.rereads() == (3,)
    assert scanner.settle() == ([_eid(b)], 2)
    assert scanner.copy_places() == {
        _eid(b): (
            (0, 2, len(a) + 1, len(b)),
            (0, 5, len(first) + len(a) + 1, len(changed)),
        )
    }


@pytest.mark.parametrize(
    "answer", [None, b"", b"x" * 7, "text"], ids=["none", "empty", "too-short", "not-bytes"]
)
def test_a_reader_that_cannot_give_the_line_sends_its_copies_to_the_exact_settle(
    answer: object,
) -> None:
    """A line the reader does not give back whole is never taken for identical to
    its copy: the copies are settled exactly, in Python."""
    a, b = _events(2)
    scanner = native_scanner()
    assert scanner is not None
    scanner.reread_from(0, lambda offset, length: answer)  # type: ignore[arg-type,return-value]
    block = a + b"\n" + b + b"\n" + a + b"\n"
    assert scanner.scan(block, True, LIMIT, False, 0, 1, 0) == (3, [])
    assert scanner.settle() == ([_eid(a)], 0)


def test_a_reader_error_or_a_reader_using_the_scanner_fails_the_scan() -> None:
    a, b = _events(2)
    block = a + b"\n" + b + b"\n" + a + b"\n"

    def failing(offset: int, length: int) -> bytes:
        raise OSError("gone")

    scanner = native_scanner()
    assert scanner is not None
    scanner.reread_from(0, failing)
    with pytest.raises(OSError, match="gone"):
        scanner.scan(block, True, LIMIT, False, 0, 1, 0)

    scanner = native_scanner()
    assert scanner is not None

    def reentering(offset: int, length: int) -> bytes:
        scanner.scan(block, True, LIMIT, False, 0, 1, 0)
        return block[offset : offset + length]

    scanner.reread_from(0, reentering)
    with pytest.raises(RuntimeError, match="while a line is read again"):
        scanner.scan(block, True, LIMIT, False, 0, 1, 0)


def test_a_list_of_lines_settles_its_copies_without_being_read_again_whole(
    copies_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``replay_lines`` of a list: the copies' lines are read again from the items
    by offset, as a file's are, and the projection is the file's."""

    def whole(self: jsonl.LinesSource, numbers: Any) -> Any:
        raise AssertionError("the lines were read again whole")

    lines = copies_log.read_bytes().splitlines()
    as_file, settled = _replay(copies_log, read_again=True, monkeypatch=monkeypatch)
    assert settled, "the log has conflicting copies"
    monkeypatch.setattr(jsonl.LinesSource, "lines_at", whole)
    assert replay_lines(lines).to_json() == as_file
    monkeypatch.setattr(jsonl.LinesSource, "line_reader", lambda self: None)
    with pytest.raises(AssertionError, match="read again whole"):
        replay_lines(lines)


@pytest.fixture(scope="module")
def copies_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exact duplicates, conflicting copies, invalid lines and unusual lines, shuffled."""
    options = GeneratorOptions(
        events=2000, connectors=30, seed=11, shuffle=True, duplicates=400, invalid=40
    )
    lines = busy_lines(options, seed=11, conflicts=slice(0, 300, 9))
    # Copies a block apart, and CRLF endings, so that offsets cross blocks.
    text = b"".join(line + (b"\r\n" if i % 5 == 0 else b"\n") for i, line in enumerate(lines))
    path = tmp_path_factory.mktemp("identity") / "copies.jsonl"
    path.write_bytes(text + lines[0])  # the last line without a newline, a copy
    return path


def _replay(
    path: Path, *, read_again: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, list[str]]:
    """The JSON of the replay, and the event ids whose differing copies were settled."""
    settled: list[str] = []
    real = runner._NativeRecords._decide

    def decide(self: Any, eid: str, found: Any, conflicts: dict[str, int]) -> int:
        settled.append(eid)
        return real(self, eid, found, conflicts)

    with monkeypatch.context() as patch:
        patch.setattr(runner._NativeRecords, "_decide", decide)
        if not read_again:
            patch.setattr(Source, "reread_fd", lambda self: None)
        source = Source(str(path))
        try:
            result, _ = runner.replay_sources([source], on_problem=lambda *_: None)
        finally:
            source.close()
    return result.to_json(), sorted(settled)


@pytest.mark.parametrize("block", [997, 4096, 1 << 16, jsonl._BLOCK])
def test_lines_read_again_decide_as_lines_hashed_at_once(
    copies_log: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl, "_BLOCK", block)
    at_once = _replay(copies_log, read_again=False, monkeypatch=monkeypatch)
    read_again = _replay(copies_log, read_again=True, monkeypatch=monkeypatch)
    assert read_again == at_once
    assert at_once[1], "the log has conflicting copies to settle"


def _two_files(tmp_path: Path, *, copy: bool) -> tuple[Path, Path]:
    a, b, c = _events(3)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(a + b"\n" + b + b"\n")
    second.write_bytes((a if copy else c) + b"\n")
    return first, second


def _replay_while_writing(first: Path, second: Path) -> None:
    """Replay both files; once the first is read, a line is appended to it."""
    written = False

    def on_line(_bytes: int, _lines: int) -> None:
        nonlocal written
        if not written:
            written = True
            with first.open("ab") as out:
                out.write(b'{"late": true}\n')
            stamp = os.stat(first).st_mtime_ns + 1_000_000_000
            os.utime(first, ns=(stamp, stamp))  # a coarse clock still sees the change

    sources = [Source(str(first)), Source(str(second))]
    try:
        runner.replay_sources(sources, on_problem=lambda *_: None, on_line=on_line)
    finally:
        for source in sources:
            source.close()


def test_a_file_changed_while_its_lines_were_read_again_fails_the_replay(
    tmp_path: Path,
) -> None:
    first, second = _two_files(tmp_path, copy=True)
    with pytest.raises(InputError, match=r"a\.jsonl changed while it was replayed"):
        _replay_while_writing(first, second)


def test_a_file_that_changed_with_no_line_read_again_replays_as_read(tmp_path: Path) -> None:
    first, second = _two_files(tmp_path, copy=False)
    _replay_while_writing(first, second)  # what was read is all that counts


@pytest.mark.parametrize("read_again", [True, False], ids=["by-offset", "by-line-number"])
def test_differing_copies_are_settled_from_their_own_lines_only(
    copies_log: Path, read_again: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core says where each copy of a conflicted event_id is, so settling reads
    those lines (at their offsets in the held file, else by number), never every line
    of the log again, and decides exactly as reading every line does."""

    def every_line(wanted: Any, sources: list[Source]) -> Any:
        raise AssertionError("the whole log was read again")

    with monkeypatch.context() as patch:
        patch.setattr(modelpath, "copies_of", every_line)
        placed = _replay(copies_log, read_again=read_again, monkeypatch=monkeypatch)
    with monkeypatch.context() as patch:
        # Through the models alone, every line read again.
        patch.setattr(runner._NativeRecords, "_settle_checked", lambda *_: (set(), 0, {}))
        patch.setattr(modelpath, "copies_at", lambda places, sources: None)
        read_all = _replay(copies_log, read_again=read_again, monkeypatch=monkeypatch)
    assert placed == read_all
    assert placed[1], "the log has conflicting copies"


@pytest.mark.parametrize("room", [0, 3000], ids=["none-kept", "some-kept"])
def test_copies_decided_as_they_were_read_settle_as_when_decided_again(
    copies_log: Path, room: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy the model path decided when it was read (a malformed payload, say) is
    kept, and its event_id is settled from what was decided then: the same result
    as reading and deciding it again, whether every such copy was kept or only
    some fit in the room kept for them."""
    kept: list[str] = []
    real = runner._kept_copy

    def kept_copy(event: Any, *rest: Any) -> Any:
        kept.append(event.event_id)
        return real(event, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_kept_copy", kept_copy)
        all_kept = _replay(copies_log, read_again=True, monkeypatch=monkeypatch)
    assert kept, "the log has copies decided in Python among the settled ones"
    kept.clear()
    with monkeypatch.context() as patch:
        patch.setattr(runner, "_kept_copy", kept_copy)
        patch.setattr(runner, "_KEPT_COPY_BYTES", room)
        fewer_kept = _replay(copies_log, read_again=True, monkeypatch=monkeypatch)
    assert fewer_kept == all_kept
    assert (len(kept) > 0) == (room > 0)


@pytest.mark.parametrize("read_again", [True, False], ids=["by-offset", "at-once"])
def test_a_copy_written_again_by_another_writer_is_an_identical_copy(
    held: tuple[Path, list[int]], read_again: bool
) -> None:
    """Members in another order at any depth, other white space, escapes, the
    event_id spelled otherwise: dropped as identical by the core itself, with no
    exact settle in Python."""
    path, fds = held
    a, b = _events(2)
    again = _written_again(a)
    assert again != a
    assert b"\\/" in again
    assert b'"payload": {' in again
    block = a + b"\n" + b + b"\n" + again + b"\n"
    path.write_bytes(block)
    scanner = native_scanner()
    assert scanner is not None
    if read_again:
        fds.append(os.open(path, os.O_RDONLY))
        scanner.reread_from(0, fds[0])
    assert scanner.scan(block, True, LIMIT, False, 0, 1, 0) == (3, [])
    assert scanner.settle() == ([], 1)
    assert scanner.ident(again) == scanner.ident(a) != scanner.ident(b)


def _same_length_copies(a: bytes) -> dict[str, bytes]:
    """Copies of ``a`` as long as ``a``, which the core cannot tell from ``a`` by
    length: the same bytes, the members in reverse order (the same event), and
    conflicting copies with one digit changed, in the middle or last in the line."""
    reordered = json.dumps(_reversed(json.loads(a)), separators=(",", ":")).encode()
    assert a.endswith(b'"data_tier":1}')
    copies = {
        "same-bytes": a,
        "reordered": reordered,
        "middle-digit": _other_digit(a, b'"lamport_clock":'),
        "last-digit": _other_digit(a, b'"data_tier":'),
    }
    assert {len(copy) for copy in copies.values()} == {len(a)}
    assert len(set(copies.values())) == len(copies)
    return copies


def _settled(path: Path, lines: list[bytes], *, read_again: bool) -> tuple[Any, Any]:
    """What the core's settle says of ``lines`` written to ``path``, and how many
    lines it read again."""
    block = b"".join(line + b"\n" for line in lines)
    path.write_bytes(block)
    scanner = native_scanner()
    assert scanner is not None
    fd = os.open(path, os.O_RDONLY)
    try:
        if read_again:
            scanner.reread_from(0, fd)
        assert scanner.scan(block, True, LIMIT, False, 0, 1, 0) == (len(lines), [])
        return scanner.settle(), scanner.rereads()
    finally:
        os.close(fd)


@pytest.mark.parametrize("read_again", [True, False], ids=["by-offset", "at-once"])
def test_copies_as_long_as_the_line_held_are_told_apart_by_content(
    tmp_path: Path, read_again: bool
) -> None:
    """A copy as long as the line held is first compared with it byte for byte
    (``store.c``'s ``identical``); when the bytes differ, both are hashed, so a
    reordered copy is still identical and a changed one still conflicts, whether
    it comes first or after copies of the same bytes."""
    path = tmp_path / "log.jsonl"
    a, b = _events(2)
    copies = _same_length_copies(a)
    for name in ("same-bytes", "reordered"):
        (found, dropped), rereads = _settled(path, [a, b, copies[name]], read_again=read_again)
        assert (found, dropped) == ([], 1), name
        assert rereads == ((1,) if read_again else ()), name
    identical = [copies[name] for name in ("same-bytes", "reordered", "same-bytes", "reordered")]
    assert _settled(path, [a, b, *identical], read_again=read_again)[0] == ([], 4)
    for changed in ("middle-digit", "last-digit"):
        for at in range(len(identical) + 1):
            lines = [a, b, *identical[:at], copies[changed], *identical[at:]]
            found = _settled(path, lines, read_again=read_again)[0]
            assert found == ([_eid(a)], 0), (changed, at)


def _with_node(line: bytes, node: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(line)
    event["node_id"] = node
    event["payload"]["actor_id"] = node
    return event


_LONGHAND: Final = (
    (b"\\\\", b"\\u005C"),
    (b'\\"', b"\\u0022"),
    (b"\\t", b"\\u0009"),
    (b"\\n", b"\\u000A"),
)


@pytest.mark.parametrize(
    "node",
    [
        "caf\u00e9 \u00fc\u00df",
        "emoji \U0001f600",
        'quote " and \\ backslash',
        "tab\tnew\nline\x01",
    ],
    ids=["latin", "astral", "quote-backslash", "controls"],
)
def test_a_string_is_known_by_its_decoded_text(node: str) -> None:
    """A string written with \\u escapes and the same string written raw (the
    envelope's and the payload's, keys too) are the same member."""
    scanner = native_scanner()
    assert scanner is not None
    (a,) = _events(1)
    event = _with_node(a, node)
    raw = json.dumps(event, ensure_ascii=False).encode()
    escaped = json.dumps(event, ensure_ascii=True).encode()
    keys = escaped.replace(b'"node_id"', b'"\\u006eode_id"')
    keys = keys.replace(b'"actor_id"', b'"actor\\u005fid"')
    # Every escape JSON has for these characters, spelled the long way (upper-case hex).
    longhand = escaped
    for short, long in _LONGHAND:
        longhand = longhand.replace(short, long)
    writings = [raw, escaped, keys, longhand]
    assert all(json.loads(text) == event for text in writings)
    assert keys != raw
    assert longhand != raw
    assert len({scanner.ident(text) for text in writings}) == 1


_JSON_LEAVES: Final = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
)
_JSON_KEYS: Final = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
_JSON_VALUES: Final = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_KEYS, inner, max_size=4),
    max_leaves=16,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_JSON_KEYS.filter(lambda k: k != "event_id"), _JSON_VALUES, max_size=6))
def test_any_object_written_again_keeps_its_identity(obj: dict[str, Any]) -> None:
    """Any JSON object, written raw and compact, and again with its members in
    reverse order at every depth, every string \\u-escaped, ``/`` as ``\\/`` and
    white space between tokens: one identity."""
    scanner = native_scanner()
    assert scanner is not None
    compact = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    again = json.dumps(_reversed(obj), ensure_ascii=True, indent=1).replace("/", "\\/")
    assert json.loads(again) == obj
    assert scanner.ident(again.encode()) == scanner.ident(compact)


def test_the_event_id_is_known_in_any_spelling_escaped_or_not() -> None:
    """The event_id's key or value written with escapes, the value in another case:
    still the event_id, in its normal form."""
    scanner = native_scanner()
    assert scanner is not None
    (a,) = _events(1)
    eid = json.loads(a)["event_id"]
    lower = a.replace(eid.encode(), eid.lower().encode(), 1)
    key = lower.replace(b'"event_id"', b'"event\\u005fid"', 1)
    first = eid.lower()[0]
    value = lower.replace(
        f'"{eid.lower()}"'.encode(), f'"\\u{ord(first):04x}{eid.lower()[1:]}"'.encode(), 1
    )
    writings = [a, lower, key, value]
    assert all(json.loads(text)["event_id"].upper() == eid for text in writings)
    assert len(set(writings)) == 4
    assert len({scanner.ident(text) for text in writings}) == 1


def test_what_the_identity_still_tells_apart() -> None:
    """Another value, at the top or nested, a number or a timestamp written
    otherwise, and items of a list in another order still differ: those copies
    are settled exactly in Python (or differ)."""
    scanner = native_scanner()
    assert scanner is not None
    (a,) = _events(1)
    event = json.loads(a)
    actor = event["payload"]["actor_id"] + "x"
    other_actor = dict(event, payload=dict(event["payload"], actor_id=actor))
    utc = event["timestamp"]
    assert utc.endswith("Z")
    offset = dict(event, timestamp=utc[:-1] + "+00:00")
    listed = [dict(event, x_list=[1, 2]), dict(event, x_list=[2, 1])]
    # The same float written two ways, inside an unknown nested member.
    floats = [a[:-1] + b',"x_more":{"n":1.5}}', a[:-1] + b',"x_more":{"n":1.50}}']
    assert json.loads(floats[0]) == json.loads(floats[1])
    others = [json.dumps(other_actor).encode(), json.dumps(offset).encode()]
    for other in (*others, _other_digit(a, b'"lamport_clock":')):
        assert scanner.ident(other) != scanner.ident(a)
    for x, y in (listed, floats):
        x_text = x if isinstance(x, bytes) else json.dumps(x).encode()
        y_text = y if isinstance(y, bytes) else json.dumps(y).encode()
        assert scanner.ident(x_text) != scanner.ident(y_text)


def test_text_the_identity_cannot_read_is_hashed_whole() -> None:
    """Text that is not an object read whole (a lone surrogate escape, a raw
    control character, nesting past the limit, a cut line) still gets an
    identity, the same for the same bytes, and never that of a valid line."""
    scanner = native_scanner()
    assert scanner is not None
    (a,) = _events(1)
    deep = a[:-1] + b',"x_deep":' + b"[" * 80 + b"]" * 80 + b"}"
    broken = [
        a.replace(b'"node_id":"', b'"node_id":"\\ud800', 1),
        a.replace(b'"node_id":"', b'"node_id":"\x01', 1),
        deep,
        a[: len(a) // 2],
        a[:-1] + b',"x":{"y":[1,}}',
    ]
    for text in broken:
        assert scanner.ident(text) == scanner.ident(bytes(text))
        assert scanner.ident(text) != scanner.ident(a)


_REWRITES: Final = (
    *("members", "spaces", "event_id", "payload_members", "escape", "slashes", "ascii"),
    *("unknown", "value", "space_in_value", "accent"),
)
"""How a property example writes a line again; the first seven keep its identity."""


def _rewrite(line: bytes, how: frozenset[str]) -> bytes:
    event: dict[str, Any] = json.loads(line)
    if "event_id" in how:
        event["event_id"] = event["event_id"].lower()
    if "payload_members" in how:
        event["payload"] = dict(reversed(event["payload"].items()))
    if "unknown" in how:
        event["x_note"] = "added"
    if "value" in how:
        event["node_id"] += "-2"
    if "space_in_value" in how:
        event["node_id"] += " "
    if "accent" in how:
        event["node_id"] += "\u00e9\U0001f600"
        event["payload"]["x_accent"] = {"text": '\u00e9\U0001f600 \\ " /'}
    if "members" in how:
        event = dict(reversed(event.items()))
    text = json.dumps(
        event,
        ensure_ascii="ascii" in how,
        separators=(", ", ": ") if "spaces" in how else (",", ":"),
    )
    if "escape" in how:
        text = text.replace('"node_id"', '"node\\u005fid"', 1)
    if "slashes" in how:
        text = text.replace("/", "\\/")
    return text.encode()


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=19),
    st.frozensets(st.sampled_from(_REWRITES)),
    st.frozensets(st.sampled_from(_REWRITES)),
)
def test_equal_identities_are_equal_canonical_json(
    index: int, first: frozenset[str], second: frozenset[str]
) -> None:
    """Sound: copies the core takes for identical have one canonical JSON (what
    section 2 compares); and complete for what it claims: two writings that
    differ only in member order at any depth, white space, escapes and the
    event_id's spelling."""
    scanner = native_scanner()
    assert scanner is not None
    line = _EXAMPLES[index]
    x, y = _rewrite(line, first), _rewrite(line, second)
    same_identity = scanner.ident(x) == scanner.ident(y)
    if same_identity:
        assert _canonical(x) == _canonical(y)
    kept = set(_REWRITES[:7])
    if first - kept == second - kept:
        assert same_identity


_EXAMPLES: Final = _events(20)


def _canonical(line: bytes) -> bytes:
    event = modelpath.line_event(line)
    assert event is not None
    return modelpath.canonical_json(event)


def test_copies_written_again_replay_as_the_python_engine_replays_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _events(300)
    again = [_written_again(line) for line in lines[::7]]
    path = tmp_path / "again.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in [*lines, *again]))
    compiled, settled = _replay(path, read_again=True, monkeypatch=monkeypatch)
    assert settled == [], "no copy needed the exact settle"
    assert json.loads(compiled)["duplicates_dropped"] == len(again)
    with engine("python"):
        python = replay_lines(path.read_bytes().splitlines())
    assert python.to_json() == compiled
