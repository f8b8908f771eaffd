#!/usr/bin/env python3
"""Hand-written tests for reference.py.  Run: python3 -m unittest test_reference  (or python3 test_reference.py)"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

PUUID = "62fdd188-91a4-4fe9-8e1a-0c0ac952b37f"
_counter = [0]


def ulid(n: int) -> str:
    s = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = ""
    for _ in range(26):
        out = s[n % 32] + out
        n //= 32
    return out


def env(etype: str, payload: dict, lamport: int | None = None, eid: str | None = None,
        ts: str = "2024-01-01T00:00:00Z", **extra) -> dict:
    _counter[0] += 1
    if lamport is None:
        lamport = _counter[0]
    if eid is None:
        eid = ulid(10_000 + _counter[0])
    d = {"event_id": eid, "event_type": etype, "aggregate_id": "agg", "payload": payload,
         "timestamp": ts, "node_id": "n1", "lamport_clock": lamport, "project_uuid": PUUID,
         "correlation_id": eid}
    d.update(extra)
    return d


def conn(etype: str, cid: str = "c1", rec: str = "2024-01-01T00:00:00Z", **fields) -> dict:
    p = {"connector_id": cid, "connector_type": "webhook", "provider": "github",
         "mission_id": "m1", "actor_id": "a1", "project_uuid": PUUID, "actor_type": "service",
         "endpoint_url": "https://api.github.com/hooks/1", "recorded_at": rec}
    if etype == R.CONNECTOR_HEALTH_CHECKED:
        p.update(health_status="healthy", latency_ms=12.5)
    elif etype == R.CONNECTOR_DEGRADED:
        p.update(degradation_reason="slow", last_healthy_at="2023-12-31T00:00:00Z")
    elif etype == R.CONNECTOR_REVOKED:
        p.update(revocation_reason="token revoked")
    elif etype == R.CONNECTOR_RECONNECTED:
        p.update(previous_state="degraded", reconnect_strategy="automatic")
    p.update(fields)
    return p


def sync(etype: str, cid: str = "c1", did: str = "d1", fp: str = "fp1",
         rec: str = "2024-01-01T00:00:00Z", **fields) -> dict:
    p = {"delivery_id": did, "source_event_fingerprint": fp, "connector_id": cid,
         "mission_id": "m1", "recorded_at": rec}
    if etype == R.SYNC_INGEST_ACCEPTED:
        p.update(ingest_batch_id="b1", ingested_count=5)
    elif etype == R.SYNC_INGEST_REJECTED:
        p.update(rejection_reason="bad", rejected_payload_ref="ref")
    elif etype == R.SYNC_RETRY_SCHEDULED:
        p.update(retry_attempt=1, max_retries=3, next_retry_at="2024-01-01T01:00:00Z")
    elif etype == R.SYNC_DEAD_LETTERED:
        p.update(failure_reason="gone", total_attempts=3, dead_letter_ref="dlq/1")
    elif etype == R.SYNC_REPLAY_COMPLETED:
        p.update(replay_id="r1", replay_source="archive", replayed_count=7)
    p.update(fields)
    return p


def link(link_id: str = "L1", ref: str = "OPS-1", agg: str = "WP01", cid: str = "c1", **fields) -> dict:
    p = {"link_id": link_id, "connector_id": cid, "external_provider": "jira",
         "external_ref_type": "issue", "external_ref_id": ref,
         "internal_aggregate_type": "WorkPackage", "internal_aggregate_id": agg,
         "mission_id": "m1", "linked_by": "alice", "external_ref_url": "https://jira.example/OPS-1",
         "recorded_at": "2024-01-01T00:00:00Z"}
    p.update(fields)
    return p


def lines_of(envs) -> list[bytes]:
    out = []
    for e in envs:
        out.append(e if isinstance(e, bytes) else json.dumps(e).encode())
    return out


def run(envs, logs=True, blank_mode="skip"):
    proj, _ = R.replay_lines(lines_of(envs), logs, blank_mode)
    return proj


def run_bytes(envs, logs=True) -> bytes:
    return R.dumps_projection(run(envs, logs))


def kinds(anoms):
    return [a["kind"] for a in anoms]


class EnvelopeTests(unittest.TestCase):
    def test_valid_minimal_and_ignored_family(self):
        p = run([env("MissionClosed", {"x": 1})])
        self.assertEqual(p["event_count"], 1)
        self.assertEqual(p["ignored_event_count"], 1)
        self.assertEqual(p["anomalies"], [])
        self.assertEqual(p["contract_version"], "2.7.0")
        self.assertEqual(sorted(p), ["anomalies", "connectors", "contract_version", "duplicates_dropped",
                                     "event_count", "external_links", "ignored_event_count", "sync"])

    def bad(self, e, n=1):
        p = run([e])
        self.assertEqual(kinds(p["anomalies"]), ["malformed_envelope"] * n, p["anomalies"])
        self.assertEqual(p["event_count"], 0)
        return p

    def good(self, e):
        p = run([e])
        self.assertEqual(p["anomalies"], [], e)
        self.assertEqual(p["event_count"], 1)
        return p

    def test_event_id_forms(self):
        self.good(env("X", {}, eid="01hjn12xp9s9f9161qbfve7eza"))
        self.good(env("X", {}, eid="2D15D425-9BD1-4670-9C19-CF4712D757BE"))
        self.good(env("X", {}, eid="2d15d4259bd146709c19cf4712d757be"))
        for bad in ["01HJN12XP9S9F9161QBFVE7EZI", "01HJN12XP9S9F9161QBFVE7EZL", "01HJN12XP9S9F9161QBFVE7EZO",
                    "01HJN12XP9S9F9161QBFVE7EZU", "01HJN12XP9S9F9161QBFVE7EZ", "{2d15d425-9bd1-4670-9c19-cf4712d757be}",
                    "urn:uuid:2d15d425-9bd1-4670-9c19-cf4712d757be", "", 5, None]:
            e = env("X", {})
            e["event_id"] = bad
            self.bad(e)

    def test_event_id_normalization_dedups(self):
        a = env("X", {}, eid="01hjn12xp9s9f9161qbfve7eza", lamport=3)
        b = dict(a, event_id="01HJN12XP9S9F9161QBFVE7EZA", correlation_id="01HJN12XP9S9F9161QBFVE7EZA")
        p = run([a, b])
        self.assertEqual((p["event_count"], p["duplicates_dropped"]), (1, 1))
        u1 = env("X", {}, eid="2D15D425-9BD1-4670-9C19-CF4712D757BE", lamport=3)
        u2 = dict(u1, event_id="2d15d4259bd146709c19cf4712d757be")
        p = run([u1, u2])
        self.assertEqual((p["event_count"], p["duplicates_dropped"]), (1, 1))

    def test_strict_types(self):
        self.bad(env("X", {}, lamport=1.0))
        self.bad(env("X", {}, lamport="1"))
        self.bad(env("X", {}, lamport=True))
        self.bad(env("X", {}, lamport=-1))
        self.bad(env("X", {}, lamport=2 ** 63))
        self.good(env("X", {}, lamport=2 ** 63 - 1))
        self.good(env("X", {}, lamport=0))
        self.bad(env("X", {}, data_tier=5))
        self.bad(env("X", {}, data_tier=True))
        self.bad(env("X", {}, data_tier=2.0))
        self.bad(env("X", {}, data_tier=None))
        self.good(env("X", {}, data_tier=4))
        self.bad(env("X", [], ))
        self.bad(env("", {}))
        self.bad(env("X", {}, node_id=""))
        self.bad(env("X", {}, aggregate_id=""))
        self.bad(env("X", {}, build_id=5))
        self.good(env("X", {}, build_id=None, project_slug=None, causation_id=None))
        self.good(env("X", {}, causation_id="01HJN12XP9S9F9161QBFVE7EZA", build_id="", project_slug="s"))
        self.bad(env("X", {}, causation_id="nope"))
        self.bad(env("X", {}, correlation_id=None))
        self.bad(env("X", {}, project_uuid="not-a-uuid"))
        self.bad(env("X", {}, project_uuid=None))
        self.good(env("X", {}, schema_version="2.7.0"))
        self.bad(env("X", {}, schema_version="v2.7.0"))
        self.bad(env("X", {}, schema_version="2.7"))
        self.bad(env("X", {}, schema_version=None))
        for f in ["event_id", "event_type", "aggregate_id", "payload", "timestamp", "node_id",
                  "lamport_clock", "project_uuid", "correlation_id"]:
            e = env("X", {})
            del e[f]
            self.bad(e)

    def test_timestamps(self):
        for ts in ["2024-01-01T00:00:00Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00.123456789012+05:30",
                   "2024-02-29T23:59:59-00:00", "2024-01-01T00:00:00.5+14:00"]:
            self.good(env("X", {}, ts=ts))
        for ts in ["2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2023-02-29T00:00:00Z",
                   "2024-01-01T24:00:00Z", "2024-01-01T23:59:60Z", "2024-01-01T00:00:00+0000",
                   "2024-01-01T00:00:00+24:00", "1704067200", 1704067200, "2024-1-01T00:00:00Z",
                   "0000-01-01T00:00:00Z", "2024-01-01T00:00:00.Z"]:
            self.bad(env("X", {}, ts=ts))

    def test_unknown_fields_ignored(self):
        self.good(env("X", {}, extra_field={"a": [1, 2, {"b": None}]}))

    def test_invalid_lines(self):
        p = run([b"not json", b"[]", b"42", b"null", b'{"a":1,}', b"\xe9t\xe9", b"{} {}",
                 b"\xef\xbb\xbf" + json.dumps(env("X", {})).encode()])
        self.assertEqual(kinds(p["anomalies"]), ["malformed_envelope"] * 8)
        self.assertTrue(all(a["event_id"] is None for a in p["anomalies"]))

    def test_blank_lines(self):
        p = run([b"", b"   ", b"\r", env("X", {})])
        self.assertEqual(p["anomalies"], [])
        self.assertEqual(p["event_count"], 1)
        p = run([b"", env("X", {})], blank_mode="anomaly")
        self.assertEqual(kinds(p["anomalies"]), ["malformed_envelope"])

    def test_crlf_line_accepted(self):
        self.good(json.dumps(env("X", {})).encode() + b"\r")

    def test_malformed_envelope_event_id(self):
        e = env("X", {}, eid="01hjn12xp9s9f9161qbfve7eza", lamport=-5)
        p = self.bad(e)
        self.assertEqual(p["anomalies"][0]["event_id"], "01HJN12XP9S9F9161QBFVE7EZA")
        e = env("X", {}, eid="garbage")
        p = self.bad(e)
        self.assertEqual(p["anomalies"][0]["event_id"], "garbage")


class InputLimitTests(unittest.TestCase):
    def line(self, e: dict, inject: str) -> bytes:
        t = json.dumps(e)
        assert t.endswith("}")
        return (t[:-1] + ", " + inject + "}").encode()

    def check_bad(self, raw: bytes):
        p = run([raw])
        self.assertEqual(kinds(p["anomalies"]), ["malformed_envelope"], raw[:200])

    def check_good(self, raw: bytes):
        p = run([raw])
        self.assertEqual(p["anomalies"], [], raw[:200])
        self.assertEqual(p["event_count"], 1)

    def test_depth(self):
        def nest(n):  # n nested objects
            return "{\"c\":" * (n - 1) + "{\"c\":1" + "}" * n
        # top-level envelope is level 1, so an unknown field holding k nested objects gives depth k+1
        self.check_good(self.line(env("X", {}), '"debug": ' + nest(63)))
        self.check_bad(self.line(env("X", {}), '"debug": ' + nest(64)))
        self.check_bad(self.line(env("X", {}), '"debug": ' + "[" * 5000 + "]" * 5000))
        self.check_bad(self.line(env("X", {}), '"debug": ' + "[" * 100000 + "]" * 100000))

    def test_integers(self):
        self.check_good(self.line(env("X", {}), '"u": %d' % (2 ** 64 - 1)))
        self.check_good(self.line(env("X", {}), '"u": %d' % (-(2 ** 63))))
        self.check_bad(self.line(env("X", {}), '"u": %d' % (2 ** 64)))
        self.check_bad(self.line(env("X", {}), '"u": %d' % (-(2 ** 63) - 1)))
        self.check_bad(self.line(env("X", {}), '"u": 1' + "0" * 5000))

    def test_non_finite(self):
        for v in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.5E+999"]:
            self.check_bad(self.line(env("X", {}), '"u": ' + v))
        self.check_good(self.line(env("X", {}), '"u": 1e-400'))
        self.check_good(self.line(env("X", {}), '"u": 1e308'))

    def test_repeated_keys(self):
        self.check_bad(self.line(env("X", {}), '"node_id": "n2"'))
        self.check_bad(self.line(env("X", {}), '"u": {"a": 1, "a": 1}'))
        self.check_bad(self.line(env("X", {}), '"u": {"a": 1, "\\u0061": 2}'))
        e = env("X", {})
        t = json.dumps(e).replace('"payload": {}', '"payload": {"k": 1, "k": 1}')
        self.check_bad(t.encode())

    def test_surrogates(self):
        self.check_bad(self.line(env("X", {}), '"u": "\\ud800"'))
        self.check_bad(self.line(env("X", {}), '"u": "\\uDC00x"'))
        self.check_bad(self.line(env("X", {}), '"\\ud800": 1'))
        self.check_bad(self.line(env("X", {}), '"u": ["\\ude00\\ud83d"]'))
        self.check_good(self.line(env("X", {}), '"u": "\\ud83d\\ude00"'))
        self.check_bad(b'{"event_id": "\xed\xa0\x80"}')  # CESU surrogate bytes: invalid UTF-8

    def test_mapping_limits_same_as_lines(self):
        e = env("X", {}, u=float("nan"))
        self.assertEqual(kinds(R.replay_mappings([e])["anomalies"]), ["malformed_envelope"])
        e = env("X", {}, u=2 ** 64)
        self.assertEqual(kinds(R.replay_mappings([e])["anomalies"]), ["malformed_envelope"])
        e = env("X", {}, u="\ud800")
        self.assertEqual(kinds(R.replay_mappings([e])["anomalies"]), ["malformed_envelope"])
        e = env("X", {}, u=2 ** 64 - 1)
        self.assertEqual(R.replay_mappings([e])["event_count"], 1)
        good = env("Y", {})
        self.assertEqual(R.dumps_projection(R.replay_mappings([good])), run_bytes([good]))
        bad = env("Y", {}, u=2 ** 64)
        self.assertEqual(R.dumps_projection(R.replay_mappings([bad, good])), run_bytes([bad, good]))


class PayloadValidationTests(unittest.TestCase):
    def conn_anoms(self, etype, cid="c1", **fields):
        p = run([env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED, cid=cid)),
                 env(etype, conn(etype, cid=cid, **fields))])
        return p

    def assert_malformed(self, etype, **fields):
        p = self.conn_anoms(etype, **fields)
        self.assertEqual(kinds(p["connectors"]["c1"]["anomalies"]), ["malformed_payload"], fields)

    def assert_ok(self, etype, **fields):
        p = self.conn_anoms(etype, **fields)
        self.assertNotIn("malformed_payload", kinds(p["connectors"]["c1"]["anomalies"]), fields)

    def test_urls(self):
        E = R.CONNECTOR_HEALTH_CHECKED
        for u in ["https://h", "http://h:8080/p?q#f", "HTTPS://H.EXAMPLE/x", "https://bücher.example/café",
                  "https://[::1]:443/", "https://h/" + "a" * (2048 - 10)]:
            self.assert_ok(E, endpoint_url=u)
        for u in ["https://user:token@h/", "https://user@h", "https://@h/", "ftp://h/", "/relative",
                  "https://", "https:///p", "https://h:99999/", "https://h:8a/", "https://h/ x",
                  "https://h/" + "a" * (2049 - 10), 5, None, ""]:
            self.assert_malformed(E, endpoint_url=u)

    def test_connector_fields(self):
        E = R.CONNECTOR_HEALTH_CHECKED
        self.assert_malformed(E, health_status="Healthy")
        self.assert_malformed(E, latency_ms=-1)
        self.assert_malformed(E, latency_ms="5")
        self.assert_malformed(E, latency_ms=True)
        self.assert_malformed(E, latency_ms=None)
        self.assert_ok(E, latency_ms=0)
        self.assert_ok(E, latency_ms=-0.0)
        self.assert_malformed(E, actor_type="robot")
        self.assert_malformed(E, project_uuid="x")
        self.assert_malformed(E, provider="")
        self.assert_malformed(E, recorded_at="2024-01-01T00:00:00")
        self.assert_malformed(R.CONNECTOR_RECONNECTED, previous_state="gone")
        self.assert_malformed(R.CONNECTOR_RECONNECTED, reconnect_strategy="never")
        self.assert_malformed(R.CONNECTOR_DEGRADED, last_healthy_at="yesterday")
        self.assert_malformed(R.CONNECTOR_DEGRADED, degradation_reason="")
        self.assert_malformed(R.CONNECTOR_REVOKED, revocation_reason=None)

    def test_missing_field_and_stream_level(self):
        pl = conn(R.CONNECTOR_PROVISIONED)
        del pl["actor_id"]
        p = run([env(R.CONNECTOR_PROVISIONED, pl)])
        self.assertEqual(kinds(p["connectors"]["c1"]["anomalies"]), ["malformed_payload"])
        self.assertEqual(p["connectors"]["c1"]["current_state"], None)
        self.assertEqual(p["connectors"]["c1"]["event_count"], 1)
        for bad_cid in [None, "", 5]:
            pl = conn(R.CONNECTOR_PROVISIONED)
            if bad_cid is None:
                del pl["connector_id"]
            else:
                pl["connector_id"] = bad_cid
            p = run([env(R.CONNECTOR_PROVISIONED, pl)])
            self.assertEqual(p["connectors"], {})
            self.assertEqual(kinds(p["anomalies"]), ["malformed_payload"])

    def test_sync_fields(self):
        def one(etype, **f):
            return run([env(etype, sync(etype, **f))])

        for etype, f in [(R.SYNC_INGEST_ACCEPTED, {"ingested_count": 0}),
                         (R.SYNC_INGEST_ACCEPTED, {"ingested_count": 3.0}),
                         (R.SYNC_INGEST_ACCEPTED, {"ingested_count": 2 ** 63}),
                         (R.SYNC_INGEST_ACCEPTED, {"ingested_count": True}),
                         (R.SYNC_INGEST_ACCEPTED, {"ingest_batch_id": ""}),
                         (R.SYNC_INGEST_REJECTED, {"rejected_payload_ref": ""}),
                         (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 0}),
                         (R.SYNC_RETRY_SCHEDULED, {"max_retries": "3"}),
                         (R.SYNC_RETRY_SCHEDULED, {"next_retry_at": "2024-01-01"}),
                         (R.SYNC_DEAD_LETTERED, {"total_attempts": 0}),
                         (R.SYNC_REPLAY_COMPLETED, {"replayed_count": -1}),
                         (R.SYNC_REPLAY_COMPLETED, {"replay_source": ""}),
                         (R.SYNC_INGEST_ACCEPTED, {"delivery_id": ""}),
                         (R.SYNC_INGEST_ACCEPTED, {"source_event_fingerprint": None})]:
            p = one(etype, **f)
            self.assertEqual(kinds(p["sync"]["c1"]["anomalies"]), ["malformed_payload"], (etype, f))
            self.assertEqual(sum(p["sync"]["c1"]["outcome_counts"].values()), 0)
        p = one(R.SYNC_REPLAY_COMPLETED, replayed_count=0)
        self.assertEqual(p["sync"]["c1"]["anomalies"], [])
        p = one(R.SYNC_INGEST_ACCEPTED, ingested_count=2 ** 63 - 1)
        self.assertEqual(p["sync"]["c1"]["ingested_items"], 2 ** 63 - 1)


class DedupTests(unittest.TestCase):
    def test_identical_and_reserialized(self):
        e = env("X", {"a": 1.5, "b": "é"}, lamport=5)
        raw1 = json.dumps(e).encode()
        raw2 = json.dumps(e, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        e3 = dict(e, unknown="ignored")
        e4 = dict(e, timestamp="2024-01-01T05:00:00+05:00")
        p = run([raw1, raw1, raw2, e3, e4])
        self.assertEqual(p["event_count"], 1)
        self.assertEqual(p["duplicates_dropped"], 4)
        self.assertEqual(p["anomalies"], [])

    def test_conflicting_keeps_smallest_sort_key(self):
        a = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED, mission_id="mA"), lamport=5,
                eid=ulid(1))
        b = dict(a, lamport_clock=4, payload=conn(R.CONNECTOR_PROVISIONED, mission_id="mB"))
        for order in ([a, b], [b, a]):
            p = run(order)
            self.assertEqual(p["event_count"], 1)
            self.assertEqual(p["duplicates_dropped"], 0)
            self.assertEqual(kinds(p["anomalies"]), ["conflicting_duplicate"])
            self.assertEqual(p["connectors"]["c1"]["mission_id"], "mB")

    def test_conflicting_same_sort_key_canonical_json(self):
        a = env("X", {"v": "b"}, lamport=5, eid=ulid(2))
        b = dict(a, payload={"v": "a"})
        self.assertEqual(run_bytes([a, b]), run_bytes([b, a]))
        self.assertEqual(kinds(run([a, b])["anomalies"]), ["conflicting_duplicate"])

    def test_valid_payload_beats_malformed(self):
        good = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED), lamport=9, eid=ulid(3))
        badp = conn(R.CONNECTOR_PROVISIONED)
        badp["endpoint_url"] = "https://u:p@h/"
        bad = dict(good, lamport_clock=1, payload=badp)  # smaller sort key but malformed
        for order in ([good, bad], [bad, good]):
            p = run(order)
            self.assertEqual(p["connectors"]["c1"]["current_state"], "provisioned")
            self.assertEqual(p["connectors"]["c1"]["anomalies"], [])
            self.assertEqual(kinds(p["anomalies"]), ["conflicting_duplicate"])

    def test_malformed_envelope_never_removes_event(self):
        good = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED), lamport=9, eid=ulid(4))
        bad = dict(good, lamport_clock=-1)
        p = run([bad, good])
        self.assertEqual(p["connectors"]["c1"]["current_state"], "provisioned")
        self.assertEqual(kinds(p["anomalies"]), ["malformed_envelope"])
        self.assertEqual(p["event_count"], 1)

    def test_negative_zero(self):
        base = conn(R.CONNECTOR_HEALTH_CHECKED, latency_ms=0.0)
        prov = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED), lamport=1)
        hc = env(R.CONNECTOR_HEALTH_CHECKED, base, lamport=2, eid=ulid(5))
        raw_pos = json.dumps(hc).encode()
        raw_neg = raw_pos.replace(b'"latency_ms": 0.0', b'"latency_ms": -0.0')
        self.assertNotEqual(raw_pos, raw_neg)
        p = run([prov, raw_pos, raw_neg])
        self.assertEqual(kinds(p["anomalies"]), ["conflicting_duplicate"])
        out = R.dumps_projection(p)
        self.assertNotIn(b"-0.0", out)
        self.assertEqual(p["connectors"]["c1"]["last_latency_ms"], 0.0)
        self.assertIn(b'"last_latency_ms":0.0', out)
        p = run([prov, raw_neg])
        self.assertIn(b'"last_latency_ms":0.0', R.dumps_projection(p))

    def test_int_vs_float_copies_conflict(self):
        a = env("X", {"n": 3}, lamport=5, eid=ulid(6))
        b = dict(a, payload={"n": 3.0})
        self.assertEqual(kinds(run([a, b])["anomalies"]), ["conflicting_duplicate"])
        c = json.dumps(dict(a, payload={"n": 12.5})).encode()
        d = c.replace(b"12.5", b"1.25e1")
        p = run([c, d])
        self.assertEqual((p["anomalies"], p["duplicates_dropped"]), ([], 1))


class ConnectorReducerTests(unittest.TestCase):
    def run_conn(self, seq, cid="c1"):
        envs = []
        for i, (etype, f) in enumerate(seq):
            envs.append(env(etype, conn(etype, cid=cid, rec=f"2024-01-01T00:00:{i:02d}Z", **f), lamport=100 + i))
        return run(envs)["connectors"][cid], envs

    def test_happy_path_and_observations(self):
        st, envs = self.run_conn([
            (R.CONNECTOR_PROVISIONED, {}),
            (R.CONNECTOR_HEALTH_CHECKED, {"latency_ms": 10}),
            (R.CONNECTOR_HEALTH_CHECKED, {"latency_ms": 11.5}),  # observation
            (R.CONNECTOR_HEALTH_CHECKED, {"health_status": "unreachable", "latency_ms": 0}),  # -> degraded
            (R.CONNECTOR_DEGRADED, {}),  # degraded -> degraded observation
            (R.CONNECTOR_RECONNECTED, {}),
            (R.CONNECTOR_REVOKED, {}),
            (R.CONNECTOR_RECONNECTED, {"previous_state": "revoked"}),
            (R.CONNECTOR_HEALTH_CHECKED, {"health_status": "degraded", "latency_ms": 3}),
        ])
        self.assertEqual(st["anomalies"], [])
        self.assertEqual(st["current_state"], "degraded")
        self.assertEqual(st["event_count"], 9)
        ids = [e["event_id"] for e in envs]
        self.assertEqual(st["transition_log"], [
            [ids[0], "provisioned"], [ids[1], "healthy"], [ids[3], "degraded"], [ids[5], "reconnected"],
            [ids[6], "revoked"], [ids[7], "reconnected"], [ids[8], "degraded"]])
        self.assertEqual(st["last_transition_at"], "2024-01-01T00:00:08Z")
        self.assertEqual(st["last_health_check_at"], "2024-01-01T00:00:08Z")
        self.assertEqual(st["last_health_status"], "degraded")
        self.assertEqual(st["last_latency_ms"], 3.0)
        self.assertIsInstance(st["last_latency_ms"], float)
        self.assertEqual((st["connector_type"], st["provider"], st["mission_id"]), ("webhook", "github", "m1"))

    def test_observation_updates_health_fields_only(self):
        st, _ = self.run_conn([
            (R.CONNECTOR_PROVISIONED, {}),
            (R.CONNECTOR_HEALTH_CHECKED, {"latency_ms": 10}),
            (R.CONNECTOR_HEALTH_CHECKED, {"latency_ms": 20}),
        ])
        self.assertEqual(st["last_transition_at"], "2024-01-01T00:00:01Z")
        self.assertEqual(st["last_health_check_at"], "2024-01-01T00:00:02Z")
        self.assertEqual(st["last_latency_ms"], 20.0)
        self.assertEqual(len(st["transition_log"]), 2)

    def test_invalid_transitions(self):
        st, _ = self.run_conn([
            (R.CONNECTOR_HEALTH_CHECKED, {}),     # None -> healthy
            (R.CONNECTOR_PROVISIONED, {}),
            (R.CONNECTOR_PROVISIONED, {}),        # provisioned -> provisioned
            (R.CONNECTOR_RECONNECTED, {}),        # provisioned -> reconnected
            (R.CONNECTOR_REVOKED, {}),
            (R.CONNECTOR_REVOKED, {}),            # revoked -> revoked
            (R.CONNECTOR_HEALTH_CHECKED, {}),     # revoked -> healthy
            (R.CONNECTOR_DEGRADED, {}),           # revoked -> degraded
        ])
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"] * 6)
        self.assertEqual(st["current_state"], "revoked")
        self.assertIsNone(st["last_health_check_at"])
        self.assertEqual(st["event_count"], 8)

    def test_nothing_accepted(self):
        st, _ = self.run_conn([(R.CONNECTOR_REVOKED, {"provider": "x"})])
        self.assertIsNone(st["current_state"])
        self.assertIsNone(st["provider"])
        self.assertEqual(st["transition_log"], [])
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"])

    def test_healthy_reconnect_invalid(self):
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}), (R.CONNECTOR_HEALTH_CHECKED, {}),
                               (R.CONNECTOR_RECONNECTED, {"previous_state": "gone_bad"})])
        self.assertEqual(kinds(st["anomalies"]), ["malformed_payload"])
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}), (R.CONNECTOR_HEALTH_CHECKED, {}),
                               (R.CONNECTOR_RECONNECTED, {"previous_state": "healthy"})])
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"])
        self.assertEqual(st["current_state"], "healthy")

    def test_previous_state_mismatch(self):
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}), (R.CONNECTOR_DEGRADED, {}),
                               (R.CONNECTOR_RECONNECTED, {"previous_state": "revoked"})])
        self.assertEqual(kinds(st["anomalies"]), ["previous_state_mismatch"])
        self.assertEqual(st["current_state"], "reconnected")

    def test_reconnect_loop(self):
        seq = [(R.CONNECTOR_PROVISIONED, {})]
        for _ in range(5):
            seq += [(R.CONNECTOR_DEGRADED, {}), (R.CONNECTOR_RECONNECTED, {})]
        st, envs = self.run_conn(seq)
        self.assertEqual(kinds(st["anomalies"]), ["reconnect_loop", "reconnect_loop"])
        self.assertEqual(st["anomalies"][0]["event_id"], envs[8]["event_id"])  # 4th entry
        # reaching healthy resets the counter
        seq = [(R.CONNECTOR_PROVISIONED, {})]
        for _ in range(3):
            seq += [(R.CONNECTOR_DEGRADED, {}), (R.CONNECTOR_RECONNECTED, {})]
        seq += [(R.CONNECTOR_HEALTH_CHECKED, {})]
        for _ in range(3):
            seq += [(R.CONNECTOR_DEGRADED, {}), (R.CONNECTOR_RECONNECTED, {})]
        st, _ = self.run_conn(seq)
        self.assertEqual(st["anomalies"], [])

    def test_identity_changed(self):
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}),
                               (R.CONNECTOR_HEALTH_CHECKED, {"provider": "gitlab"}),
                               (R.CONNECTOR_DEGRADED, {"connector_type": "poller", "mission_id": "m9"})])
        self.assertEqual(kinds(st["anomalies"]), ["identity_changed", "identity_changed"])
        self.assertEqual((st["provider"], st["connector_type"], st["mission_id"]), ("github", "webhook", "m1"))
        self.assertEqual(st["current_state"], "degraded")

    def test_semantic_violation(self):
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}),
                               (R.CONNECTOR_DEGRADED, {"last_healthy_at": "2030-01-01T00:00:00Z"})])
        self.assertEqual(kinds(st["anomalies"]), ["semantic_violation"])
        self.assertEqual(st["current_state"], "degraded")
        # instants, not strings: 05:00+05:00 == 00:00Z which is <= recorded_at 00:00:01Z
        st, _ = self.run_conn([(R.CONNECTOR_PROVISIONED, {}),
                               (R.CONNECTOR_DEGRADED, {"last_healthy_at": "2024-01-01T05:00:01+05:00"})])
        self.assertEqual(st["anomalies"], [])
        # skipped event: only the skip's anomaly
        st, _ = self.run_conn([(R.CONNECTOR_DEGRADED, {"last_healthy_at": "2030-01-01T00:00:00Z"})])
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"])

    def test_partition_by_connector(self):
        a = [env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED, cid="A"), lamport=1),
             env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED, cid="B"), lamport=2),
             env(R.CONNECTOR_REVOKED, conn(R.CONNECTOR_REVOKED, cid="A"), lamport=3)]
        p = run(a)
        self.assertEqual(list(p["connectors"]), ["A", "B"])
        self.assertEqual(p["connectors"]["A"]["current_state"], "revoked")
        self.assertEqual(p["connectors"]["B"]["current_state"], "provisioned")

    def test_ordering_by_instant_not_string(self):
        # same lamport; "13:00+05:00" (08:00Z) is earlier than "09:00Z"
        p1 = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED), lamport=7,
                 ts="2024-01-01T13:00:00+05:00", eid=ulid(900))
        p2 = env(R.CONNECTOR_REVOKED, conn(R.CONNECTOR_REVOKED), lamport=7,
                 ts="2024-01-01T09:00:00Z", eid=ulid(100))
        st = run([p2, p1])["connectors"]["c1"]
        self.assertEqual(st["current_state"], "revoked")
        self.assertEqual(st["anomalies"], [])
        # equal lamport and instant: event_id decides
        q1 = dict(p1, timestamp="2024-01-01T09:00:00Z")
        st = run([p2, q1])["connectors"]["c1"]
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"])  # revoke (id 100) first
        # lamport dominates timestamps
        r1 = dict(p1, lamport_clock=8, timestamp="2000-01-01T00:00:00Z")
        st = run([p2, r1])["connectors"]["c1"]
        self.assertEqual(kinds(st["anomalies"]), ["invalid_transition"])

    def test_nanosecond_ordering(self):
        p1 = env(R.CONNECTOR_PROVISIONED, conn(R.CONNECTOR_PROVISIONED), lamport=7,
                 ts="2024-01-01T00:00:00.0000001Z", eid=ulid(900))
        p2 = env(R.CONNECTOR_REVOKED, conn(R.CONNECTOR_REVOKED), lamport=7,
                 ts="2024-01-01T00:00:00.00000011Z", eid=ulid(100))
        self.assertEqual(run([p2, p1])["connectors"]["c1"]["current_state"], "revoked")


class SyncReducerTests(unittest.TestCase):
    def run_sync(self, seq, cid="c1"):
        envs = [env(t, sync(t, cid=cid, **f), lamport=200 + i) for i, (t, f) in enumerate(seq)]
        return run(envs)["sync"][cid], envs

    def test_retries_then_terminal(self):
        st, envs = self.run_sync([
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 1}),
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 2}),
            (R.SYNC_INGEST_ACCEPTED, {"ingested_count": 4}),
            (R.SYNC_INGEST_ACCEPTED, {"ingested_count": 4}),   # duplicate_delivery
            (R.SYNC_INGEST_REJECTED, {}),                     # conflicting_outcome
            (R.SYNC_DEAD_LETTERED, {}),                       # conflicting_outcome
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 3}),   # retry_after_terminal
        ])
        self.assertEqual(kinds(st["anomalies"]), ["duplicate_delivery", "conflicting_outcome",
                                                  "conflicting_outcome", "retry_after_terminal"])
        self.assertEqual(st["outcome_counts"], {"accepted": 1, "rejected": 0, "retry_scheduled": 2,
                                                "dead_lettered": 0, "replay_completed": 0})
        self.assertEqual(st["ingested_items"], 4)
        self.assertEqual(st["pending_retries"], 0)
        self.assertEqual(st["deliveries"], [{"delivery_id": "d1", "source_event_fingerprint": "fp1",
                                             "status": "accepted", "attempts": 3,
                                             "last_event_id": envs[2]["event_id"]}])
        self.assertEqual(st["outcome_log"], [[envs[0]["event_id"], "retry_scheduled", "d1"],
                                             [envs[1]["event_id"], "retry_scheduled", "d1"],
                                             [envs[2]["event_id"], "accepted", "d1"]])

    def test_retry_equal_regressed_budget(self):
        st, _ = self.run_sync([
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 2}),
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 2}),   # duplicate_delivery
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 1}),   # regressed
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 5, "max_retries": 3}),   # applied + budget
            (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 4, "max_retries": 3}),   # regressed only
        ])
        self.assertEqual(kinds(st["anomalies"]), ["duplicate_delivery", "retry_attempt_regressed",
                                                  "retry_budget_exceeded", "retry_attempt_regressed"])
        self.assertEqual(st["pending_retries"], 1)
        self.assertEqual(st["outcome_counts"]["retry_scheduled"], 2)

    def test_retry_semantic(self):
        st, _ = self.run_sync([(R.SYNC_RETRY_SCHEDULED, {"next_retry_at": "2023-01-01T00:00:00Z"})])
        self.assertEqual(kinds(st["anomalies"]), ["semantic_violation"])
        self.assertEqual(st["pending_retries"], 1)
        st, _ = self.run_sync([(R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 9, "max_retries": 1})])
        self.assertEqual(kinds(st["anomalies"]), ["retry_budget_exceeded"])
        st, _ = self.run_sync([(R.SYNC_DEAD_LETTERED, {}),
                               (R.SYNC_RETRY_SCHEDULED, {"retry_attempt": 9, "max_retries": 1,
                                                         "next_retry_at": "2023-01-01T00:00:00Z"})])
        self.assertEqual(kinds(st["anomalies"]), ["retry_after_terminal"])
        # instants: 04:00+05:00 is 23:00Z the day before -> violation
        st, _ = self.run_sync([(R.SYNC_RETRY_SCHEDULED, {"next_retry_at": "2024-01-01T04:00:00+05:00"})])
        self.assertEqual(kinds(st["anomalies"]), ["semantic_violation"])

    def test_replay(self):
        st, _ = self.run_sync([
            (R.SYNC_INGEST_ACCEPTED, {}),
            (R.SYNC_REPLAY_COMPLETED, {"replayed_count": 7}),
            (R.SYNC_REPLAY_COMPLETED, {"replayed_count": 7}),  # duplicate_delivery
            (R.SYNC_REPLAY_COMPLETED, {"did": "d2", "replayed_count": 0}),
        ])
        self.assertEqual(kinds(st["anomalies"]), ["duplicate_delivery"])
        self.assertEqual(st["replayed_items"], 7)
        self.assertEqual(st["outcome_counts"]["replay_completed"], 2)
        self.assertEqual([d["delivery_id"] for d in st["deliveries"]], ["d1", "d2"])
        self.assertEqual(st["deliveries"][0]["status"], "replay_completed")

    def test_keys_are_pairs_and_ordered(self):
        st, _ = self.run_sync([
            (R.SYNC_INGEST_ACCEPTED, {"did": "b", "fp": "2"}),
            (R.SYNC_INGEST_REJECTED, {"did": "b", "fp": "1"}),
            (R.SYNC_INGEST_ACCEPTED, {"did": "a", "fp": "9"}),
        ])
        self.assertEqual(st["anomalies"], [])
        self.assertEqual([(d["delivery_id"], d["source_event_fingerprint"]) for d in st["deliveries"]],
                         [("a", "9"), ("b", "1"), ("b", "2")])

    def test_big_sums(self):
        big = 2 ** 63 - 1
        st, _ = self.run_sync([(R.SYNC_INGEST_ACCEPTED, {"did": f"d{i}", "ingested_count": big}) for i in range(4)])
        self.assertEqual(st["ingested_items"], 4 * big)
        p = run([env(R.SYNC_INGEST_ACCEPTED, sync(R.SYNC_INGEST_ACCEPTED, did=f"d{i}", ingested_count=big))
                 for i in range(3)])
        self.assertIn(b'"ingested_items":%d' % (3 * big), R.dumps_projection(p))

    def test_partition_same_key_other_connector(self):
        envs = [env(R.SYNC_INGEST_ACCEPTED, sync(R.SYNC_INGEST_ACCEPTED, cid="A"), lamport=1),
                env(R.SYNC_INGEST_ACCEPTED, sync(R.SYNC_INGEST_ACCEPTED, cid="B"), lamport=2)]
        p = run(envs)
        self.assertEqual(p["sync"]["A"]["anomalies"], [])
        self.assertEqual(p["sync"]["B"]["anomalies"], [])

    def test_malformed_sync_without_connector_is_stream_level(self):
        pl = sync(R.SYNC_INGEST_ACCEPTED)
        del pl["connector_id"]
        p = run([env(R.SYNC_INGEST_ACCEPTED, pl)])
        self.assertEqual(p["sync"], {})
        self.assertEqual(kinds(p["anomalies"]), ["malformed_payload"])


class LinkTests(unittest.TestCase):
    def test_link_index(self):
        envs = [
            env(R.EXTERNAL_REFERENCE_LINKED, link("L1", "OPS-2", "WP01"), lamport=1),
            env(R.EXTERNAL_REFERENCE_LINKED, link("L2", "OPS-2", "WP01"), lamport=2),   # absorbed
            env(R.EXTERNAL_REFERENCE_LINKED, link("L3", "OPS-2", "WP02"), lamport=3),   # conflicting_link
            env(R.EXTERNAL_REFERENCE_LINKED, link("L1", "OPS-3", "WP01"), lamport=4),   # link_id_reused
            env(R.EXTERNAL_REFERENCE_LINKED, link("L4", "OPS-1", "WP01"), lamport=5),
            env(R.EXTERNAL_REFERENCE_LINKED, link("L5", "OPS-0", "WP00",
                                                  external_provider="Jira"), lamport=6),
            env(R.EXTERNAL_REFERENCE_LINKED, link("L6", "OPS-9", "WP00", external_ref_url="https://u@h/"),
                lamport=7),
        ]
        p = run(envs)
        xl = p["external_links"]
        self.assertEqual(kinds(xl["anomalies"]), ["conflicting_link", "link_id_reused", "malformed_payload"])
        self.assertEqual([(l["external_provider"], l["external_ref_id"], l["link_id"]) for l in xl["links"]],
                         [("Jira", "OPS-0", "L5"), ("jira", "OPS-1", "L4"), ("jira", "OPS-2", "L1")])
        self.assertEqual(set(xl["links"][0]), set(R.LINK_FIELDS))
        self.assertEqual(xl["reverse_index"], [
            {"internal_aggregate_type": "WorkPackage", "internal_aggregate_id": "WP00",
             "external_keys": [["Jira", "issue", "OPS-0"]]},
            {"internal_aggregate_type": "WorkPackage", "internal_aggregate_id": "WP01",
             "external_keys": [["jira", "issue", "OPS-1"], ["jira", "issue", "OPS-2"]]}])
        self.assertEqual(p["connectors"], {})
        self.assertEqual(p["ignored_event_count"], 0)

    def test_link_malformed_without_connector(self):
        pl = link()
        del pl["connector_id"]
        p = run([env(R.EXTERNAL_REFERENCE_LINKED, pl)])
        self.assertEqual(kinds(p["anomalies"]), ["malformed_payload"])
        self.assertEqual(p["external_links"]["anomalies"], [])


class ProjectionTests(unittest.TestCase):
    def mixed_log(self):
        rnd = random.Random(7)
        envs = []
        lam = 0
        for c in ["c1", "c2", "c3"]:
            for t in [R.CONNECTOR_PROVISIONED, R.CONNECTOR_HEALTH_CHECKED, R.CONNECTOR_DEGRADED,
                      R.CONNECTOR_RECONNECTED, R.CONNECTOR_HEALTH_CHECKED, R.CONNECTOR_REVOKED,
                      R.CONNECTOR_REVOKED]:
                lam += rnd.choice([0, 1])
                envs.append(env(t, conn(t, cid=c), lamport=lam,
                                ts=rnd.choice(["2024-01-01T10:00:00Z", "2024-01-01T12:00:00+05:00"])))
            for t in [R.SYNC_RETRY_SCHEDULED, R.SYNC_INGEST_ACCEPTED, R.SYNC_INGEST_ACCEPTED,
                      R.SYNC_REPLAY_COMPLETED, R.SYNC_DEAD_LETTERED]:
                lam += rnd.choice([0, 1])
                envs.append(env(t, sync(t, cid=c), lamport=lam))
            envs.append(env(R.EXTERNAL_REFERENCE_LINKED, link("L" + c, "R-" + c), lamport=lam))
        envs.append(env("Other", {"x": -0.0}, lamport=3))
        dup = envs[3]
        envs.append(dup)
        envs.append(dict(dup, node_id="other-node"))   # conflicting copy
        lines = lines_of(envs) + [b"garbage", b"", b"[1]"]
        return lines

    def test_permutation_invariance(self):
        lines = self.mixed_log()
        ref = R.dumps_projection(R.replay_lines(lines)[0])
        ref_nl = R.dumps_projection(R.replay_lines(lines, logs=False)[0])
        rnd = random.Random(1)
        for _ in range(25):
            l2 = list(lines)
            rnd.shuffle(l2)
            self.assertEqual(R.dumps_projection(R.replay_lines(l2)[0]), ref)
            self.assertEqual(R.dumps_projection(R.replay_lines(l2, logs=False)[0]), ref_nl)
        # exact duplicates added -> only duplicates_dropped changes
        p1 = json.loads(ref)
        p2 = R.replay_lines(lines + lines[:5])[0]
        self.assertEqual(p2["duplicates_dropped"], p1["duplicates_dropped"] + 5)
        p2["duplicates_dropped"] = p1["duplicates_dropped"]
        self.assertEqual(R.dumps_projection(p2), ref)

    def test_no_logs(self):
        lines = self.mixed_log()
        full = R.replay_lines(lines)[0]
        nl = R.replay_lines(lines, logs=False)[0]
        for cid, st in nl["connectors"].items():
            self.assertNotIn("transition_log", st)
            self.assertIn("transition_log", full["connectors"][cid])
            stf = dict(full["connectors"][cid])
            del stf["transition_log"]
            self.assertEqual(stf, st)
        for cid, st in nl["sync"].items():
            self.assertNotIn("outcome_log", st)
            self.assertNotIn("deliveries", st)
            stf = dict(full["sync"][cid])
            del stf["outcome_log"], stf["deliveries"]
            self.assertEqual(stf, st)
        self.assertEqual(nl["anomalies"], full["anomalies"])
        self.assertEqual(nl["external_links"], full["external_links"])

    def test_stream_anomaly_order(self):
        lines = self.mixed_log()
        p = R.replay_lines(lines)[0]
        keys = [(a["kind"], (0, "") if a["event_id"] is None else (1, a["event_id"]), a["message"])
                for a in p["anomalies"]]
        self.assertEqual(keys, sorted(keys))
        self.assertIn("conflicting_duplicate", kinds(p["anomalies"]))
        self.assertEqual(kinds(p["anomalies"]).count("malformed_envelope"), 2)

    def test_canonical_bytes(self):
        lines = self.mixed_log()
        b = R.dumps_projection(R.replay_lines(lines)[0])
        self.assertEqual(b, json.dumps(json.loads(b), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode())
        self.assertNotIn(b"-0.0", b)

    def test_cli_multiple_files(self):
        lines = self.mixed_log()
        with tempfile.TemporaryDirectory() as td:
            f1, f2, f3 = (os.path.join(td, n) for n in ("a.jsonl", "b.jsonl", "all.jsonl"))
            with open(f1, "wb") as fh:
                fh.write(b"\n".join(lines[:10]) + b"\n")
            with open(f2, "wb") as fh:
                fh.write(b"\n".join(lines[10:]))  # no trailing newline
            with open(f3, "wb") as fh:
                fh.write(b"\n".join(reversed(lines)) + b"\n")
            out1 = subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), f1, f2],
                                  capture_output=True, check=True).stdout
            out2 = subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), f3],
                                  capture_output=True, check=True).stdout
            self.assertEqual(out1, out2)
            self.assertEqual(out1.rstrip(b"\n"), R.dumps_projection(R.replay_lines(lines)[0]))
            out3 = subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), "--no-logs", f3],
                                  capture_output=True, check=True).stdout
            self.assertNotIn(b"transition_log", out3)


if __name__ == "__main__":
    unittest.main(verbosity=1)
