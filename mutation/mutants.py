"""Hand-made mutants of every reducer rule, in every engine (see README.md).

Each mutant is one exact replacement: ``original`` must occur exactly once
in ``path`` (``run.py`` checks it), and ``mutated`` is what a plausible
one-line slip would leave there. ``engine`` says which engines the file
serves: ``python`` (the pure-Python reducer and its glue), ``compiled`` (the
C fold, the C scanner rules that decide what the fold sees, the committed
``spec.json`` the core folds by, and the Python glue only the compiled
engines run) or ``both`` (anomaly wording shared by every engine).

A mutant whose behaviour equals the original's on every input carries the
reason in ``equivalent``; it is run all the same, and left out of the kill
rate's denominator.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

__all__ = ["MUTANTS", "Mutant"]

Engine = Literal["python", "compiled", "both"]


class Mutant(NamedTuple):
    """One exact replacement in one file of the tree."""

    name: str
    engine: Engine
    path: str
    original: str
    mutated: str
    equivalent: str = ""
    """Why the mutant cannot change behaviour (empty: it can)."""


STEPS: Final = "src/connector_sync_contracts/reducing/steps.py"
FOLD_PY: Final = "src/connector_sync_contracts/reducing/fold.py"
ANOMALIES: Final = "src/connector_sync_contracts/reducing/anomalies.py"
LIFECYCLE: Final = "src/connector_sync_contracts/contract/lifecycle.py"
RULES: Final = "src/connector_sync_contracts/contract/rules.py"
RUNNER: Final = "src/connector_sync_contracts/_engine/runner.py"
LIBRARY: Final = "src/connector_sync_contracts/_engine/library.py"
NATIVE: Final = "src/connector_sync_contracts/_engine/native/"
FOLD_C: Final = NATIVE + "fold.c"
SCAN_C: Final = NATIVE + "scan.c"
STORE_C: Final = NATIVE + "store.c"
SPEC_JSON: Final = NATIVE + "spec.json"

_PY: Final = [
    # ------------------------------------------------------------ connector step
    Mutant(
        "py-identity-no-connector-type",
        "python",
        STEPS,
        "fact.provider != acc.provider or fact.connector_type != acc.connector_type",
        "fact.provider != acc.provider",
    ),
    Mutant(
        "py-identity-no-provider",
        "python",
        STEPS,
        "fact.provider != acc.provider or fact.connector_type != acc.connector_type",
        "fact.connector_type != acc.connector_type",
    ),
    Mutant(
        "py-identity-from-last-applied",
        "python",
        STEPS,
        "    if acc.provider is None:\n        # Identity comes",
        "    if True:\n        # Identity comes",
    ),
    Mutant(
        "py-connector-semantic-dropped",
        "python",
        STEPS,
        "    for code in fact.broken_rules:\n"
        "        acc.anomalies.append(semantic_violation(eid, code))",
        "    for code in fact.broken_rules[:0]:\n"
        "        acc.anomalies.append(semantic_violation(eid, code))",
    ),
    Mutant(
        "py-every-self-loop-observed",
        "python",
        STEPS,
        "if current is target and target in OBSERVATION_STATES:",
        "if current is target:",
    ),
    Mutant(
        "py-no-observations",
        "python",
        STEPS,
        "if current is target and target in OBSERVATION_STATES:",
        "if False:",
    ),
    Mutant(
        "py-transition-check-inverted",
        "python",
        STEPS,
        "if target not in ALLOWED_TRANSITIONS[current]:",
        "if target in ALLOWED_TRANSITIONS[current]:",
    ),
    Mutant(
        "py-previous-state-inverted",
        "python",
        STEPS,
        "fact.previous_state is not None and fact.previous_state is not current",
        "fact.previous_state is not None and fact.previous_state is current",
    ),
    Mutant(
        "py-last-transition-kept-first",
        "python",
        STEPS,
        "    acc.last_transition_at = fact.recorded_at",
        "    acc.last_transition_at = acc.last_transition_at or fact.recorded_at",
    ),
    Mutant(
        "py-reconnect-limit-inclusive",
        "python",
        STEPS,
        "if acc.reconnects_since_healthy > acc.max_reconnect_cycles:",
        "if acc.reconnects_since_healthy >= acc.max_reconnect_cycles:",
    ),
    Mutant(
        "py-reconnect-limit-plus-one",
        "python",
        STEPS,
        "if acc.reconnects_since_healthy > acc.max_reconnect_cycles:",
        "if acc.reconnects_since_healthy > acc.max_reconnect_cycles + 1:",
    ),
    Mutant(
        "py-reconnect-reset-on-degraded",
        "python",
        STEPS,
        "    elif target is ConnectorState.HEALTHY:\n        acc.reconnects_since_healthy = 0",
        "    elif target is ConnectorState.DEGRADED:\n        acc.reconnects_since_healthy = 0",
    ),
    Mutant(
        "py-reconnect-never-reset",
        "python",
        STEPS,
        "acc.reconnects_since_healthy = 0",
        "acc.reconnects_since_healthy += 0",
    ),
    Mutant(
        "py-malformed-not-counted",
        "python",
        STEPS,
        "    acc.event_count += 1\n    if isinstance(fact, MalformedFact):\n"
        "        acc.anomalies.append(malformed(fact))\n        return acc\n"
        "    eid = fact.event_id\n    if acc.provider",
        "    if isinstance(fact, MalformedFact):\n        acc.anomalies.append(malformed(fact))\n"
        "        return acc\n    acc.event_count += 1\n"
        "    eid = fact.event_id\n    if acc.provider",
    ),
    Mutant(
        "py-zero-latency-lost",
        "python",
        STEPS,
        "acc.last_latency_ms = fact.latency_ms",
        "acc.last_latency_ms = fact.latency_ms or None",
    ),
    Mutant(
        "py-negative-zero-kept",
        "python",
        STEPS,
        "return None if value is None else float(value) + 0.0",
        "return None if value is None else float(value)",
    ),
    # ------------------------------------------------------------ contract tables
    Mutant(
        "py-unreachable-targets-healthy",
        "python",
        LIFECYCLE,
        "HealthStatus.UNREACHABLE: ConnectorState.DEGRADED,",
        "HealthStatus.UNREACHABLE: ConnectorState.HEALTHY,",
    ),
    Mutant(
        "py-table-revoked-to-healthy",
        "python",
        LIFECYCLE,
        "ConnectorState.REVOKED: frozenset({ConnectorState.RECONNECTED}),",
        "ConnectorState.REVOKED: frozenset({ConnectorState.RECONNECTED, ConnectorState.HEALTHY}),",
    ),
    Mutant(
        "py-table-healthy-not-to-revoked",
        "python",
        LIFECYCLE,
        "ConnectorState.HEALTHY: frozenset({ConnectorState.DEGRADED, ConnectorState.REVOKED}),",
        "ConnectorState.HEALTHY: frozenset({ConnectorState.DEGRADED}),",
    ),
    Mutant(
        "py-degraded-not-an-observation",
        "python",
        LIFECYCLE,
        "    {ConnectorState.HEALTHY, ConnectorState.DEGRADED}\n)",
        "    {ConnectorState.HEALTHY}\n)",
    ),
    Mutant(
        "py-default-reconnect-limit-4",
        "python",
        LIFECYCLE,
        "DEFAULT_MAX_RECONNECT_CYCLES: Final = 3",
        "DEFAULT_MAX_RECONNECT_CYCLES: Final = 4",
    ),
    Mutant(
        "py-dead-letter-not-terminal",
        "python",
        LIFECYCLE,
        "{SyncOutcome.ACCEPTED, SyncOutcome.REJECTED, SyncOutcome.DEAD_LETTERED}",
        "{SyncOutcome.ACCEPTED, SyncOutcome.REJECTED}",
    ),
    Mutant(
        "py-semantic-rule-inclusive",
        "python",
        RULES,
        "getattr(payload, rule.earlier) > getattr(payload, rule.later)",
        "getattr(payload, rule.earlier) >= getattr(payload, rule.later)",
    ),
    Mutant(
        "py-semantic-rule-sides-swapped",
        "python",
        RULES,
        '        "last_healthy_at",\n        "recorded_at",',
        '        "recorded_at",\n        "last_healthy_at",',
    ),
    Mutant(
        "py-budget-is-a-plain-violation",
        "python",
        ANOMALIES,
        'SEMANTIC_ANOMALY: Final = {"retry_attempt_exceeds_max_retries": "retry_budget_exceeded"}',
        "SEMANTIC_ANOMALY: Final[dict[str, str]] = {}",
    ),
    # ------------------------------------------------------------ delivery step
    Mutant(
        "py-equal-retry-applied",
        "python",
        STEPS,
        "if fact.retry_attempt == delivery.last_retry:",
        "if fact.retry_attempt == delivery.last_retry and False:",
    ),
    Mutant(
        "py-regressed-inclusive",
        "python",
        STEPS,
        "if fact.retry_attempt < delivery.last_retry:",
        "if fact.retry_attempt <= delivery.last_retry:",
        equivalent="an equal retry_attempt is taken by the duplicate check just before",
    ),
    Mutant(
        "py-regressed-inverted",
        "python",
        STEPS,
        "if fact.retry_attempt < delivery.last_retry:",
        "if fact.retry_attempt > delivery.last_retry:",
    ),
    Mutant(
        "py-retry-after-terminal-applied",
        "python",
        STEPS,
        "            if delivery.terminal is not None:\n"
        "                acc.anomalies.append(retry_after_terminal",
        "            if delivery.terminal is not None and False:\n"
        "                acc.anomalies.append(retry_after_terminal",
    ),
    Mutant(
        "py-budget-also-a-violation",
        "python",
        STEPS,
        "        if code not in SEMANTIC_ANOMALY:",
        "        if True:",
    ),
    Mutant(
        "py-budget-dropped",
        "python",
        STEPS,
        "            if code in SEMANTIC_ANOMALY:\n"
        "                acc.anomalies.append(retry_budget",
        "            if code in SEMANTIC_ANOMALY and False:\n"
        "                acc.anomalies.append(retry_budget",
    ),
    Mutant(
        "py-replay-applied-twice",
        "python",
        STEPS,
        "if delivery is not None and delivery.replayed:",
        "if delivery is not None and delivery.replayed and False:",
    ),
    Mutant(
        "py-replay-not-remembered",
        "python",
        STEPS,
        "delivery.replayed = True",
        "delivery.replayed = False",
    ),
    Mutant(
        "py-replayed-items-assigned",
        "python",
        STEPS,
        "acc.replayed_items += fact.replayed_count",
        "acc.replayed_items = fact.replayed_count",
    ),
    Mutant(
        "py-ingested-items-assigned",
        "python",
        STEPS,
        "acc.ingested_items += fact.ingested_count",
        "acc.ingested_items = fact.ingested_count",
    ),
    Mutant(
        "py-same-terminal-is-conflict",
        "python",
        STEPS,
        "if delivery.terminal is outcome:",
        "if delivery.terminal is not outcome:",
    ),
    Mutant(
        "py-second-terminal-applied",
        "python",
        STEPS,
        "if delivery is not None and delivery.terminal is not None:\n            if",
        "if delivery is not None and delivery.terminal is not None and False:\n            if",
    ),
    Mutant(
        "py-retry-not-an-attempt",
        "python",
        STEPS,
        "        delivery.last_retry = fact.retry_attempt\n        delivery.attempts += 1",
        "        delivery.last_retry = fact.retry_attempt",
    ),
    Mutant(
        "py-terminal-not-an-attempt",
        "python",
        STEPS,
        "        delivery.terminal = outcome\n        delivery.attempts += 1",
        "        delivery.terminal = outcome",
    ),
    Mutant(
        "py-last-event-kept-first",
        "python",
        STEPS,
        "    delivery.last_event_id = eid",
        "    delivery.last_event_id = delivery.last_event_id or eid",
    ),
    Mutant(
        "py-status-kept-first",
        "python",
        STEPS,
        "    delivery.status = outcome\n",
        "    delivery.status = delivery.status\n",
    ),
    Mutant(
        "py-outcome-count-assigned",
        "python",
        STEPS,
        "acc.counts[outcome] += 1",
        "acc.counts[outcome] = 1",
    ),
    Mutant(
        "py-pending-without-a-retry",
        "python",
        STEPS,
        "if d.terminal is None and d.last_retry > 0",
        "if d.terminal is None",
    ),
    Mutant(
        "py-pending-after-terminal",
        "python",
        STEPS,
        "if d.terminal is None and d.last_retry > 0",
        "if d.last_retry > 0",
    ),
    Mutant(
        "py-key-without-fingerprint",
        "python",
        STEPS,
        "key = (fact.delivery_id, fact.fingerprint)",
        "key = (fact.delivery_id, fact.delivery_id)",
    ),
    Mutant(
        "py-outcome-log-fingerprint",
        "python",
        STEPS,
        "acc.outcome_log.append((eid, outcome, fact.delivery_id))",
        "acc.outcome_log.append((eid, outcome, fact.fingerprint))",
    ),
    Mutant(
        "py-deliveries-unordered",
        "python",
        STEPS,
        "for key, d in sorted(self.deliveries.items())",
        "for key, d in self.deliveries.items()",
    ),
    # ------------------------------------------------------------ link step
    Mutant(
        "py-link-id-reuse-inverted",
        "python",
        STEPS,
        "if owner is not None and owner != key:",
        "if owner is not None and owner == key:",
    ),
    Mutant(
        "py-link-conflict-ignores-type",
        "python",
        STEPS,
        "        link.internal_aggregate_type,\n        link.internal_aggregate_id,\n    ):",
        "        existing.internal_aggregate_type,\n        link.internal_aggregate_id,\n    ):",
    ),
    Mutant(
        "py-last-link-wins",
        "python",
        STEPS,
        "    if existing is None:\n        acc.links[key] = link",
        "    if True:\n        acc.links[key] = link",
    ),
    Mutant(
        "py-link-id-not-remembered",
        "python",
        STEPS,
        "        acc.link_ids[link.link_id] = key",
        "        pass",
    ),
    Mutant(
        "py-links-unordered",
        "python",
        STEPS,
        "ordered = sorted(self.links.items(), key=_link_key)",
        "ordered = list(self.links.items())",
    ),
    Mutant(
        "py-reverse-index-unordered",
        "python",
        STEPS,
        "for agg, keys in sorted(reverse.items())",
        "for agg, keys in reverse.items()",
    ),
    # ------------------------------------------------------------ dedup and counts
    Mutant(
        "py-dedup-ignores-validity",
        "python",
        FOLD_PY,
        "if (malformed, key, identity) < held[:3]:",
        "if (key, identity) < held[1:3]:",
    ),
    Mutant(
        "py-dedup-unknown-type-is-valid",
        "python",
        FOLD_PY,
        "return fact is None or isinstance(fact, MalformedFact)",
        "return isinstance(fact, MalformedFact)",
    ),
    Mutant(
        "py-dedup-largest-wins",
        "python",
        FOLD_PY,
        "if (malformed, key, identity) < held[:3]:",
        "if (malformed, key, identity) > held[:3]:",
    ),
    Mutant(
        "py-differing-copies-dropped",
        "python",
        FOLD_PY,
        "distinct = len(self.winners) + sum(len(s) - 1 for s in self.conflicts.values())",
        "distinct = len(self.winners)",
    ),
    Mutant(
        "py-stream-dedup-ignores-validity",
        "python",
        RUNNER,
        "                unchecked(fact),\n                (record[:16],),",
        "                False,\n                (record[:16],),",
    ),
    Mutant(
        "py-stream-dedup-orders-by-line-digest",
        "python",
        RUNNER,
        "                (record[:16],),",
        "                (record[16:],),",
    ),
    Mutant(
        "py-stream-conflict-not-counted",
        "python",
        RUNNER,
        "                self.conflicts[eid] = distinct",
        "                pass",
    ),
]

_C: Final = [
    # ------------------------------------------------------------ connector fold
    Mutant(
        "c-identity-no-connector-type",
        "compiled",
        FOLD_C,
        "(r->u.c.provider != ca->provider || r->u.c.ctype != ca->ctype)",
        "(r->u.c.provider != ca->provider)",
    ),
    Mutant(
        "c-identity-no-provider",
        "compiled",
        FOLD_C,
        "(r->u.c.provider != ca->provider || r->u.c.ctype != ca->ctype)",
        "(r->u.c.ctype != ca->ctype)",
    ),
    Mutant(
        "c-identity-from-last-applied",
        "compiled",
        FOLD_C,
        "        if (!ca->has_identity) {\n            ca->has_identity = 1;",
        "        if (1) {\n            ca->has_identity = 1;",
    ),
    Mutant(
        "c-connector-semantic-dropped",
        "compiled",
        FOLD_C,
        "        if (r->broken & (1u << k) &&\n"
        '            add_anomaly(self, ca->anomalies, "semantic',
        "        if (0 && r->broken & (1u << k) &&\n"
        '            add_anomaly(self, ca->anomalies, "semantic',
    ),
    Mutant(
        "c-every-self-loop-observed",
        "compiled",
        FOLD_C,
        "if (!(ca->state == target && spec->observation[target])) {",
        "if (!(ca->state == target)) {",
    ),
    Mutant(
        "c-transition-check-inverted",
        "compiled",
        FOLD_C,
        "if (!spec->allowed[ca->state + 1][target])",
        "if (spec->allowed[ca->state + 1][target])",
    ),
    Mutant(
        "c-previous-state-inverted",
        "compiled",
        FOLD_C,
        "if (r->prev && (int)r->prev - 1 != ca->state &&",
        "if (r->prev && (int)r->prev - 1 == ca->state &&",
    ),
    Mutant(
        "c-last-transition-kept-first",
        "compiled",
        FOLD_C,
        "        ca->last_transition = r->u.c.recorded_at;",
        "        if (!ca->has_transition) ca->last_transition = r->u.c.recorded_at;",
    ),
    Mutant(
        "c-reconnect-limit-plus-one",
        "compiled",
        FOLD_C,
        "if (ca->reconnects > max_cycles &&",
        "if (ca->reconnects > max_cycles + 1 &&",
    ),
    Mutant(
        "c-reconnect-limit-inclusive",
        "compiled",
        FOLD_C,
        "if (ca->reconnects > max_cycles &&",
        "if (ca->reconnects >= max_cycles &&",
    ),
    Mutant(
        "c-reconnect-never-reset",
        "compiled",
        FOLD_C,
        "ca->reconnects = 0;",
        "ca->reconnects += 0;",
    ),
    Mutant(
        "c-health-check-kept-first",
        "compiled",
        FOLD_C,
        "        ca->last_health_check = r->u.c.recorded_at;",
        "        if (!ca->has_health_check) ca->last_health_check = r->u.c.recorded_at;",
    ),
    Mutant(
        "c-malformed-not-counted",
        "compiled",
        FOLD_C,
        "    ca->events++;\n"
        "    if (r->kind == RK_MALFORMED) return malformed_anomaly(self, ca->anomalies, r);",
        "    if (r->kind == RK_MALFORMED) return malformed_anomaly(self, ca->anomalies, r);\n"
        "    ca->events++;",
    ),
    # ------------------------------------------------------------ delivery fold
    Mutant(
        "c-equal-retry-applied",
        "compiled",
        FOLD_C,
        "if (r->u.s.retry == d->last_retry)",
        "if (0 && r->u.s.retry == d->last_retry)",
    ),
    Mutant(
        "c-regressed-inclusive",
        "compiled",
        FOLD_C,
        "if (r->u.s.retry < d->last_retry)",
        "if (r->u.s.retry <= d->last_retry)",
        equivalent="an equal retry is taken by the duplicate check just before",
    ),
    Mutant(
        "c-regressed-inverted",
        "compiled",
        FOLD_C,
        "if (r->u.s.retry < d->last_retry)",
        "if (r->u.s.retry > d->last_retry)",
    ),
    Mutant(
        "c-retry-after-first-outcome-applied",
        "compiled",
        FOLD_C,
        "            if (d->terminal >= 0)\n",
        "            if (d->terminal > 0)\n",
    ),
    Mutant(
        "c-budget-dropped",
        "compiled",
        FOLD_C,
        "            if (r->broken & (1u << k) && et->rule_budget[k] &&",
        "            if (0 && r->broken & (1u << k) && et->rule_budget[k] &&",
    ),
    Mutant(
        "c-budget-also-a-violation",
        "compiled",
        FOLD_C,
        "if (r->broken & (1u << k) && !et->rule_budget[k] &&",
        "if (r->broken & (1u << k) &&",
    ),
    Mutant(
        "c-replay-applied-twice",
        "compiled",
        FOLD_C,
        "if (d && d->replayed) return skip(",
        "if (d && d->replayed && 0) return skip(",
    ),
    Mutant(
        "c-replay-not-remembered",
        "compiled",
        FOLD_C,
        "d->replayed = 1;",
        "d->replayed = 0;",
    ),
    Mutant(
        "c-replayed-into-ingested",
        "compiled",
        FOLD_C,
        "sum_add(&sa->replayed, r->u.s.count);",
        "sum_add(&sa->ingested, r->u.s.count);",
    ),
    Mutant(
        "c-sum-wraps",
        "compiled",
        FOLD_C,
        "s->hi += s->lo < add;",
        "s->hi += 0;",
    ),
    Mutant(
        "c-same-terminal-is-conflict",
        "compiled",
        FOLD_C,
        "if (d->terminal == outcome)",
        "if (d->terminal != outcome)",
    ),
    Mutant(
        "c-second-terminal-after-accepted-applied",
        "compiled",
        FOLD_C,
        "if (d && d->terminal >= 0) {",
        "if (d && d->terminal > 0) {",
    ),
    Mutant(
        "c-retry-not-an-attempt",
        "compiled",
        FOLD_C,
        "        d->last_retry = r->u.s.retry;\n        d->attempts++;",
        "        d->last_retry = r->u.s.retry;",
    ),
    Mutant(
        "c-terminal-not-an-attempt",
        "compiled",
        FOLD_C,
        "        d->terminal = outcome;\n        d->attempts++;",
        "        d->terminal = outcome;",
    ),
    Mutant(
        "c-last-event-kept-first",
        "compiled",
        FOLD_C,
        "    d->status = outcome;\n    d->rec = ri;",
        "    d->status = outcome;",
        equivalent="deliveries are written only with logs kept, and then their last event_id "
        "is d->last_eid and their key the same in every record: d->rec is only a fallback",
    ),
    Mutant(
        "c-last-event-id-kept-first",
        "compiled",
        FOLD_C,
        "Py_XSETREF(d->last_eid, Py_NewRef(eid));",
        "if (!d->last_eid) d->last_eid = Py_NewRef(eid);",
    ),
    Mutant(
        "c-status-kept-first",
        "compiled",
        FOLD_C,
        "    d->status = outcome;\n    d->rec = ri;",
        "    d->rec = ri;",
    ),
    Mutant(
        "c-outcome-count-assigned",
        "compiled",
        FOLD_C,
        "sa->counts[outcome]++;",
        "sa->counts[outcome] = 1;",
    ),
    Mutant(
        "c-pending-without-a-retry",
        "compiled",
        FOLD_C,
        "if (d->terminal < 0 && d->last_retry > 0) pending++;",
        "if (d->terminal < 0) pending++;",
    ),
    Mutant(
        "c-pending-after-terminal",
        "compiled",
        FOLD_C,
        "if (d->terminal < 0 && d->last_retry > 0) pending++;",
        "if (d->last_retry > 0) pending++;",
    ),
    Mutant(
        "c-outcome-log-fingerprint",
        "compiled",
        FOLD_C,
        "if (!d->did && !(d->did = blob_str(self, r->u.s.off, r->u.s.dlen))) return -1;",
        "if (!d->did && !(d->did = blob_str(self, r->u.s.off + r->u.s.dlen, r->u.s.flen)))\n"
        "            return -1;",
    ),
    # ------------------------------------------------------------ replay order
    Mutant(
        "c-order-lamport-reversed",
        "compiled",
        FOLD_C,
        "return x->lamport < y->lamport ? -1 : 1;",
        "return x->lamport < y->lamport ? 1 : -1;",
    ),
    Mutant(
        "c-order-ignores-instant",
        "compiled",
        FOLD_C,
        "if (x->instant != y->instant) return",
        "if (0) return",
    ),
    Mutant(
        "c-order-event-id-reversed",
        "compiled",
        FOLD_C,
        "(size_t)n);\n    if (c) return c;",
        "(size_t)n);\n    if (c) return -c;",
    ),
    # ------------------------------------------------------------ scanner rules the fold sees
    Mutant(
        "c-scan-semantic-rule-inclusive",
        "compiled",
        SCAN_C,
        "b->present && !b->is_null && a->i > b->i)",
        "b->present && !b->is_null && a->i >= b->i)",
    ),
    Mutant(
        "c-scan-semantic-rule-inverted",
        "compiled",
        SCAN_C,
        "b->present && !b->is_null && a->i > b->i)",
        "b->present && !b->is_null && a->i < b->i)",
    ),
    Mutant(
        "c-scan-int-minimum-unchecked",
        "compiled",
        SCAN_C,
        "if (!isint || big || iv < f->lo || iv > f->hi) return NULL;",
        "if (!isint || big || iv > f->hi) return NULL;",
    ),
    Mutant(
        "c-scan-float-minimum-lowered",
        "compiled",
        SCAN_C,
        "if (f->has_flo && !(fv >= f->flo)) return NULL;",
        "if (f->has_flo && !(fv >= f->flo - 1)) return NULL;",
    ),
    Mutant(
        "c-store-negative-zero-kept",
        "compiled",
        STORE_C,
        "r->u.c.latency = pl->pay[et->role_field[R_LATENCY]].f + 0.0;",
        "r->u.c.latency = pl->pay[et->role_field[R_LATENCY]].f;",
        equivalent="native.connector_state adds + 0.0 again when it builds the result, "
        "the only place a record's latency leaves the core",
    ),
    Mutant(
        "c-store-previous-state-off-by-one",
        "compiled",
        STORE_C,
        "r->prev = (uint8_t)(pl->pay[prev].idx + 1);",
        "r->prev = (uint8_t)(pl->pay[prev].idx);",
    ),
    # ------------------------------------------------------------ the compiled core's spec
    Mutant(
        "c-spec-unreachable-targets-healthy",
        "compiled",
        SPEC_JSON,
        '"unreachable": "degraded"',
        '"unreachable": "healthy"',
    ),
    Mutant(
        "c-spec-revoked-to-healthy",
        "compiled",
        SPEC_JSON,
        '"revoked": [\n      "reconnected"\n    ]',
        '"revoked": [\n      "healthy",\n      "reconnected"\n    ]',
    ),
    Mutant(
        "c-spec-degraded-not-an-observation",
        "compiled",
        SPEC_JSON,
        '"observations": [\n    "degraded",\n    "healthy"\n  ],',
        '"observations": [\n    "healthy"\n  ],',
    ),
    Mutant(
        "c-spec-dead-letter-not-terminal",
        "compiled",
        SPEC_JSON,
        '"terminal_outcomes": [\n    "accepted",\n    "dead_lettered",\n    "rejected"\n  ],',
        '"terminal_outcomes": [\n    "accepted",\n    "rejected"\n  ],',
        equivalent="spec.c only checks the list (no retry or replay in it); the C fold "
        "takes every outcome but retry and replay as terminal and never reads it",
    ),
    Mutant(
        "c-spec-no-budget-rule",
        "compiled",
        SPEC_JSON,
        '"budget_rules": [\n    "retry_attempt_exceeds_max_retries"\n  ],',
        '"budget_rules": [],',
    ),
    # ------------------------------------------------------------ link fold
    Mutant(
        "c-link-id-reuse-ignores-ref-id",
        "compiled",
        FOLD_C,
        "if (o->key[0] != w.key[0] || o->key[1] != w.key[1] || o->key[2] != w.key[2]) {",
        "if (o->key[0] != w.key[0] || o->key[1] != w.key[1]) {",
    ),
    Mutant(
        "c-link-conflict-ignores-type",
        "compiled",
        FOLD_C,
        "if (held->agg[0] == w.agg[0] && held->agg[1] == w.agg[1]) return 0; /* absorbed */",
        "if (held->agg[1] == w.agg[1]) return 0; /* absorbed */",
    ),
    Mutant(
        "c-absorbed-link-replaces-the-first",
        "compiled",
        FOLD_C,
        "if (held->agg[0] == w.agg[0] && held->agg[1] == w.agg[1]) return 0; /* absorbed */",
        "if (held->agg[0] == w.agg[0] && held->agg[1] == w.agg[1])\n"
        "        return (int)(L->wins[at - 1].rec = ri) * 0; /* absorbed */",
    ),
    Mutant(
        "c-link-id-not-remembered",
        "compiled",
        FOLD_C,
        "L->owner[lid] = (uint32_t)L->n;",
        "(void)lid;",
    ),
    Mutant(
        "c-links-unordered",
        "compiled",
        FOLD_C,
        "return sort_lkeys(keys, keys + n, n);",
        "return keys;",
    ),
    Mutant(
        "c-link-order-two-parts",
        "compiled",
        FOLD_C,
        "return texts_order(a, b, 3) < 0;",
        "return texts_order(a, b, 2) < 0;",
    ),
    Mutant(
        "c-reverse-index-unordered",
        "compiled",
        FOLD_C,
        "return c ? c < 0 : a->at < b->at;",
        "return a->at < b->at;",
    ),
    Mutant(
        "c-malformed-link-stream-level",
        "compiled",
        FOLD_C,
        "rc = malformed_anomaly(self, r->health ? found : stream, r);",
        "rc = malformed_anomaly(self, stream, r);",
    ),
    Mutant(
        "c-other-event-not-ignored",
        "compiled",
        FOLD_C,
        "            ignored++; /* an event of no family, or a link not folded */",
        "            /* an event of no family, or a link not folded */",
    ),
    Mutant(
        "c-links-folded-for-every-family",
        "compiled",
        FOLD_C,
        "int on = (families >> F_LINK) & 1;",
        "int on = 1;",
    ),
    # ------------------------------------------------------------ dedup glue, compiled engines
    Mutant(
        "c-stream-dedup-ignores-validity",
        "compiled",
        RUNNER,
        "                    unchecked(fact),\n                    order,",
        "                    False,\n                    order,",
    ),
    Mutant(
        "c-stream-checked-settle-ignores-validity",
        "compiled",
        RUNNER,
        "                unchecked_copy = native.unchecked_record(record[0])",
        "                unchecked_copy = False",
    ),
    Mutant(
        "c-stream-kept-copy-ignores-validity",
        "compiled",
        RUNNER,
        "    return unknown, order, canonical_json(event), (order, raw, values)",
        "    return False, order, canonical_json(event), (order, raw, values)",
    ),
    Mutant(
        "c-library-dedup-ignores-validity",
        "compiled",
        LIBRARY,
        "(unchecked(fact), order, canonical, (order, canonical, fact))",
        "(False, order, canonical, (order, canonical, fact))",
    ),
    Mutant(
        "c-dedup-unknown-type-record-is-valid",
        "compiled",
        NATIVE + "__init__.py",
        'return kind in ("other", "malformed")',
        'return kind == "malformed"',
    ),
    Mutant(
        "c-stream-conflict-not-counted",
        "compiled",
        RUNNER,
        "        if distinct > 1:\n            conflicts[eid] = distinct\n        self.scanner",
        "        if distinct > 2:\n            conflicts[eid] = distinct\n        self.scanner",
    ),
    Mutant(
        "c-library-identical-copies-not-counted",
        "compiled",
        LIBRARY,
        "        dropped += identical",
        "        dropped += 0",
    ),
]

_BOTH: Final = [
    Mutant(
        "both-loop-message-names-the-count-as-limit",
        "both",
        ANOMALIES,
        "reconnects without reaching healthy (limit {limit}); applied",
        "reconnects without reaching healthy (limit {count}); applied",
    ),
    Mutant(
        "both-conflict-message-swapped",
        "both",
        ANOMALIES,
        'f"{outcome} after terminal {terminal}",',
        'f"{terminal} after terminal {outcome}",',
    ),
    Mutant(
        "both-regressed-message-swapped",
        "both",
        ANOMALIES,
        'f"retry {attempt} after retry {last}",',
        'f"retry {last} after retry {attempt}",',
    ),
    Mutant(
        "both-link-conflict-message-swapped",
        "both",
        ANOMALIES,
        'f"{provider}/{ref_type}/{ref_id} is linked to {held_type} {held_id}, "',
        'f"{provider}/{ref_type}/{ref_id} is linked to {aggregate_type} {aggregate_id}, "',
    ),
    Mutant(
        "both-link-id-reused-message-names-the-link",
        "both",
        ANOMALIES,
        'message=f"link_id {link_id} already names {provider}/{ref_type}/{ref_id}; skipped",',
        'message=f"link_id {link_id} already names {link_id}; skipped",',
    ),
]

MUTANTS: Final = (*_PY, *_C, *_BOTH)
"""Every mutant, in the order ``run.py`` runs them."""
