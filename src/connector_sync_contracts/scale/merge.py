"""Merge the groups' fragments into the canonical JSON, streaming, in bounded memory.

Group results are written to record files as they arrive (``Results.add``),
each kind of fragment in its own file, each group's records one sorted run.
``Results.write`` then writes the section 6 form: the small parts (counts,
contract version) come from a skeleton built by the same code a whole-log
replay uses (``Engine.result_data`` and ``ReplayData.to_dict``), dumped by
``canonical_dumps``; each large part is a k-way merge of the groups' runs,
written in place of a marker with the indentation the marker had. Every
fragment is itself ``canonical_dumps`` output, so the bytes are those of
dumping the merged projection at once.
"""

from __future__ import annotations

import heapq
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from ..contract.catalog import ALL_FAMILIES
from ..contract.projection import ReplayData, canonical_dumps
from ..reducing.fold import Engine
from .fold import GroupResult

__all__ = ["Results"]

_LENGTH: Final = struct.Struct("<I")
_KINDS: Final = ("connectors", "sync", "links", "reverse_index", "link_anomalies", "anomalies")
_MARK: Final = "\x00connector-sync:{}\x00"
_DICT_SLOTS: Final = frozenset({"connectors", "sync"})


class _RecordFile:
    """Length-prefixed msgpack records, appended in runs (one per group), read by pread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("wb+")
        self.runs: list[tuple[int, int]] = []
        self._encode = msgspec.msgpack.Encoder().encode

    def append_run(self, records: Iterable[Any]) -> None:
        start = self.handle.tell()
        chunk: list[bytes] = []
        size = 0
        for record in records:
            data = self._encode(record)
            chunk.append(_LENGTH.pack(len(data)))
            chunk.append(data)
            size += len(data) + 4
            if size >= 1 << 20:
                self.handle.write(b"".join(chunk))
                chunk, size = [], 0
        self.handle.write(b"".join(chunk))
        end = self.handle.tell()
        if end > start:
            self.runs.append((start, end))

    def read_run(self, run: tuple[int, int], buffer: int) -> Iterator[Any]:
        self.handle.flush()
        decode = msgspec.msgpack.Decoder().decode
        fd = self.handle.fileno()
        at, end = run
        pending = b""
        while at < end or pending:
            if at < end:
                data = os.pread(fd, min(buffer, end - at), at)
                at += len(data)
                pending = pending + data if pending else data
            view = memoryview(pending)
            offset = 0
            while len(view) - offset >= 4:
                (length,) = _LENGTH.unpack_from(view, offset)
                if len(view) - offset - 4 < length:
                    break
                yield decode(view[offset + 4 : offset + 4 + length])
                offset += 4 + length
            view.release()
            pending = pending[offset:]
            if at >= end and pending and offset == 0:
                raise ValueError(f"damaged record file {self.path}")

    def close(self) -> None:
        self.handle.close()


def _first(record: Any) -> Any:
    return record[0]


class Results:
    """The groups' results, kept on disk under ``folder`` until written out."""

    def __init__(self, folder: Path, *, include_logs: bool) -> None:
        self.include_logs = include_logs
        self.files = {kind: _RecordFile(folder / f"{kind}.records") for kind in _KINDS}
        self.event_count = 0
        self.duplicates_dropped = 0
        self.ignored_event_count = 0
        self.lines_read = 0
        self.accepted = 0
        self.rejected = 0
        self.problems = 0
        self.anomalous = False
        self.groups_with_link_anomalies = 0

    def add(self, result: GroupResult) -> None:
        """Keep one group's result (its problems are handled by the caller)."""
        self.lines_read += result.summary[0]
        self.accepted += result.summary[1]
        self.rejected += result.summary[2]
        self.problems += result.summary[3]
        self.event_count += result.counts[0]
        self.duplicates_dropped += result.counts[1]
        self.ignored_event_count += result.counts[2]
        self.anomalous = self.anomalous or result.anomalous
        if result.link_anomalies:
            self.groups_with_link_anomalies += 1
        for kind in _KINDS:
            self.files[kind].append_run(getattr(result, kind))

    def close(self) -> None:
        """Close the record files (the caller removes the folder)."""
        for handle in self.files.values():
            handle.close()

    def _merged(self, kind: str, key: Callable[[Any], Any]) -> Iterator[Any]:
        file = self.files[kind]
        runs = file.runs
        buffer = max(4096, min(1 << 20, (64 << 20) // max(1, len(runs) * len(_KINDS))))
        streams = [file.read_run(run, buffer) for run in runs]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=key)

    def _reverse_index(self) -> Iterator[tuple[None, bytes]]:
        """Reverse-index entries merged by aggregate; one aggregate's refs from all groups."""
        current: list[Any] | None = None
        refs: list[list[list[str]]] = []
        for aggregate, found in self._merged("reverse_index", _first):
            if current is not None and aggregate != current:
                yield None, _entry(current, refs)
                refs = []
            current = aggregate
            refs.append(found)
        if current is not None:
            yield None, _entry(current, refs)

    def _link_anomalies(self) -> Iterator[Any]:
        if self.groups_with_link_anomalies <= 1:
            return self._merged("link_anomalies", _first)
        return self._merged("link_anomalies", _first)

    def skeleton(self) -> dict[str, Any]:
        """The section 6 form with the counts, and markers for the merged parts."""
        engine = Engine(ALL_FAMILIES, keep_logs=self.include_logs, max_reconnect_cycles=0)
        data = engine.result_data(
            event_count=self.event_count,
            duplicates_dropped=self.duplicates_dropped,
            stream_anomalies=[],
        )
        data["ignored_event_count"] = self.ignored_event_count
        form = ReplayData(data).to_dict(include_logs=self.include_logs)
        form["connectors"] = _MARK.format("connectors")
        form["sync"] = _MARK.format("sync")
        form["anomalies"] = _MARK.format("anomalies")
        links = form["external_links"]
        links["links"] = _MARK.format("links")
        links["reverse_index"] = _MARK.format("reverse_index")
        links["anomalies"] = _MARK.format("link_anomalies")
        return form

    def write(self, out: Callable[[bytes], object]) -> None:
        """Write the canonical JSON of the merged projection through ``out``."""
        slots: dict[str, Iterator[Any]] = {
            "connectors": self._merged("connectors", _first),
            "sync": self._merged("sync", _first),
            "links": self._merged("links", _first),
            "reverse_index": self._reverse_index(),
            "link_anomalies": self._link_anomalies(),
            "anomalies": self._merged("anomalies", _first),
        }
        text = canonical_dumps(self.skeleton())
        marks = sorted((text.index(orjson.dumps(_MARK.format(kind))), kind) for kind in slots)
        at = 0
        for start, kind in marks:
            out(text[at:start])
            line_start = text.rfind(b"\n", 0, start) + 1
            indent = len(text[line_start:start]) - len(text[line_start:start].lstrip(b" "))
            _container(out, slots[kind], indent, kind in _DICT_SLOTS)
            at = start + len(orjson.dumps(_MARK.format(kind)))
        out(text[at:])


def _entry(aggregate: list[str], refs: list[list[list[str]]]) -> bytes:
    merged = list(heapq.merge(*refs)) if len(refs) > 1 else refs[0]
    return canonical_dumps(
        {
            "internal_aggregate_type": aggregate[0],
            "internal_aggregate_id": aggregate[1],
            "external_refs": merged,
        }
    )[:-1]


def _container(
    out: Callable[[bytes], object], items: Iterator[Any], indent: int, mapping: bool
) -> None:
    """Write a JSON object (``mapping``) or array of fragments, as orjson indents it."""
    inner = b"\n" + b" " * (indent + 2)
    first = True
    pending: list[bytes] = []
    size = 0
    for key, fragment in items:
        pending.append((b"{" if mapping else b"[") if first else b",")
        pending.append(inner)
        if mapping:
            pending.append(orjson.dumps(key) + b": ")
        pending.append(fragment.replace(b"\n", inner))
        size += len(fragment)
        first = False
        if size >= 1 << 20:
            out(b"".join(pending))
            pending, size = [], 0
    if first:
        out(b"{}" if mapping else b"[]")
        return
    pending.append(b"\n" + b" " * indent + (b"}" if mapping else b"]"))
    out(b"".join(pending))
