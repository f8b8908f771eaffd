"""Readable renderings: the replay table, the focus on one connector, the golden diff."""

from __future__ import annotations

from typing import Any

import orjson

from ..validation.paths import json_path

__all__ = ["anomaly_text", "first_differences", "focus", "table"]


def focus(data: dict[str, Any], connector: str) -> dict[str, Any]:
    """The section 6 form narrowed to one connector (its links included); changed in place."""
    data["connectors"] = {k: v for k, v in data["connectors"].items() if k == connector}
    data["sync"] = {k: v for k, v in data["sync"].items() if k == connector}
    links = data["external_links"]
    links["links"] = [link for link in links["links"] if link["connector_id"] == connector]
    keys = {
        (link["external_provider"], link["external_ref_type"], link["external_ref_id"])
        for link in links["links"]
    }
    links["reverse_index"] = [
        {**entry, "external_refs": [ref for ref in entry["external_refs"] if tuple(ref) in keys]}
        for entry in links["reverse_index"]
        if any(tuple(ref) in keys for ref in entry["external_refs"])
    ]
    return data


def _text(value: Any) -> str:
    """A state or status as shown in the table: its value, or '-' when there is none."""
    if value is None:
        return "-"
    return str(getattr(value, "value", value))


def table(data: dict[str, Any], connector: str | None) -> str:
    """The readable per-connector view of a replay's section 6 form (logs not needed)."""
    rows = [
        (
            "CONNECTOR",
            "PROVIDER",
            "STATE",
            "HEALTH",
            "LATENCY",
            "LIFECYCLE",
            "ACCEPT",
            "REJECT",
            "RETRY",
            "DEAD",
            "REPLAY",
            "PENDING",
            "ANOMALIES",
        )
    ]
    connectors: dict[str, dict[str, Any]] = data["connectors"]
    syncs: dict[str, dict[str, Any]] = data["sync"]
    ids = sorted(set(connectors) | set(syncs))
    if connector is not None:
        ids = [cid for cid in ids if cid == connector]
    for cid in ids:
        state = connectors.get(cid, {})
        sync = syncs.get(cid, {})
        counts = {_text(k): v for k, v in sync.get("outcome_counts", {}).items()}
        latency = state.get("last_latency_ms")
        rows.append(
            (
                cid,
                state.get("provider") or "-",
                _text(state.get("current_state")),
                _text(state.get("last_health_status")),
                f"{latency:.0f} ms" if latency is not None else "-",
                str(state.get("event_count", 0)),
                str(counts.get("accepted", 0)),
                str(counts.get("rejected", 0)),
                str(counts.get("retry_scheduled", 0)),
                str(counts.get("dead_lettered", 0)),
                str(counts.get("replay_completed", 0)),
                str(sync.get("pending_retries", 0)),
                str(len(state.get("anomalies", ())) + len(sync.get("anomalies", ()))),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    links = data["external_links"]
    notes = [
        "",
        f"events {data['event_count']}  duplicates dropped {data['duplicates_dropped']}  "
        f"other families {data['ignored_event_count']}  "
        f"links {len(links['links'])}  stream anomalies {len(data['anomalies'])}",
    ]
    detail: list[str] = []
    for cid in ids:
        for source in (connectors.get(cid, {}), syncs.get(cid, {})):
            for item in source.get("anomalies", ()):
                detail.append(f"  {cid}: {anomaly_text(item)}")
    for item in (*links["anomalies"], *data["anomalies"]):
        detail.append(f"  {anomaly_text(item)}")
    if detail:
        notes.append("")
        notes.append("anomalies:")
        notes.extend(detail[:50])
        if len(detail) > 50:
            notes.append(f"  ... and {len(detail) - 50} more (use --format json for all)")
    return "\n".join(lines + notes) + "\n"


def anomaly_text(item: dict[str, Any]) -> str:
    """``kind [event_id] message``."""
    return f"{item['kind']} [{item['event_id']}] {item['message']}"


def first_differences(expected: Any, actual: Any, limit: int = 10) -> list[str]:
    """Up to ``limit`` differences between a golden output and a consumer's, by JSON path."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: tuple[str | int, ...]) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys()):
                if key not in b:
                    found.append(f"{json_path((*where, key))}: missing in your output")
                elif key not in a:
                    found.append(f"{json_path((*where, key))}: not in the golden output")
                else:
                    walk(a[key], b[key], (*where, key))
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{json_path(where)}: golden has {len(a)} items, yours has {len(b)}")
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, (*where, index))
        elif a != b or type(a) is not type(b):
            found.append(
                f"{json_path(where)}: golden {orjson.dumps(a).decode()[:80]}, "
                f"yours {orjson.dumps(b).decode()[:80]}"
            )

    walk(expected, actual, ())
    return found
