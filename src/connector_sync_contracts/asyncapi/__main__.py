"""``python -m connector_sync_contracts.asyncapi --check | --write`` (drift check of asyncapi.json).

``--check`` exits 1 and prints a unified diff when the committed document
differs from what the registry generates (``make schema-check`` runs it);
``--write`` regenerates it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from .._drift import drift_main
from . import DOCUMENT_FILE, check_document, write_document


def _check(path: Path | None) -> list[str]:
    diff = check_document(path)
    return [] if diff is None else [diff]


def _write(path: Path | None) -> list[str]:
    return [DOCUMENT_FILE] if write_document(path) else []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    return drift_main(
        argv,
        module="connector_sync_contracts.asyncapi",
        description=f"Check or regenerate the committed AsyncAPI document ({DOCUMENT_FILE}).",
        target_option="--file",
        target_help="document to check or write (default: the one inside the package)",
        default=None,
        check=_check,
        write=_write,
    )


if __name__ == "__main__":
    sys.exit(main())
