"""How a count is written in every message, summary and ``repr``: ``1 event``, ``2 events``."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 problem``, ``2 problems``, ``1,024 lines``; ``many`` when adding an s is wrong."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
