"""The compatibility gate of ``make test``: no breaking schema change within a major version.

Every folder under ``compat-baseline/`` holds the committed schemas of one
released contract version. The current schemas must be a backward-compatible
evolution of each of them, unless the package's major version is above the
baseline's. When a change is reported here, either make it additive (a new
optional field, a looser constraint) or release a new major version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from connector_sync_contracts import CONTRACT_VERSION
from connector_sync_contracts.compat import check_compatibility, load_schema_dir, schema_set_version

BASELINES: Final = Path(__file__).resolve().parents[2] / "compat-baseline"


def _baselines() -> list[Path]:
    return sorted(path for path in BASELINES.iterdir() if path.is_dir())


def test_a_baseline_exists_for_the_first_release() -> None:
    assert (BASELINES / "2.7.0").is_dir()


@pytest.mark.parametrize("baseline", _baselines(), ids=lambda path: path.name)
def test_baseline_is_labelled_with_its_own_version(baseline: Path) -> None:
    assert schema_set_version(load_schema_dir(baseline)) == baseline.name


@pytest.mark.parametrize("baseline", _baselines(), ids=lambda path: path.name)
def test_no_breaking_change_within_a_major_version(baseline: Path) -> None:
    report = check_compatibility(baseline)
    assert report.current_version == CONTRACT_VERSION
    listing = "\n".join(str(change) for change in report.breaking)
    assert report.passes, (
        f"breaking schema changes against baseline {baseline.name} while the major version "
        f"is still {CONTRACT_VERSION.split('.')[0]}:\n{listing}"
    )
