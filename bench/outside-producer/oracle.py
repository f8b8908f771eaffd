"""My own reading of CONTRACTS.md sections 2-5, as a reference fold."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

CONN = {"ConnectorProvisioned": "provisioned", "ConnectorDegraded": "degraded",
        "ConnectorRevoked": "revoked", "ConnectorReconnected": "reconnected"}
ALLOWED = {None: {"provisioned"}, "provisioned": {"healthy", "degraded", "revoked"},
           "healthy": {"degraded", "revoked"}, "degraded": {"healthy", "revoked", "reconnected"},
           "revoked": {"reconnected"}, "reconnected": {"healthy", "degraded", "revoked"}}
SYNC = {"SyncIngestAccepted": "accepted", "SyncIngestRejected": "rejected",
        "SyncRetryScheduled": "retry_scheduled", "SyncDeadLettered": "dead_lettered",
        "SyncReplayCompleted": "replay_completed"}
TERMINAL = {"accepted", "rejected", "dead_lettered"}


def parse_ts(s):
    s = s.replace("t", "T").replace("z", "Z").replace("Z", "+00:00")
    return dt.datetime.fromisoformat(s)


def iso(s):
    return parse_ts(s).astimezone(dt.timezone.utc)


def project(events, max_cycles=3):
    groups = defaultdict(list)
    for e in events:
        groups[e["eid"]].append(e)
    kept, dups, stream = [], 0, []
    for eid, g in groups.items():
        distinct = []
        for e in g:
            if any(e["env"] == d["env"] for d in distinct):
                dups += 1
            else:
                distinct.append(e)
        if len(distinct) > 1:
            distinct.sort(key=lambda e: (not e["valid_payload"], e["key"]))
            stream.append(("conflicting_duplicate", eid))
            if distinct[0]["key"] == distinct[1]["key"] and distinct[0]["valid_payload"] == distinct[1]["valid_payload"]:
                stream.append(("UNDECIDABLE_BY_ORACLE", eid))
        kept.append(distinct[0])
    kept.sort(key=lambda e: e["key"])
    out = {"event_count": len(kept), "duplicates_dropped": dups,
           "ignored_event_count": sum(1 for e in kept if e["family"] == "other")}

    conns, syncs = {}, {}
    for e in kept:
        if not e["valid_payload"]:
            cid = e["payload"].get("connector_id") if isinstance(e["payload"], dict) else None
            if e["family"] == "other":
                continue
            if isinstance(cid, str) and cid and e["family"] in ("connector", "sync"):
                tgt = conns if e["family"] == "connector" else syncs
                tgt.setdefault(cid, []).append(e)
            else:
                stream.append(("malformed_payload", e["eid"]))
            continue
        if e["family"] == "connector":
            conns.setdefault(e["payload"]["connector_id"], []).append(e)
        elif e["family"] == "sync":
            syncs.setdefault(e["payload"]["connector_id"], []).append(e)

    out["connectors"] = {cid: fold_conn(evs, max_cycles) for cid, evs in conns.items()}
    out["sync"] = {cid: fold_sync(evs) for cid, evs in syncs.items()}
    out["links"] = fold_links([e for e in kept if e["family"] == "link"])
    out["stream"] = sorted(stream)
    return out


def fold_conn(evs, max_cycles):
    s = {"state": None, "log": [], "anoms": [], "event_count": len(evs), "first": None,
         "last_health_status": None, "last_latency_ms": None, "last_health_check_at": None,
         "last_transition_at": None}
    rc = 0
    for e in evs:
        p, eid = e["payload"], e["eid"]
        if not e["valid_payload"]:
            s["anoms"].append(("malformed_payload", eid))
            continue
        if s["first"] is not None and (p["provider"], p["connector_type"]) != s["first"][:2]:
            s["anoms"].append(("identity_changed", eid))
        et = e["etype"]
        if et == "ConnectorHealthChecked":
            tgt = "healthy" if p["health_status"] == "healthy" else "degraded"
        else:
            tgt = CONN[et]
        cur = s["state"]
        if tgt == cur and cur in ("healthy", "degraded"):
            applied, trans = True, False
        elif tgt in ALLOWED[cur]:
            applied, trans = True, True
        else:
            s["anoms"].append(("invalid_transition", eid))
            continue
        if et == "ConnectorDegraded" and iso(p["last_healthy_at"]) > iso(p["recorded_at"]):
            s["anoms"].append(("semantic_violation", eid))
        if et == "ConnectorReconnected":
            if p["previous_state"] != cur:
                s["anoms"].append(("previous_state_mismatch", eid))
        if et == "ConnectorHealthChecked":
            s["last_health_status"] = p["health_status"]
            s["last_latency_ms"] = float(p["latency_ms"])
            s["last_health_check_at"] = iso(p["recorded_at"])
        if s["first"] is None:
            s["first"] = (p["provider"], p["connector_type"], p["mission_id"])
        if trans:
            s["state"] = tgt
            s["log"].append((eid, tgt))
            s["last_transition_at"] = iso(p["recorded_at"])
            if tgt == "healthy":
                rc = 0
            if tgt == "reconnected":
                rc += 1
                if rc > max_cycles:
                    s["anoms"].append(("reconnect_loop", eid))
    return s


def fold_sync(evs):
    s = {"counts": {v: 0 for v in SYNC.values()}, "ingested": 0, "replayed": 0, "anoms": [],
         "log": [], "deliveries": {}}
    for e in evs:
        p, eid = e["payload"], e["eid"]
        if not e["valid_payload"]:
            s["anoms"].append(("malformed_payload", eid))
            continue
        out = SYNC[e["etype"]]
        k = (p["delivery_id"], p["source_event_fingerprint"])
        d = s["deliveries"].setdefault(k, {"status": None, "last_retry": 0, "replayed": False,
                                            "attempts": 0, "last_event_id": None})
        st = d["status"]
        anoms = []
        if out in TERMINAL:
            if d.get("term"):
                s["anoms"].append(("duplicate_delivery" if d["term"] == out else "conflicting_outcome", eid))
                continue
            d["status"] = out
            d["term"] = out
        elif out == "retry_scheduled":
            if d.get("term"):
                s["anoms"].append(("retry_after_terminal", eid))
                continue
            a = p["retry_attempt"]
            if a == d["last_retry"]:
                s["anoms"].append(("duplicate_delivery", eid))
                continue
            if a < d["last_retry"]:
                s["anoms"].append(("retry_attempt_regressed", eid))
                continue
            d["last_retry"] = a
            d["status"] = out
            if a > p["max_retries"]:
                anoms.append(("retry_budget_exceeded", eid))
            elif iso(p["next_retry_at"]) < iso(p["recorded_at"]):
                anoms.append(("semantic_violation", eid))
        else:
            if d["replayed"]:
                s["anoms"].append(("duplicate_delivery", eid))
                continue
            d["replayed"] = True
            d["status"] = out
        s["anoms"].extend(anoms)
        s["counts"][out] += 1
        s["log"].append((eid, out, p["delivery_id"]))
        d["last_event_id"] = eid
        if out == "accepted":
            s["ingested"] += p["ingested_count"]
        if out == "replay_completed":
            s["replayed"] += p["replayed_count"]
    s["pending"] = sum(1 for d in s["deliveries"].values() if d["last_retry"] and not d.get("term"))
    s["deliveries"] = {"|".join(k): v["status"] for k, v in s["deliveries"].items()}
    return s


def fold_links(evs):
    links, by_id, anoms = {}, {}, []
    for e in evs:
        p, eid = e["payload"], e["eid"]
        if not e["valid_payload"]:
            anoms.append(("malformed_payload", eid))
            continue
        k = (p["external_provider"], p["external_ref_type"], p["external_ref_id"])
        agg = (p["internal_aggregate_type"], p["internal_aggregate_id"])
        if p["link_id"] in by_id and by_id[p["link_id"]] != k:
            anoms.append(("link_id_reused", eid))
            continue
        if k in links:
            if links[k]["agg"] != agg:
                anoms.append(("conflicting_link", eid))
            continue
        links[k] = {"agg": agg, "event_id": eid, "link_id": p["link_id"]}
        by_id[p["link_id"]] = k
    return {"links": {"|".join(k): v["event_id"] for k, v in links.items()}, "anoms": anoms}
