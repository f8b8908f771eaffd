"""Without the ``[dask]`` extra: spilling works, and asking for a cluster says what to install.

Each run is the real command line in a fresh interpreter where ``dask``,
``distributed`` and ``fsspec`` cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.cli import Run, run_env

from .conftest import replay_args

_NO_DASK = (
    "import sys\n"
    "for name in ('dask', 'distributed', 'fsspec'):\n"
    "    sys.modules[name] = None\n"
    "from connector_sync_contracts.cli import main\n"
    "sys.argv = ['connector-sync', *sys.argv[1:]]\n"
    "main()\n"
)


def _run_without_dask(*args: str | Path) -> Run:
    completed = subprocess.run(
        [sys.executable, "-c", _NO_DASK, *map(str, args)],
        input=b"",
        capture_output=True,
        env=run_env(),
        timeout=120,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def test_the_spilled_replay_needs_no_dask(
    reference: dict[str, Run], tangled_files: list[Path]
) -> None:
    run = _run_without_dask(*replay_args("--memory-limit", "64kB"), *tangled_files)
    assert run.code == reference["logs"].code, run.explain()
    assert run.stdout == reference["logs"].stdout
    assert run.stderr == reference["logs"].stderr


def test_a_cluster_without_dask_is_a_usage_error_naming_the_extra(
    tangled_files: list[Path],
) -> None:
    for option in (("--workers", "2"), ("--scheduler", "tcp://127.0.0.1:8786")):
        run = _run_without_dask(*replay_args(*option), *tangled_files)
        assert run.code == 2, run.explain()
        assert run.stdout == b""
        assert "pip install 'connector-sync-contracts[dask]'" in run.err
        assert run.err.startswith("connector-sync: error: ")
