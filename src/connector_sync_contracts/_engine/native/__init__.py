"""The optional compiled accelerator (``_native.c``), configured from the contract's own tables.

``_native`` knows no event type, field or transition by name. Its *spec* is
derived by ``spec`` from the same field plans ``screen`` builds from the
pydantic models and from the tables in ``contract``, so the compiled screen
and the Python paths read one definition of the contract. The derivation is
committed as ``spec.json`` (kept current by the drift check of
``make test``): this module loads it, so the command line starts without
importing pydantic or building the models.

The extension is optional: when it was not built (no C compiler where the
package was installed) or ``CONNECTOR_SYNC_PURE_PYTHON=1`` is set, ``scanner()``
returns ``None`` and the CLI uses the pure-Python paths, which give the same
results more slowly.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

import orjson

from ...contract.catalog import SYNC_OUTCOMES, connector_target
from ...contract.lifecycle import ConnectorState, HealthStatus, SyncOutcome
from ...contract.patterns import cached_check
from ...reducing.facts import EPOCH, MICROSECOND, ConnectorFact, LinkFact, SyncFact
from ...reducing.steps import ConnectorAcc, SyncAcc, _Delivery

try:  # pragma: no cover - depends on how the package was installed
    from . import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _native = None

__all__ = [
    "PURE_PYTHON_ENV",
    "SPEC_FILE",
    "Scanner",
    "connector_data",
    "engine",
    "no_gc",
    "scanner",
    "sync_data",
]

PURE_PYTHON_ENV: Final = "CONNECTOR_SYNC_PURE_PYTHON"
"""Set to ``1`` to use the pure-Python paths even when the extension is built."""

SPEC_FILE: Final = Path(__file__).with_name("spec.json")
"""The compiled screen's spec, derived from the models by ``_spec`` and committed."""

_STATES: Final = tuple(ConnectorState)
_HEALTH: Final = tuple(HealthStatus)
_OUTCOMES: Final = tuple(SyncOutcome)


class Scanner(Protocol):
    """The compiled scanner's interface (see ``_native.c``)."""

    def scan(
        self, block: bytes | memoryview, keep: bool, limit: int, /
    ) -> tuple[int, list[tuple[int, int, int]]]:
        """Check a block of whole lines; return the line count and the deferred lines."""

    def reserve(self, events: int, /) -> None:
        """Size the dedup table for about ``events`` records at once."""

    def probe(self, line: bytes, /) -> tuple[str, int, int, Any] | None:
        """(event_id, lamport, instant_us, fact) of an accepted line, or None."""

    def offer(
        self,
        event_id: str,
        lamport: int,
        instant_us: int,
        ident: int,
        fact: Any,
        connector_id: str | None,
        dedup: bool,
        /,
    ) -> None:
        """Keep a record built by the Python path."""

    def settle(self) -> tuple[list[str], int]:
        """Event ids with differing copies (removed) and identical copies dropped."""

    def start_fold(self) -> int:
        """Sort records into per-connector groups; return the number of records kept."""

    def next_group(self, keep_logs: bool, max_cycles: int, /) -> tuple[Any, ...] | None:
        """The next group: folded here, or facts for the Python fold; None at the end."""


@functools.cache
def _committed_spec() -> Any:
    """The committed spec as JSON data, read once per process."""
    return orjson.loads(SPEC_FILE.read_bytes())


def _spec() -> tuple[Any, ...]:
    """The committed spec (see ``_spec``) with its pattern checks made callable."""
    spec: tuple[Any, ...] = _thaw(_committed_spec())
    return spec


@functools.cache
def _event_types() -> tuple[tuple[str, frozenset[str]], ...]:
    """(event type, its payload's field names) in the spec's order of event types."""
    return tuple((t[0], frozenset(f[0] for f in t[6])) for t in _committed_spec()[1])


def _thaw(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_thaw(item) for item in value)
    if isinstance(value, dict):
        return cached_check(value["pattern"], value["max_length"])
    return value


def _from_us(us: int) -> datetime:
    return EPOCH + us * MICROSECOND


def _connector_fact(
    event_id: str,
    type_index: int,
    connector_id: str,
    connector_type: str,
    provider: str,
    mission_id: str,
    recorded_at: datetime,
    health_index: int,
    latency: float | None,
    previous_index: int,
) -> ConnectorFact:
    event_type = _event_types()[type_index][0]
    health = _HEALTH[health_index] if health_index >= 0 else None
    return ConnectorFact(
        event_id,
        event_type,
        connector_id,
        connector_type,
        provider,
        mission_id,
        recorded_at,
        connector_target(event_type, health),
        health,
        latency,
        _STATES[previous_index] if previous_index >= 0 else None,
        (),
    )


def _sync_fact(
    event_id: str,
    type_index: int,
    connector_id: str,
    delivery_id: str,
    fingerprint: str,
    retry_attempt: int,
    max_retries: int,
    count: int,
) -> SyncFact:
    event_type, fields = _event_types()[type_index]
    return SyncFact(
        event_id,
        connector_id,
        SYNC_OUTCOMES[event_type],
        delivery_id,
        fingerprint,
        retry_attempt,
        max_retries,
        count if "ingested_count" in fields else 0,
        count if "replayed_count" in fields else 0,
        (),
    )


def _link_fact(event_id: str, type_index: int, values: tuple[Any, ...]) -> LinkFact:
    return LinkFact(event_id, *values)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored after).

    A replay allocates many acyclic objects (facts, results); collections
    triggered by their count only cost time. Reference counting still frees
    everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def engine() -> str:
    """Which engine ``validate``/``replay`` use, in words (shown by ``--version``)."""
    if _native is None:
        return "pure Python (the compiled accelerator was not built)"
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return f"pure Python ({PURE_PYTHON_ENV}=1)"
    return "compiled accelerator"


def scanner() -> Scanner | None:
    """A new compiled scanner, or None when the extension is unavailable or switched off."""
    if _native is None or os.environ.get(PURE_PYTHON_ENV) == "1":
        return None
    made: Scanner = _native.Scanner(_spec(), _connector_fact, _sync_fact, _link_fact, _from_us)
    return made


def connector_data(
    connector_id: str, part: tuple[Any, ...], *, keep_logs: bool, max_cycles: int
) -> dict[str, Any]:
    """The connector state (as plain data) of a group the compiled fold folded."""
    ctype, provider, mission, state, transition, checked, health, latency, events, log = part
    acc = ConnectorAcc(
        connector_id,
        keep_logs,
        max_cycles,
        connector_type=ctype,
        provider=provider,
        mission_id=mission,
        state=_STATES[state] if state >= 0 else None,
        last_transition_at=transition,
        last_health_check_at=checked,
        last_health_status=_HEALTH[health] if health >= 0 else None,
        last_latency_ms=latency,
        event_count=events,
        transition_log=[(eid, _STATES[s]) for eid, s in log] if log is not None else [],
    )
    return acc.data()


def sync_data(connector_id: str, part: tuple[Any, ...], *, keep_logs: bool) -> dict[str, Any]:
    """The delivery state (as plain data) of a group the compiled fold folded."""
    counts, ingested, replayed, pending, log, deliveries = part
    acc = SyncAcc(
        connector_id,
        keep_logs,
        counts=dict(zip(_OUTCOMES, counts, strict=True)),
        ingested_items=ingested,
        replayed_items=replayed,
        known_pending=pending,
    )
    if log is not None:
        acc.outcome_log = [(eid, _OUTCOMES[o], dlv) for eid, o, dlv in log]
    if deliveries is not None:
        acc.deliveries = {
            (dlv, fp): _Delivery(
                status=_OUTCOMES[status],
                terminal=_OUTCOMES[terminal] if terminal >= 0 else None,
                last_retry=last_retry,
                replayed=bool(replayed_flag),
                attempts=attempts,
                last_event_id=last_event_id,
            )
            for dlv, fp, status, terminal, last_retry, replayed_flag, attempts, last_event_id in (
                deliveries
            )
        }
    return acc.data()
