"""No input is ever lost, gates fail closed, exit codes keep the README's promise.

Outputs that resolve to an input are refused before anything is written;
outputs are renamed into place only when a run finishes, so an interrupted
run leaves nothing behind; Ctrl-C exits 130 and a closed standard output
141, quietly; every readable input is read (FIFOs, process substitution,
/dev/stdin); the compatibility gate and ``conformance --against`` refuse
what they cannot judge.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from connector_sync_contracts._staged import StagedFile
from connector_sync_contracts.compat import baseline_dir
from tests.support.cli import PROGRAM, file_size_limit, parse_summary, run_cli, run_env
from tests.support.engines import ENGINES, Engine, engine

from .conftest import CorruptedLog

# ------------------------------------------------------------------ outputs never overwrite inputs


def _spellings(log: Path) -> dict[str, Path]:
    link = log.with_name("link.jsonl")
    hard = log.with_name("hard.jsonl")
    link.symlink_to(log.name)
    os.link(log, hard)
    return {"same": log, "dot": Path(".") / log.name, "symlink": link, "hard link": hard}


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink", "hard link"])
def test_a_quarantine_that_is_an_input_is_refused_and_the_input_kept(
    tmp_path: Path, corrupted_log: CorruptedLog, spelling: str
) -> None:
    log = tmp_path / "input.jsonl"
    shutil.copy(corrupted_log.path, log)
    before = log.read_bytes()
    target = _spellings(log)[spelling]
    run = run_cli("validate", "--quarantine", target, log.name, cwd=tmp_path)
    assert run.code == 2, run.explain()
    assert "is the input input.jsonl; refusing to overwrite an input" in run.err
    assert "lines read" not in run.err
    assert log.read_bytes() == before


def test_a_quarantine_where_the_command_prints_is_refused(
    tmp_path: Path, corrupted_log: CorruptedLog
) -> None:
    # "-" would be a file named "-"; /dev/stdout, a pipe here, was "no such file".
    for target, said in (
        ("-", "quarantine file '-' would be standard output, where the problems are printed"),
        ("/dev/stdout", "quarantine file /dev/stdout is standard output, where the command prints"),
    ):
        run = run_cli("validate", "--quarantine", target, corrupted_log.path, cwd=tmp_path)
        assert run.code == 2, run.explain()
        assert run.err.startswith(f"connector-sync: error: {said}; give a file")
    assert list(tmp_path.iterdir()) == []
    # Standard output redirected to a file: the file was replaced by the quarantine,
    # and the problems printed to it were lost.
    out = tmp_path / "out.txt"
    out.write_bytes(b"kept\n")
    with out.open("ab") as stdout:
        done = subprocess.run(
            [*PROGRAM, "validate", "--quarantine", "/dev/stdout", str(corrupted_log.path)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=run_env(),
            check=False,
        )
    assert done.returncode == 2, done
    assert b"/dev/stdout is standard output" in done.stderr
    assert out.read_bytes() == b"kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    # A device is shared, as ever: /dev/null takes the quarantine with stdout there too.
    with open(os.devnull, "wb") as null:
        done = subprocess.run(
            [*PROGRAM, "validate", "--quarantine", os.devnull, str(corrupted_log.path)],
            stdout=null,
            stderr=subprocess.PIPE,
            env=run_env(),
            check=False,
        )
    assert done.returncode == 1, done


def test_generate_output_dash_is_standard_output(tmp_path: Path) -> None:
    run = run_cli("generate", "--events", "5", "-o", "-", cwd=tmp_path)
    assert run.code == 0, run.explain()
    assert run.stdout == run_cli("generate", "--events", "5").stdout
    assert list(tmp_path.iterdir()) == []


def test_a_quarantine_is_written_whole_or_not_at_all(
    tmp_path: Path, corrupted_log: CorruptedLog
) -> None:
    target = tmp_path / "rejected.jsonl"
    target.write_bytes(b"an older quarantine\n")
    run = run_cli("validate", "--quarantine", target, corrupted_log.path)
    assert run.code == 1
    assert target.read_bytes().count(b"\n") == parse_summary(run.err).rejected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rejected.jsonl"]


def _interrupt(
    args: list[str], cwd: Path, after: float, writing: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the program and press Ctrl-C ``after`` seconds in.

    With ``writing``, the clock starts only once the program has something
    in that folder that it did not have before (a temporary output being
    written), so a slow machine cannot interrupt it before it starts.
    """
    before = set(writing.iterdir()) if writing is not None else set()
    process = subprocess.Popen(
        [*PROGRAM, *args],
        cwd=cwd,
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # As at a terminal: a test runner started in the background (where the
        # shell ignores SIGINT) must not pass that on to the program.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    if writing is not None:
        deadline = time.monotonic() + 120
        while set(writing.iterdir()) == before and process.poll() is None:
            assert time.monotonic() < deadline, "the program never started writing"
            time.sleep(0.02)
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, b"", err)


def test_ctrl_c_exits_130_with_one_line_and_leaves_no_partial_output(tmp_path: Path) -> None:
    # A generator big enough to be interrupted mid-write, on a machine of any speed.
    done = _interrupt(
        ["generate", "--events", "3000000", "-o", "log.jsonl"], tmp_path, 0.3, writing=tmp_path
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == b"connector-sync: interrupted\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("after", [0.03, 0.05, 0.07, 0.09, 0.11])
def test_ctrl_c_while_the_command_loads_is_one_line_too(tmp_path: Path, after: float) -> None:
    # Found by an outside acceptance run: Ctrl-C in the tenth of a second the command
    # takes to import printed Python's KeyboardInterrupt traceback, and the process
    # died by the signal. Before Python itself has started, dying by it is all there is.
    done = _interrupt(["--version"], tmp_path, after)
    if b"Traceback" in done.stderr:
        # On a loaded machine the signal can land before the entry point runs:
        # while the interpreter starts (its site module) or loads the package
        # and its __main__ module. Python reports that itself; the command
        # cannot. Once the entry point runs, a Ctrl-C is the one line below, so
        # no frame of the entry point or of the command may be in the report.
        assert done.returncode != 0
        assert done.stderr.rstrip().endswith(b"KeyboardInterrupt"), done.stderr
        assert b"_entry.py" not in done.stderr, done.stderr
        assert b"connector_sync_contracts/cli" not in done.stderr, done.stderr
        return
    assert (done.returncode, done.stderr) in {
        (130, b"connector-sync: interrupted\n"),
        (0, b""),
        (-signal.SIGINT, b""),
    }, done.stderr


_INTERRUPTED_IN_EXEC = """
from connector_sync_contracts._entry import main
from connector_sync_contracts.cli import main as group


@group.command("interrupted-in-exec")
def interrupted_in_exec() -> None:
    # Where a Ctrl-C often lands: in a lazy import, while dataclasses exec a method's text.
    exec("raise KeyboardInterrupt")


main()
"""


def _run_as_module(folder: Path, source: str, command: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m`` of a module holding ``source`` (written to ``folder``), running
    ``connector-sync COMMAND`` through the real entry point."""
    module = command.replace("-", "_")
    (folder / f"{module}.py").write_text(source)
    env = run_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return subprocess.run(
        [PROGRAM[0], "-m", module, command],
        cwd=folder,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_python_m_exits_130_when_the_ctrl_c_went_through_exec(tmp_path: Path) -> None:
    # CPython ends a `python -m` process by SIGINT after it exits when a
    # KeyboardInterrupt left an exec() of text, even one the command handled.
    done = _run_as_module(tmp_path, _INTERRUPTED_IN_EXEC, "interrupted-in-exec")
    assert done.returncode == 130, done
    assert done.stderr == b"connector-sync: interrupted\n"


_INTERRUPTED_MID_LINE = """
import sys

import click

from connector_sync_contracts._entry import main
from connector_sync_contracts.cli import common
from connector_sync_contracts.cli import main as group


def half_then_interrupted(message: str, err: bool = False) -> None:
    # What a signal does to a long write of problem lines: half of it is out.
    sys.stderr.write(message[: len(message) // 2])
    raise KeyboardInterrupt


@group.command("interrupted-mid-line")
def interrupted_mid_line() -> None:
    common.echo_text("log.jsonl:7: $.payload: required: Field required", err=True)


click.echo = half_then_interrupted
main()
"""


def test_an_interrupt_in_the_middle_of_a_problem_line_says_so_on_a_line_of_its_own(
    tmp_path: Path,
) -> None:
    # An outside run saw "... max_retrconnector-sync: terminated by SIGTERM" after a
    # cluster's replay, whose problem lines are written thousands at a time.
    done = _run_as_module(tmp_path, _INTERRUPTED_MID_LINE, "interrupted-mid-line")
    assert done.returncode == 130, done
    assert done.stderr == b"log.jsonl:7: $.payload: \nconnector-sync: interrupted\n"


_INTERRUPTED_IN_FLUSH = """
import sys

from connector_sync_contracts._entry import main
from connector_sync_contracts.cli import main as group


class Output:
    # Standard output whose first flush is where Ctrl-C lands.
    def __init__(self, stream):
        self.stream, self.interrupted = stream, False

    def write(self, text):
        return self.stream.write(text)

    def flush(self):
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        self.stream.flush()


@group.command("interrupted-in-flush")
def interrupted_in_flush() -> None:
    sys.stdout = Output(sys.stdout)
    sys.stdout.write("the last of a large output\\n")


main()
"""


def test_ctrl_c_while_the_last_output_is_written_is_one_line_and_130(tmp_path: Path) -> None:
    # Found by an outside run: Ctrl-C after the command ended, while standard output
    # was flushed, printed a KeyboardInterrupt traceback and died by the signal.
    done = _run_as_module(tmp_path, _INTERRUPTED_IN_FLUSH, "interrupted-in-flush")
    assert done.returncode == 130, done
    assert done.stderr == b"connector-sync: interrupted\n"


def test_an_interrupted_validate_keeps_the_old_quarantine(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    with log.open("wb") as handle:
        generated = run_cli("generate", "--events", "300000", "--invalid", "3000")
        handle.write(generated.stdout * 4)
    quarantine = tmp_path / "q.jsonl"
    quarantine.write_bytes(b"kept\n")
    with engine("python"):
        done = _interrupt(
            ["validate", "--quarantine", "q.jsonl", "big.jsonl"], tmp_path, 0.3, writing=tmp_path
        )
    assert done.returncode == 130, done.stderr
    assert done.stderr.endswith(b"connector-sync: interrupted\n")
    assert quarantine.read_bytes() == b"kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl", "q.jsonl"]


def test_generate_output_must_be_a_writable_file(tmp_path: Path) -> None:
    run = run_cli("generate", "--events", "5", "-o", tmp_path)
    assert run.code == 2
    assert "is a directory" in run.err
    missing = tmp_path / "missing" / "log.jsonl"
    run = run_cli("generate", "--events", "5", "-o", missing)
    assert run.code == 2
    assert run.err == (
        f"connector-sync: error: cannot write output {missing}: no folder {missing.parent}\n"
    )
    run = run_cli("generate", "--events", "5", "-o", "")
    assert run.code == 2
    assert run.err == "connector-sync: error: cannot write output: the path is empty\n"


def test_an_output_through_a_dangling_link_names_the_folder_missing(tmp_path: Path) -> None:
    link = tmp_path / "out.jsonl"
    link.symlink_to(tmp_path / "nowhere" / "log.jsonl")
    run = run_cli("generate", "--events", "5", "-o", link)
    assert run.code == 2
    assert run.err == (
        f"connector-sync: error: cannot write output {link}: it links to "
        f"{tmp_path / 'nowhere' / 'log.jsonl'}, and there is no folder {tmp_path / 'nowhere'}\n"
    )


@pytest.mark.parametrize(
    "command", [("generate", "--events", "5", "-o"), ("validate", "{log}", "--quarantine")]
)
def test_a_read_only_output_is_not_replaced(
    tmp_path: Path, valid_log: Path, command: tuple[str, ...]
) -> None:
    # Found by an outside tester: a file made read-only to keep it was replaced by the rename.
    kept = tmp_path / "kept.jsonl"
    kept.write_bytes(b"kept\n")
    kept.chmod(0o444)
    run = run_cli(*(str(valid_log) if a == "{log}" else a for a in command), kept)
    assert run.code == 2, run.explain()
    assert run.err.endswith(f"{kept}: it is read-only; make it writable to replace it\n")
    assert kept.read_bytes() == b"kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl"]


def test_generate_output_dev_stdout_is_the_pipe_it_names(tmp_path: Path) -> None:
    # /dev/stdout links to /proc/self/fd/1, which names a pipe here: written in place,
    # never staged beside it (there is no folder of a pipe to stage in).
    done = subprocess.run(
        [*PROGRAM, "generate", "--events", "5", "-o", "/dev/stdout"],
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == run_cli("generate", "--events", "5").stdout
    assert list(tmp_path.iterdir()) == []


def test_a_staged_output_that_cannot_be_created_names_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only folder (root writes there anyway, so the refusal is made here).
    def refuse(*_: object, **__: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".x.partial"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as raised:
        StagedFile(tmp_path / "Event.json")
    assert raised.value.filename == str(tmp_path / "Event.json")


# ------------------------------------------------------------------ a closed standard output


@pytest.fixture(scope="module")
def big_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A log and a log with invalid lines, for the commands that read one."""
    folder = tmp_path_factory.mktemp("big")
    big, corrupted = folder / "big.jsonl", folder / "corrupted.jsonl"
    assert run_cli("generate", "--events", "20000", "-o", big).code == 0
    assert run_cli("generate", "--events", "2000", "--invalid", "3000", "-o", corrupted).code == 0
    return big, corrupted


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--events", "200000"],
        ["replay", "--format", "json", "{log}"],
        ["replay", "{log}"],
        # Spilled and on a local cluster: the cluster's replay took the closed
        # output for a partition file it could not write (exit 2: an outside run).
        ["replay", "--format", "json", "--memory-limit", "1B", "{log}"],
        ["replay", "--format", "json", "--workers", "2", "{log}"],
        ["validate", "{corrupted}"],
        ["validate", "--format", "json", "{corrupted}"],
        ["conformance"],
        ["schema"],
        ["asyncapi"],
    ],
    ids=lambda args: " ".join(args[:-1] if len(args) > 3 else args[:3]),
)
def test_a_closed_stdout_ends_the_command_quietly_with_141(
    args: list[str], big_logs: tuple[Path, Path]
) -> None:
    big, corrupted = big_logs
    command = [arg.format(log=big, corrupted=corrupted) for arg in args]
    # The reader is gone before the command writes anything: `... | head -0`.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.Popen(
            [*PROGRAM, *command], env=run_env(), stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141, err
    assert b"Broken pipe" not in err
    assert b"Traceback" not in err
    assert b"error" not in err


# ------------------------------------------------------------------ a full disk under the output

_FULL = Path("/dev/full")  # every write fails with ENOSPC
_NO_SPACE = "no space left on the device\n"


@pytest.mark.skipif(not _FULL.exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--events", "200000"],
        ["replay", "--format", "json", "{log}"],
        ["replay", "--format", "json", "--memory-limit", "64kB", "{log}"],
        ["replay", "{log}"],
        ["validate", "{corrupted}"],
        ["validate", "--format", "json", "{corrupted}"],
        ["conformance"],
        ["schema"],
        ["schema", "Event"],  # small: still buffered when the command returns
        ["asyncapi"],
    ],
    ids=lambda args: " ".join(args[:5]),
)
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_full_disk_under_stdout_is_exit_2_with_one_line(
    args: list[str], buffered: bool, big_logs: tuple[Path, Path]
) -> None:
    """Buffered as for a user, and unbuffered (``PYTHONUNBUFFERED``, as the other tests run)."""
    big, corrupted = big_logs
    command = [arg.format(log=big, corrupted=corrupted) for arg in args]
    env = run_env()
    if buffered:
        del env["PYTHONUNBUFFERED"]
    with _FULL.open("wb") as full:
        process = subprocess.run(
            [*PROGRAM, *command], env=env, stdout=full, stderr=subprocess.PIPE, check=False
        )
    err = process.stderr.decode()
    assert process.returncode == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert errors == [f"connector-sync: error: cannot write standard output: {_NO_SPACE}".strip()]


def test_an_output_file_that_cannot_grow_is_exit_2_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "log.jsonl"
    run = subprocess.run(
        [*PROGRAM, "generate", "--events", "20000", "-o", str(target)],
        env=run_env(),
        capture_output=True,
        preexec_fn=lambda: file_size_limit(65536),
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert (
        run.stderr.decode()
        == f"connector-sync: error: cannot write output {target}: file too large\n"
    )
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file
    one_line = tmp_path.parent / f"{tmp_path.name}-one.jsonl"
    one_line.write_bytes(b"{\n")  # a quarantine that waits in the buffer until the end
    quarantine = tmp_path / "rejected.jsonl"
    checked = subprocess.run(
        [*PROGRAM, "validate", "--quarantine", str(quarantine), str(one_line)],
        env=run_env(),
        capture_output=True,
        preexec_fn=lambda: file_size_limit(1),
        check=False,
    )
    assert checked.returncode == 2, checked.stderr
    assert checked.stderr.decode().endswith(
        f"connector-sync: error: cannot write quarantine file {quarantine}: file too large\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not _FULL.exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_an_output_file_names_it(
    big_logs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, corrupted = big_logs
    one_line = tmp_path / "one.jsonl"
    one_line.write_bytes(b"{\n")  # a quarantine small enough to wait in the buffer
    small = run_cli("validate", "--quarantine", _FULL, one_line)
    assert small.code == 2, small.explain()
    assert small.err.endswith(
        f"connector-sync: error: cannot write quarantine file {_FULL}: {_NO_SPACE}"
    )
    generated = run_cli("generate", "--events", "20000", "-o", _FULL)
    assert generated.code == 2, generated.explain()
    assert generated.err == f"connector-sync: error: cannot write output {_FULL}: {_NO_SPACE}"
    checked = run_cli("validate", "--quarantine", _FULL, corrupted)
    assert checked.code == 2, checked.explain()
    assert checked.err.endswith(
        f"connector-sync: error: cannot write quarantine file {_FULL}: {_NO_SPACE}"
    )


# ------------------------------------------------------------------ replay --fail-on


@pytest.mark.parametrize(
    ("fail_on", "clean", "anomalous", "invalid"),
    [("invalid", 0, 0, 1), ("anomalies", 0, 1, 1), ("never", 0, 0, 0)],
)
def test_replay_fail_on_chooses_what_fails_a_ci_run(
    tmp_path: Path,
    valid_lines: list[bytes],
    corrupted_log: CorruptedLog,
    fail_on: str,
    clean: int,
    anomalous: int,
    invalid: int,
) -> None:
    clean_log = tmp_path / "clean.jsonl"
    # Only health checks and deliveries of one connector, never provisioned: anomalies, no
    # invalid line.
    first = json.loads(valid_lines[0])
    connector = first["payload"]["connector_id"]
    clean_log.write_bytes(b"".join(line + b"\n" for line in valid_lines))
    without_provisioning = [
        line
        for line in valid_lines
        if not (
            json.loads(line)["event_type"] == "ConnectorProvisioned"
            and json.loads(line)["payload"]["connector_id"] == connector
        )
    ]
    anomalous_log = tmp_path / "anomalous.jsonl"
    anomalous_log.write_bytes(b"".join(line + b"\n" for line in without_provisioning))
    for log, expected in (
        (clean_log, clean),
        (anomalous_log, anomalous),
        (corrupted_log.path, invalid),
    ):
        run = run_cli("replay", "--format", "json", "--fail-on", fail_on, log)
        assert run.code == expected, (log.name, run.explain())


# ------------------------------------------------------------------ every readable input is read


@pytest.mark.parametrize(
    "command", [("validate",), ("replay",), ("replay", "--memory-limit", "1B")]
)
def test_standard_input_named_twice_is_refused(
    command: tuple[str, ...], valid_lines: list[bytes]
) -> None:
    # The second '-' would read nothing: its lines would be silently missing.
    run = run_cli(*command, "-", "-", stdin=b"".join(line + b"\n" for line in valid_lines))
    assert run.code == 2, run.explain()
    assert run.err == (
        "connector-sync: error: cannot read - twice: standard input can be read only once\n"
    )


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (("-", "/dev/stdin"), "cannot read /dev/stdin and -: one pipe"),
        (("/dev/stdin", "/dev/fd/0"), "cannot read /dev/fd/0 and /dev/stdin: one pipe"),
        (("/dev/stdin", "/dev/stdin"), "cannot read /dev/stdin twice"),
    ],
)
def test_a_pipe_named_twice_by_any_name_is_refused(
    names: tuple[str, str], error: str, valid_lines: list[bytes]
) -> None:
    # Found by an outside tester: '- /dev/stdin' read the pipe once, the second name as
    # empty, and passed with half the count.
    run = run_cli("validate", *names, stdin=b"".join(line + b"\n" for line in valid_lines))
    assert run.code == 2, run.explain()
    assert run.err == f"connector-sync: error: {error}; a pipe can be read only once\n"


def test_a_fifo_is_read(tmp_path: Path, valid_log: Path) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        ["sh", "-c", f"cat '{valid_log}' > '{fifo}'"],
    )
    run = run_cli("replay", "--format", "json", fifo)
    writer.wait(timeout=60)
    assert run.code == 0, run.explain()
    assert run.stdout == run_cli("replay", "--format", "json", valid_log).stdout


@pytest.mark.parametrize("spill", [False, True])
def test_a_file_that_changes_while_it_is_replayed_fails_closed(
    tmp_path: Path, valid_lines: list[bytes], spill: bool
) -> None:
    # Found by an outside tester: the spilled and cluster replays read a log appended to
    # meanwhile as a mix of its states, exit 1, without a word. The first input is a
    # FIFO, so that the second is appended to after the replay started and before it
    # is read, every time.
    fifo = tmp_path / "first.fifo"
    os.mkfifo(fifo)
    second = tmp_path / "second.jsonl"
    second.write_bytes(b"".join(line + b"\n" for line in valid_lines[:5]))
    limit = ("--memory-limit", "1B") if spill else ()
    replaying = subprocess.Popen(
        [*PROGRAM, "replay", "--format", "json", *limit, str(fifo), str(second)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=run_env(),
    )
    with fifo.open("wb") as writer:  # opened once the replay opened it: past its start
        with second.open("ab") as growing:
            growing.write(valid_lines[5] + b"\n")
        writer.write(valid_lines[6] + b"\n")
    out, err = replaying.communicate(timeout=120)
    assert replaying.returncode == 2, err.decode()
    assert out == b""
    assert err.decode().endswith(
        f"connector-sync: error: {second} changed while it was replayed (its size or "
        "modification time is not what it was when it was opened): replay it again once "
        "nothing writes to it\n"
    )


def test_process_substitution_and_dev_stdin_are_read(valid_log: Path) -> None:
    script = f"{' '.join(PROGRAM)} validate <(cat '{valid_log}')"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, env=run_env(), timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert parse_summary(done.stderr.decode()).accepted > 0
    run = run_cli("validate", "/dev/stdin", stdin=valid_log.read_bytes())
    assert run.code == 0, run.explain()
    assert parse_summary(run.err) == parse_summary(run_cli("validate", valid_log).err)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.jsonl", "no such file"),
    ],
    ids=["directory", "missing"],
)
def test_an_unreadable_input_gets_a_plain_sentence(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    for command in ("validate", "replay"):
        run = run_cli(command, path)
        assert run.code == 2
        assert run.err == f"connector-sync: error: cannot read {path}: {reason}\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no permission to lose")
def test_a_missing_permission_gets_a_plain_sentence(tmp_path: Path, valid_log: Path) -> None:
    locked = tmp_path / "locked.jsonl"
    shutil.copy(valid_log, locked)
    locked.chmod(0)
    run = run_cli("validate", locked)
    assert run.code == 2
    assert run.err == f"connector-sync: error: cannot read {locked}: permission denied\n"


# ------------------------------------------------------------------ options checked at the boundary


@pytest.mark.parametrize("name", ENGINES)
def test_option_values_out_of_range_are_usage_errors(name: Engine, valid_log: Path) -> None:
    with engine(name):
        for option, value in (
            ("--max-line-bytes", "9223372036854775808"),
            ("--max-line-bytes", "0"),
            ("--max-line-bytes", "2GiB"),
            ("--max-line-bytes", "0.5B"),
            ("--max-line-bytes", "1e400"),
            ("--max-line-bytes", "nan"),
            ("--max-line-bytes", "one MiB"),
            ("--max-reconnect-cycles", "9223372036854775808"),
            ("--max-reconnect-cycles", "-1"),
        ):
            run = run_cli("replay", option, value, valid_log)
            assert run.code == 2, run.explain()
            assert run.err.startswith(f"connector-sync: error: Invalid value for '{option}'")
            assert "Traceback" not in run.err


@pytest.mark.parametrize(("written", "size"), [("300", 300), ("1kB", 1000), ("1KiB", 1024)])
def test_max_line_bytes_takes_a_size_as_memory_limit_writes_one(
    tmp_path: Path, written: str, size: int
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"".join(b'"' + b"x" * (n - 2) + b'"\n' for n in (size, size + 1)))
    run = run_cli("validate", "--max-line-bytes", written, log)
    assert run.code == 1, run.explain()
    # The line of exactly `size` bytes is read (a JSON string, not an object); the
    # longer one is too long.
    assert [line.split(": ")[2] for line in run.out.splitlines()] == [
        "not_an_object",
        "line_too_long",
    ]


@pytest.mark.parametrize("written", ["", " ", "KiB", "MB"])
def test_max_line_bytes_without_a_number_is_a_usage_error(valid_log: Path, written: str) -> None:
    # An unset shell variable ("$MAX") read as one byte rejected every line.
    run = run_cli("validate", "--max-line-bytes", written, valid_log)
    assert run.code == 2, run.explain()
    assert run.err.startswith("connector-sync: error: Invalid value for '--max-line-bytes'")


def test_a_one_byte_line_limit_is_worded_in_the_singular(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"{}\n")
    run = run_cli("validate", "--max-line-bytes", "1", log)
    assert run.out.endswith("line_too_long: line is longer than 1 byte\n"), run.explain()


@pytest.mark.parametrize("name", ENGINES)
def test_the_largest_reconnect_limit_runs_in_every_engine(name: Engine, valid_log: Path) -> None:
    with engine(name):
        for value in ("2147483648", "9223372036854775807"):
            run = run_cli("replay", "--max-reconnect-cycles", value, valid_log)
            assert run.code == 0, run.explain()


# ------------------------------------------------------------------ gates fail closed


@pytest.mark.parametrize("folder", ["empty", "wrong", "no-envelope"])
def test_a_compat_baseline_that_is_not_a_schema_set_is_a_usage_error(
    tmp_path: Path, folder: str
) -> None:
    target = tmp_path / folder
    if folder == "empty":
        target.mkdir()
    elif folder == "wrong":
        target.mkdir()
        (target / "package.json").write_text('{"name": "x"}')
    else:
        shutil.copytree(baseline_dir("2.7.0"), target)
        (target / "Event.json").unlink()
    for args in (("--compat", target), ("--compat", "2.7.0", "--candidate", target)):
        run = run_cli("schema", *args)
        assert run.code == 2, run.explain()
        assert run.err.startswith("connector-sync: error: not a schema set: ")
        assert run.out == ""


def test_the_shipped_baseline_is_found_from_any_folder(tmp_path: Path) -> None:
    run = run_cli("schema", "--compat", "2.7.0", cwd=tmp_path)
    assert run.code == 0, run.explain()
    assert "0 breaking" in run.err
    unknown = run_cli("schema", "--compat", "1.0.0", cwd=tmp_path)
    assert unknown.code == 2
    assert "no shipped baseline '1.0.0'; shipped: 2.7.0" in unknown.err


@pytest.mark.parametrize(
    "content",
    [b"{}", b"[1, 2]", b'{"connectors": {"someone-else": {}}, "sync": {}}', b"not json"],
    ids=["empty-object", "array", "unknown-connector", "not-json"],
)
def test_conformance_against_a_file_that_matches_no_stream_is_a_usage_error(
    tmp_path: Path, content: bytes
) -> None:
    output = tmp_path / "output.json"
    output.write_bytes(content)
    run = run_cli("conformance", "--against", output)
    assert run.code == 2, run.explain()
    assert run.err.startswith("connector-sync: error: ")
    assert "PASS" not in run.out


@pytest.mark.parametrize(
    ("option", "value"),
    [("--stream", "sync-replay-retried-delivery"), ("--messages", "exact"), ("--messages", "any")],
)
def test_conformance_options_of_a_judgement_need_against(option: str, value: str) -> None:
    """An option that only changes how --against is judged is refused without it,
    rather than ignored while the kit runs."""
    run = run_cli("conformance", option, value)
    assert run.code == 2
    assert f"{option} needs --against FILE" in run.err
    assert "PASS" not in run.out
