"""``python -m connector_sync_contracts.schemas --check | --write`` (FR-008 drift check).

``--check`` exits 1 and prints a unified diff per file when the committed
schemas differ from what the models generate (CI runs it through ``make
schema-check``); ``--write`` regenerates the files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import check_schemas, write_schemas


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m connector_sync_contracts.schemas",
        description="Check or regenerate the committed JSON Schemas from the models.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--check", action="store_true", help="exit 1 with a diff when files and models differ"
    )
    action.add_argument("--write", action="store_true", help="regenerate the schema files")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="schema folder to check or write (default: the one inside the package)",
    )
    args = parser.parse_args(argv)
    if args.write:
        changed = write_schemas(args.dir)
        for name in changed:
            print(f"wrote {name}")
        print(f"{len(changed)} schema file(s) changed")
        return 0
    problems = check_schemas(args.dir)
    if not problems:
        print("schemas are up to date")
        return 0
    for problem in problems:
        sys.stdout.write(problem if problem.endswith("\n") else problem + "\n")
    print(
        f"{len(problems)} schema file(s) differ from the models; "
        "run `python -m connector_sync_contracts.schemas --write` (or `make regen`)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
