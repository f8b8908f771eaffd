"""Record what every command prints, under both engines, to compare two trees byte for byte.

Usage: python scripts/cli_snapshot.py OUT_DIR

Runs ``connector-sync`` (the one on this interpreter's path) over the bundled
example day and over a generated log with duplicates and invalid lines,
under the compiled and the pure-Python engine, and writes each command's
stdout, stderr and exit code to ``OUT_DIR``. A refactor that must not change
behaviour is checked with ``diff -r`` of the snapshots taken before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_EXAMPLE = Path(__file__).resolve().parent.parent / (
    "src/connector_sync_contracts/examples/example_day.jsonl"
)


def _run(out: Path, name: str, args: list[str], env: dict[str, str]) -> None:
    # Run inside OUT_DIR with relative paths: the output names its input files.
    done = subprocess.run(
        [sys.executable, "-m", "connector_sync_contracts", *args],
        capture_output=True,
        env=env,
        cwd=out,
        check=False,
    )
    (out / f"{name}.stdout").write_bytes(done.stdout)
    (out / f"{name}.stderr").write_bytes(done.stderr)
    (out / f"{name}.exit").write_text(f"{done.returncode}\n")


def main() -> int:
    """Write the snapshot; return the exit code."""
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "example.jsonl").write_bytes(_EXAMPLE.read_bytes())
    base = dict(os.environ)
    base.pop("CONNECTOR_SYNC_PURE_PYTHON", None)
    generated = out / "generated.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "connector_sync_contracts",
            "generate",
            "--events",
            "20000",
            "--connectors",
            "40",
            "--seed",
            "7",
            "--shuffle",
            "--duplicates",
            "300",
            "--invalid",
            "200",
            "-o",
            str(generated),
        ],
        check=True,
        env=base,
    )
    generated = Path("generated.jsonl")
    for engine, extra in (("compiled", {}), ("python", {"CONNECTOR_SYNC_PURE_PYTHON": "1"})):
        env = {**base, **extra}
        for label, path in (("example", "example.jsonl"), ("generated", str(generated))):
            prefix = f"{engine}-{label}"
            quarantine = f"{prefix}-quarantine.jsonl"
            runs: dict[str, list[str]] = {
                "validate": ["validate", path],
                "validate-json": ["validate", "--format", "json", path],
                "validate-strict": ["validate", "--strict", path],
                "validate-quarantine": ["validate", "--quarantine", quarantine, path],
                "replay-table": ["replay", path],
                "replay-json": ["replay", "--format", "json", path],
                "replay-json-nologs": ["replay", "--format", "json", "--no-logs", path],
                "replay-connector": [
                    "replay",
                    "--format",
                    "json",
                    "--connector",
                    "jira-acme-cloud",
                    path,
                ],
            }
            for name, args in runs.items():
                _run(out, f"{prefix}-{name}", args, env)
        _run(out, f"{engine}-generate", ["generate", "--events", "500", "--seed", "3"], env)
    for name, args in {
        "schema-bundle": ["schema"],
        "schema-list": ["schema", "--list"],
        "schema-event": ["schema", "Event"],
        "conformance": ["conformance"],
        "asyncapi": ["asyncapi"],
        "help": ["--help"],
    }.items():
        _run(out, name, args, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
