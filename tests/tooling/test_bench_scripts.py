"""The benchmark scripts reviewers run: they never touch a log they are given, and a
bad option is a usage error (``bench/README.md``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from tests.support.cli import run_cli

_BENCH: Final = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.skipif(
    not (_BENCH / "run.py").is_file(), reason="needs the source tree's bench/ folder"
)


def _script(name: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(_BENCH / name), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def _log(tmp_path: Path, lines: int, bad_at: tuple[int, ...] = ()) -> Path:
    generated = run_cli("generate", "--events", str(lines), "--seed", "3").stdout.splitlines()
    for at in bad_at:
        generated.insert(at, b"not json")
    log = tmp_path / "mine.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in generated))
    return log


def test_a_log_inside_out_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "events-2000.jsonl"  # the name run.py gives a generated log
    mine.write_bytes(_log(tmp_path, 20).read_bytes())
    before = mine.read_bytes()
    done = _script(
        "run.py", "--kinds", "", "--sizes", "", "--log", f"x={mine}", "--out", out, cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert f"is inside --out {out}" in done.stderr
    assert mine.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["events-2000.jsonl"]


def test_the_library_runs_take_the_first_accepted_lines(tmp_path: Path) -> None:
    sys.path.insert(0, str(_BENCH))
    try:
        from run import Logs
    finally:
        sys.path.remove(str(_BENCH))
    log = _log(tmp_path, 12, bad_at=(0, 3, 4))
    (tmp_path / "out").mkdir()
    sliced, check = Logs(tmp_path / "out").user_slice("mine", log, 10)
    assert (check["lines_read"], check["accepted"], check["left_out"]) == (10, 10, 3)
    kept = [line for line in log.read_bytes().splitlines(keepends=True) if line != b"not json\n"]
    assert sliced.read_bytes() == b"".join(kept[:10])


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("run.py", ("--sizes", "-5")),
        ("run.py", ("--repeat", "0")),
        ("run.py", ("--kinds", "bogus")),
        ("unusual.py", ("--events", "0")),
        ("unusual.py", ("--invalid-percent", "150")),
        ("flood.py", ("--bits", "40")),
        ("scale.py", ("nowhere.jsonl",)),
        ("scale.py", ("--runs", "bogus", "nowhere.jsonl")),
    ],
)
def test_a_bad_option_is_a_usage_error(script: str, args: tuple[str, ...], tmp_path: Path) -> None:
    done = _script(script, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"{script}: error: " in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
