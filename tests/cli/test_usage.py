"""Help, exit codes and usage errors of the real program.

Exit codes: 0 clean, 1 data problems found, 2 usage or I/O error (a closed
or full standard stream, and a bug, too: never 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from connector_sync_contracts import CONTRACT_VERSION
from tests.support.cli import run_cli, run_env

from .conftest import CorruptedLog

COMMANDS: Final = ("validate", "replay", "generate", "schema", "conformance")


@pytest.mark.parametrize("command", [*COMMANDS, None])
def test_help_on_every_command_exits_0(command: str | None) -> None:
    run = run_cli(*([command] if command else []), "--help")
    assert run.code == 0, run.explain()
    assert run.out.startswith("Usage: "), run.explain()
    if command is None:
        for name in COMMANDS:
            assert name in run.out
    else:
        assert f" {command} " in run.out.splitlines()[0]
    assert run.stderr == b""


def test_short_help_option_and_version() -> None:
    run = run_cli("validate", "-h")
    assert run.code == 0, run.explain()
    assert "--quarantine" in run.out
    version = run_cli("--version")
    assert version.code == 0, version.explain()
    assert CONTRACT_VERSION in version.out


def test_installed_script_runs_the_same_program(valid_log: Path) -> None:
    script = Path(sys.executable).with_name("connector-sync")
    if not script.exists():
        pytest.skip(f"no connector-sync script next to {sys.executable}")
    via_script = subprocess.run(
        [os.fspath(script), "replay", "--format", "json", os.fspath(valid_log)],
        capture_output=True,
        env=run_env(),
        timeout=120,
        check=False,
    )
    via_module = run_cli("replay", "--format", "json", valid_log)
    assert via_script.returncode == via_module.code == 0, via_module.explain()
    assert via_script.stdout == via_module.stdout


def test_clean_log_exits_0(valid_log: Path) -> None:
    run = run_cli("validate", valid_log)
    assert run.code == 0, run.explain()
    assert run.stdout == b""


def test_data_problems_exit_1(corrupted_log: CorruptedLog) -> None:
    run = run_cli("validate", corrupted_log.path)
    assert run.code == 1, run.explain()


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "--no-such-option", "{log}"),
        ("replay", "--no-such-option", "{log}"),
        ("generate", "--no-such-option"),
        ("schema", "--no-such-option"),
        ("conformance", "--no-such-option"),
        ("no-such-command",),
        ("validate", "--format", "yaml", "{log}"),
        ("replay", "--format", "text", "{log}"),
        ("validate", "--max-line-bytes", "0", "{log}"),
        ("generate", "--events", "-1"),
    ],
    ids=lambda args: " ".join(args),
)
def test_usage_errors_exit_2(args: tuple[str, ...], valid_log: Path) -> None:
    run = run_cli(*(str(valid_log) if a == "{log}" else a for a in args))
    assert run.code == 2, run.explain()
    assert run.stdout == b""
    assert b"Traceback" not in run.stderr
    assert b"Error" in run.stderr or b"error" in run.stderr


@pytest.mark.parametrize("command", ["validate", "replay"])
def test_missing_file_exits_2(command: str, tmp_path: Path, valid_log: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    run = run_cli(command, valid_log, missing)
    assert run.code == 2, run.explain()
    assert str(missing) in run.err
    assert b"Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["validate", "replay"])
def test_no_files_exits_2(command: str) -> None:
    run = run_cli(command)
    assert run.code == 2, run.explain()
    assert "no input files" in run.err


def test_a_folder_is_not_an_input_file(tmp_path: Path) -> None:
    run = run_cli("validate", tmp_path)
    assert run.code == 2, run.explain()
    assert b"Traceback" not in run.stderr


def test_unwritable_quarantine_exits_2(tmp_path: Path, valid_log: Path) -> None:
    run = run_cli("validate", "--quarantine", tmp_path / "no" / "such" / "dir.jsonl", valid_log)
    assert run.code == 2, run.explain()
    assert "quarantine" in run.err
    assert b"Traceback" not in run.stderr


def _with_streams(args: list[str], **streams: Any) -> tuple[int, bytes, bytes]:
    """Run the program with standard streams given or closed (``None``); its exit code
    and what it wrote to standard output and error, where each is a pipe."""
    closed = [
        fd for fd, name in enumerate(("stdin", "stdout", "stderr")) if streams.get(name, 0) is None
    ]

    def close_them() -> None:
        for fd in closed:
            os.close(fd)

    given = {name: value for name, value in streams.items() if value is not None}
    done = subprocess.run(
        [sys.executable, "-m", "connector_sync_contracts", *args],
        env=run_env(),
        preexec_fn=close_them,
        check=False,
        **{
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.PIPE,
            **given,
        },
    )
    return done.returncode, done.stdout or b"", done.stderr or b""


@pytest.mark.parametrize(
    ("args", "streams", "said"),
    [
        # Found by an outside run: each of these was a traceback, exit 1 ("data problems").
        (["validate", "-"], {"stdin": None}, b"cannot read -: standard input is closed"),
        (["validate", "--format", "json", "-"], {"stdin": None}, b"standard input is closed"),
        (["replay", "--format", "json", "LOG"], {"stdout": None}, b"standard output is closed"),
        (["--help"], {"stdout": "full"}, b"no space left on the device"),
        (["--version"], {"stdout": "full"}, b"no space left on the device"),
        (["validate", "LOG"], {"stderr": "full"}, None),
        (["validate", "LOG"], {"stderr": None}, None),
        (["replay", "LOG"], {"stderr": "full"}, None),
        (["schema", "--compat", "2.7.0"], {"stderr": "full"}, None),
    ],
    ids=[
        "stdin-closed",
        "stdin-closed-json",
        "stdout-closed",
        "help-to-full",
        "version-to-full",
        "validate-stderr-full",
        "validate-stderr-closed",
        "replay-stderr-full",
        "compat-stderr-full",
    ],
)
def test_a_closed_or_full_standard_stream_is_an_io_error(
    valid_log: Path, args: list[str], streams: dict[str, Any], said: bytes | None
) -> None:
    args = [str(valid_log) if arg == "LOG" else arg for arg in args]
    with Path("/dev/full").open("wb") as full:
        given = {name: full if value == "full" else value for name, value in streams.items()}
        code, _, stderr = _with_streams(args, **given)
    assert code == 2, stderr.decode()
    if "json" in args and "stdout" not in streams:  # nothing of the document is printed
        assert _with_streams(args, stdout=subprocess.PIPE, **given)[:2] == (2, b"")
    assert b"Traceback" not in stderr
    if said is not None:
        assert said in stderr


def test_a_clean_run_with_standard_output_closed_and_unused_exits_0(valid_log: Path) -> None:
    code, _, stderr = _with_streams(["validate", str(valid_log)], stdout=None)
    assert code == 0, stderr.decode()


def test_a_bug_is_exit_2_with_its_traceback(valid_log: Path, tmp_path: Path) -> None:
    """Never exit 1, which says the data has problems."""
    script = tmp_path / "bug.py"
    script.write_text(
        "import sys\n"
        "import connector_sync_contracts.cli as cli\n"
        "import connector_sync_contracts.cli.validate as validate\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('a bug')\n"
        "validate._validate = broken\n"
        f"sys.argv = ['connector-sync', 'validate', {str(valid_log)!r}]\n"
        "cli.main()\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], env=run_env(), capture_output=True, check=False
    )
    assert done.returncode == 2
    assert b"Traceback" in done.stderr
    assert b"RuntimeError: a bug" in done.stderr
    assert done.stderr.rstrip().endswith(
        b"connector-sync: error: internal error (a bug in connector-sync; please report it "
        b"with the traceback above)"
    )
