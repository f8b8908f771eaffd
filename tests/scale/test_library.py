"""``replay_partitioned`` gives the projection ``replay`` gives: on a cluster and spilled.

Its ``to_json()`` is compared with the bytes of the single-process
``connector-sync replay --format json``, and the problems it reports with
what that command prints on standard error (true file and line, in input
order).
"""

from __future__ import annotations

import errno
import io
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connector_sync_contracts import replay_partitioned
from connector_sync_contracts.errors import InputError, SpillError
from connector_sync_contracts.io import LineProblem
from tests.support.cli import Problem, Run, parse_problems
from tests.support.tangles import LINE_LIMIT

if TYPE_CHECKING:
    from distributed import Client


def _problems(found: list[tuple[str, LineProblem]]) -> list[Problem]:
    return [Problem(name, p.line, p.field, p.code, p.message) for name, p in found]


# On the cluster with the logs: test_faults and test_cluster replay that case.
@pytest.mark.parametrize(
    ("where", "include_logs"), [("cluster", False), ("spilled", True), ("spilled", False)]
)
def test_replay_partitioned_is_the_single_process_replay(
    where: str,
    include_logs: bool,
    request: pytest.FixtureRequest,
    reference: dict[str, Run],
    tangled_files: list[Path],
) -> None:
    client: Client | None = request.getfixturevalue("cluster") if where == "cluster" else None
    found: list[tuple[str, LineProblem]] = []
    result = replay_partitioned(
        [str(path) for path in tangled_files],
        client,
        memory_limit="64kB",
        include_logs=include_logs,
        max_line_bytes=LINE_LIMIT,
        on_problem=lambda name, problem: found.append((name, problem)),
    )
    expected = reference["logs" if include_logs else "no-logs"]
    assert result.to_json(include_logs=include_logs) == expected.stdout
    assert _problems(found) == parse_problems(expected.err)


def test_cloudevents_on_the_cluster(
    cluster: Client, reference: dict[str, Run], cloudevent_files: list[Path]
) -> None:
    result = replay_partitioned(
        [path.as_uri() for path in cloudevent_files],  # file:// URLs, read through fsspec
        cluster,
        input_format="cloudevents",
        max_line_bytes=LINE_LIMIT,
    )
    assert result.to_json() == reference["cloudevents"].stdout


class _NoCredentialsError(Exception):
    """What a filesystem package raises that is not an OSError (botocore's, say)."""


@pytest.fixture
def url_troubles() -> None:
    """Two fsspec protocols that fail: one whose package is missing, one refusing to open.

    Registered for the session (their names are this test's own).
    """
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class Refusing(MemoryFileSystem):  # type: ignore[misc]
        protocol = "cscrefusing"

        def _open(self, path: str, mode: str = "rb", **kwargs: object) -> None:
            raise _NoCredentialsError("Unable to locate credentials")

    fsspec.register_implementation(
        "cscmissing",
        "csc_no_such_package.FileSystem",
        clobber=True,
        errtxt="Install csc-fs to access it",
    )

    class Flaky(MemoryFileSystem):  # type: ignore[misc]
        """Opens, then fails on the first read (a connection reset mid-read, say)."""

        protocol = "cscflaky"

        def _open(self, path: str, mode: str = "rb", **kwargs: object) -> Any:
            class Reader(io.BytesIO):
                def read(self, size: int | None = -1) -> bytes:
                    raise _NoCredentialsError("Token expired")

            return Reader(b'{"x": 1}\n' * 10)

    fsspec.register_implementation("cscrefusing", Refusing, clobber=True)
    fsspec.register_implementation("cscflaky", Flaky, clobber=True)


@pytest.mark.usefixtures("url_troubles")
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("cscmissing://logs/a.jsonl", "install csc-fs to access it"),
        ("cscrefusing://logs/a.jsonl", "unable to locate credentials"),
        ("nosuchprotocol://logs/a.jsonl", "protocol not known: nosuchprotocol"),
        ("cscmissing://logs/*.jsonl", "install csc-fs to access it"),
        ("cscflaky://logs/a.jsonl", "token expired"),
    ],
)
def test_a_url_that_cannot_be_read_is_an_input_error_naming_it(
    tmp_path: Path, url: str, reason: str
) -> None:
    """Whatever fsspec or the package behind a protocol raises, not only OSError."""
    missing = (tmp_path / "gone.jsonl").as_uri()
    with pytest.raises(InputError, match=f"^cannot read {re.escape(missing)}: no such file$"):
        replay_partitioned([missing], memory_limit="64kB")
    with pytest.raises(InputError, match=f"^cannot read {re.escape(url)}: {re.escape(reason)}$"):
        replay_partitioned([url], memory_limit="64kB")


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("untangle", OSError(errno.EFBIG, "File too large")),
        ("_fold_groups", FileNotFoundError(errno.ENOENT, "No such file or directory")),
    ],
)
def test_a_spill_step_after_routing_that_cannot_write_is_a_spill_error(
    tmp_path: Path,
    tangled_files: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    error: OSError,
) -> None:
    """Joining copies and folding read and write only the spill folder: their OSError
    (a full disk, a file size limit, the folder removed meanwhile) is the folder's
    ``SpillError``, an I/O error naming it, and the folder is removed."""
    from connector_sync_contracts.scale import spill

    def fails(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(spill, step, fails)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    with pytest.raises(SpillError) as raised:
        replay_partitioned(tangled_files, memory_limit="64kB", max_line_bytes=LINE_LIMIT)
    message = str(raised.value)
    assert message.startswith(f"cannot write the spill folder {tmp_path}/connector-sync-")
    reason = "file too large" if error.errno == errno.EFBIG else "no such file"
    assert f": {reason} (TMPDIR chooses where it goes" in message
    assert isinstance(raised.value, OSError)
    assert sorted(tmp_path.iterdir()) == []


def test_a_relative_path_on_a_cluster_is_the_callers_file(
    cluster: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers started elsewhere (``--scheduler``) have their own working directory: a
    relative path is read where it was given, and reports still name it as given."""
    from connector_sync_contracts import replay_lines
    from connector_sync_contracts._tooling.synthetic import GeneratorOptions, generate_lines

    lines = [*generate_lines(GeneratorOptions(events=40, connectors=2, seed=5)), b"{not json"]
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "x.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    workers_cwd = cluster.run(os.getcwd)
    assert all(Path(cwd) != tmp_path for cwd in workers_cwd.values())
    monkeypatch.chdir(tmp_path)
    found: list[tuple[str, LineProblem]] = []
    result = replay_partitioned(
        "rel/x.jsonl", cluster, on_problem=lambda name, p: found.append((name, p))
    )
    assert result.to_json() == replay_lines(lines).to_json()
    assert [(name, p.line, p.code) for name, p in found] == [
        ("rel/x.jsonl", len(lines), "invalid_json")
    ]
