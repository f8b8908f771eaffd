"""Regenerate the golden replay outputs of the conformance kit (FR-009).

``python -m connector_sync_contracts.conformance.regen`` rewrites, for every
``replay`` fixture of the manifest, its golden file as
``replay(events).to_json()`` (canonical JSON: sorted keys, 2-space indent,
newline at the end). It regenerates nothing else: fixtures and the manifest
are hand-written data, and the schemas have their own command
(``python -m connector_sync_contracts.schemas --write``; ``make regen`` runs
both). ``--check`` writes nothing and exits 1 with a diff when a golden is
stale.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from . import load_manifest

_PACKAGE_DIR: Final = Path(__file__).resolve().parent


def stale_goldens(root: Path | None = None) -> dict[str, tuple[bytes | None, bytes]]:
    """Golden path -> (committed bytes or None, expected bytes), for every golden that differs.

    ``root`` is the conformance folder to compare (default: this package's).
    """
    folder = root if root is not None else _PACKAGE_DIR
    stale: dict[str, tuple[bytes | None, bytes]] = {}
    for fixture in load_manifest().select(expected_result="replay"):
        assert fixture.golden is not None
        expected = fixture.replay_json()
        path = folder / fixture.golden
        committed = path.read_bytes() if path.exists() else None
        if committed != expected:
            stale[fixture.golden] = (committed, expected)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m connector_sync_contracts.conformance.regen",
        description="Regenerate (or check) the golden replay outputs of the conformance kit.",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a golden is stale"
    )
    args = parser.parse_args(argv)
    stale = stale_goldens()
    if args.check:
        for name, (committed, expected) in sorted(stale.items()):
            diff = difflib.unified_diff(
                (committed or b"").decode("utf-8").splitlines(keepends=True),
                expected.decode("utf-8").splitlines(keepends=True),
                fromfile=f"committed/{name}",
                tofile=f"replayed/{name}",
            )
            sys.stdout.writelines(diff)
        if stale:
            print(f"{len(stale)} golden file(s) are stale; run this command without --check")
            return 1
        print("golden outputs are up to date")
        return 0
    for name, (_, expected) in sorted(stale.items()):
        (_PACKAGE_DIR / name).write_bytes(expected)
        print(f"wrote {name}")
    print(f"{len(stale)} golden file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
