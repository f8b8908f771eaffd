#!/usr/bin/env python3
"""Self-check for produce.py output: an independent, spec-only mini validator
(CONTRACTS.md §2-§5, §8) run over every line, compared with the labels in
OUT.meta.json.  Not a reducer; it only checks that lines labelled invalid are
invalid, lines labelled malformed_payload have a bad payload, and every other
line is a valid envelope with a valid payload.

    python3 check_log.py LOG.jsonl
"""
import json
import os
import re
import sys
from collections import Counter

CROCK = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
HEX = set("0123456789abcdef")
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


class Bad(Exception):
    pass


def _pairs(items):
    seen = set()
    for k, _ in items:
        if k in seen:
            raise Bad("repeated key %r" % k)
        seen.add(k)
    return dict(items)


def _const(x):
    raise Bad("non-finite " + x)


def _float(s):
    v = float(s)
    if v in (float("inf"), float("-inf")):
        raise Bad("non-finite " + s)
    return v


def _int(s):
    v = int(s)
    if not (-(2 ** 63) <= v <= 2 ** 64 - 1):
        raise Bad("int out of range")
    return v


def depth(v, d=1):
    if isinstance(v, dict):
        return max([d] + [depth(x, d + 1) for x in v.values()])
    if isinstance(v, list):
        return max([d] + [depth(x, d + 1) for x in v])
    return d


def has_lone_surrogate(v):
    if isinstance(v, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(x) for k, x in v.items())
    if isinstance(v, list):
        return any(has_lone_surrogate(x) for x in v)
    return False


def parse(line):
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Bad("not utf-8")
    if not text.strip():
        raise Bad("blank")
    try:
        v = json.loads(text, object_pairs_hook=_pairs, parse_constant=_const,
                       parse_float=_float, parse_int=_int)
    except ValueError as e:
        raise Bad("json: %s" % e)
    if depth(v) > 64:
        raise Bad("too deep")
    if has_lone_surrogate(v):
        raise Bad("lone surrogate")
    return v


def is_id(s):
    if not isinstance(s, str):
        return False
    if len(s) == 26:
        return set(s.upper()) <= CROCK
    return is_uuid(s)


def is_uuid(s):
    if not isinstance(s, str):
        return False
    t = s.lower()
    if len(t) == 36:
        return all(t[i] == "-" for i in (8, 13, 18, 23)) and set(t.replace("-", "")) <= HEX and len(t.replace("-", "")) == 32
    return len(t) == 32 and set(t) <= HEX


def is_ts(s):
    if not isinstance(s, str):
        return False
    m = RFC3339.match(s)
    if not m:
        return False
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    return 1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mi < 60 and ss < 60


def nes(v):
    return isinstance(v, str) and v != ""


def is_int(v, lo):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= 2 ** 63 - 1


def is_num(v, lo):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= lo


def is_url(u):
    if not isinstance(u, str) or len(u) > 2048:
        return False
    m = re.match(r"^(https?)://([^/?#]*)", u)
    if not m:
        return False
    auth = m.group(2)
    return "@" not in auth and auth != ""


def check_env(e):
    if not isinstance(e, dict):
        raise Bad("not an object")
    for f in ("event_id", "correlation_id"):
        if not is_id(e.get(f)):
            raise Bad("bad " + f)
    if "causation_id" in e and e["causation_id"] is not None and not is_id(e["causation_id"]):
        raise Bad("bad causation_id")
    for f in ("event_type", "aggregate_id", "node_id"):
        if not nes(e.get(f)):
            raise Bad("bad " + f)
    if not isinstance(e.get("payload"), dict):
        raise Bad("bad payload")
    if not is_ts(e.get("timestamp")):
        raise Bad("bad timestamp")
    if not is_int(e.get("lamport_clock"), 0):
        raise Bad("bad lamport_clock")
    if not is_uuid(e.get("project_uuid")):
        raise Bad("bad project_uuid")
    for f in ("build_id", "project_slug"):
        if f in e and e[f] is not None and not isinstance(e[f], str):
            raise Bad("bad " + f)
    if "schema_version" in e and not (isinstance(e["schema_version"], str) and SEMVER.match(e["schema_version"])):
        raise Bad("bad schema_version")
    if "data_tier" in e and not (is_int(e["data_tier"], 0) and e["data_tier"] <= 4):
        raise Bad("bad data_tier")


CONN = {"ConnectorProvisioned", "ConnectorHealthChecked", "ConnectorDegraded", "ConnectorRevoked",
        "ConnectorReconnected"}
SYNC = {"SyncIngestAccepted", "SyncIngestRejected", "SyncRetryScheduled", "SyncDeadLettered",
        "SyncReplayCompleted"}
LINK = {"ExternalReferenceLinked"}


def check_payload(et, p):
    """returns None when valid, else a reason."""
    def need(*fs):
        for f in fs:
            if not nes(p.get(f)):
                raise Bad("payload " + f)
    try:
        if et in CONN:
            need("connector_id", "connector_type", "provider", "mission_id", "actor_id")
            if not is_uuid(p.get("project_uuid")):
                raise Bad("project_uuid")
            if p.get("actor_type") not in ("human", "service", "system"):
                raise Bad("actor_type")
            if not is_url(p.get("endpoint_url")):
                raise Bad("endpoint_url")
            if not is_ts(p.get("recorded_at")):
                raise Bad("recorded_at")
            if et == "ConnectorHealthChecked":
                if p.get("health_status") not in ("healthy", "degraded", "unreachable"):
                    raise Bad("health_status")
                if not is_num(p.get("latency_ms"), 0):
                    raise Bad("latency_ms")
            elif et == "ConnectorDegraded":
                need("degradation_reason")
                if not is_ts(p.get("last_healthy_at")):
                    raise Bad("last_healthy_at")
            elif et == "ConnectorRevoked":
                need("revocation_reason")
            elif et == "ConnectorReconnected":
                if p.get("previous_state") not in ("provisioned", "healthy", "degraded", "revoked", "reconnected"):
                    raise Bad("previous_state")
                if p.get("reconnect_strategy") not in ("automatic", "manual", "backoff"):
                    raise Bad("reconnect_strategy")
        elif et in SYNC:
            need("delivery_id", "source_event_fingerprint", "connector_id", "mission_id")
            if not is_ts(p.get("recorded_at")):
                raise Bad("recorded_at")
            if et == "SyncIngestAccepted":
                need("ingest_batch_id")
                if not is_int(p.get("ingested_count"), 1):
                    raise Bad("ingested_count")
            elif et == "SyncIngestRejected":
                need("rejection_reason", "rejected_payload_ref")
            elif et == "SyncRetryScheduled":
                if not is_int(p.get("retry_attempt"), 1) or not is_int(p.get("max_retries"), 1):
                    raise Bad("retry ints")
                if not is_ts(p.get("next_retry_at")):
                    raise Bad("next_retry_at")
            elif et == "SyncDeadLettered":
                need("failure_reason", "dead_letter_ref")
                if not is_int(p.get("total_attempts"), 1):
                    raise Bad("total_attempts")
            elif et == "SyncReplayCompleted":
                need("replay_id", "replay_source")
                if not is_int(p.get("replayed_count"), 0):
                    raise Bad("replayed_count")
        elif et in LINK:
            need("link_id", "connector_id", "external_provider", "external_ref_type", "external_ref_id",
                 "internal_aggregate_type", "internal_aggregate_id", "mission_id", "linked_by")
            if not is_url(p.get("external_ref_url")):
                raise Bad("external_ref_url")
            if not is_ts(p.get("recorded_at")):
                raise Bad("recorded_at")
    except Bad as b:
        return str(b)
    return None


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: check_log.py LOG  (LOG.meta.json, written by produce.py, beside it)\n")
        print((__doc__ or "").strip())
        sys.exit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
    path = sys.argv[1]
    if not os.path.isfile(path) or not os.path.isfile(path + ".meta.json"):
        sys.exit(f"check_log.py: {path} and {path}.meta.json must both be files")
    meta = json.load(open(path + ".meta.json", encoding="utf-8"))
    ln_invalid = set(meta["line_numbers"]["invalid"])
    ln_amb = set(meta["line_numbers"]["ambiguous"])
    problems = Counter()
    examples = {}
    stats = Counter()
    with open(path, "rb") as fh:
        for ln, raw in enumerate(fh, 1):
            line = raw[:-1] if raw.endswith(b"\n") else raw
            if ln in ln_amb:
                continue
            try:
                env = parse(line)
                check_env(env)
                ok_env = True
            except Bad as b:
                ok_env = False
                why = str(b)
            if ln in ln_invalid:
                if ok_env:
                    problems["labelled invalid but passes"] += 1
                    examples.setdefault("labelled invalid but passes", ln)
                continue
            if not ok_env:
                problems["unlabelled invalid: " + why] += 1
                examples.setdefault("unlabelled invalid: " + why, ln)
                continue
            stats["valid_envelopes"] += 1
            bad = check_payload(env["event_type"], env["payload"])
            if bad:
                stats["bad_payload"] += 1
    print("valid envelopes:", stats["valid_envelopes"], " with malformed payload:", stats["bad_payload"])
    exp_bad = sum(v for k, v in meta["line_tag_counts"].items() if k.startswith("malformed_payload:"))
    exp_bad += sum(v for k, v in meta["line_tag_counts"].items() if k.startswith("conflict:malformed_copy:"))
    exp_bad += meta["line_tag_counts"].get("edge:endpoint_url_2049_chars_malformed", 0)
    print("expected malformed payload lines (labels):", exp_bad)
    for k, v in problems.most_common():
        print("PROBLEM", v, k, "e.g. line", examples[k])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
