#!/usr/bin/env python3
"""Independent reference reducer for the Connector and Sync Lifecycle Contracts
(contract version 2.7.0), written only from CONTRACTS.md.

Usage: python3 reference.py [--no-logs] [--blank-lines=skip|anomaly] LOG.jsonl [LOG2.jsonl ...]

Prints the whole-log replay projection (section 6) as canonical JSON on stdout
and a short line-accounting summary on stderr.  Standard library only.
See NOTES.md for every interpretation choice.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from typing import Any

CONTRACT_VERSION = "2.7.0"
MAX_DEPTH = 64
ANY_INT_MIN = -(2 ** 63)
ANY_INT_MAX = 2 ** 64 - 1
I64_MAX = 2 ** 63 - 1
MAX_RECONNECT_CYCLES = 3
MAX_URL_LEN = 2048

# ----------------------------------------------------------------------------
# Event type constants
# ----------------------------------------------------------------------------
CONNECTOR_PROVISIONED = "ConnectorProvisioned"
CONNECTOR_HEALTH_CHECKED = "ConnectorHealthChecked"
CONNECTOR_DEGRADED = "ConnectorDegraded"
CONNECTOR_REVOKED = "ConnectorRevoked"
CONNECTOR_RECONNECTED = "ConnectorReconnected"
CONNECTOR_EVENT_TYPES = frozenset({CONNECTOR_PROVISIONED, CONNECTOR_HEALTH_CHECKED,
                                   CONNECTOR_DEGRADED, CONNECTOR_REVOKED, CONNECTOR_RECONNECTED})
SYNC_INGEST_ACCEPTED = "SyncIngestAccepted"
SYNC_INGEST_REJECTED = "SyncIngestRejected"
SYNC_RETRY_SCHEDULED = "SyncRetryScheduled"
SYNC_DEAD_LETTERED = "SyncDeadLettered"
SYNC_REPLAY_COMPLETED = "SyncReplayCompleted"
SYNC_EVENT_TYPES = frozenset({SYNC_INGEST_ACCEPTED, SYNC_INGEST_REJECTED, SYNC_RETRY_SCHEDULED,
                              SYNC_DEAD_LETTERED, SYNC_REPLAY_COMPLETED})
EXTERNAL_REFERENCE_LINKED = "ExternalReferenceLinked"

CONNECTOR_STATES = ("provisioned", "healthy", "degraded", "revoked", "reconnected")
HEALTH_STATUSES = ("healthy", "degraded", "unreachable")
RECONNECT_STRATEGIES = ("automatic", "manual", "backoff")
ACTOR_TYPES = ("human", "service", "system")
SYNC_OUTCOMES = ("accepted", "rejected", "retry_scheduled", "dead_lettered", "replay_completed")
TERMINAL_OUTCOMES = frozenset({"accepted", "rejected", "dead_lettered"})
SYNC_OUTCOME_OF = {
    SYNC_INGEST_ACCEPTED: "accepted",
    SYNC_INGEST_REJECTED: "rejected",
    SYNC_RETRY_SCHEDULED: "retry_scheduled",
    SYNC_DEAD_LETTERED: "dead_lettered",
    SYNC_REPLAY_COMPLETED: "replay_completed",
}

ALLOWED_TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"provisioned"}),
    "provisioned": frozenset({"healthy", "degraded", "revoked"}),
    "healthy": frozenset({"degraded", "revoked"}),
    "degraded": frozenset({"healthy", "revoked", "reconnected"}),
    "revoked": frozenset({"reconnected"}),
    "reconnected": frozenset({"healthy", "degraded", "revoked"}),
}


# ----------------------------------------------------------------------------
# Strict JSON parsing with the section-8 input limits
# ----------------------------------------------------------------------------
class InputLimitError(Exception):
    pass


def _parse_int(s: str) -> int:
    digits = s[1:] if s.startswith("-") else s
    if len(digits) > 20:
        raise InputLimitError("integer outside [-2^63, 2^64-1]")
    v = int(s)
    if v < ANY_INT_MIN or v > ANY_INT_MAX:
        raise InputLimitError("integer outside [-2^63, 2^64-1]")
    return v


def _parse_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise InputLimitError("non-finite number")
    return v


def _parse_constant(s: str) -> Any:
    raise InputLimitError("non-finite number")


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise InputLimitError("repeated key")
        d[k] = v
    return d


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs, parse_int=_parse_int,
                            parse_float=_parse_float, parse_constant=_parse_constant)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_tree(v: Any, depth: int, check_depth: bool, check_surr: bool) -> None:
    if isinstance(v, dict):
        if check_depth and depth > MAX_DEPTH:
            raise InputLimitError("value nested deeper than 64 levels")
        for k, x in v.items():
            if check_surr and _SURROGATE_RE.search(k):
                raise InputLimitError("lone surrogate")
            if isinstance(x, (dict, list)) or (check_surr and isinstance(x, str)):
                _check_tree(x, depth + 1, check_depth, check_surr)
    elif isinstance(v, list):
        if check_depth and depth > MAX_DEPTH:
            raise InputLimitError("value nested deeper than 64 levels")
        for x in v:
            if isinstance(x, (dict, list)) or (check_surr and isinstance(x, str)):
                _check_tree(x, depth + 1, check_depth, check_surr)
    elif isinstance(v, str):
        if check_surr and _SURROGATE_RE.search(v):
            raise InputLimitError("lone surrogate")


def parse_json_text(text: str) -> Any:
    """Parse one JSON text under the input limits.

    Raises ValueError (syntax), InputLimitError (limits)."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise InputLimitError("value nested deeper than 64 levels")
    check_depth = (text.count("{") + text.count("[")) > MAX_DEPTH
    check_surr = _SURROGATE_ESCAPE_RE.search(text) is not None
    if check_depth or check_surr:
        try:
            _check_tree(value, 1, check_depth, check_surr)
        except RecursionError:
            raise InputLimitError("value nested deeper than 64 levels")
    return value


def check_mapping_limits(value: Any) -> None:
    """Apply the same limits to an already-parsed mapping (replay() of mappings)."""
    def walk(v: Any, depth: int) -> None:
        if isinstance(v, dict):
            if depth > MAX_DEPTH:
                raise InputLimitError("value nested deeper than 64 levels")
            for k, x in v.items():
                if not isinstance(k, str):
                    raise InputLimitError("non-string key")
                if _SURROGATE_RE.search(k):
                    raise InputLimitError("lone surrogate")
                walk(x, depth + 1)
        elif isinstance(v, (list, tuple)):
            if depth > MAX_DEPTH:
                raise InputLimitError("value nested deeper than 64 levels")
            for x in v:
                walk(x, depth + 1)
        elif isinstance(v, str):
            if _SURROGATE_RE.search(v):
                raise InputLimitError("lone surrogate")
        elif isinstance(v, bool) or v is None:
            pass
        elif isinstance(v, int):
            if v < ANY_INT_MIN or v > ANY_INT_MAX:
                raise InputLimitError("integer outside [-2^63, 2^64-1]")
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise InputLimitError("non-finite number")
        else:
            raise InputLimitError("value is not a JSON type")
    walk(value, 1)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


# ----------------------------------------------------------------------------
# Scalar validators
# ----------------------------------------------------------------------------
_ULID_RE = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}")
_UUID36_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID32_RE = re.compile(r"[0-9a-fA-F]{32}")
_SEMVER_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_TS_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                    r"(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def is_str(v: Any) -> bool:
    return type(v) is str


def is_nonempty_str(v: Any) -> bool:
    return type(v) is str and len(v) > 0


def is_int(v: Any) -> bool:
    return type(v) is int


def norm_uuid(v: Any) -> str | None:
    if type(v) is not str:
        return None
    if _UUID36_RE.fullmatch(v):
        return v.lower()
    if _UUID32_RE.fullmatch(v):
        h = v.lower()
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return None


def norm_event_id(v: Any) -> str | None:
    """ULID (upper-cased) or UUID (lower-case hyphenated); None if invalid."""
    if type(v) is not str:
        return None
    if _ULID_RE.fullmatch(v):
        return v.upper()
    return norm_uuid(v)


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


_MDAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Instant:
    """An exact UTC instant: integer epoch seconds + fractional digit string
    (trailing zeros stripped).  Ordering of (seconds, frac) tuples equals
    ordering of the instants."""
    __slots__ = ("key", "text")

    def __init__(self, secs: int, frac: str):
        self.key = (secs, frac)
        days, rem = divmod(secs, 86400)
        y, mo, d = _civil_from_days(days)
        hh, rem = divmod(rem, 3600)
        mi, ss = divmod(rem, 60)
        self.text = (f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
                     + (f".{frac}" if frac else "") + "Z")


def parse_datetime(v: Any) -> Instant | None:
    """RFC 3339 date-time with mandatory offset; T/t and Z/z accepted."""
    if type(v) is not str:
        return None
    m = _TS_RE.fullmatch(v)
    if not m:
        return None
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").rstrip("0")
    off = m.group(8)
    if y < 1 or not (1 <= mo <= 12):
        return None
    mdays = 29 if (mo == 2 and _is_leap(y)) else _MDAYS[mo - 1]
    if not (1 <= d <= mdays) or hh > 23 or mi > 59 or ss > 59:
        return None
    if off in ("Z", "z"):
        off_s = 0
    else:
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return None
        off_s = (oh * 3600 + om * 60) * (1 if off[0] == "+" else -1)
    secs = _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off_s
    return Instant(secs, frac)


_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([/?#].*)?", re.S)
_HOST_ASCII_OK = re.compile(r"[A-Za-z0-9.\-_~!$&'()*+,;=%]+")


def url_problem(v: Any) -> str | None:
    """None when v is an absolute http(s) URL with a host, <= 2048 chars, no user-info."""
    if type(v) is not str:
        return "must be a string"
    if len(v) > MAX_URL_LEN:
        return "longer than 2048 characters"
    for ch in v:
        o = ord(ch)
        if o <= 0x20 or o == 0x7F:
            return "contains whitespace or control characters"
    m = _URL_RE.fullmatch(v)
    if not m:
        return "not an absolute URL"
    if m.group(1).lower() not in ("http", "https"):
        return "scheme must be http or https"
    authority = m.group(2)
    if "@" in authority:
        return "user-info is not allowed"
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return "bad IPv6 host"
        host = authority[1:close]
        rest = authority[close + 1:]
        if not host or not re.fullmatch(r"[0-9A-Fa-f:.]+", host):
            return "bad IPv6 host"
        if rest and not rest.startswith(":"):
            return "bad authority"
        port = rest[1:] if rest else None
    else:
        host, sep, port_s = authority.partition(":")
        port = port_s if sep else None
        if not host:
            return "missing host"
        ascii_part = "".join(c for c in host if ord(c) < 0x80)
        if ascii_part and not _HOST_ASCII_OK.fullmatch(ascii_part):
            return "invalid host"
    if port is not None and port != "":
        if not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535:
            return "invalid port"
    return None


# ----------------------------------------------------------------------------
# Envelope
# ----------------------------------------------------------------------------
class EnvelopeError(Exception):
    pass


class Event:
    __slots__ = ("eid", "etype", "lamport", "inst", "sortkey", "canon", "payload",
                 "family", "pvalid", "perror", "fields", "semantic")

    def __init__(self) -> None:
        self.pvalid = True
        self.perror = ""
        self.fields: dict[str, Any] = {}
        self.semantic: list[str] = []


def validate_envelope(obj: Any) -> Event:
    if not isinstance(obj, dict):
        raise EnvelopeError("envelope is not a JSON object")
    errs: list[str] = []
    eid = norm_event_id(obj.get("event_id"))
    if "event_id" not in obj:
        errs.append("event_id: missing")
    elif eid is None:
        errs.append("event_id: not a ULID or UUID string")
    et = obj.get("event_type")
    if "event_type" not in obj:
        errs.append("event_type: missing")
    elif not is_nonempty_str(et):
        errs.append("event_type: must be a non-empty string")
    for f in ("aggregate_id", "node_id"):
        if f not in obj:
            errs.append(f"{f}: missing")
        elif not is_nonempty_str(obj[f]):
            errs.append(f"{f}: must be a non-empty string")
    payload = obj.get("payload")
    if "payload" not in obj:
        errs.append("payload: missing")
    elif not isinstance(payload, dict):
        errs.append("payload: must be a JSON object")
    ts = parse_datetime(obj.get("timestamp"))
    if "timestamp" not in obj:
        errs.append("timestamp: missing")
    elif ts is None:
        errs.append("timestamp: not an RFC 3339 date-time with offset")
    lam = obj.get("lamport_clock")
    if "lamport_clock" not in obj:
        errs.append("lamport_clock: missing")
    elif not is_int(lam) or lam < 0 or lam > I64_MAX:
        errs.append("lamport_clock: must be an integer in [0, 2^63-1]")
    puuid = norm_uuid(obj.get("project_uuid"))
    if "project_uuid" not in obj:
        errs.append("project_uuid: missing")
    elif puuid is None:
        errs.append("project_uuid: not a UUID string")
    corr = norm_event_id(obj.get("correlation_id"))
    if "correlation_id" not in obj:
        errs.append("correlation_id: missing")
    elif corr is None:
        errs.append("correlation_id: not a ULID or UUID string")
    caus = None
    if obj.get("causation_id") is not None:
        caus = norm_event_id(obj["causation_id"])
        if caus is None:
            errs.append("causation_id: not a ULID or UUID string or null")
    for f in ("build_id", "project_slug"):
        v = obj.get(f)
        if v is not None and not is_str(v):
            errs.append(f"{f}: must be a string or null")
    sv = obj.get("schema_version")
    if "schema_version" in obj and not (is_str(sv) and _SEMVER_RE.fullmatch(sv)):
        errs.append("schema_version: must be a N.N.N string")
    dt = obj.get("data_tier", 0)
    if not is_int(dt) or not (0 <= dt <= 4):
        errs.append("data_tier: must be an integer in 0..4")
    if errs:
        raise EnvelopeError("; ".join(errs))
    ev = Event()
    ev.eid = eid
    ev.etype = et
    ev.lamport = lam
    ev.inst = ts
    ev.sortkey = (lam, ts.key, eid)
    ev.payload = payload
    norm = {
        "event_id": eid, "event_type": et, "aggregate_id": obj["aggregate_id"],
        "payload": payload, "timestamp": ts.text, "node_id": obj["node_id"],
        "lamport_clock": lam, "project_uuid": puuid, "correlation_id": corr,
        "causation_id": caus, "build_id": obj.get("build_id"),
        "project_slug": obj.get("project_slug"), "schema_version": sv, "data_tier": dt,
    }
    ev.canon = canonical_json(norm)
    if et in CONNECTOR_EVENT_TYPES:
        ev.family = "connector"
    elif et in SYNC_EVENT_TYPES:
        ev.family = "sync"
    elif et == EXTERNAL_REFERENCE_LINKED:
        ev.family = "link"
    else:
        ev.family = "other"
    if ev.family != "other":
        validate_payload(ev)
    return ev


# ----------------------------------------------------------------------------
# Payloads
# ----------------------------------------------------------------------------
# kinds: s = non-empty string, uuid, dt, url, enum tuple, i0 = int>=0, i1 = int>=1, n0 = number>=0
_CONNECTOR_COMMON = [("connector_id", "s"), ("connector_type", "s"), ("provider", "s"),
                     ("mission_id", "s"), ("actor_id", "s"), ("project_uuid", "uuid"),
                     ("actor_type", ACTOR_TYPES), ("endpoint_url", "url"), ("recorded_at", "dt")]
_SYNC_COMMON = [("delivery_id", "s"), ("source_event_fingerprint", "s"), ("connector_id", "s"),
                ("mission_id", "s"), ("recorded_at", "dt")]
PAYLOAD_FIELDS: dict[str, list[tuple[str, Any]]] = {
    CONNECTOR_PROVISIONED: _CONNECTOR_COMMON,
    CONNECTOR_HEALTH_CHECKED: _CONNECTOR_COMMON + [("health_status", HEALTH_STATUSES),
                                                   ("latency_ms", "n0")],
    CONNECTOR_DEGRADED: _CONNECTOR_COMMON + [("degradation_reason", "s"), ("last_healthy_at", "dt")],
    CONNECTOR_REVOKED: _CONNECTOR_COMMON + [("revocation_reason", "s")],
    CONNECTOR_RECONNECTED: _CONNECTOR_COMMON + [("previous_state", CONNECTOR_STATES),
                                                ("reconnect_strategy", RECONNECT_STRATEGIES)],
    SYNC_INGEST_ACCEPTED: _SYNC_COMMON + [("ingest_batch_id", "s"), ("ingested_count", "i1")],
    SYNC_INGEST_REJECTED: _SYNC_COMMON + [("rejection_reason", "s"), ("rejected_payload_ref", "s")],
    SYNC_RETRY_SCHEDULED: _SYNC_COMMON + [("retry_attempt", "i1"), ("max_retries", "i1"),
                                          ("next_retry_at", "dt")],
    SYNC_DEAD_LETTERED: _SYNC_COMMON + [("failure_reason", "s"), ("total_attempts", "i1"),
                                        ("dead_letter_ref", "s")],
    SYNC_REPLAY_COMPLETED: _SYNC_COMMON + [("replay_id", "s"), ("replay_source", "s"),
                                           ("replayed_count", "i0")],
    EXTERNAL_REFERENCE_LINKED: [("link_id", "s"), ("connector_id", "s"), ("external_provider", "s"),
                                ("external_ref_type", "s"), ("external_ref_id", "s"),
                                ("internal_aggregate_type", "s"), ("internal_aggregate_id", "s"),
                                ("mission_id", "s"), ("linked_by", "s"),
                                ("external_ref_url", "url"), ("recorded_at", "dt")],
}


def _check_field(kind: Any, v: Any) -> tuple[str | None, Any]:
    """Return (problem, normalized value)."""
    if kind == "s":
        return (None, v) if is_nonempty_str(v) else ("must be a non-empty string", None)
    if kind == "uuid":
        u = norm_uuid(v)
        return (None, u) if u is not None else ("must be a UUID string", None)
    if kind == "dt":
        i = parse_datetime(v)
        return (None, i) if i is not None else ("must be an RFC 3339 date-time with offset", None)
    if kind == "url":
        p = url_problem(v)
        return (None, v) if p is None else (p, None)
    if kind in ("i0", "i1"):
        lo = 0 if kind == "i0" else 1
        if is_int(v) and lo <= v <= I64_MAX:
            return None, v
        return f"must be an integer in [{lo}, 2^63-1]", None
    if kind == "n0":
        if type(v) in (int, float) and math.isfinite(v) and v >= 0:
            fv = float(v)
            return None, (0.0 if fv == 0 else fv)
        return "must be a finite number >= 0", None
    # enum
    if is_str(v) and v in kind:
        return None, v
    return "must be one of " + "|".join(kind), None


def validate_payload(ev: Event) -> None:
    p = ev.payload
    probs: list[str] = []
    fields: dict[str, Any] = {}
    for name, kind in PAYLOAD_FIELDS[ev.etype]:
        if name not in p:
            probs.append(f"{name}: missing")
            continue
        prob, val = _check_field(kind, p[name])
        if prob:
            probs.append(f"{name}: {prob}")
        else:
            fields[name] = val
    if probs:
        ev.pvalid = False
        ev.perror = "; ".join(sorted(probs))
        return
    ev.fields = fields
    if ev.etype == CONNECTOR_DEGRADED and fields["last_healthy_at"].key > fields["recorded_at"].key:
        ev.semantic.append("last_healthy_at <= recorded_at")
    if ev.etype == SYNC_RETRY_SCHEDULED and fields["next_retry_at"].key < fields["recorded_at"].key:
        ev.semantic.append("next_retry_at >= recorded_at")


def readable_connector_id(payload: dict[str, Any]) -> str | None:
    cid = payload.get("connector_id")
    return cid if is_nonempty_str(cid) else None


def anomaly(kind: str, eid: str | None, message: str) -> dict[str, Any]:
    return {"kind": kind, "event_id": eid, "message": message}


# ----------------------------------------------------------------------------
# Connector reducer
# ----------------------------------------------------------------------------
class ConnectorState:
    def __init__(self, cid: str) -> None:
        self.connector_id = cid
        self.connector_type: str | None = None
        self.provider: str | None = None
        self.mission_id: str | None = None
        self.identity_set = False
        self.current_state: str | None = None
        self.last_transition_at: str | None = None
        self.last_health_check_at: str | None = None
        self.last_health_status: str | None = None
        self.last_latency_ms: float | None = None
        self.event_count = 0
        self.transition_log: list[list[str]] = []
        self.anomalies: list[dict[str, Any]] = []
        self.reconnects_since_healthy = 0

    def fold(self, ev: Event) -> None:
        self.event_count += 1
        if not ev.pvalid:
            self.anomalies.append(anomaly("malformed_payload", ev.eid, ev.perror))
            return
        f = ev.fields
        et = ev.etype
        if et == CONNECTOR_PROVISIONED:
            target = "provisioned"
        elif et == CONNECTOR_HEALTH_CHECKED:
            target = "healthy" if f["health_status"] == "healthy" else "degraded"
        elif et == CONNECTOR_DEGRADED:
            target = "degraded"
        elif et == CONNECTOR_REVOKED:
            target = "revoked"
        else:
            target = "reconnected"
        cur = self.current_state
        if cur == target and target in ("healthy", "degraded"):
            is_transition = False
        elif target in ALLOWED_TRANSITIONS[cur]:
            is_transition = True
        else:
            self.anomalies.append(anomaly(
                "invalid_transition", ev.eid,
                f"{et}: transition {cur if cur is not None else 'None'} -> {target} is not allowed"))
            return
        # accepted (transition or observation)
        for rule in ev.semantic:
            self.anomalies.append(anomaly("semantic_violation", ev.eid, f"semantic rule violated: {rule}"))
        if not self.identity_set:
            self.identity_set = True
            self.connector_type = f["connector_type"]
            self.provider = f["provider"]
            self.mission_id = f["mission_id"]
        else:
            changed = [k for k in ("connector_type", "provider") if f[k] != getattr(self, k)]
            if changed:
                self.anomalies.append(anomaly(
                    "identity_changed", ev.eid,
                    "identity changed: " + ", ".join(changed) + " differs from the first accepted event"))
        if is_transition:
            if et == CONNECTOR_RECONNECTED and f["previous_state"] != cur:
                self.anomalies.append(anomaly(
                    "previous_state_mismatch", ev.eid,
                    f"previous_state {f['previous_state']} but connector was {cur}"))
            self.current_state = target
            self.last_transition_at = f["recorded_at"].text
            self.transition_log.append([ev.eid, target])
            if target == "reconnected":
                self.reconnects_since_healthy += 1
                if self.reconnects_since_healthy > MAX_RECONNECT_CYCLES:
                    self.anomalies.append(anomaly(
                        "reconnect_loop", ev.eid,
                        f"{self.reconnects_since_healthy} entries into reconnected without reaching "
                        f"healthy (max_reconnect_cycles={MAX_RECONNECT_CYCLES})"))
            elif target == "healthy":
                self.reconnects_since_healthy = 0
        if et == CONNECTOR_HEALTH_CHECKED:
            self.last_health_check_at = f["recorded_at"].text
            self.last_health_status = f["health_status"]
            self.last_latency_ms = f["latency_ms"]

    def to_dict(self, logs: bool) -> dict[str, Any]:
        d = {
            "connector_id": self.connector_id,
            "connector_type": self.connector_type,
            "provider": self.provider,
            "mission_id": self.mission_id,
            "current_state": self.current_state,
            "last_transition_at": self.last_transition_at,
            "last_health_check_at": self.last_health_check_at,
            "last_health_status": self.last_health_status,
            "last_latency_ms": self.last_latency_ms,
            "event_count": self.event_count,
            "anomalies": self.anomalies,
        }
        if logs:
            d["transition_log"] = self.transition_log
        return d


# ----------------------------------------------------------------------------
# Sync reducer
# ----------------------------------------------------------------------------
class Delivery:
    __slots__ = ("delivery_id", "fingerprint", "status", "attempts", "last_event_id",
                 "terminal", "last_retry_attempt", "replayed")

    def __init__(self, did: str, fp: str) -> None:
        self.delivery_id = did
        self.fingerprint = fp
        self.status: str | None = None
        self.attempts = 0
        self.last_event_id: str | None = None
        self.terminal: str | None = None
        self.last_retry_attempt = 0
        self.replayed = False


class SyncState:
    def __init__(self, cid: str) -> None:
        self.connector_id = cid
        self.outcome_counts = {o: 0 for o in SYNC_OUTCOMES}
        self.ingested_items = 0
        self.replayed_items = 0
        self.outcome_log: list[list[str]] = []
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self.anomalies: list[dict[str, Any]] = []

    def fold(self, ev: Event) -> None:
        if not ev.pvalid:
            self.anomalies.append(anomaly("malformed_payload", ev.eid, ev.perror))
            return
        f = ev.fields
        outcome = SYNC_OUTCOME_OF[ev.etype]
        key = (f["delivery_id"], f["source_event_fingerprint"])
        d = self.deliveries.get(key)
        extra: list[dict[str, Any]] = []
        if outcome in TERMINAL_OUTCOMES:
            if d is not None and d.terminal is not None:
                if d.terminal == outcome:
                    self.anomalies.append(anomaly(
                        "duplicate_delivery", ev.eid,
                        f"delivery already {d.terminal}; {outcome} skipped"))
                else:
                    self.anomalies.append(anomaly(
                        "conflicting_outcome", ev.eid,
                        f"delivery already {d.terminal}; {outcome} skipped"))
                return
        elif outcome == "retry_scheduled":
            if d is not None and d.terminal is not None:
                self.anomalies.append(anomaly(
                    "retry_after_terminal", ev.eid, f"delivery already {d.terminal}; retry skipped"))
                return
            last = d.last_retry_attempt if d is not None else 0
            att = f["retry_attempt"]
            if att == last:
                self.anomalies.append(anomaly(
                    "duplicate_delivery", ev.eid, f"retry_attempt {att} already seen; skipped"))
                return
            if att < last:
                self.anomalies.append(anomaly(
                    "retry_attempt_regressed", ev.eid,
                    f"retry_attempt {att} below last seen {last}; skipped"))
                return
            if att > f["max_retries"]:
                extra.append(anomaly(
                    "retry_budget_exceeded", ev.eid,
                    f"retry_attempt {att} exceeds max_retries {f['max_retries']}"))
        else:  # replay_completed
            if d is not None and d.replayed:
                self.anomalies.append(anomaly(
                    "duplicate_delivery", ev.eid, "replay already completed for delivery; skipped"))
                return
        # applied
        for rule in ev.semantic:
            self.anomalies.append(anomaly("semantic_violation", ev.eid, f"semantic rule violated: {rule}"))
        self.anomalies.extend(extra)
        if d is None:
            d = Delivery(key[0], key[1])
            self.deliveries[key] = d
        d.status = outcome
        d.attempts += 1
        d.last_event_id = ev.eid
        if outcome in TERMINAL_OUTCOMES:
            d.terminal = outcome
        elif outcome == "retry_scheduled":
            d.last_retry_attempt = f["retry_attempt"]
        else:
            d.replayed = True
        self.outcome_counts[outcome] += 1
        if outcome == "accepted":
            self.ingested_items += f["ingested_count"]
        elif outcome == "replay_completed":
            self.replayed_items += f["replayed_count"]
        self.outcome_log.append([ev.eid, outcome, f["delivery_id"]])

    def to_dict(self, logs: bool) -> dict[str, Any]:
        d: dict[str, Any] = {
            "connector_id": self.connector_id,
            "outcome_counts": dict(self.outcome_counts),
            "ingested_items": self.ingested_items,
            "replayed_items": self.replayed_items,
            "pending_retries": sum(1 for x in self.deliveries.values() if x.status == "retry_scheduled"),
            "anomalies": self.anomalies,
        }
        if logs:
            d["outcome_log"] = self.outcome_log
            d["deliveries"] = [
                {"delivery_id": x.delivery_id, "source_event_fingerprint": x.fingerprint,
                 "status": x.status, "attempts": x.attempts, "last_event_id": x.last_event_id}
                for _, x in sorted(self.deliveries.items(), key=lambda kv: kv[0])
            ]
        return d


# ----------------------------------------------------------------------------
# External reference link index
# ----------------------------------------------------------------------------
LINK_FIELDS = [name for name, _ in PAYLOAD_FIELDS[EXTERNAL_REFERENCE_LINKED]]


class LinkIndex:
    def __init__(self) -> None:
        self.links: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.link_ids: dict[str, tuple[str, str, str]] = {}
        self.anomalies: list[dict[str, Any]] = []

    def fold(self, ev: Event) -> None:
        if not ev.pvalid:
            self.anomalies.append(anomaly("malformed_payload", ev.eid, ev.perror))
            return
        f = ev.fields
        key = (f["external_provider"], f["external_ref_type"], f["external_ref_id"])
        existing = self.links.get(key)
        if existing is not None:
            if (existing["internal_aggregate_type"], existing["internal_aggregate_id"]) == \
                    (f["internal_aggregate_type"], f["internal_aggregate_id"]):
                return  # absorbed
            self.anomalies.append(anomaly(
                "conflicting_link", ev.eid,
                "external reference already linked to another internal aggregate; skipped"))
            return
        if f["link_id"] in self.link_ids:
            self.anomalies.append(anomaly(
                "link_id_reused", ev.eid, "link_id already used for another external key; skipped"))
            return
        self.link_ids[f["link_id"]] = key
        rec = {k: f[k] for k in LINK_FIELDS}
        rec["recorded_at"] = f["recorded_at"].text
        self.links[key] = rec

    def to_dict(self) -> dict[str, Any]:
        rev: dict[tuple[str, str], list[list[str]]] = {}
        for key, rec in self.links.items():
            rev.setdefault((rec["internal_aggregate_type"], rec["internal_aggregate_id"]), []).append(list(key))
        return {
            "links": [self.links[k] for k in sorted(self.links)],
            "reverse_index": [
                {"internal_aggregate_type": t, "internal_aggregate_id": i,
                 "external_keys": sorted(keys)}
                for (t, i), keys in sorted(rev.items())
            ],
            "anomalies": self.anomalies,
        }


# ----------------------------------------------------------------------------
# Whole-log replay
# ----------------------------------------------------------------------------
def _short_hash(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()[:16]


def _safe_raw_id(obj: Any) -> str | None:
    if isinstance(obj, dict):
        raw = obj.get("event_id")
        n = norm_event_id(raw)
        if n is not None:
            return n
        if type(raw) is str and not _SURROGATE_RE.search(raw):
            return raw
    return None


class Replay:
    def __init__(self) -> None:
        self.stream_anomalies: list[dict[str, Any]] = []
        self.groups: dict[str, list[Event]] = {}
        self.stats = {"lines": 0, "blank": 0, "invalid": 0, "accepted": 0}

    def add_invalid(self, eid: str | None, msg: str) -> None:
        self.stats["invalid"] += 1
        self.stream_anomalies.append(anomaly("malformed_envelope", eid, msg))

    def add_mapping(self, obj: Any, limits_checked: bool = False) -> None:
        if not limits_checked:
            try:
                check_mapping_limits(obj)
            except InputLimitError as e:
                self.add_invalid(_safe_raw_id(obj), f"input limit: {e}")
                return
        try:
            ev = validate_envelope(obj)
        except EnvelopeError as e:
            self.add_invalid(_safe_raw_id(obj), f"invalid envelope: {e}")
            return
        self.stats["accepted"] += 1
        self.groups.setdefault(ev.eid, []).append(ev)

    def add_line(self, raw: bytes, blank_mode: str = "skip") -> None:
        self.stats["lines"] += 1
        if raw.strip(b" \t\r\n") == b"":
            self.stats["blank"] += 1
            if blank_mode == "anomaly":
                self.add_invalid(None, "blank line")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.add_invalid(None, "line is not valid UTF-8")
            return
        try:
            obj = parse_json_text(text)
        except InputLimitError as e:
            self.add_invalid(self._lenient_id(text), f"input limit: {e}")
            return
        except ValueError:
            self.add_invalid(None, "line is not valid JSON")
            return
        if not isinstance(obj, dict):
            self.add_invalid(None, "line is not a JSON object")
            return
        self.add_mapping(obj, limits_checked=True)

    @staticmethod
    def _lenient_id(text: str) -> str | None:
        try:
            obj = json.loads(text)
        except Exception:
            return None
        return _safe_raw_id(obj)

    def result(self, logs: bool = True) -> dict[str, Any]:
        stream = list(self.stream_anomalies)
        events: list[Event] = []
        dropped = 0
        for eid, copies in self.groups.items():
            distinct: dict[str, Event] = {}
            for c in copies:
                distinct.setdefault(c.canon, c)
            dropped += len(copies) - len(distinct)
            if len(distinct) == 1:
                events.append(copies[0])
                continue
            ranked = sorted(distinct.values(), key=lambda e: (not e.pvalid, e.sortkey, e.canon))
            win = ranked[0]
            events.append(win)
            for lose in ranked[1:]:
                stream.append(anomaly(
                    "conflicting_duplicate", eid,
                    f"copy {_short_hash(lose.canon)} ({'valid' if lose.pvalid else 'malformed'} payload) "
                    f"dropped; kept copy {_short_hash(win.canon)} "
                    f"({'valid' if win.pvalid else 'malformed'} payload)"))
        events.sort(key=lambda e: e.sortkey)

        connectors: dict[str, ConnectorState] = {}
        syncs: dict[str, SyncState] = {}
        links = LinkIndex()
        ignored = 0
        for ev in events:
            fam = ev.family
            if fam == "other":
                ignored += 1
                continue
            cid = ev.fields["connector_id"] if ev.pvalid else readable_connector_id(ev.payload)
            if cid is None:
                stream.append(anomaly("malformed_payload", ev.eid, f"{ev.etype}: {ev.perror}"))
                continue
            if fam == "connector":
                st = connectors.get(cid)
                if st is None:
                    st = connectors[cid] = ConnectorState(cid)
                st.fold(ev)
            elif fam == "sync":
                ss = syncs.get(cid)
                if ss is None:
                    ss = syncs[cid] = SyncState(cid)
                ss.fold(ev)
            else:
                links.fold(ev)

        stream.sort(key=lambda a: (a["kind"], (0, "") if a["event_id"] is None else (1, a["event_id"]),
                                   a["message"]))
        return {
            "contract_version": CONTRACT_VERSION,
            "event_count": len(events),
            "duplicates_dropped": dropped,
            "ignored_event_count": ignored,
            "connectors": {k: v.to_dict(logs) for k, v in connectors.items()},
            "sync": {k: v.to_dict(logs) for k, v in syncs.items()},
            "external_links": links.to_dict(),
            "anomalies": stream,
        }


def iter_lines(paths: list[str]):
    for p in paths:
        with open(p, "rb") as fh:
            data = fh.read()
        parts = data.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        for part in parts:
            yield part


def replay_lines(lines, logs: bool = True, blank_mode: str = "skip") -> tuple[dict[str, Any], dict[str, int]]:
    r = Replay()
    for raw in lines:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        r.add_line(raw, blank_mode)
    return r.result(logs), r.stats


def replay_mappings(objs, logs: bool = True) -> dict[str, Any]:
    r = Replay()
    for o in objs:
        r.add_mapping(o)
    return r.result(logs)


def dumps_projection(proj: dict[str, Any]) -> bytes:
    return canonical_json(proj).encode("utf-8")


def main(argv: list[str]) -> int:
    logs = True
    blank_mode = "skip"
    paths: list[str] = []
    for a in argv:
        if a == "--no-logs":
            logs = False
        elif a.startswith("--blank-lines="):
            blank_mode = a.split("=", 1)[1]
            if blank_mode not in ("skip", "anomaly"):
                print("--blank-lines must be skip or anomaly", file=sys.stderr)
                return 2
        elif a.startswith("--"):
            print(f"unknown option {a}", file=sys.stderr)
            return 2
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    proj, stats = replay_lines(iter_lines(paths), logs, blank_mode)
    sys.stdout.buffer.write(dumps_projection(proj) + b"\n")
    sys.stdout.buffer.flush()
    print(f"lines={stats['lines']} accepted={stats['accepted']} invalid={stats['invalid']} "
          f"blank={stats['blank']} (blank lines are "
          f"{'skipped' if blank_mode == 'skip' else 'malformed_envelope'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
