"""Copies (identical / conflicting) and invalid lines for produce.py."""
from __future__ import annotations

import copy
import datetime as dt
import json

from produce import dumps, fmt_ts, make_id


def add_copies_and_invalid(P, a):
    rng = P.rng
    base_events = [e for e in P.events if e["family"] in ("connector", "sync", "link")]
    conn_ids = sorted({e["conn"] for e in base_events if e["family"] == "connector"})

    # ---- identical duplicates, re-serialized by another producer style ----------
    for _ in range(a.dups):
        e = rng.choice(base_events)
        st = rng.choice(P.styles)
        P.emit(e["env"], st, {"cat": "dup_identical", "eid": e["eid"]})
        P.events.append(dict(e, env=copy.deepcopy(e["env"])))

    # ---- conflicting duplicates --------------------------------------------------
    for k in range(a.conflicts):
        e = rng.choice(base_events)
        env = copy.deepcopy(e["env"])
        st = e["style"]
        mode = k % 4
        delta = rng.choice([-1, 1]) * rng.randint(1, 3)
        env["lamport_clock"] = max(0, env["lamport_clock"] + delta)
        if env["lamport_clock"] == e["env"]["lamport_clock"]:
            env["lamport_clock"] += 1
        p = env["payload"]
        if mode == 0:
            p["mission_id"] = p["mission_id"] + "-v2"
        elif mode == 1 and e["family"] in ("connector", "sync"):  # names another connector
            other = rng.choice(conn_ids)
            p["connector_id"] = other
            env["aggregate_id"] = other
        elif mode == 2:  # malformed payload copy with a smaller sort key: valid copy must win
            env["lamport_clock"] = max(0, e["env"]["lamport_clock"] - 1)
            if env["lamport_clock"] == e["env"]["lamport_clock"]:
                continue
            p["recorded_at"] = "not a time"
        else:
            p["recorded_at"] = p["recorded_at"]  # same payload, only lamport differs
        valid_payload = mode != 2
        key = (env["lamport_clock"], e["key"][1], e["eid"])
        ev = {"eid": e["eid"], "key": key, "etype": e["etype"], "payload": p, "family": e["family"],
              "conn": p.get("connector_id"), "valid_payload": valid_payload, "env": env, "style": st}
        P.events.append(ev)
        P.emit(env, st, {"cat": f"dup_conflict_{mode}", "eid": e["eid"]})

    # malformed *envelope* copies reusing a valid event's id
    for _ in range(max(3, a.conflicts // 20)):
        e = rng.choice(base_events)
        env = copy.deepcopy(e["env"])
        env["lamport_clock"] = str(env["lamport_clock"])
        P.emit(env, e["style"], {"cat": "invalid_env", "why": "lamport string, reuses id", "eid": e["eid"],
                                 "field": "lamport_clock"})

    if not a.invalid:
        return

    # ---- invalid envelopes -------------------------------------------------------
    def fresh(etype="ConnectorHealthChecked", conn=None):
        c = conn or rng.choice(conn_ids)
        lamport, t = P.tick()
        st = rng.choice(P.styles)
        p = {"connector_id": c, "connector_type": "x", "provider": "y", "mission_id": "m",
             "project_uuid": P.project, "actor_id": "a", "actor_type": "service",
             "endpoint_url": "https://h.example/", "recorded_at": fmt_ts(t, st, rng),
             "health_status": "healthy", "latency_ms": 1.5}
        env, eid, key = P.envelope(etype, c, p, st, lamport=lamport, t=t)
        return env, st, eid, key

    def bad_env(mutate, field, why):
        env, st, eid, _ = fresh()
        r = mutate(env)
        line = r if isinstance(r, bytes) else dumps(env, st, rng)
        P.emit(None, st, {"cat": "invalid_env", "why": why, "field": field, "eid": eid}, line=line)

    muts = [
        (lambda e: dumps(e, P.styles[0], rng)[:57], "json", "truncated"),
        (lambda e: e.pop("node_id"), "node_id", "missing node_id"),
        (lambda e: e.pop("timestamp"), "timestamp", "missing timestamp"),
        (lambda e: e.update(lamport_clock="7"), "lamport_clock", "lamport string"),
        (lambda e: e.update(lamport_clock=-1), "lamport_clock", "lamport negative"),
        (lambda e: e.update(lamport_clock=2 ** 63), "lamport_clock", "lamport 2^63"),
        (lambda e: e.update(lamport_clock=True), "lamport_clock", "lamport bool"),
        (lambda e: e.update(event_id="01ARZ3NDEKTSV4RRFFQ69G5FAU"), "event_id", "ULID with U"),
        (lambda e: e.update(event_id="01ARZ3NDEKTSV4RRFFQ69G5FA"), "event_id", "ULID 25 chars"),
        (lambda e: e.update(timestamp="2026-03-01T10:00:00"), "timestamp", "naive timestamp"),
        (lambda e: e.update(data_tier=5), "data_tier", "data_tier 5"),
        (lambda e: e.update(data_tier="1"), "data_tier", "data_tier string"),
        (lambda e: e.update(payload=[1, 2]), "payload", "payload list"),
        (lambda e: e.update(event_type=""), "event_type", "empty event_type"),
        (lambda e: e.update(aggregate_id=""), "aggregate_id", "empty aggregate_id"),
        (lambda e: e.update(project_uuid="not-a-uuid"), "project_uuid", "bad project uuid"),
        (lambda e: e.update(schema_version="2.7"), "schema_version", "bad semver"),
        (lambda e: e.update(correlation_id="nope"), "correlation_id", "bad correlation"),
        (lambda e: e.update(node_id=7), "node_id", "node_id int"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_extra":NaN}', "x_extra", "NaN in unknown field"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_big":1e400}', "x_big", "1e400 in unknown field"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_big":18446744073709551616}', "x_big", "2^64 unknown"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_deep":' + b"[" * 70 + b"]" * 70 + b"}", "x_deep", "depth 70"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"node_id":"dup"}', "node_id", "repeated key"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_s":"\\ud800"}', "x_s", "lone surrogate"),
        (lambda e: dumps(e, P.styles[1], rng)[:-1] + b',"x_u":"\xff\xfe"}', "x_u", "invalid utf-8"),
        (lambda e: b"[1,2,3]", "-", "array line"),
        (lambda e: b"null", "-", "null line"),
        (lambda e: b"", "-", "blank line"),
        (lambda e: b"   \t ", "-", "whitespace-only line"),
        (lambda e: b'{"event_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"', "json", "unterminated object"),
    ]
    reps = a.invalid
    for _ in range(reps):
        for m, f, w in muts:
            bad_env(m, f, w)

    # ---- invalid payloads (envelope valid, known type) ---------------------------
    def bad_payload(etype, fam, field, why, **changes):
        env, st, eid, key = fresh(etype)
        p = env["payload"]
        if fam == "sync":
            for k in ("connector_type", "provider", "project_uuid", "actor_id", "actor_type",
                      "endpoint_url", "health_status", "latency_ms"):
                p.pop(k, None)
            p.update(delivery_id="d-bad", source_event_fingerprint="fp-bad", retry_attempt=1,
                     max_retries=2, next_retry_at=p["recorded_at"])
        for k, v in changes.items():
            if v is KeyError:
                p.pop(k, None)
            else:
                p[k] = v
        cid = p.get("connector_id")
        ev = {"eid": eid, "key": key, "etype": etype, "payload": p, "family": fam,
              "conn": cid, "valid_payload": False, "env": env, "style": st}
        P.events.append(ev)
        P.emit(env, st, {"cat": "invalid_payload", "why": why, "field": field, "eid": eid})

    H, R = "ConnectorHealthChecked", "SyncRetryScheduled"
    for _ in range(reps):
        bad_payload(H, "connector", "latency_ms", "latency string", latency_ms="12")
        bad_payload(H, "connector", "latency_ms", "latency negative", latency_ms=-1)
        bad_payload(H, "connector", "latency_ms", "latency bool", latency_ms=True)
        bad_payload(H, "connector", "health_status", "health ok", health_status="ok")
        bad_payload(H, "connector", "actor_type", "actor robot", actor_type="robot")
        bad_payload(H, "connector", "endpoint_url", "userinfo", endpoint_url="https://user:tok@h.example/x")
        bad_payload(H, "connector", "endpoint_url", "ftp", endpoint_url="ftp://h.example/x")
        bad_payload(H, "connector", "endpoint_url", "relative", endpoint_url="/hooks/1")
        bad_payload(H, "connector", "endpoint_url", "2049 chars", endpoint_url="https://h.example/" + "a" * 2031)
        bad_payload(H, "connector", "recorded_at", "naive recorded_at", recorded_at="2026-03-01T10:00:00")
        bad_payload(H, "connector", "mission_id", "missing mission", mission_id=KeyError)
        bad_payload(H, "connector", "connector_id", "missing connector_id (stream-level)", connector_id=KeyError)
        bad_payload(H, "connector", "connector_id", "empty connector_id (stream-level)", connector_id="")
        bad_payload(R, "sync", "retry_attempt", "retry 0", retry_attempt=0)
        bad_payload(R, "sync", "max_retries", "max float", max_retries=2.0)
        bad_payload("SyncIngestAccepted", "sync", "ingested_count", "ingested 0", ingested_count=0,
                    ingest_batch_id="b")
        bad_payload("SyncReplayCompleted", "sync", "replayed_count", "replayed -1", replayed_count=-1,
                    replay_id="r", replay_source="s")
        bad_payload("ConnectorReconnected", "connector", "previous_state", "prev unknown",
                    previous_state="unknown", reconnect_strategy="manual")

    # ---- unknown event types (other families / newer 2.x) ------------------------
    for _ in range(reps * 3):
        for et in ("MissionStarted", "ConnectorPaused", "WorkPackageCreated"):
            env, st, eid, key = fresh(et)
            ev = {"eid": eid, "key": key, "etype": et, "payload": env["payload"], "family": "other",
                  "conn": None, "valid_payload": True, "env": env, "style": st}
            P.events.append(ev)
            P.emit(env, st, {"cat": "unknown_type", "eid": eid})
