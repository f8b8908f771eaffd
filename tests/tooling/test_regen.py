"""Every generated, committed file is current, and its drift check fails closed.

One parametrized test per generated artifact (the JSON Schemas, the AsyncAPI
document, ``docs/contracts.md``, the compiled engine's spec and the
conformance goldens): the committed files equal what the code generates;
a changed, missing or stray file is reported with a readable diff; writing
restores exactly what the artifact owns. The checks run on a copy of the
files, so the source tree is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector_sync_contracts._tooling.regen import ARTIFACTS, REPO_ROOT, Artifact, check, write

BY_NAME = {artifact.name: artifact for artifact in ARTIFACTS}


def _copy(artifact: Artifact, root: Path) -> list[Path]:
    """Copy the artifact's committed files under ``root``; return the copies."""
    copies = []
    for path in sorted(artifact.expected()):
        target = root / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copies.append(target)
    return copies


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_committed_files_equal_what_the_code_generates(name: str) -> None:
    assert check(BY_NAME[name]) == []


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_a_changed_or_missing_file_fails_the_check_and_write_restores_it(
    name: str, tmp_path: Path
) -> None:
    artifact = BY_NAME[name]
    copies = _copy(artifact, tmp_path)
    assert check(artifact, tmp_path) == []
    changed = copies[0]
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text.replace("\n", "\n \n", 1), encoding="utf-8")
    problems = check(artifact, tmp_path)
    label = str(changed.relative_to(tmp_path))
    assert len(problems) == 1
    assert f"--- committed/{label}" in problems[0]
    assert f"+++ generated/{label}" in problems[0]
    assert "\n- \n" in problems[0]
    if len(copies) > 1:
        copies[-1].unlink()
        assert len(check(artifact, tmp_path)) == 2
    assert write(artifact, tmp_path)
    assert check(artifact, tmp_path) == []
    assert changed.read_text(encoding="utf-8") == text
    assert write(artifact, tmp_path) == []


@pytest.mark.parametrize("name", sorted(BY_NAME))
@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_other_line_ends_fail_the_check_and_write_restores_them(
    name: str, ending: bytes, tmp_path: Path
) -> None:
    # Found by an outside run: the check read files with newline translation, so a
    # checkout with core.autocrlf passed it with bytes that differ from the source.
    artifact = BY_NAME[name]
    changed = _copy(artifact, tmp_path)[0]
    stored = changed.read_bytes()
    changed.write_bytes(stored.replace(b"\n", ending))
    assert len(check(artifact, tmp_path)) == 1
    assert write(artifact, tmp_path)
    assert changed.read_bytes() == stored


def test_a_file_nothing_generates_is_stale_in_a_generated_folder(tmp_path: Path) -> None:
    artifact = BY_NAME["schemas"]
    copies = _copy(artifact, tmp_path)
    stray = copies[0].parent / "ConnectorExploded.json"
    stray.write_text("{}\n", encoding="utf-8")
    assert check(artifact, tmp_path) == [
        "ConnectorExploded.json: committed, but nothing generates it\n"
    ]
    assert write(artifact, tmp_path) == ["ConnectorExploded.json"]
    assert not stray.exists()


def test_the_regen_command_checks_every_artifact() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "connector_sync_contracts._tooling.regen", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ARTIFACTS)} artifact(s) up to date" in done.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "connector_sync_contracts._tooling.regen", "--check", "--only", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode != 0
    assert "unknown artifact(s) x" in unknown.stderr
