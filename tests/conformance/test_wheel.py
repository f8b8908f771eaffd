"""The packaged suite passes from a wheel in a fresh virtual environment (FR-008, FR-010).

Builds the wheel from a copy of the project (so concurrent builds never
share a ``build/`` folder), checks that the schemas, the manifest, the
fixtures and the goldens are inside it, installs it with its dependencies
into a new venv, and runs ``pytest --pyargs connector_sync_contracts.conformance``
there, from a folder where the source tree is not importable.

Set ``CSC_SKIP_WHEEL_TEST=1`` to skip it (it needs the package index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGE: Final = "connector_sync_contracts"

pytestmark = pytest.mark.skipif(
    os.environ.get("CSC_SKIP_WHEEL_TEST") == "1",
    reason="CSC_SKIP_WHEEL_TEST=1 asks to skip the wheel round trip",
)


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _copy_project(target: Path) -> None:
    target.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, target / name)
    shutil.copytree(
        ROOT / "src",
        target / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the working tree."""
    base = tmp_path_factory.mktemp("wheel")
    project = base / "project"
    _copy_project(project)
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(base / "dist"),
            ".",
        ],
        cwd=project,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [found] = (base / "dist").glob(f"{PACKAGE}-*.whl")
    return found


def test_wheel_ships_schemas_fixtures_and_goldens(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "src" / PACKAGE
    wanted = {
        path.relative_to(ROOT / "src").as_posix()
        for pattern in ("schemas/*.json", "conformance/*.json", "conformance/fixtures/**/*.json*")
        for path in source.glob(pattern)
    }
    assert wanted, "nothing to look for"
    assert wanted <= names, sorted(wanted - names)
    assert f"{PACKAGE}/conformance/test_conformance.py" in names
    assert f"{PACKAGE}/py.typed" in names


def test_packaged_suite_passes_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = _run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel), "pytest"], cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    suite = _run(
        [
            str(python),
            "-m",
            "pytest",
            "--pyargs",
            f"{PACKAGE}.conformance",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
        ],
        cwd=tmp_path,
    )
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert " passed" in suite.stdout
    # The suite ran against the installed copy, not the working tree.
    where = _run([str(python), "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"], cwd=tmp_path)
    assert str(venv) in where.stdout
