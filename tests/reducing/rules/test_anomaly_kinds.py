"""Every anomaly kind the specification names is asserted by the shared rule suite.

The kinds are read from three places that must agree: the specification
(``docs/specification.md``, sections 2-6), the code that records anomalies
(the builders in ``reducing/anomalies.py`` and every ``kind="..."`` in the
package), and the rule case modules of this folder, which every engine runs.
A kind added to the code without a rule test, or named by the specification
without code, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import connector_sync_contracts
from connector_sync_contracts.reducing.anomalies import NATIVE_ANOMALIES

ROOT: Final = Path(__file__).resolve().parents[3]
SPEC: Final = ROOT / "docs" / "specification.md"
PACKAGE: Final = Path(connector_sync_contracts.__file__).parent
RULE_MODULES: Final = ("connector", "sync", "links", "replay", "dedup")

ANOMALY_KINDS: Final = frozenset(
    {
        # Section 2: dedup by event_id.
        "conflicting_duplicate",
        # Section 3: the connector reducer (and every family for malformed payloads).
        "malformed_payload",
        "semantic_violation",
        "invalid_transition",
        "previous_state_mismatch",
        "reconnect_loop",
        "identity_changed",
        # Section 4: the delivery rules.
        "duplicate_delivery",
        "conflicting_outcome",
        "retry_attempt_regressed",
        "retry_after_terminal",
        "retry_budget_exceeded",
        # Section 5: the link index.
        "conflicting_link",
        "link_id_reused",
        # Section 6: replay.
        "malformed_envelope",
    }
)
"""The anomaly kinds of specification sections 2-6."""


def _kinds_in_code() -> set[str]:
    found = set(NATIVE_ANOMALIES)
    for path in PACKAGE.rglob("*.py"):
        found.update(re.findall(r'kind="([a-z_]+)"', path.read_text(encoding="utf-8")))
    return found


def test_the_specification_names_every_kind_in_backticks() -> None:
    text = SPEC.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", text))
    assert sorted(ANOMALY_KINDS - named) == []


def test_the_code_records_exactly_the_specifications_kinds() -> None:
    assert _kinds_in_code() == ANOMALY_KINDS


def test_the_compiled_fold_reports_only_kinds_python_words() -> None:
    # The compiled fold hands (kind, event_id, *params) to reducing/anomalies.py.
    source = (PACKAGE / "_engine" / "native" / "fold.c").read_text(encoding="utf-8")
    reported = set(re.findall(r'"([a-z]+(?:_[a-z]+)+)"', source))
    assert reported & ANOMALY_KINDS == reported & set(NATIVE_ANOMALIES)
    assert reported >= set(NATIVE_ANOMALIES)


def test_every_kind_is_asserted_by_the_shared_rule_suite() -> None:
    suite = "".join(
        (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8") for name in RULE_MODULES
    )
    asserted = {kind for kind in ANOMALY_KINDS if f'"{kind}"' in suite}
    assert sorted(ANOMALY_KINDS - asserted) == []
