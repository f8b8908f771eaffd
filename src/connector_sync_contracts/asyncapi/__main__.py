"""``python -m connector_sync_contracts.asyncapi --check | --write`` (drift check of asyncapi.json).

``--check`` exits 1 and prints a unified diff when the committed document
differs from what the registry generates (``make schema-check`` runs it);
``--write`` regenerates it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import DOCUMENT_FILE, check_document, write_document


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m connector_sync_contracts.asyncapi",
        description=f"Check or regenerate the committed AsyncAPI document ({DOCUMENT_FILE}).",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--check", action="store_true", help="exit 1 with a diff when file and registry differ"
    )
    action.add_argument("--write", action="store_true", help="regenerate the document")
    parser.add_argument(
        "--file",
        type=Path,
        default=None,
        help="document to check or write (default: the one inside the package)",
    )
    args = parser.parse_args(argv)
    if args.write:
        changed = write_document(args.file)
        print(f"{DOCUMENT_FILE} {'written' if changed else 'unchanged'}")
        return 0
    diff = check_document(args.file)
    if diff is None:
        print(f"{DOCUMENT_FILE} is up to date")
        return 0
    sys.stdout.write(diff)
    print(
        f"{DOCUMENT_FILE} differs from the registry; "
        "run `python -m connector_sync_contracts.asyncapi --write` (or `make regen`)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
