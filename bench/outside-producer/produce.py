#!/usr/bin/env python3
"""Independent producer of connector-sync JSONL logs, written from CONTRACTS.md only.

Writes OUT.jsonl (lines in producer order), OUT.meta.json (per-line intent) and
OUT.expected.json (what an implementation of the spec should project, computed by
the oracle at the bottom of this file).

usage: produce.py --seed S --connectors K --out PREFIX [--scale N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import uuid

CROCK = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)

PROVIDERS = [("github", "app-installation"), ("jira", "webhook"), ("slack", "events-api"),
             ("gitlab", "oauth-app"), ("circleci", "ci-webhook"), ("linear", "graphql-sub")]
FREE_TEXT = [
    "upstream returned 503", "token expirée — réautorisation requise", "接続がタイムアウトしました",
    "rate limited 🚦 retry later", 'quota "hard" limit hit', "path C:\\temp\\queue is full",
    "line one\nline two", "tab\tseparated", "naïve façade señor Ærø", "Ελληνικά και русский",
    "emoji 🔥🧯 and ZWJ 👩‍💻", "slash / and back \\ slash", "\u2028line sep", "ok",
]
MISSIONS = ["mission-onboarding", "mission-été", "ミッション-7", "mission-🚀", "mission-prod"]


def ulid(ms: int, rng: random.Random) -> str:
    t = ""
    for _ in range(10):
        t = CROCK[ms % 32] + t
        ms //= 32
    return t + "".join(rng.choice(CROCK) for _ in range(16))


class Style:
    """One producer's serialization habits."""

    def __init__(self, rng: random.Random, idx: int):
        self.rng = rng
        self.name = f"style{idx}"
        self.sep = rng.choice([(",", ":"), (", ", ": "), (" ,", " : "), (",\t", ":\t"), (",  ", ":")])
        self.ascii = rng.random() < 0.4
        self.slash = rng.random() < 0.3
        self.shuffle_keys = rng.random() < 0.5
        self.id_form = rng.choice(["ulid", "ulid", "ulid_lower", "uuid", "uuid32", "uuid_upper"])
        self.ts_offset = rng.choice([0, 0, 330, -480, 345, -210, 840, -720, 60])
        self.ts_z = rng.choice(["Z", "+00:00", "z"])
        self.ts_frac = rng.choice([0, 0, 1, 3, 6])
        self.ts_lower_t = rng.random() < 0.1
        self.extra_env = rng.random() < 0.3
        self.extra_payload = rng.random() < 0.3
        self.nulls = rng.random() < 0.5
        self.schema_version = rng.choice([None, "2.7.0", "2.7.1", "2.9.0"])


def fmt_ts(t: dt.datetime, st: Style, rng: random.Random, off: int | None = None) -> str:
    off = st.ts_offset if off is None else off
    local = t.astimezone(dt.timezone(dt.timedelta(minutes=off)))
    s = local.strftime("%Y-%m-%dT%H:%M:%S")
    if st.ts_frac:
        s += "." + f"{local.microsecond:06d}"[: st.ts_frac]
    if off == 0:
        s += st.ts_z
    else:
        sign = "+" if off > 0 else "-"
        s += f"{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}"
    if st.ts_lower_t:
        s = s.replace("T", "t")
    return s


def trunc_time(t: dt.datetime, st: Style) -> dt.datetime:
    """The instant a style's string actually denotes (fraction truncated)."""
    if st.ts_frac == 0:
        return t.replace(microsecond=0)
    keep = 10 ** (6 - st.ts_frac)
    return t.replace(microsecond=(t.microsecond // keep) * keep)


def make_id(ms: int, st: Style, rng: random.Random) -> tuple[str, str]:
    """(written form, normalized form)"""
    if st.id_form.startswith("ulid"):
        u = ulid(ms, rng)
        return (u.lower() if st.id_form == "ulid_lower" else u), u
    u = uuid.UUID(int=rng.getrandbits(128), version=4)
    norm = str(u)
    if st.id_form == "uuid32":
        return u.hex, norm
    if st.id_form == "uuid_upper":
        return norm.upper(), norm
    return norm, norm


def dumps(obj, st: Style, rng: random.Random) -> bytes:
    def reorder(o):
        if isinstance(o, dict):
            items = [(k, reorder(v)) for k, v in o.items()]
            if st.shuffle_keys:
                rng.shuffle(items)
            return dict(items)
        if isinstance(o, list):
            return [reorder(v) for v in o]
        return o

    s = json.dumps(reorder(obj), ensure_ascii=st.ascii, separators=st.sep, allow_nan=False)
    if st.slash:
        s = s.replace("/", "\\/")
    return s.encode("utf-8")


class Producer:
    def __init__(self, seed: int, n_conn: int, scale: int):
        self.rng = random.Random(seed)
        self.styles = [Style(self.rng, i) for i in range(14)]
        self.n_conn = n_conn
        self.scale = scale
        self.lamport = 0
        self.t = BASE
        self.lines: list[tuple[bytes, dict]] = []  # (bytes, meta)
        self.events: list[dict] = []  # valid-envelope events for the oracle
        self.project = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # ---- envelope construction -------------------------------------------------
    def tick(self, secs=None):
        self.lamport += 1
        self.t += dt.timedelta(seconds=secs if secs is not None else self.rng.randint(1, 90),
                               microseconds=self.rng.randint(0, 999999))
        return self.lamport, self.t

    def envelope(self, etype, agg, payload, st: Style, lamport=None, t=None, ts_off=None,
                 eid=None):
        rng = self.rng
        if lamport is None:
            lamport, t = self.tick()
        ms = int(t.timestamp() * 1000)
        if eid is None:
            eid_w, eid_n = make_id(ms, st, rng)
        else:
            eid_w, eid_n = eid
        cor_w, _ = make_id(ms, st, rng)
        env = {
            "event_id": eid_w, "event_type": etype, "aggregate_id": agg, "payload": payload,
            "timestamp": fmt_ts(t, st, rng, ts_off), "node_id": f"node-{st.name}",
            "lamport_clock": lamport, "project_uuid": self.project if rng.random() < 0.7 else self.project.upper(),
            "correlation_id": cor_w,
        }
        if st.nulls:
            env["causation_id"] = None
            env["build_id"] = None
            env["project_slug"] = None
        else:
            if rng.random() < 0.5:
                env["causation_id"] = make_id(ms, st, rng)[0]
            if rng.random() < 0.5:
                env["build_id"] = f"build-{rng.randint(1, 999)}"
            if rng.random() < 0.3:
                env["project_slug"] = "projet-é"
        if st.schema_version:
            env["schema_version"] = st.schema_version
        if rng.random() < 0.3:
            env["data_tier"] = rng.randint(0, 4)
        if st.extra_env:
            env["x_trace"] = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                              "hops": [1, 2.5, None, True, "∆"]}
            env["ingested_at"] = "2026-03-01T00:00:00Z"
        key = (lamport, trunc_time(t, st), eid_n)
        return env, eid_n, key

    def emit(self, env, st, meta, line=None):
        b = line if line is not None else dumps(env, st, self.rng)
        self.lines.append((b, meta))
        return b

    def add_event(self, etype, agg, payload, st, family, conn, intent=None, **kw):
        env, eid, key = self.envelope(etype, agg, payload, st, **kw)
        ev = {"eid": eid, "key": key, "etype": etype, "payload": payload, "family": family,
              "conn": conn, "valid_payload": True, "env": env, "style": st}
        self.events.append(ev)
        self.emit(env, st, {"cat": "valid", "eid": eid, "intent": intent})
        return env, ev

    # ---- payloads ----------------------------------------------------------------
    def conn_base(self, c, t, st):
        p = {
            "connector_id": c["id"], "connector_type": c["type"], "provider": c["provider"],
            "mission_id": c["mission"], "project_uuid": self.project, "actor_id": c["actor"],
            "actor_type": self.rng.choice(["human", "service", "system"]),
            "endpoint_url": c["url"], "recorded_at": fmt_ts(t - dt.timedelta(seconds=1), st, self.rng,
                                                             self.rng.choice([0, 120, -300])),
        }
        if st.extra_payload:
            p["region"] = self.rng.choice(["eu-west-1", "ap-northeast-1"])
            p["labels"] = {"tier": "gold", "note": self.rng.choice(FREE_TEXT)}
        return p

    def conn_event(self, c, target_etype, st, intent=None, **fields):
        lamport, t = self.tick()
        p = self.conn_base(c, t, st)
        p.update(fields)
        return self.add_event(target_etype, c["id"], p, st, "connector", c["id"], intent,
                              lamport=lamport, t=t)

    # ---- connector walks ----------------------------------------------------------
    def connector(self, i):
        rng = self.rng
        prov, ctype = rng.choice(PROVIDERS)
        cid = f"{prov}-{i:04d}"
        if rng.random() < 0.05:
            cid += rng.choice(["-société", "-東京", "-🚀", "-Ärger"])
        c = {"id": cid, "provider": prov, "type": ctype, "mission": rng.choice(MISSIONS),
             "actor": rng.choice(["connector-supervisor", "ops-élodie", "bot"]),
             "url": rng.choice([f"https://api.{prov}.com/v3/hooks/{i}", f"http://{prov}.internal:8080/x?y=1&z=é",
                                f"https://[2001:db8::1]/hooks/{i}", f"https://xn--bcher-kva.example/{i}"])}
        st = rng.choice(self.styles)
        state = None
        healthy_since_rc = True
        rc = 0
        self.conn_event(c, "ConnectorProvisioned", st)
        state = "provisioned"
        n = rng.randint(2, 12) * self.scale
        for _ in range(n):
            st = rng.choice(self.styles) if rng.random() < 0.2 else st
            r = rng.random()
            if state in ("provisioned", "healthy", "degraded", "reconnected") and r < 0.45:
                hs = rng.choice(["healthy"] * 4 + ["degraded", "unreachable"])
                self.conn_event(c, "ConnectorHealthChecked", st, health_status=hs,
                                latency_ms=rng.choice([0, 0.0, 12, 63.5, 1e-3, 2500.25, 99999]))
                state = "healthy" if hs == "healthy" else "degraded"
            elif state in ("provisioned", "healthy", "reconnected") and r < 0.7:
                lamport, t = self.tick()
                self.conn_event_at(c, "ConnectorDegraded", st, lamport, t,
                                   degradation_reason=rng.choice(FREE_TEXT),
                                   last_healthy_at=fmt_ts(t - dt.timedelta(minutes=5), st, rng))
                state = "degraded"
            elif state in ("degraded", "revoked") and r < 0.8:
                self.conn_event(c, "ConnectorReconnected", st, previous_state=state,
                                reconnect_strategy=rng.choice(["automatic", "manual", "backoff"]))
                state = "reconnected"
            elif state != "revoked" and r < 0.85:
                self.conn_event(c, "ConnectorRevoked", st, revocation_reason=rng.choice(FREE_TEXT))
                state = "revoked"
            elif state == "degraded":
                self.conn_event(c, "ConnectorDegraded", st, degradation_reason="still bad",
                                last_healthy_at=fmt_ts(self.t - dt.timedelta(hours=1), st, rng))
        c["style"] = st
        c["state"] = state
        return c

    def conn_event_at(self, c, etype, st, lamport, t, intent=None, ts_off=None, **fields):
        p = self.conn_base(c, t, st)
        p.update(fields)
        return self.add_event(etype, c["id"], p, st, "connector", c["id"], intent,
                              lamport=lamport, t=t, ts_off=ts_off)

    # ---- deliveries ---------------------------------------------------------------
    def sync_base(self, c, did, fp, t, st):
        p = {"delivery_id": did, "source_event_fingerprint": fp, "connector_id": c["id"],
             "mission_id": c["mission"], "recorded_at": fmt_ts(t, st, self.rng)}
        if st.extra_payload:
            p["attempt_latency_ms"] = 17
            p["headers"] = {"X-GitHub-Event": "push", "note": "é"}
        return p

    def sync_event(self, c, etype, did, fp, st, intent=None, **fields):
        lamport, t = self.tick()
        p = self.sync_base(c, did, fp, t, st)
        p.update(fields)
        return self.add_event(etype, c["id"], p, st, "sync", c["id"], intent, lamport=lamport, t=t)

    def retry_fields(self, attempt, mx):
        return {"retry_attempt": attempt, "max_retries": mx,
                "next_retry_at": fmt_ts(self.t + dt.timedelta(minutes=attempt + 5), self.rng.choice(self.styles), self.rng)}

    def deliveries(self, c):
        rng = self.rng
        for d in range(rng.randint(0, 8) * self.scale):
            st = rng.choice(self.styles)
            did = f"{c['id']}-dlv-{d:05d}"
            fp = "sha256:" + "%016x" % rng.getrandbits(64)
            mx = rng.randint(1, 5)
            nretry = rng.choice([0, 0, 0, 1, 2, 3])
            for a in range(1, nretry + 1):
                if a > mx:
                    break
                lamport, t = self.tick()
                p = self.sync_base(c, did, fp, t, st)
                p.update(retry_attempt=a, max_retries=mx,
                         next_retry_at=fmt_ts(t + dt.timedelta(minutes=a), st, rng))
                self.add_event("SyncRetryScheduled", c["id"], p, st, "sync", c["id"], lamport=lamport, t=t)
            if rng.random() < 0.15:
                continue  # still pending
            outcome = rng.choice(["acc", "acc", "acc", "rej", "dead"])
            if outcome == "acc":
                self.sync_event(c, "SyncIngestAccepted", did, fp, st, ingest_batch_id=f"batch-{rng.randint(1, 9999)}",
                                ingested_count=rng.choice([1, 2, 50, 1000]))
            elif outcome == "rej":
                self.sync_event(c, "SyncIngestRejected", did, fp, st, rejection_reason=rng.choice(FREE_TEXT),
                                rejected_payload_ref=f"s3://rej/{did}")
            else:
                self.sync_event(c, "SyncDeadLettered", did, fp, st, failure_reason=rng.choice(FREE_TEXT),
                                total_attempts=nretry + 1, dead_letter_ref=f"dlq://{did}")
                if rng.random() < 0.5:
                    self.sync_event(c, "SyncReplayCompleted", did, fp, st, replay_id=f"rp-{d}",
                                    replay_source="dlq", replayed_count=rng.choice([0, 1, 3]))

    def links(self, c):
        rng = self.rng
        for k in range(rng.randint(0, 3)):
            st = rng.choice(self.styles)
            ref = f"{c['id']}#{k}"
            self.link(c, st, f"lnk-{c['id']}-{k}", c["provider"], "pull_request", ref, "work_package",
                      f"WP{rng.randint(1, 40):02d}")

    def link(self, c, st, link_id, prov, rtype, ref, atype, aid, intent=None):
        lamport, t = self.tick()
        p = {"link_id": link_id, "connector_id": c["id"], "external_provider": prov,
             "external_ref_type": rtype, "external_ref_id": ref, "internal_aggregate_type": atype,
             "internal_aggregate_id": aid, "mission_id": c["mission"], "linked_by": "sync-bot-ü",
             "external_ref_url": f"https://{prov}.example.com/{rtype}/{ref.replace('#', '%23')}",
             "recorded_at": fmt_ts(t, st, rng_or(self.rng))}
        return self.add_event("ExternalReferenceLinked", f"link-{link_id}", p, st, "link", c["id"], intent,
                              lamport=lamport, t=t)

    # ---- rule breakers ------------------------------------------------------------
    def breakers(self, conns):
        rng = self.rng
        st0 = self.styles[0]
        out = []
        for j in range(max(20, len(conns) // 8)):
            c = self.connector(10000 + j)
            st = c["style"]
            kind = j % 9
            if kind == 0:  # illegal transition: provisioned again / revoked twice
                if c["state"] == "revoked":
                    self.conn_event(c, "ConnectorRevoked", st, intent="invalid_transition", revocation_reason="again")
                else:
                    self.conn_event(c, "ConnectorProvisioned", st, intent="invalid_transition")
            elif kind == 1:  # previous_state mismatch
                if c["state"] in ("degraded", "revoked"):
                    wrong = "healthy" if c["state"] == "degraded" else "degraded"
                    self.conn_event(c, "ConnectorReconnected", st, intent="previous_state_mismatch",
                                    previous_state=wrong, reconnect_strategy="manual")
                else:
                    self.conn_event(c, "ConnectorRevoked", st, revocation_reason="x")
                    self.conn_event(c, "ConnectorReconnected", st, intent="previous_state_mismatch",
                                    previous_state="healthy", reconnect_strategy="manual")
            elif kind == 2:  # reconnect loop
                if c["state"] != "revoked":
                    self.conn_event(c, "ConnectorRevoked", st, revocation_reason="loop start")
                for cyc in range(5):
                    self.conn_event(c, "ConnectorReconnected", st,
                                    intent="reconnect_loop" if cyc >= 3 else None,
                                    previous_state="revoked" if cyc == 0 else "degraded",
                                    reconnect_strategy="backoff")
                    self.conn_event(c, "ConnectorHealthChecked", st, health_status="unreachable", latency_ms=5000)
            elif kind == 3:  # identity change (observation event so state is unaffected)
                c2 = dict(c)
                c2["provider"] = "bitbucket"
                if c["state"] in ("revoked",):
                    self.conn_event(c, "ConnectorReconnected", st, previous_state="revoked", reconnect_strategy="manual")
                self.conn_event(c2, "ConnectorHealthChecked", st, intent="identity_changed", health_status="degraded",
                                latency_ms=1)
            elif kind == 4:  # semantic violation last_healthy_at > recorded_at
                if c["state"] in ("revoked", "degraded"):
                    self.conn_event(c, "ConnectorReconnected", st, previous_state=c["state"], reconnect_strategy="manual")
                lamport, t = self.tick()
                self.conn_event_at(c, "ConnectorDegraded", st, lamport, t, intent="semantic_violation",
                                   degradation_reason="clock skew",
                                   last_healthy_at=fmt_ts(t + dt.timedelta(hours=2), st, rng))
            elif kind == 5:  # sync: duplicate_delivery, conflicting_outcome, regress, after terminal, budget
                did, fp = f"{c['id']}-bad", "sha256:badbadbadbadbad0"
                self.sync_event(c, "SyncRetryScheduled", did, fp, st, **self.retry_fields(2, 3))
                self.sync_event(c, "SyncRetryScheduled", did, fp, st, intent="duplicate_delivery", **self.retry_fields(2, 3))
                self.sync_event(c, "SyncRetryScheduled", did, fp, st, intent="retry_attempt_regressed", **self.retry_fields(1, 3))
                self.sync_event(c, "SyncRetryScheduled", did, fp, st, intent="retry_budget_exceeded", **self.retry_fields(4, 3))
                self.sync_event(c, "SyncIngestAccepted", did, fp, st, ingest_batch_id="b1", ingested_count=3)
                self.sync_event(c, "SyncIngestAccepted", did, fp, st, intent="duplicate_delivery", ingest_batch_id="b1", ingested_count=3)
                self.sync_event(c, "SyncIngestRejected", did, fp, st, intent="conflicting_outcome",
                                rejection_reason="late", rejected_payload_ref="r")
                self.sync_event(c, "SyncRetryScheduled", did, fp, st, intent="retry_after_terminal", **self.retry_fields(5, 9))
                # same delivery_id, other fingerprint: a different key, applied
                self.sync_event(c, "SyncIngestAccepted", did, "sha256:other", st, ingest_batch_id="b2", ingested_count=2)
            elif kind == 6:  # sync semantic: next_retry_at before recorded_at; replay twice
                did, fp = f"{c['id']}-sem", "sha256:semsemsemsemsem0"
                lamport, t = self.tick()
                p = self.sync_base(c, did, fp, t, st)
                p.update(retry_attempt=1, max_retries=2, next_retry_at=fmt_ts(t - dt.timedelta(hours=1), st, rng))
                self.add_event("SyncRetryScheduled", c["id"], p, st, "sync", c["id"], "semantic_violation",
                               lamport=lamport, t=t)
                self.sync_event(c, "SyncDeadLettered", did, fp, st, failure_reason="gave up", total_attempts=2,
                                dead_letter_ref="dlq://x")
                self.sync_event(c, "SyncReplayCompleted", did, fp, st, replay_id="r1", replay_source="dlq", replayed_count=4)
                self.sync_event(c, "SyncReplayCompleted", did, fp, st, intent="duplicate_delivery", replay_id="r2",
                                replay_source="dlq", replayed_count=4)
            elif kind == 7:  # links: conflicting_link, link_id_reused, absorbed
                ref = f"{c['id']}-ISSUE-1"
                self.link(c, st, f"L-{c['id']}-a", "jira", "issue", ref, "work_package", "WP-A")
                self.link(c, st, f"L-{c['id']}-b", "jira", "issue", ref, "work_package", "WP-A")  # absorbed
                self.link(c, st, f"L-{c['id']}-c", "jira", "issue", ref, "work_package", "WP-B", intent="conflicting_link")
                self.link(c, st, f"L-{c['id']}-a", "jira", "issue", ref + "-other", "mission", "M1", intent="link_id_reused")
            elif kind == 8:  # ordering by instant, not string: same lamport, offsets disagree
                c3 = {"id": f"order-{j:04d}", "provider": "github", "type": "app", "mission": "m", "actor": "a",
                      "url": "https://x.example/"}
                lamport, _ = self.tick()
                t1 = BASE + dt.timedelta(days=40, hours=8)  # 08:00Z written as 13:00+05:00
                t2 = BASE + dt.timedelta(days=40, hours=9)  # 09:00Z
                stA = Style(random.Random(1), 99); stA.ts_frac = 0; stA.ts_z = "Z"
                self.conn_event_at(c3, "ConnectorHealthChecked", stA, lamport, t2, ts_off=0,
                                   health_status="healthy", latency_ms=1)
                self.conn_event_at(c3, "ConnectorProvisioned", stA, lamport, t1, ts_off=300)
                # same lamport and instant: event_id decides, compared normalized (upper case)
                c4 = dict(c3, id=f"order-id-{j:04d}")
                lamport, _ = self.tick()
                base = ulid(int(t1.timestamp() * 1000), rng)[:25]
                idA, idB = base + "A", base + "B"
                self.conn_event_at(c4, "ConnectorProvisioned", stA, lamport, t1, ts_off=0, eid=(idA.lower(), idA))
                self.conn_event_at(c4, "ConnectorHealthChecked", stA, lamport, t1, ts_off=0, eid=(idB, idB),
                                   health_status="healthy", latency_ms=1)
            out.append(c)
        return out


def rng_or(r):
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--connectors", type=int, default=300)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--dups", type=int, default=300)
    ap.add_argument("--conflicts", type=int, default=120)
    ap.add_argument("--invalid", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    P = Producer(a.seed, a.connectors, a.scale)
    conns = []
    for i in range(a.connectors):
        c = P.connector(i)
        P.deliveries(c)
        P.links(c)
        conns.append(c)
    P.breakers(conns)
    import extras
    extras.add_copies_and_invalid(P, a)
    rng = P.rng
    # interleave: producers flush in batches, roughly time ordered with jitter
    idx = list(range(len(P.lines)))
    idx.sort(key=lambda i: i + rng.randint(-400, 400))
    lines = [P.lines[i] for i in idx]
    with open(a.out + ".jsonl", "wb") as f:
        for b, _ in lines:
            f.write(b + b"\n")
    meta = [dict(m, line=n + 1) for n, (_, m) in enumerate(lines)]
    with open(a.out + ".meta.json", "w") as f:
        json.dump(meta, f, ensure_ascii=False)
    import oracle
    exp = oracle.project(P.events)
    with open(a.out + ".expected.json", "w") as f:
        json.dump(exp, f, ensure_ascii=False, sort_keys=True, indent=1, default=lambda o: o.isoformat())
    print(f"{len(lines)} lines, {len(P.events)} valid-envelope events")


if __name__ == "__main__":
    main()
