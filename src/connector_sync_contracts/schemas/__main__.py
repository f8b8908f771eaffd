"""``python -m connector_sync_contracts.schemas --check | --write`` (FR-008 drift check).

``--check`` exits 1 and prints a unified diff per file when the committed
schemas differ from what the models generate (CI runs it through ``make
schema-check``); ``--write`` regenerates the files.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .._drift import drift_main
from . import check_schemas, write_schemas


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    return drift_main(
        argv,
        module="connector_sync_contracts.schemas",
        description="Check or regenerate the committed JSON Schemas from the models.",
        target_option="--dir",
        target_help="schema folder to check or write (default: the one inside the package)",
        default=None,
        check=check_schemas,
        write=write_schemas,
    )


if __name__ == "__main__":
    sys.exit(main())
