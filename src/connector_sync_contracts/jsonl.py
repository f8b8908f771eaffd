"""Reading JSONL event logs safely: sources, bounded lines and hostile-input checks.

Every line of every input is either handed on as a JSON object or reported
as a ``LineProblem`` naming the line, the field and the rule; nothing is
dropped. Lines are read with a length bound so a single enormous line cannot
exhaust memory. ``parse_line`` rejects what makes JSON parsers disagree or
misbehave: invalid UTF-8, NUL bytes, nesting deeper than 64 levels,
``NaN``/``Infinity`` literals, integers beyond 64 bits, non-object values and
objects with a repeated key.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "MAX_DEPTH",
    "LineProblem",
    "Source",
    "parse_line",
]

DEFAULT_MAX_LINE_BYTES: Final = 1024 * 1024
"""Longest accepted line in bytes (1 MiB) unless the caller sets another limit."""

MAX_DEPTH: Final = 64
"""Deepest accepted nesting of JSON arrays and objects."""

_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1
_READ_CHUNK: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LineProblem:
    """One problem found on one input line: where, which field, which rule, and why."""

    line: int
    """1-based line number within its source."""
    field: str
    """JSON path of the offending value (``$`` for the whole line)."""
    code: str
    """Stable code of the broken rule, e.g. ``duplicate_key``."""
    message: str
    """Human-readable explanation."""


class _RejectError(ValueError):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


def _reject_constant(name: str) -> Any:
    raise _RejectError("$", "non_finite_number", f"{name} is not a JSON number")


def _check_int(text: str) -> int:
    # No 64-bit integer needs more than 20 characters; longer literals are
    # rejected before int(), which refuses more than 4300 digits by raising.
    if len(text) > 20:
        raise _RejectError(
            "$", "integer_out_of_range", f"integer {text[:40]}... does not fit in 64 bits"
        )
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise _RejectError(
            "$", "integer_out_of_range", f"integer {text[:40]} does not fit in 64 bits"
        )
    return value


def _check_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _RejectError("$", "non_finite_number", f"number {text[:40]} is out of range")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RejectError(
                    key,
                    "duplicate_key",
                    f"key {key!r} appears more than once in one object; parsers disagree "
                    "on which value wins",
                )
            seen.add(key)
    return result


class _PairList(list[tuple[str, Any]]):
    """A JSON object kept as its key/value pairs, repeated keys included."""


def _first_repeated(value: Any, path: tuple[str | int, ...]) -> str | None:
    # Post-order in document order: the object json.loads completes first,
    # which is the one whose repeated key _pairs rejected.
    if isinstance(value, _PairList):
        for key, item in value:
            found = _first_repeated(item, (*path, key))
            if found is not None:
                return found
        seen: set[str] = set()
        for key, _ in value:
            if key in seen:
                from .validation import json_path

                return json_path((*path, key))
            seen.add(key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_repeated(item, (*path, index))
            if found is not None:
                return found
    return None


def _repeated_key_path(text: str) -> str | None:
    """JSON path of the repeated key ``_pairs`` rejected, or None if it cannot be told."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_PairList,
            parse_constant=lambda _: None,
            parse_int=lambda _: 0,
            parse_float=lambda _: 0.0,
        )
    except (ValueError, RecursionError):
        return None
    return _first_repeated(tree, ())


def _depth_exceeds(text: str, limit: int) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_line(raw: bytes, line: int = 0) -> dict[str, Any] | LineProblem:
    """Parse one JSONL line into a JSON object, or say exactly why it is not one."""
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        return LineProblem(line, "$", "nul_byte", f"NUL byte at offset {offset}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineProblem(line, "$", "invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
    if not text.strip():
        return LineProblem(line, "$", "blank_line", "blank line; every line must hold one event")
    if (text.count("[") + text.count("{") > MAX_DEPTH) and _depth_exceeds(text, MAX_DEPTH):
        return LineProblem(line, "$", "too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_reject_constant,
            parse_int=_check_int,
            parse_float=_check_float,
        )
    except _RejectError as exc:
        field = exc.field
        if exc.code == "duplicate_key":
            field = _repeated_key_path(text) or "$"
        return LineProblem(line, field, exc.code, exc.message)
    except json.JSONDecodeError as exc:
        return LineProblem(line, "$", "invalid_json", f"{exc.msg} at column {exc.colno}")
    except RecursionError:
        return LineProblem(line, "$", "too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict):
        return LineProblem(
            line, "$", "not_an_object", f"a line must be a JSON object, not {type(value).__name__}"
        )
    return value


class Source:
    """One input: a file path, a ``.gz`` file, or ``-`` for standard input.

    Lines are yielded without their line ending; a line longer than
    ``max_line_bytes`` is yielded as ``None`` (after being skipped in bounded
    chunks) so the caller can report it. Standard input is copied to a
    temporary file while read, so a source can be read again.
    """

    def __init__(self, name: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.name = name
        self.max_line_bytes = max_line_bytes
        self.spill: Callable[[bytes], object] | None = None
        """Receives, in chunks, the content of each line over the limit (e.g. a quarantine)."""
        self._spool: IO[bytes] | None = None

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        """Return (reader, underlying file); the reader un-gzips when the data is gzip."""
        if self.name == "-":
            if self._spool is None:
                # Closed by close(): the spool outlives one pass so stdin can be re-read.
                self._spool = tempfile.TemporaryFile(prefix="connector-sync-stdin-")  # noqa: SIM115
                shutil.copyfileobj(sys.stdin.buffer, self._spool, _READ_CHUNK)
            self._spool.seek(0)
            return _gunzip_if_needed(self._spool), self._spool
        handle = Path(self.name).open("rb")  # noqa: SIM115 - closed by lines()
        return _gunzip_if_needed(handle), handle

    def lines(self) -> Iterator[bytes | None]:
        """Yield each line's bytes, or ``None`` for a line over the length limit."""
        limit = self.max_line_bytes
        spill = self.spill
        handle, underlying = self._open()
        try:
            readline = handle.readline
            while True:
                raw = readline(limit + 2)
                if not raw:
                    return
                if raw[-1:] != b"\n" and len(raw) > limit:
                    # Skipped in bounded chunks; only a spill sink sees the content.
                    while raw:
                        ended = raw[-1:] == b"\n"
                        if spill is not None:
                            spill(_without_newline(raw) if ended else raw)
                        if ended:
                            break
                        raw = readline(_READ_CHUNK)
                    yield None
                    continue
                if raw[-1:] == b"\n":
                    raw = _without_newline(raw)
                if len(raw) > limit:
                    if spill is not None:
                        spill(raw)
                    yield None
                else:
                    yield raw
        except (EOFError, zlib.error) as exc:
            # gzip reports a truncated or damaged stream with these; callers
            # handle unreadable input as OSError (the CLI's exit code 2).
            raise OSError(f"{self.name}: damaged or truncated gzip data ({exc})") from exc
        finally:
            if handle is not underlying:
                handle.close()
            if underlying is not self._spool:
                underlying.close()

    def close(self) -> None:
        """Release the standard-input spool file, if any."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _without_newline(raw: bytes) -> bytes:
    return raw[:-2] if raw[-2:] == b"\r\n" else raw[:-1]


def _gunzip_if_needed(handle: IO[bytes]) -> IO[bytes]:
    position = handle.tell()
    head = handle.read(2)
    handle.seek(position)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle
