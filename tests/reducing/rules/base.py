"""The abstract rule case and the engines that run it.

``RuleCase.replay_log`` takes a log as envelope mappings (the JSON objects a
producer writes, in the order given) and returns the whole-log
``ReplayResult``. Each engine mixin implements it one way:

==============  =============================================================
``ApiPython``   ``replay(envelopes)`` with ``CONNECTOR_SYNC_PURE_PYTHON=1``
``ApiCompiled`` ``replay(envelopes)`` on the compiled core
``EventsCompiled`` ``replay()`` on the compiled core of ``Event`` objects (each
                envelope the model accepts; the others as mappings)
``StreamPython``  the command line's ``replay_sources`` over a JSONL file, pure Python
``StreamCompiled`` the same on the compiled core
``LinesPython`` ``replay_lines`` (the library's entry point for JSONL lines), pure Python
``LinesCompiled`` the same on the compiled core
``IncrementalPython`` ``Projection.apply`` of each envelope in replay order, then
                ``result()``, pure Python
``IncrementalCompiled`` the same, the compiled core deciding each envelope it takes
``IncrementalEvents`` the same of ``Event`` objects (each envelope the model accepts)
==============  =============================================================

The compiled engines are skipped when the extension is not built.
"""

from __future__ import annotations

import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

from pydantic import ValidationError

from connector_sync_contracts import (
    DEFAULT_MAX_RECONNECT_CYCLES,
    Event,
    Projection,
    ReplayResult,
    SortKey,
    replay,
    replay_lines,
    sort_key,
)
from connector_sync_contracts._engine import runner
from connector_sync_contracts._engine.runner import replay_sources
from connector_sync_contracts.io import Source
from connector_sync_contracts.models.results import replay_result_from_data
from tests.support.engines import Engine, engine, needs_native

__all__ = [
    "ApiCompiled",
    "ApiPython",
    "Envelopes",
    "EventsCompiled",
    "IncrementalCompiled",
    "IncrementalEvents",
    "IncrementalPython",
    "LinesCompiled",
    "LinesPython",
    "RuleCase",
    "StreamCompiled",
    "StreamCompiledReread",
    "StreamPython",
]

Envelopes = Sequence[Mapping[str, Any]]
"""A log as envelope mappings, in the order a producer wrote them."""


class RuleCase(ABC):
    """What every rule case needs from an engine: a log in, the whole-log result out."""

    engine_label: ClassVar[str]
    """The engine's name in test ids and messages."""

    @abstractmethod
    def replay_log(
        self,
        envelopes: Envelopes,
        *,
        max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES,
    ) -> ReplayResult:
        """Replay ``envelopes`` with this engine (logs kept) and return the result."""


def _api(name: Engine, envelopes: Envelopes, max_reconnect_cycles: int) -> ReplayResult:
    with engine(name):
        return replay(list(envelopes), max_reconnect_cycles=max_reconnect_cycles)


def _jsonl(envelopes: Envelopes) -> list[bytes]:
    return [json.dumps(e).encode() + b"\n" for e in envelopes]


def _stream(name: Engine, envelopes: Envelopes, max_reconnect_cycles: int) -> ReplayResult:
    lines = b"".join(_jsonl(envelopes))
    with tempfile.TemporaryDirectory(prefix="rules-") as folder:
        path = Path(folder) / "log.jsonl"
        path.write_bytes(lines)
        source = Source(str(path))
        try:
            with engine(name):
                data, summary = replay_sources(
                    [source],
                    include_logs=True,
                    max_reconnect_cycles=max_reconnect_cycles,
                    on_problem=lambda *_: None,
                )
        finally:
            source.close()
    # Every line is accounted for (accepted or reported), whatever the rule did.
    assert summary.lines_read == len(envelopes) == summary.accepted + summary.rejected
    return replay_result_from_data(data.data)


class ApiPython(RuleCase):
    """``replay(envelopes)`` with the pure-Python fold (``CONNECTOR_SYNC_PURE_PYTHON=1``)."""

    engine_label = "api-python"

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """``replay()`` of the mappings under the pure-Python engine."""
        return _api("python", envelopes, max_reconnect_cycles)


class ApiCompiled(RuleCase):
    """``replay(envelopes)`` on the compiled core (its test classes skip when not built)."""

    engine_label = "api-compiled"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """``replay()`` of the mappings under the compiled engine."""
        return _api("compiled", envelopes, max_reconnect_cycles)


def _event_or_mapping(envelope: Mapping[str, Any]) -> Event | Mapping[str, Any]:
    try:
        return Event.model_validate(envelope)
    except ValidationError:
        return envelope


class EventsCompiled(RuleCase):
    """``replay()`` of ``Event`` objects on the compiled core.

    A service holds Events it built itself: the core reads them from their
    instance dictionaries, and a copy of an event_id is compared with the
    first by reading both again. An envelope the model refuses stays a
    mapping in its place, as a service's mixed list would hold it.
    """

    engine_label = "events-compiled"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """``replay()`` of the envelopes as Events under the compiled engine."""
        items = [_event_or_mapping(envelope) for envelope in envelopes]
        with engine("compiled"):
            return replay(items, max_reconnect_cycles=max_reconnect_cycles)


class StreamPython(RuleCase):
    """The command line's replay (``replay_sources``) of the log as a JSONL file, pure Python."""

    engine_label = "stream-python"

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """Write the envelopes as JSONL lines and replay the file in pure Python."""
        return _stream("python", envelopes, max_reconnect_cycles)


class StreamCompiled(RuleCase):
    """The command line's replay of the log as a JSONL file, on the compiled core."""

    engine_label = "stream-compiled"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """Write the envelopes as JSONL lines and replay the file on the compiled core."""
        return _stream("compiled", envelopes, max_reconnect_cycles)


class StreamCompiledReread(RuleCase):
    """The compiled stream replay keeping no copy decided in Python.

    Each such copy is read again at its offset and decided by the models
    when its event_id is settled: the path a log takes once its copies
    decided in Python outgrow what is kept of them (16 MiB).
    """

    engine_label = "stream-compiled-reread"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """The compiled stream replay with no room for kept copies."""
        with mock.patch.object(runner, "_KEPT_COPY_BYTES", 0):
            return _stream("compiled", envelopes, max_reconnect_cycles)


def _lines(name: Engine, envelopes: Envelopes, max_reconnect_cycles: int) -> ReplayResult:
    with engine(name):
        return replay_lines(_jsonl(envelopes), max_reconnect_cycles=max_reconnect_cycles)


class LinesPython(RuleCase):
    """``replay_lines`` of the log as JSONL lines, pure Python."""

    engine_label = "lines-python"

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """``replay_lines()`` of the envelopes' JSON lines under the pure-Python engine."""
        return _lines("python", envelopes, max_reconnect_cycles)


class LinesCompiled(RuleCase):
    """``replay_lines`` of the log as JSONL lines, on the compiled core."""

    engine_label = "lines-compiled"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """``replay_lines()`` of the envelopes' JSON lines on the compiled core."""
        return _lines("compiled", envelopes, max_reconnect_cycles)


def _replay_order(item: Event | Mapping[str, Any]) -> tuple[int, SortKey | tuple[()]]:
    # Envelopes that are not valid have no sort key: they are stream-level
    # anomalies, ordered in the result whatever the order they arrive in.
    try:
        return (1, sort_key(item))
    except ValueError:
        return (0, ())


def _incremental(
    name: Engine, items: Sequence[Event | Mapping[str, Any]], max_reconnect_cycles: int
) -> ReplayResult:
    """``Projection.apply`` of each item, in replay order, then ``result()``."""
    with engine(name):
        projection = Projection(max_reconnect_cycles=max_reconnect_cycles)
        for item in sorted(items, key=_replay_order):
            projection.apply(item)
        return projection.result()


class IncrementalPython(RuleCase):
    """``Projection.apply`` of each envelope in replay order, then ``result()``, pure Python.

    ``Projection`` folds as events arrive, and equals batch replay for input
    in replay order (out of order, it warns): each log is sorted with
    ``sort_key`` first. It runs every rule case but ``DedupRules``, whose
    subject is input that is not in replay order.
    """

    engine_label = "incremental-python"

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """Apply the envelopes one by one to a fresh ``Projection``, the models deciding each."""
        return _incremental("python", envelopes, max_reconnect_cycles)


class IncrementalCompiled(RuleCase):
    """``IncrementalPython`` with the compiled core deciding each envelope it takes."""

    engine_label = "incremental-compiled"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """Apply the envelopes one by one to a fresh ``Projection`` on the compiled core."""
        return _incremental("compiled", envelopes, max_reconnect_cycles)


class IncrementalEvents(RuleCase):
    """``Projection.apply`` of ``Event`` objects on the compiled core (each envelope
    the model accepts; the others as mappings), in replay order."""

    engine_label = "incremental-events"
    pytestmark: ClassVar[list[Any]] = [needs_native]

    def replay_log(
        self, envelopes: Envelopes, *, max_reconnect_cycles: int = DEFAULT_MAX_RECONNECT_CYCLES
    ) -> ReplayResult:
        """Apply the envelopes as Events one by one to a fresh ``Projection``."""
        items = [_event_or_mapping(envelope) for envelope in envelopes]
        return _incremental("compiled", items, max_reconnect_cycles)
