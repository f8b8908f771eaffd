"""External reference link index rules (FR-005; specification section 5), for every engine.

Key = (external_provider, external_ref_type, external_ref_id); the first
link of a key wins.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from connector_sync_contracts import EXTERNAL_REFERENCE_LINKED, LinkIndex
from tests.reducing.rules.base import RuleCase
from tests.support.factories import EventLog, envelope, link_payload

__all__ = ["LinkRules", "link"]

LINK: Final = EXTERNAL_REFERENCE_LINKED


def link(log: EventLog, ref: str, aggregate: str, link_id: str, **fields: Any) -> dict[str, Any]:
    """Add a link of ``ref`` to work package ``aggregate`` under ``link_id``."""
    return log.add(
        LINK, external_ref_id=ref, internal_aggregate_id=aggregate, link_id=link_id, **fields
    )


def keys(index: LinkIndex) -> list[tuple[str, str, str]]:
    """The external keys of the index's links, in the index's order."""
    return [(x.external_provider, x.external_ref_type, x.external_ref_id) for x in index.links]


class LinkRules(RuleCase):
    """Section 5: first link wins, conflicting links and reused link ids are skipped."""

    def index(self, log: EventLog) -> LinkIndex:
        """The link index after replaying ``log`` with this engine."""
        return self.replay_log(log.events).external_links

    def test_a_link_is_indexed_with_its_payload_fields(self) -> None:
        log = EventLog()
        event = link(log, "acme/api#42", "WP01", "link-1")
        index = self.index(log)
        [only] = index.links
        assert only.event_id == event["event_id"]
        for name, value in event["payload"].items():
            if name != "recorded_at":
                assert getattr(only, name) == value
        assert only.recorded_at.isoformat() == "2026-11-25T08:01:00+00:00"
        assert index.link_anomalies == ()

    def test_first_link_wins_and_a_conflicting_link_is_skipped(self) -> None:
        log = EventLog()
        first = link(log, "acme/api#42", "WP01", "link-1")
        conflict = link(log, "acme/api#42", "WP02", "link-2")
        index = self.index(log)
        [only] = index.links
        assert (only.event_id, only.internal_aggregate_id) == (first["event_id"], "WP01")
        assert [(a.kind, a.event_id) for a in index.link_anomalies] == [
            ("conflicting_link", conflict["event_id"])
        ]
        assert index.link_anomalies[0].message == (
            "github/pull_request/acme/api#42 is linked to work_package WP01, "
            "not work_package WP02; skipped"
        )
        assert [e.internal_aggregate_id for e in index.reverse_index] == ["WP01"]

    def test_the_same_id_under_another_aggregate_type_conflicts(self) -> None:
        log = EventLog()
        link(log, "acme/api#42", "WP01", "link-1")
        conflict = link(log, "acme/api#42", "WP01", "link-2", internal_aggregate_type="mission")
        index = self.index(log)
        assert [(a.kind, a.event_id) for a in index.link_anomalies] == [
            ("conflicting_link", conflict["event_id"])
        ]
        assert [e.internal_aggregate_type for e in index.reverse_index] == ["work_package"]

    @pytest.mark.parametrize("link_id", ["link-1", "link-1b"])
    def test_relinking_to_the_same_aggregate_is_absorbed(self, link_id: str) -> None:
        log = EventLog()
        first = link(log, "acme/api#42", "WP01", "link-1")
        link(log, "acme/api#42", "WP01", link_id, linked_by="someone-else")
        index = self.index(log)
        [only] = index.links
        assert (only.event_id, only.linked_by) == (first["event_id"], "svc-linker")
        assert index.link_anomalies == ()

    def test_a_link_id_reused_for_another_key_is_skipped(self) -> None:
        log = EventLog()
        link(log, "acme/api#42", "WP01", "link-1")
        reused = link(log, "acme/api#43", "WP01", "link-1")
        index = self.index(log)
        assert keys(index) == [("github", "pull_request", "acme/api#42")]
        assert [(a.kind, a.event_id) for a in index.link_anomalies] == [
            ("link_id_reused", reused["event_id"])
        ]
        assert index.link_anomalies[0].message == (
            "link_id link-1 already names github/pull_request/acme/api#42; skipped"
        )
        [entry] = index.reverse_index
        assert entry.external_refs == (("github", "pull_request", "acme/api#42"),)

    @pytest.mark.parametrize("aggregate", ["WP02", "WP03"], ids=["same-aggregate", "another"])
    def test_a_reused_link_id_is_checked_before_the_key(self, aggregate: str) -> None:
        """A link whose link_id names another key, for a key already linked (to the
        same aggregate or another): link_id_reused, whatever the key's own verdict
        would be (section 5 leaves the order of the two rules open)."""
        log = EventLog()
        link(log, "acme/api#42", "WP01", "link-1")
        link(log, "acme/api#43", "WP02", "link-2")
        both = link(log, "acme/api#43", aggregate, "link-1")
        index = self.index(log)
        assert [(a.kind, a.event_id) for a in index.link_anomalies] == [
            ("link_id_reused", both["event_id"])
        ]
        assert [x.internal_aggregate_id for x in index.links] == ["WP01", "WP02"]

    def test_links_and_reverse_index_are_ordered_by_key(self) -> None:
        log = EventLog()
        link(log, "PROJ-7", "WP02", "l1", external_provider="jira", external_ref_type="issue")
        link(log, "acme/api#9", "WP01", "l2")
        link(log, "acme/api#10", "WP01", "l3")
        link(log, "acme/api#1", "WP02", "l4", external_ref_type="issue")
        link(log, "M-1", "M1", "l5", internal_aggregate_type="mission")
        index = self.index(log)
        # Plain string order, as a canonical form must be: "M-1" < "acme/…", "#10" < "#9".
        assert keys(index) == [
            ("github", "issue", "acme/api#1"),
            ("github", "pull_request", "M-1"),
            ("github", "pull_request", "acme/api#10"),
            ("github", "pull_request", "acme/api#9"),
            ("jira", "issue", "PROJ-7"),
        ]
        assert [
            (e.internal_aggregate_type, e.internal_aggregate_id, e.external_refs)
            for e in index.reverse_index
        ] == [
            ("mission", "M1", (("github", "pull_request", "M-1"),)),
            (
                "work_package",
                "WP01",
                (
                    ("github", "pull_request", "acme/api#10"),
                    ("github", "pull_request", "acme/api#9"),
                ),
            ),
            (
                "work_package",
                "WP02",
                (("github", "issue", "acme/api#1"), ("jira", "issue", "PROJ-7")),
            ),
        ]

    def test_malformed_link_payload_is_a_link_anomaly(self) -> None:
        log = EventLog()
        bad = link(log, "acme/api#42", "WP01", "link-1", external_ref_url="https://u:p@github.com")
        index = self.index(log)
        assert index.links == ()
        assert [(a.kind, a.event_id) for a in index.link_anomalies] == [
            ("malformed_payload", bad["event_id"])
        ]
        assert "external_ref_url" in index.link_anomalies[0].message

    def test_malformed_link_payload_without_connector_is_stream_level(self) -> None:
        bad = envelope(LINK, link_payload() | {"connector_id": ""})
        result = self.replay_log([bad])
        assert result.external_links.link_anomalies == ()
        assert result.external_links.links == ()
        assert [(a.kind, a.event_id) for a in result.anomalies] == [
            ("malformed_payload", bad["event_id"])
        ]

    def test_replay_json_shape_of_the_link_index(self) -> None:
        log = EventLog()
        link(log, "acme/api#42", "WP01", "link-1")
        link(log, "acme/api#42", "WP02", "link-2")
        data = json.loads(self.replay_log(log.events).to_json())["external_links"]
        assert sorted(data) == ["anomalies", "links", "reverse_index"]
        assert [a["kind"] for a in data["anomalies"]] == ["conflicting_link"]
        assert data["links"][0]["recorded_at"] == "2026-11-25T08:01:00Z"
        assert data["reverse_index"] == [
            {
                "internal_aggregate_type": "work_package",
                "internal_aggregate_id": "WP01",
                "external_refs": [["github", "pull_request", "acme/api#42"]],
            }
        ]
